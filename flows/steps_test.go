package flows_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/internal/testbed"
	"github.com/dctwiz/dctwiz/trust"
)

// These tests check the order of the steps, their skipping, their parts
// and their reruns against a fake engine: they start no server. The real
// engine runs the same ceremony in setup_test.go.

// fakeEngine records the calls the ceremony makes, in order.
type fakeEngine struct {
	rootPEM   string // the root certificate the fake has published
	calls     []string
	failOnce  string // the call that fails the first time it is made
	failed    bool
	signers   []trust.Delegation
	noTargets bool   // the targets key was deleted earlier
	expired   bool   // no consumer can read the repository: targets.json expired
	alreadySo bool   // the signer change would publish nothing
	interrupt string // the call that is interrupted (ctrl+c) while it runs

	rootChanges []trust.RootChange // what RotateRoot was asked
}

func (f *fakeEngine) call(name string) error {
	f.calls = append(f.calls, name)
	if name == f.interrupt {
		return &trust.Error{Kind: trust.ErrInterrupted, Input: name, Msg: "interrupted before the server answered", Cause: context.Canceled}
	}
	if name == f.failOnce && !f.failed {
		f.failed = true
		return &trust.Error{Kind: trust.ErrPublish, Input: name, Msg: "refused by the fake"}
	}
	return nil
}

func (f *fakeEngine) Init(_ context.Context, gun trust.GUN, _ trust.RootKey, _ ...trust.RootKey) (*trust.InitResult, error) {
	if err := f.call("init"); err != nil {
		return nil, err
	}
	return &trust.InitResult{GUN: gun.String(), Root: trust.KeyInfo{ID: strings.Repeat("a", 64)}, Targets: trust.KeyInfo{ID: strings.Repeat("b", 64)}, AlreadyDone: f.noTargets}, nil
}

func (f *fakeEngine) AddDelegation(_ context.Context, gun trust.GUN, name string, _ *trust.Certificate) (*trust.DelegationResult, error) {
	if err := f.call("add " + name); err != nil {
		return nil, err
	}
	return &trust.DelegationResult{GUN: gun.String(), Signer: name, Changed: true}, nil
}

func (f *fakeEngine) RootCertificates(_ context.Context, gun trust.GUN) ([]trust.RootCertificate, error) {
	if err := f.call("root-cert"); err != nil {
		return nil, err
	}
	return []trust.RootCertificate{{GUN: gun.String(), KeyID: strings.Repeat("c", 64), Fingerprint: "fp", PEM: f.rootPEM}}, nil
}

func (f *fakeEngine) TestSign(_ context.Context, gun trust.GUN, tag string, _ trust.TestSignOptions) (*trust.TestSignResult, error) {
	if err := f.call("test-sign " + tag); err != nil {
		return nil, err
	}
	return &trust.TestSignResult{GUN: gun.String(), Tag: tag, Verified: &trust.Resolved{Digest: "sha256:1"}}, nil
}

func (f *fakeEngine) DeleteTargetsKey(_ context.Context, gun trust.GUN) (*trust.TargetsKeyDeletion, error) {
	if err := f.call("delete-targets-key"); err != nil {
		return nil, err
	}
	return &trust.TargetsKeyDeletion{GUN: gun.String(), KeyIDs: []string{"k"}, Gone: true}, nil
}

func (f *fakeEngine) SigningRole(context.Context, trust.GUN) (string, error) {
	if f.noTargets {
		return "", &trust.Error{Kind: trust.ErrNoTargetsKey, Msg: "no targets key"}
	}
	return "targets", nil
}

func (f *fakeEngine) ResolveTag(_ context.Context, _ trust.GUN, tag string) (*trust.Image, error) {
	if tag == "missing" {
		return nil, &trust.Error{Kind: trust.ErrTagNotFound, Input: tag, Msg: "no such tag"}
	}
	return &trust.Image{Digest: "sha256:1"}, nil
}

func (f *fakeEngine) Delegations(context.Context, trust.GUN) ([]trust.Delegation, error) {
	return f.signers, nil
}

