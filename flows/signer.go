package flows

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/dctwiz/dctwiz/trust"
)

// Signers is what changing a repository's signers needs besides the
// setup's verbs.
type Signers interface {
	RemoveDelegation(ctx context.Context, gun trust.GUN, name string, removeLast bool) (*trust.DelegationResult, error)
	ReplaceDelegation(ctx context.Context, gun trust.GUN, name string, cert *trust.Certificate) (*trust.DelegationResult, error)
	HoldsTargetsKey(ctx context.Context, gun trust.GUN) (bool, error)
	SignerChangeNeeded(ctx context.Context, gun trust.GUN, name string, cert *trust.Certificate, replace bool) (bool, error)
}

// How a signer changes.
const (
	SignerAdd     = "add"
	SignerRemove  = "remove"
	SignerReplace = "replace" // a renewed certificate: the new key in, the old keys out
)

// The signer ceremony's own steps.
const (
	StepTargetsKeyForChange StepID = "targets-key"
	StepChangeSigner        StepID = "change-signer"
)

// SignerChange is a signer added, removed or renewed. When the trust dir
// lacks the targets key (deleted after setup) and Root is given, a new
// targets key is signed in with the root key first and deleted again at
// the end, leaving the repository as it was found: no targets key held.
type SignerChange struct {
	GUN        trust.GUN
	Root       trust.RootKey // nil: the targets key must be in the trust dir
	Change     string        // SignerAdd, SignerRemove or SignerReplace
	Name       string
	Cert       *trust.Certificate // add, replace
	RemoveLast bool               // remove: the admin confirmed leaving releases unsigned
	// DeleteTargetsKey deletes the targets key at the end even when this
	// run did not rotate it in (a rerun of an interrupted ceremony, whose
	// first run did).
	DeleteTargetsKey bool

	rotated  bool // a targets key was rotated in for this change
	snapshot *trust.TrustSnapshot
}

// SignerSteps is the signer ceremony, in order.
var SignerSteps = []Step[*SignerChange]{
	readConsumerStep[*SignerChange](),
	{ID: StepTargetsKeyForChange, Phase: PhasePublish,
		Title: "Have a targets key: the trust dir's, or a new one signed in by the root key",
		Run:   runTargetsKeyForChange},
	{ID: StepChangeSigner, Phase: PhasePublish,
		Title: "Publish the signer change (targets/releases and targets/<name>)",
		Run:   runChangeSigner},
	verifyConsumerStep[*SignerChange]("Verify as a new consumer and as one that trusted the repository before"),
	{ID: StepDeleteTargetsKey, Phase: PhaseFinish,
		Title: "Delete the targets key signed in for this change",
		Run: func(ctx context.Context, eng Engine, c *SignerChange, rep *Report) (string, error) {
			if !c.rotated && !c.DeleteTargetsKey {
				return "", skipped{"the trust dir held the targets key before: it stays"}
			}
			return runDeleteTargetsKeyOf(ctx, eng, c.GUN, rep)
		}},
}

// SignerCeremony is a signer change of one repository.
type SignerCeremony = Ceremony[*SignerChange]

// NewSignerChange checks c and returns its ceremony, with nothing run yet.
func NewSignerChange(eng Engine, c *SignerChange, events func(Event)) (*SignerCeremony, error) {
	cer := newCeremony(eng, SignerSteps, c, checkSignerChange, events)
	if c == nil || c.GUN.IsZero() {
		return cer, &trust.Error{Kind: trust.ErrBadInput, Msg: "the signer change has no repository", Fix: "choose the repository"}
	}
	cer.rep.GUN = c.GUN.String()
	if c.Root != nil {
		cer.rep.Root = c.Root.String()
	}
	switch c.Change {
	case SignerAdd, SignerReplace:
		if err := CheckSigners([]Signer{{Name: c.Name, Cert: c.Cert}}); err != nil {
			return cer, err
		}
		cer.rep.Warnings = append(cer.rep.Warnings, c.Cert.Warnings...)
	case SignerRemove:
		if err := trust.ValidSignerName(c.Name); err != nil {
			return cer, err
		}
	default:
		return cer, &trust.Error{Kind: trust.ErrBadInput, Input: c.Change, Msg: "not a signer change", Fix: "add, remove or replace a signer"}
	}
	return cer, nil
}

