package flows

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dctwiz/dctwiz/trust"
)

// StepRotateRoot publishes the root role's new keys.
const StepRotateRoot StepID = "rotate-root"

// RootRotate moves a repository's root to new keys: a new token, a
// primary and its backup, a backup added to the current key, or a lost
// key dropped (the remaining one signs).
type RootRotate struct {
	GUN    trust.GUN
	Root   trust.RootKey    // a root key the repository names now
	Change trust.RootChange // the keys the root role keeps and gains
	// RootCertOut is where the new root certificates are written ("" =
	// not written).
	RootCertOut string

	snapshot *trust.TrustSnapshot
}

// RootRotateSteps is the root rotation, in order.
var RootRotateSteps = []Step[*RootRotate]{
	readConsumerStep[*RootRotate](),
	{ID: StepRotateRoot, Phase: PhasePublish,
		Title: "Publish root.json naming the new root keys, signed by the current and the new ones",
		Run:   runRotateRoot},
	verifyConsumerStep[*RootRotate]("Verify as a new consumer pinned to the new root certificate and as one that trusted the old root"),
	{ID: StepRootCert, Phase: PhaseVerify,
		Title: "Export the new root certificate",
		Skip:  func(r *RootRotate) string { return unless(r.RootCertOut != "", "no file given") },
		Run: func(ctx context.Context, eng Engine, r *RootRotate, rep *Report) (string, error) {
			return exportRootCerts(ctx, eng, r.GUN, r.RootCertOut, rep)
		}},
}

// Plan lists the root rotation's steps, with the skipped ones.
func (r *RootRotate) Plan() []PlannedStep { return plan(RootRotateSteps, r) }

// RootRotateCeremony is a root rotation of one repository.
type RootRotateCeremony = Ceremony[*RootRotate]

// NewRootRotate checks r and returns its ceremony, with nothing run yet.
func NewRootRotate(eng Engine, r *RootRotate, events func(Event)) (*RootRotateCeremony, error) {
	c := newCeremony(eng, RootRotateSteps, r, checkRootRotate, events)
	if r == nil || r.Root == nil || len(r.Change.Add)+len(r.Change.Keep)+len(r.Change.Remove) == 0 || r.GUN.IsZero() {
		return c, &trust.Error{Kind: trust.ErrBadInput, Msg: "the root rotation has no repository, no root key or no new root key",
			Fix: "choose the repository, its root key and the new root keys"}
	}
	c.rep.GUN, c.rep.Root = r.GUN.String(), r.Root.String()
	return c, nil
}

// checkRootRotate refuses, before anything runs (for several repositories,
// before any of them changes), a root key ID to keep or remove that this
// repository's root role does not name, and a removal that leaves no key.
func checkRootRotate(ctx context.Context, eng Engine, r *RootRotate) error {
	if r.RootCertOut != "" {
		// Refused now, not after the new root is published.
		if err := writable(r.RootCertOut); err != nil {
			return err
		}
	}
	ids := append(slices.Clone(r.Change.Keep), r.Change.Remove...)
	if len(ids) == 0 || (len(ids) == 1 && ids[0] == trust.KeepAll) {
		return nil
	}
	certs, err := eng.RootCertificates(ctx, r.GUN)
	if err != nil {
		return err
	}
	names := func(c trust.RootCertificate, id string) bool { return c.KeyID == id || c.CanonicalID == id }
	for _, id := range ids {
		if id != trust.KeepAll && !slices.ContainsFunc(certs, func(c trust.RootCertificate) bool { return names(c, id) }) {
			// The keys there are named: a key an earlier run removed shows
			// as gone, and a mistyped ID never passes for a removal.
			var there []string
			for _, c := range certs {
				there = append(there, c.KeyID)
			}
			return &trust.Error{Kind: trust.ErrBadInput, Input: id,
				Msg: fmt.Sprintf("not a root key of %s (its root keys: %s)", r.GUN, strings.Join(there, ", ")),
				Fix: "give one of the repository's root key IDs; if an earlier run removed this key, there is nothing left to do", Action: trust.ActionInspect}
		}
	}
	left := slices.DeleteFunc(slices.Clone(certs), func(c trust.RootCertificate) bool {
		return slices.ContainsFunc(r.Change.Remove, func(id string) bool { return names(c, id) })
	})
	if len(r.Change.Remove) > 0 && len(left)+len(r.Change.Add) == 0 {
		return &trust.Error{Kind: trust.ErrBadInput, Input: r.GUN.String(), Msg: "removing these keys leaves the root with none",
			Fix: "keep a root key, or add a new one"}
	}
	return nil
}