func (f *fakeEngine) Snapshot(_ context.Context, gun trust.GUN) (*trust.TrustSnapshot, error) {
	if err := f.call("snapshot"); err != nil {
		return nil, err
	}
	if f.expired {
		return nil, &trust.Error{Kind: trust.ErrExpired, Input: gun.String(), Msg: "trust data expired"}
	}
	return &trust.TrustSnapshot{GUN: gun.String()}, nil
}

func (f *fakeEngine) RotateTargetsKey(_ context.Context, gun trust.GUN, _ trust.RootKey) (*trust.KeyRotation, error) {
	if err := f.call("rotate-targets"); err != nil {
		return nil, err
	}
	return &trust.KeyRotation{GUN: gun.String(), OldKeyIDs: []string{strings.Repeat("b", 64)}, NewKeyID: strings.Repeat("d", 64)}, nil
}

func (f *fakeEngine) RotateServerKey(_ context.Context, gun trust.GUN, _ trust.RootKey, role string) (*trust.KeyRotation, error) {
	if err := f.call("rotate-" + role); err != nil {
		return nil, err
	}
	return &trust.KeyRotation{GUN: gun.String(), Role: role, OldKeyIDs: []string{"e"}, NewKeyID: "f", Location: "server"}, nil
}

func (f *fakeEngine) RemoveDelegation(_ context.Context, gun trust.GUN, name string, _ bool) (*trust.DelegationResult, error) {
	if err := f.call("remove " + name); err != nil {
		return nil, err
	}
	return &trust.DelegationResult{GUN: gun.String(), Signer: name, Changed: true}, nil
}

func (f *fakeEngine) ReplaceDelegation(_ context.Context, gun trust.GUN, name string, _ *trust.Certificate) (*trust.DelegationResult, error) {
	if err := f.call("replace " + name); err != nil {
		return nil, err
	}
	return &trust.DelegationResult{GUN: gun.String(), Signer: name, Changed: true}, nil
}

func (f *fakeEngine) HoldsTargetsKey(context.Context, trust.GUN) (bool, error) {
	return !f.noTargets, nil
}

func (f *fakeEngine) SignerChangeNeeded(context.Context, trust.GUN, string, *trust.Certificate, bool) (bool, error) {
	return !f.alreadySo, nil
}

func (f *fakeEngine) RotateLocalSnapshotKey(_ context.Context, gun trust.GUN, _ trust.RootKey) (*trust.KeyRotation, error) {
	if err := f.call("rotate-local-snapshot"); err != nil {
		return nil, err
	}
	return &trust.KeyRotation{GUN: gun.String(), Role: "snapshot", OldKeyIDs: []string{"e"}, NewKeyID: "g", Location: "trust dir"}, nil
}

func (f *fakeEngine) VerifyPublished(context.Context, trust.GUN, []string) error {
	return f.call("verify-fresh")
}

func (f *fakeEngine) VerifyFromSnapshot(_ context.Context, _ trust.GUN, snap *trust.TrustSnapshot) error {
	if snap == nil {
		return errors.New("no snapshot: the consumer's cache was not read first")
	}
	return f.call("verify-from-cache")
}

func (f *fakeEngine) RotateRoot(_ context.Context, gun trust.GUN, _ trust.RootKey, change trust.RootChange) (*trust.RootRotation, error) {
	if err := f.call("rotate-root"); err != nil {
		return nil, err
	}
	res := &trust.RootRotation{GUN: gun.String(), OldKeyIDs: []string{strings.Repeat("a", 64)}, Version: 2}
	f.rootChanges = append(f.rootChanges, change)
	if change.Renew {
		res.NewKeyIDs, res.Renewed = res.OldKeyIDs, true
	}
	for i := range change.Add {
		res.NewKeyIDs = append(res.NewKeyIDs, strings.Repeat(string(rune('c'+i)), 64))
	}
	return res, nil
}

// newFake is a fake engine with a root certificate to export.
func newFake(t *testing.T) *fakeEngine {
	t.Helper()
	path, _, err := testbed.WriteCert(t.TempDir(), "root.crt", testbed.CertSpec{CommonName: "registry.example.com/acme/app"})
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeEngine{rootPEM: string(pemBytes)}
}

