package flows

import (
	"context"
	"fmt"

	"github.com/dctwiz/dctwiz/trust"
)

// Rotator is what the targets-key rotation needs besides the setup's verbs.
type Rotator interface {
	Snapshot(ctx context.Context, gun trust.GUN) (*trust.TrustSnapshot, error)
	RotateTargetsKey(ctx context.Context, gun trust.GUN, root trust.RootKey) (*trust.TargetsRotation, error)
	RootCertificates(ctx context.Context, gun trust.GUN) ([]trust.RootCertificate, error)
	VerifyPublished(ctx context.Context, gun trust.GUN, pinnedRootIDs []string) error
	VerifyFromSnapshot(ctx context.Context, gun trust.GUN, snap *trust.TrustSnapshot) error
}

// The targets-key rotation's steps.
const (
	StepReadConsumer   StepID = "read-as-consumer"
	StepRotateTargets  StepID = "rotate-targets"
	StepVerifyConsumer StepID = "verify-as-consumers"
)

// RotateTargets is what the admin chose for a targets-key rotation.
type RotateTargets struct {
	GUN  trust.GUN
	Root trust.RootKey
	// DeleteTargetsKey deletes the new targets key at the end (the admin
	// confirmed), leaving the repository as the recommended setup does.
	DeleteTargetsKey bool
	// snapshot is what a consumer cached before the rotation (the first step).
	snapshot *trust.TrustSnapshot
}

// RotateTargetsSteps is the targets-key rotation, in order.
var RotateTargetsSteps = []Step[*RotateTargets]{
	{ID: StepReadConsumer, Phase: PhasePublish,
		Title: "Read the repository as a consumer who trusted it before",
		Run:   runReadConsumer},
	{ID: StepRotateTargets, Phase: PhasePublish,
		Title: "Publish a new targets key, signed in by the root key",
		Run:   runRotateTargets},
	{ID: StepVerifyConsumer, Phase: PhaseVerify,
		Title: "Verify as a new consumer and as one that trusted the repository before",
		Run:   runVerifyConsumers},
	{ID: StepDeleteTargetsKey, Phase: PhaseFinish,
		Title: "Delete the new targets private key",
		Skip:  func(r *RotateTargets) string { return unless(r.DeleteTargetsKey, "not requested") },
		Run: func(ctx context.Context, eng Engine, r *RotateTargets, rep *Report) (string, error) {
			return runDeleteTargetsKeyOf(ctx, eng, r.GUN, rep)
		}},
}

// Plan lists the rotation's steps, with the skipped ones.
func (r *RotateTargets) Plan() []PlannedStep { return plan(RotateTargetsSteps, r) }

// RotateTargetsCeremony is the targets-key rotation of one repository.
type RotateTargetsCeremony = Ceremony[*RotateTargets]

// NewRotateTargets checks r and returns its ceremony, with nothing run yet.
func NewRotateTargets(eng Engine, r *RotateTargets, events func(Event)) (*RotateTargetsCeremony, error) {
	c := newCeremony(eng, RotateTargetsSteps, r, nil, events)
	if r == nil || r.Root == nil || r.GUN.IsZero() {
		return c, &trust.Error{Kind: trust.ErrBadInput, Msg: "the rotation has no repository or no root key",
			Fix: "choose the repository and where its root key comes from"}
	}
	c.rep.GUN, c.rep.Root = r.GUN.String(), r.Root.String()
	return c, nil
}

// RunRotateTargets runs the whole targets-key rotation of one repository.
func RunRotateTargets(ctx context.Context, eng Engine, r *RotateTargets, events func(Event)) (*Report, error) {
	c, err := NewRotateTargets(eng, r, events)
	if err != nil {
		return c.Report(), err
	}
	err = c.RunAll(ctx)
	return c.Report(), err
}

func runReadConsumer(ctx context.Context, eng Engine, r *RotateTargets, rep *Report) (string, error) {
	snap, err := eng.Snapshot(ctx, r.GUN)
	if err != nil {
		return "", err
	}
	r.snapshot = snap
	return "the trust data a consumer holds now is kept, to check later that such a consumer follows", nil
}

func runRotateTargets(ctx context.Context, eng Engine, r *RotateTargets, rep *Report) (string, error) {
	res, err := eng.RotateTargetsKey(ctx, r.GUN, r.Root)
	if err != nil {
		return "", err
	}
	rep.Rotation = res
	note := fmt.Sprintf("targets key %s replaced by %s", shortIDs(res.OldKeyIDs), trust.ShortID(res.NewKeyID))
	if len(res.Retired) > 0 {
		note += "; the old key removed from the trust dir"
	}
	return note, nil
}

func runVerifyConsumers(ctx context.Context, eng Engine, r *RotateTargets, rep *Report) (string, error) {
	certs, err := eng.RootCertificates(ctx, r.GUN)
	if err != nil {
		return "", err
	}
	rep.RootCerts = certs
	if err := eng.VerifyPublished(ctx, r.GUN, trust.PinnedIDs(certs)); err != nil {
		return "", err
	}
	if r.snapshot == nil {
		return "verified from an empty cache pinned to the root certificate", nil
	}
	if err := eng.VerifyFromSnapshot(ctx, r.GUN, r.snapshot); err != nil {
		return "", err
	}
	return "verified from an empty cache pinned to the root certificate, and from the cache a consumer held before", nil
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
