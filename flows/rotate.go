package flows

import (
	"context"
	"errors"
	"fmt"

	"github.com/dctwiz/dctwiz/trust"
)

// Rotator is what the targets-key rotation needs besides the setup's verbs.
type Rotator interface {
	Snapshot(ctx context.Context, gun trust.GUN) (*trust.TrustSnapshot, error)
	RotateTargetsKey(ctx context.Context, gun trust.GUN, root trust.RootKey) (*trust.KeyRotation, error)
	RotateServerKey(ctx context.Context, gun trust.GUN, root trust.RootKey, role string) (*trust.KeyRotation, error)
	RotateLocalSnapshotKey(ctx context.Context, gun trust.GUN, root trust.RootKey) (*trust.KeyRotation, error)
	RootCertificates(ctx context.Context, gun trust.GUN) ([]trust.RootCertificate, error)
	VerifyPublished(ctx context.Context, gun trust.GUN, pinnedRootIDs []string) error
	VerifyFromSnapshot(ctx context.Context, gun trust.GUN, snap *trust.TrustSnapshot) error
	RotateRoot(ctx context.Context, gun trust.GUN, current trust.RootKey, change trust.RootChange) (*trust.RootRotation, error)
}

// The key rotations' steps.
const (
	StepReadConsumer   StepID = "read-as-consumer"
	StepRotateKey      StepID = "rotate-key"
	StepVerifyConsumer StepID = "verify-as-consumers"
)

// The keys a rotation replaces.
const (
	RoleTargets   = "targets"   // a new key in the trust dir
	RoleSnapshot  = "snapshot"  // a new key made and held by the notary server
	RoleTimestamp = "timestamp" // a new key made and held by the notary server
)

// Rotate is what the admin chose for a key rotation.
type Rotate struct {
	GUN  trust.GUN
	Root trust.RootKey
	Role string // RoleTargets, RoleSnapshot or RoleTimestamp
	// Local: a snapshot key made and kept in the trust dir instead of by
	// the server (every publish then needs it).
	Local bool
	// DeleteTargetsKey deletes a new targets key at the end (the admin
	// confirmed), leaving the repository as the recommended setup does.
	DeleteTargetsKey bool
	// snapshot is what a consumer cached before the rotation (the first step).
	snapshot *trust.TrustSnapshot
}

// RotateSteps is a key rotation, in order.
var RotateSteps = []Step[*Rotate]{
	readConsumerStep[*Rotate](),
	{ID: StepRotateKey, Phase: PhasePublish,
		Title: "Publish the new key, signed into root.json by the root key",
		Run:   runRotateKey},
	verifyConsumerStep[*Rotate]("Verify as a new consumer and as one that trusted the repository before"),
	{ID: StepDeleteTargetsKey, Phase: PhaseFinish,
		Title: "Delete the new targets private key",
		Skip:  func(r *Rotate) string { return unless(r.DeleteTargetsKey && r.Role == RoleTargets, "not requested") },
		Run: func(ctx context.Context, eng Engine, r *Rotate, rep *Report) (string, error) {
			return runDeleteTargetsKeyOf(ctx, eng, r.GUN, rep)
		}},
}

// Plan lists the rotation's steps, with the skipped ones.
func (r *Rotate) Plan() []PlannedStep { return plan(RotateSteps, r) }

// RotateCeremony is a key rotation of one repository.
type RotateCeremony = Ceremony[*Rotate]

// NewRotate checks r and returns its ceremony, with nothing run yet.
func NewRotate(eng Engine, r *Rotate, events func(Event)) (*RotateCeremony, error) {
	c := newCeremony(eng, RotateSteps, r, checkRotate, events)
	if r == nil || r.Root == nil || r.GUN.IsZero() {
		return c, &trust.Error{Kind: trust.ErrBadInput, Msg: "the rotation has no repository or no root key",
			Fix: "choose the repository and where its root key comes from"}
	}
	if r.Role != RoleTargets && r.Role != RoleSnapshot && r.Role != RoleTimestamp {
		return c, &trust.Error{Kind: trust.ErrBadInput, Input: r.Role, Msg: "not a key that can be rotated",
			Fix: "rotate the targets, snapshot or timestamp key"}
	}
	c.rep.GUN, c.rep.Root = r.GUN.String(), r.Root.String()
	return c, nil
}