// RunSignerChange checks c, then runs the signer ceremony.
func RunSignerChange(ctx context.Context, eng Engine, c *SignerChange, events func(Event)) (*Report, error) {
	cer, err := NewSignerChange(eng, c, events)
	if err != nil {
		return cer.Report(), err
	}
	err = cer.RunAll(ctx)
	return cer.Report(), err
}

// Plan lists the signer ceremony's steps.
func (c *SignerChange) Plan() []PlannedStep { return plan(SignerSteps, c) }

func runTargetsKeyForChange(ctx context.Context, eng Engine, c *SignerChange, rep *Report) (string, error) {
	held, err := eng.HoldsTargetsKey(ctx, c.GUN)
	if err != nil {
		return "", err
	}
	if held {
		return "", skipped{"the trust dir holds the targets key"}
	}
	// A change that publishes nothing needs no targets key: no rotation.
	var cert *trust.Certificate
	if c.Change != SignerRemove {
		cert = c.Cert
	}
	if needed, err := eng.SignerChangeNeeded(ctx, c.GUN, c.Name, cert, c.Change == SignerReplace); err != nil {
		return "", err
	} else if !needed {
		return "", skipped{"the signer is already so: nothing to publish, no targets key needed"}
	}
	if c.Root == nil {
		return "", &trust.Error{Kind: trust.ErrNoTargetsKey, Input: c.GUN.String(),
			Msg:    "the trust dir does not hold the repository's targets key (deleted after setup?)",
			Fix:    "give the root key: a new targets key is signed in for this change and deleted again at the end",
			Action: trust.ActionRotateTargets}
	}
	res, err := eng.RotateTargetsKey(ctx, c.GUN, c.Root)
	if res != nil {
		// Published, even if what came after it failed: the key signed in
		// for this change is deleted at the end.
		c.rotated = true
		rep.Rotation = res
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("targets key %s signed in by the root key, for this change", trust.ShortID(res.NewKeyID)), nil
}

func runChangeSigner(ctx context.Context, eng Engine, c *SignerChange, rep *Report) (string, error) {
	var res *trust.DelegationResult
	var err error
	switch c.Change {
	case SignerAdd:
		res, err = eng.AddDelegation(ctx, c.GUN, c.Name, c.Cert)
	case SignerRemove:
		res, err = eng.RemoveDelegation(ctx, c.GUN, c.Name, c.RemoveLast)
	case SignerReplace:
		res, err = eng.ReplaceDelegation(ctx, c.GUN, c.Name, c.Cert)
	}
	if err != nil {
		return "", err
	}
	rep.Delegations = []*trust.DelegationResult{res}
	if !res.Changed {
		return fmt.Sprintf("signer %s: already so, nothing to publish", c.Name), nil
	}
	return fmt.Sprintf("signer %s: %s (%d role(s) published)", c.Name, c.Change, len(res.Roles)), nil
}

// maintained is a maintenance ceremony's input: its repository, and where
// the trust data a consumer held before the change is kept, to check
// afterwards that such a consumer follows.
type maintained interface {
	consumerView() (trust.GUN, **trust.TrustSnapshot)
}

func (r *Rotate) consumerView() (trust.GUN, **trust.TrustSnapshot)       { return r.GUN, &r.snapshot }
func (c *SignerChange) consumerView() (trust.GUN, **trust.TrustSnapshot) { return c.GUN, &c.snapshot }
func (r *RootRotate) consumerView() (trust.GUN, **trust.TrustSnapshot)   { return r.GUN, &r.snapshot }
func (r *RootRenew) consumerView() (trust.GUN, **trust.TrustSnapshot)    { return r.GUN, &r.snapshot }

// readConsumerStep is every maintenance ceremony's first step.
func readConsumerStep[In maintained]() Step[In] {
	return Step[In]{ID: StepReadConsumer, Phase: PhasePublish,
		Title: "Read the repository as a consumer who trusted it before",
		Run: func(ctx context.Context, eng Engine, in In, rep *Report) (string, error) {
			gun, snap := in.consumerView()
			return readConsumer(ctx, eng, gun, snap)
		}}
}

// verifyConsumerStep is every maintenance ceremony's check after its
// publish, titled for what the ceremony changed.
func verifyConsumerStep[In maintained](title string) Step[In] {
	return Step[In]{ID: StepVerifyConsumer, Phase: PhaseVerify, Title: title,
		Run: func(ctx context.Context, eng Engine, in In, rep *Report) (string, error) {
			gun, snap := in.consumerView()
			return verifyConsumers(ctx, eng, gun, *snap, rep)
		}}
}

// readConsumer keeps what a consumer caches now, in *snap.
func readConsumer(ctx context.Context, eng Engine, gun trust.GUN, snap **trust.TrustSnapshot) (string, error) {
	s, err := eng.Snapshot(ctx, gun)
	if errors.Is(err, trust.ErrExpired) {
		return "", skipped{"no consumer can read the repository now (its metadata has expired): the renewal is checked from an empty cache only"}
	}
	if err != nil {
		return "", err
	}
	*snap = s
	return "the trust data a consumer holds now is kept, to check later that such a consumer follows", nil
}

// verifyConsumers checks the published trust data as a new consumer
// pinned to the root certificate, and as one that cached snap before.
func verifyConsumers(ctx context.Context, eng Engine, gun trust.GUN, snap *trust.TrustSnapshot, rep *Report) (string, error) {
	certs, err := eng.RootCertificates(ctx, gun)
	if err != nil {
		return "", err
	}
	rep.RootCerts = certs
	if err := eng.VerifyPublished(ctx, gun, trust.PinnedIDs(certs)); err != nil {
		return "", err
	}
	if snap == nil {
		return "verified from an empty cache pinned to the root certificate (no consumer could read the repository before)", nil
	}
	if err := eng.VerifyFromSnapshot(ctx, gun, snap); err != nil {
		return "", err
	}
	return "verified from an empty cache pinned to the root certificate, and from the cache a consumer held before", nil
}

// checkSignerChange refuses, before anything runs, a removal that would
// publish and then fail: removing the last release signer of a repository
// whose targets key was deleted leaves nobody to sign, and the targets
// key rotated in for the change could not be deleted again.
func checkSignerChange(ctx context.Context, eng Engine, c *SignerChange) error {
	if c.Change != SignerRemove || c.Root == nil {
		return nil
	}
	if held, err := eng.HoldsTargetsKey(ctx, c.GUN); err != nil || held {
		return err
	}
	keys, err := releaseKeys(ctx, eng, c.GUN)
	if err != nil || keys == nil {
		return err
	}
	dels, err := eng.Delegations(ctx, c.GUN)
	if err != nil {
		return err
	}
	for _, d := range dels {
		if d.Name != c.Name {
			continue
		}
		if len(slices.DeleteFunc(keys, func(id string) bool { return slices.Contains(d.KeyIDs, id) })) == 0 {
			return &trust.Error{Kind: trust.ErrNoSigner, Input: c.Name,
				Msg: "this signer holds the last key of targets/releases: removing it leaves nobody able to sign, and the targets key rotated in for the change could not be deleted again",
				Fix: "add the signer that replaces it first", Action: trust.ActionAddSigner}
		}
	}
	return nil
}