// fakeSetup is a whole setup of one repository, for the fake engine.
func fakeSetup(t *testing.T) flows.Setup {
	t.Helper()
	gun, err := trust.ParseGUN("registry.example.com/acme/app")
	if err != nil {
		t.Fatal(err)
	}
	cert := &trust.Certificate{Subject: "CN=signpath", NotAfter: time.Now().AddDate(1, 0, 0)}
	return flows.Setup{GUN: gun, Root: trust.FileRootKey(""),
		Signers:     []flows.Signer{{Name: "signpath", Cert: cert}, {Name: "ci", Cert: cert}},
		RootCertOut: filepath.Join(t.TempDir(), "root.crt"), TestTag: "1.0", DeleteTargetsKey: true}
}

// events collects a ceremony's events as "step:kind".
type events []string

func (e *events) add(ev flows.Event) { *e = append(*e, string(ev.Step)+":"+string(ev.Kind)) }

func TestStepsRunInTheTablesOrder(t *testing.T) {
	eng := newFake(t)
	var got events
	var titles []string
	rep, err := flows.RunSetup(context.Background(), eng, fakeSetup(t), func(e flows.Event) {
		got.add(e)
		if e.Kind == flows.Started {
			titles = append(titles, e.Title)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(everyStepEvents) {
		t.Errorf("events %v\nwant %v", got, everyStepEvents)
	}
	wantCalls := "[init add signpath add ci root-cert test-sign 1.0 delete-targets-key]"
	if fmt.Sprint(eng.calls) != wantCalls {
		t.Errorf("engine calls %v, want %s", eng.calls, wantCalls)
	}
	// The progress lines and the wizard read their titles from the one table.
	for i, s := range flows.SetupSteps {
		if titles[i] != s.Title || s.Title == "" {
			t.Errorf("step %s: event title %q, table title %q", s.ID, titles[i], s.Title)
		}
	}
	if len(rep.Steps) != 5 || len(rep.Pending()) != 0 || rep.RootCertFile == "" {
		t.Errorf("report %+v", rep)
	}
	if _, err := os.Stat(rep.RootCertFile); err != nil {
		t.Errorf("root certificate not written: %v", err)
	}
}

func TestPlanSkipsWhatWasNotAsked(t *testing.T) {
	var skipped []flows.StepID
	for _, st := range (flows.Setup{}).Plan() {
		if st.Skip != "" {
			skipped = append(skipped, st.ID)
		}
	}
	want := []flows.StepID{flows.StepDelegations, flows.StepTestSign, flows.StepDeleteTargetsKey}
	if fmt.Sprint(skipped) != fmt.Sprint(want) {
		t.Errorf("skipped %v, want %v", skipped, want)
	}
	// A skipped step reports why, and the engine is not asked.
	eng := newFake(t)
	s := fakeSetup(t)
	s.Signers, s.TestTag, s.DeleteTargetsKey = nil, "", false
	rep, err := flows.RunSetup(context.Background(), eng, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(eng.calls) != "[init root-cert]" || rep.Steps[1].Status != flows.Skipped || rep.Steps[1].Note != "no signer certificate given" {
		t.Errorf("calls %v, steps %+v", eng.calls, rep.Steps)
	}
}

// The phases follow the table: the wizard gives each one a screen.
func TestPhasesFollowTheTable(t *testing.T) {
	var phases []string
	for _, s := range (flows.Setup{}).Plan() {
		phases = append(phases, string(s.ID)+":"+string(s.Phase))
	}
	want := "[init:publish delegations:publish root-cert:publish test-sign:verify delete-targets-key:finish]"
	if fmt.Sprint(phases) != want {
		t.Errorf("phases %v, want %s", phases, want)
	}
}

// The wizard runs the ceremony a phase at a time; each part stops at its
// phase's end, also when called again, and a choice made in between counts.
func TestCeremonyRunsInParts(t *testing.T) {
	eng := newFake(t)
	s := fakeSetup(t)
	s.TestTag, s.DeleteTargetsKey = "", false
	var got events
	cer, err := flows.NewSetup(eng, s, got.add)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 { // the second call has nothing to do
		if err := cer.RunPhase(ctx, flows.PhasePublish); err != nil {
			t.Fatal(err)
		}
	}
	if next, _ := cer.Next(); next.ID != flows.StepTestSign || next.Phase != flows.PhaseVerify || len(cer.Report().Steps) != 3 {
		t.Fatalf("after publishing: next %+v, steps %+v", next, cer.Report().Steps)
	}
	cer.Change(func(s *flows.Setup) { s.TestTag = "1.0" })
	if err := cer.RunPhase(ctx, flows.PhaseVerify); err != nil {
		t.Fatal(err)
	}
	cer.Change(func(s *flows.Setup) { s.DeleteTargetsKey = true })
	if err := cer.RunPhase(ctx, flows.PhaseFinish); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(everyStepEvents) {
		t.Errorf("events %v\nwant %v", got, everyStepEvents)
	}
	if rep := cer.Report(); rep.TestSign == nil || rep.TestSign.Tag != "1.0" || rep.TargetsKey == nil {
		t.Errorf("report %+v", rep)
	}
	if _, more := cer.Next(); more {
		t.Error("steps left after the last one")
	}
	if err := cer.RunThrough(ctx, "no-such-step"); err == nil {
		t.Error("RunThrough an unknown step: no error")
	}
}

// A failed step runs again on the next call and is reported once.
func TestAFailedStepRunsAgain(t *testing.T) {
	eng := newFake(t)
	eng.failOnce = "add ci"
	var got events
	cer, err := flows.NewSetup(eng, fakeSetup(t), got.add)
	if err != nil {
		t.Fatal(err)
	}
	if err := cer.RunAll(context.Background()); !errors.Is(err, trust.ErrPublish) {
		t.Fatalf("RunAll: %v, want the fake's publish error", err)
	}
	rep := cer.Report()
	if len(rep.Steps) != 2 || rep.Steps[1].Status != flows.Failed || len(rep.Delegations) != 1 || fmt.Sprint(rep.Pending()) != "[delegations]" {
		t.Fatalf("after the failure: steps %+v, delegations %d", rep.Steps, len(rep.Delegations))
	}
	if err := cer.RunAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep = cer.Report()
	var ids []string
	for _, st := range rep.Steps {
		ids = append(ids, string(st.Step)+":"+string(st.Status))
	}
	if fmt.Sprint(ids) != "[init:done delegations:done root-cert:done test-sign:done delete-targets-key:done]" || len(rep.Delegations) != 2 {
		t.Errorf("after the rerun: steps %v, %d delegations", ids, len(rep.Delegations))
	}
	if fmt.Sprint(eng.calls[:4]) != "[init add signpath add ci add signpath]" {
		t.Errorf("calls %v: init ran again, or the rerun did not start the step over", eng.calls)
	}
}

// A step stopped from here says so in the report (the wizard's quit
// summary reads it: a publishing step cut off may have landed); a step
// that failed otherwise does not.
func TestAnInterruptedStepSaysSo(t *testing.T) {
	for _, tc := range []struct {
		interrupt, fail string
		want            bool
	}{{"add ci", "", true}, {"", "add ci", false}} {
		eng := newFake(t)
		eng.interrupt, eng.failOnce = tc.interrupt, tc.fail
		cer, err := flows.NewSetup(eng, fakeSetup(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		cer.RunAll(context.Background())
		st := cer.Report().Steps[1]
		if st.Step != flows.StepDelegations || st.Status != flows.Failed || st.Interrupted != tc.want || !flows.Publishes(st.Step) {
			t.Errorf("interrupt %q, fail %q: %+v", tc.interrupt, tc.fail, st)
		}
	}
}

// A step may find at run time that it has nothing to do: after the
// targets key was deleted by an earlier run, nothing here can test-sign.
func TestAStepSkipsItselfAtRunTime(t *testing.T) {
	eng := newFake(t)
	eng.noTargets = true
	rep, err := flows.RunSetup(context.Background(), eng, fakeSetup(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := rep.Steps[3]; st.Step != flows.StepTestSign || st.Status != flows.Skipped || !strings.Contains(st.Note, "deleted earlier") {
		t.Errorf("test-sign %+v, want skipped", st)
	}
}

// What is wrong with the input stops the ceremony before the engine is
// asked to change anything.
func TestNothingRunsForABadSetup(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*flows.Setup)
		kind   error
	}{
		{"no root key", func(s *flows.Setup) { s.Root = nil }, trust.ErrBadInput},
		{"no repository", func(s *flows.Setup) { s.GUN = trust.GUN{} }, trust.ErrBadInput},
		{"a signer without a certificate", func(s *flows.Setup) { s.Signers[0].Cert = nil }, trust.ErrBadCertificate},
		{"an invalid signer name", func(s *flows.Setup) { s.Signers[0].Name = "Not Valid" }, trust.ErrBadSignerName},
		{"a signer named twice", func(s *flows.Setup) { s.Signers[1].Name = s.Signers[0].Name }, trust.ErrBadSignerName},
		{"a missing test tag", func(s *flows.Setup) { s.TestTag = "missing" }, trust.ErrTagNotFound},
		{"deleting the targets key without a signer", func(s *flows.Setup) { s.Signers = nil }, trust.ErrNoSigner},
		{"a root certificate path that is a directory", func(s *flows.Setup) { s.RootCertOut = t.TempDir() }, trust.ErrBadInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := newFake(t)
			s := fakeSetup(t)
			s.Signers = append([]flows.Signer(nil), s.Signers...)
			tc.change(&s)
			rep, err := flows.RunSetup(context.Background(), eng, s, nil)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("RunSetup: %v, want %v", err, tc.kind)
			}
			if len(eng.calls) != 0 || len(rep.Steps) != 0 {
				t.Errorf("the engine was asked %v; steps %+v", eng.calls, rep.Steps)
			}
		})
	}
}

// The targets-key rotation reads the repository as a consumer first, so
// that it can check afterwards that such a consumer follows; then it
// publishes, verifies both ways, and deletes the new key if asked.
// releasesOf are a repository's delegations with one release signer.
var releasesOf = []trust.Delegation{{Name: "releases", Role: trust.ReleasesRole, KeyIDs: []string{"k1"}}, {Name: "signpath", Role: "targets/signpath", KeyIDs: []string{"k1"}}}

func TestTargetsRotationRunsInOrder(t *testing.T) {
	eng := newFake(t)
	eng.signers = releasesOf
	gun := fakeSetup(t).GUN
	var got events
	rep, err := flows.RunRotate(context.Background(), eng, &flows.Rotate{GUN: gun, Root: trust.FileRootKey(""), Role: flows.RoleTargets, DeleteTargetsKey: true}, got.add)
	if err != nil {
		t.Fatal(err)
	}
	want := "[snapshot rotate-targets root-cert verify-fresh verify-from-cache delete-targets-key]"
	if fmt.Sprint(eng.calls) != want {
		t.Errorf("calls %v, want %s", eng.calls, want)
	}
	if rep.Rotation == nil || !rep.Published() || rep.TargetsKey == nil || len(rep.Pending()) != 0 {
		t.Errorf("report %+v", rep)
	}
	// Without the deletion, the last step is skipped; a failed publish
	// stops before any verification, and its rerun starts there.
	eng = newFake(t)
	eng.failOnce = "rotate-targets"
	c, err := flows.NewRotate(eng, &flows.Rotate{GUN: gun, Root: trust.FileRootKey(""), Role: flows.RoleTargets}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunAll(context.Background()); err == nil {
		t.Fatal("the failing publish did not fail the ceremony")
	}
	if err := c.RunAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	want = "[snapshot rotate-targets rotate-targets root-cert verify-fresh verify-from-cache]"
	if fmt.Sprint(eng.calls) != want {
		t.Errorf("calls %v, want %s", eng.calls, want)
	}
	if st := c.Report().Steps; len(st) != 4 || st[3].Status != flows.Skipped {
		t.Errorf("steps %+v", st)
	}
	if _, err := flows.NewRotate(eng, &flows.Rotate{GUN: gun, Role: flows.RoleTargets}, nil); !errors.Is(err, trust.ErrBadInput) {
		t.Errorf("a rotation without a root key: %v", err)
	}
}

// The server keys are rotated by the same ceremony, and there is no
// targets key to delete afterwards.
func TestServerKeyRotation(t *testing.T) {
	for _, role := range []string{flows.RoleSnapshot, flows.RoleTimestamp} {
		eng := newFake(t)
		rep, err := flows.RunRotate(context.Background(), eng, &flows.Rotate{GUN: fakeSetup(t).GUN, Root: trust.FileRootKey(""), Role: role, DeleteTargetsKey: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := "[snapshot rotate-" + role + " root-cert verify-fresh verify-from-cache]"
		if fmt.Sprint(eng.calls) != want || rep.Steps[3].Status != flows.Skipped || rep.Rotation.Location != "server" {
			t.Errorf("%s: calls %v (want %s), steps %+v", role, eng.calls, want, rep.Steps)
		}
	}
	eng := newFake(t)
	if _, err := flows.RunRotate(context.Background(), eng, &flows.Rotate{GUN: fakeSetup(t).GUN, Root: trust.FileRootKey(""), Role: flows.RoleSnapshot, Local: true}, nil); err != nil || !slices.Contains(eng.calls, "rotate-local-snapshot") {
		t.Errorf("a local snapshot key: %v, calls %v", err, eng.calls)
	}
	if _, err := flows.NewRotate(newFake(t), &flows.Rotate{GUN: fakeSetup(t).GUN, Root: trust.FileRootKey(""), Role: "root"}, nil); !errors.Is(err, trust.ErrBadInput) {
		t.Errorf("rotating the root key this way: %v", err)
	}
}

// A signer change needs the targets key: the trust dir's, or one rotated
// in with the root key for the change and deleted again at the end.
func TestSignerChange(t *testing.T) {
	gun := fakeSetup(t).GUN
	cert := fakeSetup(t).Signers[0].Cert
	for _, tc := range []struct {
		name      string
		noTargets bool
		root      trust.RootKey
		want      string
		kind      error
	}{
		{"the targets key is here", false, nil, "[snapshot replace signpath root-cert verify-fresh verify-from-cache]", nil},
		{"rotated in with the root key", true, trust.FileRootKey(""), "[snapshot rotate-targets replace signpath root-cert verify-fresh verify-from-cache delete-targets-key]", nil},
		{"no targets key and no root key", true, nil, "[snapshot]", trust.ErrNoTargetsKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := newFake(t)
			eng.noTargets = tc.noTargets
			rep, err := flows.RunSignerChange(context.Background(), eng, &flows.SignerChange{GUN: gun, Root: tc.root, Change: flows.SignerReplace, Name: "signpath", Cert: cert}, nil)
			if !errors.Is(err, tc.kind) || (tc.kind == nil) != (err == nil) {
				t.Fatalf("RunSignerChange: %v, want %v", err, tc.kind)
			}
			if fmt.Sprint(eng.calls) != tc.want {
				t.Errorf("calls %v\nwant %s", eng.calls, tc.want)
			}
			if action, _ := trust.FixFor(err); err != nil && action != trust.ActionRotateTargets {
				t.Errorf("the fix of %v is %q, want rotate-targets", err, action)
			}
			if tc.kind == nil && (len(rep.Delegations) != 1 || len(rep.Pending()) != 0) {
				t.Errorf("report %+v", rep)
			}
		})
	}
	for _, bad := range []*flows.SignerChange{
		{GUN: gun, Change: flows.SignerAdd, Name: "signpath"},
		{GUN: gun, Change: "rename", Name: "signpath"},
		{GUN: gun, Change: flows.SignerRemove, Name: "Not Valid"},
	} {
		eng := newFake(t)
		if _, err := flows.RunSignerChange(context.Background(), eng, bad, nil); err == nil || len(eng.calls) != 0 {
			t.Errorf("%+v: %v, calls %v", bad, err, eng.calls)
		}
	}
}

// When targets.json has expired no consumer can read the repository
// before the renewal: that step says so, and the result is verified from
// an empty cache only.
func TestRotationOfAnExpiredRepository(t *testing.T) {
	eng := newFake(t)
	eng.expired = true
	rep, err := flows.RunRotate(context.Background(), eng, &flows.Rotate{GUN: fakeSetup(t).GUN, Root: trust.FileRootKey(""), Role: flows.RoleTargets}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(eng.calls) != "[snapshot rotate-targets root-cert verify-fresh]" || rep.Steps[0].Status != flows.Skipped || !strings.Contains(rep.Steps[2].Note, "no consumer could read") {
		t.Errorf("calls %v, steps %+v", eng.calls, rep.Steps)
	}
}

// A ceremony that would publish and then fail on something known before
// is refused before anything runs.
func TestMaintenanceRefusesWhatWouldFailAfterPublishing(t *testing.T) {
	gun := fakeSetup(t).GUN
	eng := newFake(t) // no release signer
	_, err := flows.RunRotate(context.Background(), eng, &flows.Rotate{GUN: gun, Root: trust.FileRootKey(""), Role: flows.RoleTargets, DeleteTargetsKey: true}, nil)
	if !errors.Is(err, trust.ErrNoSigner) || len(eng.calls) != 0 {
		t.Errorf("rotating and deleting without a release signer: %v, calls %v", err, eng.calls)
	}
	eng = newFake(t)
	eng.signers, eng.noTargets = releasesOf, true
	_, err = flows.RunSignerChange(context.Background(), eng, &flows.SignerChange{GUN: gun, Root: trust.FileRootKey(""), Change: flows.SignerRemove, Name: "signpath"}, nil)
	if !errors.Is(err, trust.ErrNoSigner) || len(eng.calls) != 0 {
		t.Errorf("removing the last release signer with the root key: %v, calls %v", err, eng.calls)
	}
}

// Check refuses the same input before anything runs, and the ceremony's
// run refuses it again: a face can stop on its review (the wizard does).
func TestCheckRefusesBeforeAnyRun(t *testing.T) {
	gun := fakeSetup(t).GUN
	eng := newFake(t)
	eng.signers, eng.noTargets = releasesOf, true
	cer, err := flows.NewSignerChange(eng, &flows.SignerChange{GUN: gun, Root: trust.FileRootKey(""), Change: flows.SignerRemove, Name: "signpath"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cer.Check(context.Background()); !errors.Is(err, trust.ErrNoSigner) || len(eng.calls) != 0 {
		t.Fatalf("Check: %v, calls %v", err, eng.calls)
	}
	if err := cer.RunAll(context.Background()); !errors.Is(err, trust.ErrNoSigner) || len(eng.calls) != 0 || len(cer.Report().Steps) != 0 {
		t.Errorf("the run after a refused check: %v, calls %v, steps %v", err, eng.calls, cer.Report().Steps)
	}
	// A removal that can finish passes, once.
	eng = newFake(t)
	eng.signers = releasesOf
	cer, _ = flows.NewSignerChange(eng, &flows.SignerChange{GUN: gun, Root: trust.FileRootKey(""), Change: flows.SignerRemove, Name: "signpath"}, nil)
	if err := cer.Check(context.Background()); err != nil {
		t.Errorf("Check of a removal with the targets key held: %v", err)
	}
}

// A signer change that would publish nothing rotates no targets key in.
func TestASignerChangeThatChangesNothingNeedsNoKey(t *testing.T) {
	eng := newFake(t)
	eng.noTargets, eng.alreadySo = true, true
	rep, err := flows.RunSignerChange(context.Background(), eng, &flows.SignerChange{GUN: fakeSetup(t).GUN, Root: trust.FileRootKey(""),
		Change: flows.SignerReplace, Name: "signpath", Cert: fakeSetup(t).Signers[0].Cert}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(eng.calls, "rotate-targets") || rep.Steps[1].Status != flows.Skipped || rep.Steps[4].Status != flows.Skipped {
		t.Errorf("calls %v, steps %+v", eng.calls, rep.Steps)
	}
}

// A root rotation reads as a consumer first, publishes, verifies both
// kinds of consumer, and exports the new certificate when asked.
func TestRootRotationRunsInOrder(t *testing.T) {
	gun := fakeSetup(t).GUN
	eng := newFake(t)
	out := filepath.Join(t.TempDir(), "root.crt")
	r := &flows.RootRotate{GUN: gun, Root: trust.FileRootKey(""), Change: trust.RootChange{Add: []trust.RootKey{trust.FileRootKey("new.key")}}, RootCertOut: out}
	c, err := flows.NewRootRotate(eng, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := c.Report()
	if rep.RootRotation == nil || !rep.Published() || rep.RootCertFile != out {
		t.Errorf("report %+v", rep)
	}
	want := []string{"snapshot", "rotate-root", "root-cert", "verify-fresh", "verify-from-cache", "root-cert"}
	if !slices.Equal(eng.calls, want) {
		t.Errorf("calls %v, want %v", eng.calls, want)
	}
	if _, err := flows.NewRootRotate(eng, &flows.RootRotate{GUN: gun, Root: trust.FileRootKey("")}, nil); !errors.Is(err, trust.ErrBadInput) {
		t.Errorf("no new root key: %v", err)
	}
}

// A root renewal runs the root rotation's publish with the same keys
// (Renew, every key kept) and makes no targets key.
func TestRootRenewalRunsInOrder(t *testing.T) {
	gun := fakeSetup(t).GUN
	eng := newFake(t)
	c, err := flows.NewRootRenew(eng, &flows.RootRenew{GUN: gun, Root: trust.FileRootKey("")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"snapshot", "rotate-root", "root-cert", "verify-fresh", "verify-from-cache"}
	if !slices.Equal(eng.calls, want) {
		t.Errorf("calls %v, want %v", eng.calls, want)
	}
	if len(eng.rootChanges) != 1 || !eng.rootChanges[0].Renew || !slices.Equal(eng.rootChanges[0].Keep, []string{trust.KeepAll}) || len(eng.rootChanges[0].Add) != 0 {
		t.Errorf("the root change asked %+v, want a renewal keeping every key", eng.rootChanges)
	}
	if rep := c.Report(); rep.RootRotation == nil || !rep.RootRotation.Renewed || !rep.Published() {
		t.Errorf("report %+v", rep)
	}
	if _, err := flows.NewRootRenew(eng, &flows.RootRenew{GUN: gun}, nil); !errors.Is(err, trust.ErrBadInput) {
		t.Errorf("no root key: %v", err)
	}
}

// renew re-signs root.json alone when only it is due, and rotates the
// targets key when targets.json is due too; a signer's certificate is
// left, with its finding.
func TestPlanRenewal(t *testing.T) {
	f := func(role string, remedy flows.Remedy) flows.Finding {
		return flows.Finding{Expiry: flows.Expiry{What: role + " metadata", Role: role, Remedy: remedy}}
	}
	for _, tc := range []struct {
		name         string
		findings     []flows.Finding
		resign, root bool
		due, left    int
	}{
		{"nothing due", nil, false, false, 0, 0},
		{"root.json alone", []flows.Finding{f("root", flows.RemedyRotateTargets)}, true, true, 1, 0},
		{"targets.json alone", []flows.Finding{f("targets", flows.RemedyRotateTargets)}, true, false, 1, 0},
		{"both", []flows.Finding{f("targets", flows.RemedyRotateTargets), f("root", flows.RemedyRotateTargets)}, true, false, 2, 0},
		{"root.json and a signer", []flows.Finding{f("root", flows.RemedyRotateTargets), f("targets/releases", flows.RemedyReplaceSigner)}, true, true, 1, 1},
		{"a signer alone", []flows.Finding{f("targets/releases", flows.RemedyReplaceSigner)}, false, false, 0, 1},
	} {
		r := flows.PlanRenewal(flows.CheckResult{Findings: tc.findings})
		if r.Resign != tc.resign || r.RootOnly != tc.root || len(r.Due) != tc.due || len(r.Left) != tc.left {
			t.Errorf("%s: %+v", tc.name, r)
		}
	}
}

// Report.Changed names only steps that publish: the CLI's "published:"
// list reads it alone.
func TestOnlyPublishingStepsChange(t *testing.T) {
	rep := &flows.Report{Init: &trust.InitResult{}, Delegations: []*trust.DelegationResult{{Changed: true}},
		Rotation: &trust.KeyRotation{}, RootRotation: &trust.RootRotation{}, TestSign: &trust.TestSignResult{Kept: true}}
	for _, step := range []flows.StepID{flows.StepInit, flows.StepDelegations, flows.StepRootCert, flows.StepTestSign, flows.StepDeleteTargetsKey,
		flows.StepReadConsumer, flows.StepRotateKey, flows.StepVerifyConsumer, flows.StepTargetsKeyForChange, flows.StepChangeSigner,
		flows.StepRotateRoot, flows.StepRenewRoot} {
		if rep.Changed(step) && !flows.Publishes(step) {
			t.Errorf("%s changed the server, and is not a publishing step", step)
		}
		if flows.Publishes(step) && !rep.Changed(step) {
			t.Errorf("%s publishes, and a report that did everything says it changed nothing", step)
		}
	}
}