// RunRotate runs the whole key rotation of one repository.
func RunRotate(ctx context.Context, eng Engine, r *Rotate, events func(Event)) (*Report, error) {
	c, err := NewRotate(eng, r, events)
	if err != nil {
		return c.Report(), err
	}
	err = c.RunAll(ctx)
	return c.Report(), err
}

func runRotateKey(ctx context.Context, eng Engine, r *Rotate, rep *Report) (string, error) {
	var res *trust.KeyRotation
	var err error
	switch {
	case r.Role == RoleTargets:
		res, err = eng.RotateTargetsKey(ctx, r.GUN, r.Root)
	case r.Role == RoleSnapshot && r.Local:
		res, err = eng.RotateLocalSnapshotKey(ctx, r.GUN, r.Root)
	default:
		res, err = eng.RotateServerKey(ctx, r.GUN, r.Root, r.Role)
	}
	if res != nil {
		rep.Rotation = res // published, even if what came after it failed
	}
	if err != nil {
		return "", err
	}
	note := fmt.Sprintf("%s key %s replaced by %s (%s)", res.Role, shortIDs(res.OldKeyIDs), trust.ShortID(res.NewKeyID), res.Location)
	if len(res.Retired) > 0 {
		note += "; the old key removed from the trust dir"
	}
	return note, nil
}

// runDeleteTargetsKeyOf deletes gun's targets key and records it.
func runDeleteTargetsKeyOf(ctx context.Context, eng Engine, gun trust.GUN, rep *Report) (string, error) {
	res, err := eng.DeleteTargetsKey(ctx, gun)
	if err != nil {
		return "", err
	}
	rep.TargetsKey = res
	if len(res.KeyIDs) == 0 {
		return "no targets key was left in the trust dir", nil
	}
	return fmt.Sprintf("targets key %s deleted and verified gone", trust.ShortID(res.KeyIDs[0])), nil
}

func shortIDs(ids []string) string {
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += ", "
		}
		out += trust.ShortID(id)
	}
	if out == "" {
		return "(none)"
	}
	return out
}

// checkRotate refuses, before anything runs, a rotation that would publish
// and then fail: deleting the new targets key of a repository that has no
// release signer would leave nobody able to sign.
func checkRotate(ctx context.Context, eng Engine, r *Rotate) error {
	if r.Role != RoleTargets || !r.DeleteTargetsKey {
		return nil
	}
	keys, err := releaseKeys(ctx, eng, r.GUN)
	if err != nil || keys == nil {
		return err // nil, nil: the repository cannot be read (expired): its recovery decides
	}
	if len(keys) == 0 {
		return &trust.Error{Kind: trust.ErrNoSigner, Input: r.GUN.String(),
			Msg: "deleting the new targets key would leave nobody able to sign: the repository has no release signer",
			Fix: "add a signer in the same ceremony, or keep the new targets key", Action: trust.ActionAddSigner}
	}
	return nil
}

// releaseKeys lists the keys of targets/releases; nil, nil when the
// repository's trust data has expired (nothing can be read before a renewal).
func releaseKeys(ctx context.Context, eng Engine, gun trust.GUN) ([]string, error) {
	dels, err := eng.Delegations(ctx, gun)
	if errors.Is(err, trust.ErrExpired) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	keys := []string{}
	for _, d := range dels {
		if d.Role == trust.ReleasesRole {
			keys = append(keys, d.KeyIDs...)
		}
	}
	return keys, nil
}