func runRotateRoot(ctx context.Context, eng Engine, r *RootRotate, rep *Report) (string, error) {
	res, err := eng.RotateRoot(ctx, r.GUN, r.Root, r.Change)
	if res != nil {
		rep.RootRotation = res
	}
	if err != nil {
		return "", err
	}
	if res.AlreadyDone {
		return "the root role names these keys already: nothing to publish", nil
	}
	return fmt.Sprintf("root role: %s replaced by %s (root.json version %d)", shortIDs(res.OldKeyIDs), shortIDs(res.NewKeyIDs), res.Version), nil
}

// exportRootCerts writes gun's root certificates, as published now, to path.
func exportRootCerts(ctx context.Context, eng Engine, gun trust.GUN, path string, rep *Report) (string, error) {
	certs, err := eng.RootCertificates(ctx, gun)
	if err != nil {
		return "", err
	}
	if err := trust.WriteRootCertificates(path, certs); err != nil {
		return "", err
	}
	rep.RootCerts, rep.RootCertFile = certs, path
	ids := make([]string, len(certs))
	for i, c := range certs {
		ids[i] = c.KeyID
	}
	return fmt.Sprintf("%s: root key IDs to pin %s", path, strings.Join(ids, ", ")), nil
}

// StepRenewRoot re-signs root.json with the keys it names.
const StepRenewRoot StepID = "renew-root"

// RootRenew re-signs a repository's root.json with the root keys it
// names, as the root rotation publishes (a root change naming the same
// keys): the next version, ten years ahead. It needs only the root key:
// no targets key is made, and pins to the root certificate keep working.
type RootRenew struct {
	GUN  trust.GUN
	Root trust.RootKey // a root key the repository names

	snapshot *trust.TrustSnapshot
}

// RootRenewSteps is the root renewal, in order.
var RootRenewSteps = []Step[*RootRenew]{
	readConsumerStep[*RootRenew](),
	{ID: StepRenewRoot, Phase: PhasePublish,
		Title: "Publish root.json re-signed by the root key: the same keys, a new expiry",
		Run:   runRenewRoot},
	verifyConsumerStep[*RootRenew]("Verify as a new consumer pinned to the root certificate and as one that trusted the repository before"),
}

// Plan lists the root renewal's steps.
func (r *RootRenew) Plan() []PlannedStep { return plan(RootRenewSteps, r) }

// RootRenewCeremony is the root renewal of one repository.
type RootRenewCeremony = Ceremony[*RootRenew]

// NewRootRenew checks r and returns its ceremony, with nothing run yet.
func NewRootRenew(eng Engine, r *RootRenew, events func(Event)) (*RootRenewCeremony, error) {
	c := newCeremony(eng, RootRenewSteps, r, nil, events)
	if r == nil || r.Root == nil || r.GUN.IsZero() {
		return c, &trust.Error{Kind: trust.ErrBadInput, Msg: "the root renewal has no repository or no root key",
			Fix: "choose the repository and its root key"}
	}
	c.rep.GUN, c.rep.Root = r.GUN.String(), r.Root.String()
	return c, nil
}

func runRenewRoot(ctx context.Context, eng Engine, r *RootRenew, rep *Report) (string, error) {
	res, err := eng.RotateRoot(ctx, r.GUN, r.Root, trust.RootChange{Keep: []string{trust.KeepAll}, Renew: true})
	if res != nil {
		rep.RootRotation = res
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("root.json version %d, signed by %s, expires %s", res.Version, shortIDs(res.NewKeyIDs), res.Expires.Format("2006-01-02")), nil
}
