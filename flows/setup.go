// Package flows orders the ceremonies' steps. It is the only place that
// knows their order and preconditions; it prints nothing and asks nothing:
// the headless CLI and the wizard both run these flows and show the events.
package flows

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/dctwiz/dctwiz/trust"
)

// Engine is what the setup ceremony needs from trust.Client.
type Engine interface {
	Init(ctx context.Context, gun trust.GUN, root trust.RootKey) (*trust.InitResult, error)
	AddDelegation(ctx context.Context, gun trust.GUN, name string, cert *trust.Certificate) (*trust.DelegationResult, error)
	RootCertificates(ctx context.Context, gun trust.GUN) ([]trust.RootCertificate, error)
	TestSign(ctx context.Context, gun trust.GUN, tag string, opts trust.TestSignOptions) (*trust.TestSignResult, error)
	DeleteTargetsKey(ctx context.Context, gun trust.GUN) (*trust.TargetsKeyDeletion, error)
	SigningRole(ctx context.Context, gun trust.GUN) (string, error)
	ResolveTag(ctx context.Context, gun trust.GUN, tag string) (*trust.Image, error)
	Delegations(ctx context.Context, gun trust.GUN) ([]trust.Delegation, error)
}

var _ Engine = (*trust.Client)(nil)

// StepID names a step; the IDs are part of the JSON contract.
type StepID string

// The setup ceremony's steps, in order.
const (
	StepInit             StepID = "init"
	StepDelegations      StepID = "delegations"
	StepRootCert         StepID = "root-cert"
	StepTestSign         StepID = "test-sign"
	StepDeleteTargetsKey StepID = "delete-targets-key"
)

// Signer is a delegation to add: docker's signer name and its certificate.
type Signer struct {
	Name string
	Cert *trust.Certificate
}

// Setup is what the admin chose for the setup ceremony.
type Setup struct {
	GUN              trust.GUN
	Root             trust.RootKey
	Signers          []Signer
	RootCertOut      string // where to write the root certificate; "" = do not write
	TestTag          string // "" = skip test signing
	KeepTestSig      bool
	DeleteTargetsKey bool // the admin confirmed deleting the targets key
	// AttestationRoots verify a YubiKey root key's attestation; nil means
	// Yubico's PIV root CA (real tokens). The virtual YubiKey has its own.
	AttestationRoots *x509.CertPool
}

// Step is one step of a ceremony as the UI shows it.
type Step struct {
	ID    StepID `json:"id"`
	Title string `json:"title"`
	// Skip, when not empty, says why the step will not run.
	Skip string `json:"skip,omitempty"`
}

// Plan lists the steps the ceremony will take, in order, and which are
// skipped and why: what the review screen and --json show before anything runs.
func (s Setup) Plan() []Step {
	steps := []Step{
		{ID: StepInit, Title: "Create the root and targets keys, make snapshot server-managed, publish"},
		{ID: StepDelegations, Title: "Add the signers' certificates as delegations (targets/releases and targets/<name>), publish"},
		{ID: StepRootCert, Title: "Export the root certificate"},
		{ID: StepTestSign, Title: "Test-sign a tag and verify it as a consumer would"},
		{ID: StepDeleteTargetsKey, Title: "Delete the local targets private key"},
	}
	if len(s.Signers) == 0 {
		steps[1].Skip = "no signer certificate given"
	}
	if s.TestTag == "" {
		steps[3].Skip = "no test tag given"
	}
	if !s.DeleteTargetsKey {
		steps[4].Skip = "not requested"
	}
	return steps
}

// EventKind says what happened to a step.
type EventKind string

// Event kinds.
const (
	Started EventKind = "started"
	Done    EventKind = "done"
	Skipped EventKind = "skipped"
	Failed  EventKind = "failed"
)

// Event reports progress; Note is a short human-readable status.
type Event struct {
	Step  StepID
	Kind  EventKind
	Note  string
	Err   error
	Taken time.Duration
}

// Report is what the ceremony did, step by step: the record for the
// admin's files and for --json.
type Report struct {
	GUN          string                    `json:"gun"`
	Root         string                    `json:"root_key_source"`
	Steps        []StepStatus              `json:"steps"`
	Init         *trust.InitResult         `json:"init,omitempty"`
	Delegations  []*trust.DelegationResult `json:"delegations,omitempty"`
	RootCerts    []trust.RootCertificate   `json:"root_certificates,omitempty"`
	RootCertFile string                    `json:"root_certificate_file,omitempty"`
	TestSign     *trust.TestSignResult     `json:"test_sign,omitempty"`
	TargetsKey   *trust.TargetsKeyDeletion `json:"targets_key_deletion,omitempty"`
	Attestation  *trust.AttestationReport  `json:"attestation,omitempty"`
	Warnings     []string                  `json:"warnings,omitempty"`
}

// StepStatus is one step's outcome.
type StepStatus struct {
	Step   StepID    `json:"step"`
	Status EventKind `json:"status"`
	Note   string    `json:"note,omitempty"`
	Error  string    `json:"error,omitempty"`
}

// Published says whether anything reached the server.
func (r *Report) Published() bool { return r.Init != nil }

// Pending lists the steps that did not complete (failed or never reached),
// for "what is left" messages when a ceremony stops early.
func (r *Report) Pending() []StepID {
	var out []StepID
	for _, s := range r.Steps {
		if s.Status == Failed || s.Status == Started {
			out = append(out, s.Step)
		}
	}
	return out
}

// CheckSigners refuses signers that could only fail once the repository
// is published: an invalid or repeated name, or no certificate.
func CheckSigners(signers []Signer) error {
	names := make([]string, len(signers))
	for i, sig := range signers {
		names[i] = sig.Name
	}
	if err := trust.CheckSignerNames(names...); err != nil {
		return err
	}
	for _, sig := range signers {
		if sig.Cert == nil {
			return &trust.Error{Kind: trust.ErrBadCertificate, Input: sig.Name, Msg: "no certificate for this signer", Fix: "give the signer's certificate"}
		}
	}
	return nil
}

// Check looks at everything that can be known before anything is created
// or published: the test tag exists in the registry, the root certificate
// can be written, and deleting the targets key leaves a signer. The review
// screen and RunSetup both call it.
func (s Setup) Check(ctx context.Context, eng Engine) error {
	if s.TestTag != "" {
		if _, err := eng.ResolveTag(ctx, s.GUN, s.TestTag); err != nil {
			return err
		}
	}
	if s.RootCertOut != "" {
		if err := writable(s.RootCertOut); err != nil {
			return err
		}
	}
	if s.DeleteTargetsKey && len(s.Signers) == 0 {
		// On a rerun the signers may already be published.
		dels, err := eng.Delegations(ctx, s.GUN)
		if err != nil && !errors.Is(err, trust.ErrNotInitialized) {
			return err
		}
		hasReleases := false
		for _, d := range dels {
			hasReleases = hasReleases || (d.Role == trust.ReleasesRole && len(d.KeyIDs) > 0)
		}
		if !hasReleases {
			return &trust.Error{Kind: trust.ErrNoSigner, Input: s.GUN.String(),
				Msg: "deleting the targets key without a signer would leave nobody able to sign",
				Fix: "add a signer's certificate (--delegation NAME=CERT) in the same ceremony"}
		}
	}
	return nil
}

// writable checks that path can be created or replaced, without leaving a file.
func writable(path string) error {
	dir := filepath.Dir(path)
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return &trust.Error{Kind: trust.ErrBadInput, Input: path, Msg: "is a directory", Fix: "give a file path for the root certificate"}
	}
	if err := probe(dir); err != nil {
		return &trust.Error{Kind: trust.ErrBadInput, Input: path, Cause: err, Msg: "cannot write the root certificate there", Fix: "choose a writable directory"}
	}
	return nil
}

// probe creates and removes a file in dir: can files be written there?
func probe(dir string) error {
	f, err := os.CreateTemp(dir, ".dctwiz-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// RunSetup checks the setup (Check), then runs the ceremony. Each step reports Started then Done,
// Skipped or Failed to events (which may be nil); the first failure stops
// the ceremony. Every step converges when run again, so rerunning the same
// setup after a failure continues where it stopped.
func RunSetup(ctx context.Context, eng Engine, s Setup, events func(Event)) (*Report, error) {
	c, err := NewCeremony(eng, s, events)
	if err != nil {
		return c.Report(), err
	}
	err = c.RunThrough(ctx, StepDeleteTargetsKey)
	return c.Report(), err
}

// Ceremony is the setup ceremony run step by step, for the wizard: it
// publishes through the root certificate, then lets the admin choose the
// test tag and confirm the targets key's deletion before those steps run.
// The order stays here; a caller only says how far to go.
// Its methods may be called while RunThrough runs in another goroutine
// (the wizard draws the report while a step publishes).
type Ceremony struct {
	eng     Engine
	events  func(Event)
	checked bool // only RunThrough's goroutine touches it

	mu    sync.Mutex // guards what follows
	setup Setup
	rep   *Report
	next  int // index into the plan of the next step to run
}

// NewCeremony validates s and returns its ceremony, with nothing run yet.
func NewCeremony(eng Engine, s Setup, events func(Event)) (*Ceremony, error) {
	if events == nil {
		events = func(Event) {}
	}
	c := &Ceremony{eng: eng, setup: s, events: events, rep: &Report{Steps: []StepStatus{}}}
	if s.Root == nil || s.GUN.IsZero() {
		return c, &trust.Error{Kind: trust.ErrBadInput, Msg: "the setup has no repository or no root key",
			Fix: "choose the repository and where its root key comes from"}
	}
	c.rep.GUN, c.rep.Root = s.GUN.String(), s.Root.String()
	if err := CheckSigners(s.Signers); err != nil {
		return c, err
	}
	for _, sig := range s.Signers {
		c.rep.Warnings = append(c.rep.Warnings, sig.Cert.Warnings...)
	}
	return c, nil
}

// Report is a copy of what the ceremony did so far.
func (c *Ceremony) Report() *Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rep.clone()
}

// current is the ceremony's setup as it stands (with the choices made so far).
func (c *Ceremony) current() Setup {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.setup
}

// Next is the step that runs next; ok is false once every step ran.
func (c *Ceremony) Next() (step StepID, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	plan := c.setup.Plan()
	if c.next >= len(plan) {
		return "", false
	}
	return plan[c.next].ID, true
}

// ChooseTestTag sets the tag to test-sign; "" skips test signing. It
// counts only before the test-sign step has run.
func (c *Ceremony) ChooseTestTag(tag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setup.TestTag = tag
}

// ConfirmTargetsKeyDeletion records the admin's choice to delete the
// targets key (or, with false, to keep it); it counts only before that step runs.
func (c *Ceremony) ConfirmTargetsKeyDeletion(confirmed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setup.DeleteTargetsKey = confirmed
}

func (r *Report) clone() *Report {
	out := *r
	out.Steps = slices.Clone(r.Steps)
	out.Delegations = slices.Clone(r.Delegations)
	out.RootCerts = slices.Clone(r.RootCerts)
	out.Warnings = slices.Clone(r.Warnings)
	return &out
}

// RunThrough runs the steps not yet run, in order, up to and including
// last; steps after last wait for a later call. The first call checks the
// setup first (Check) so that nothing is created or published for a setup
// that cannot finish. After a failure the failed step runs again on the
// next call: every step converges. One RunThrough runs at a time.
func (c *Ceremony) RunThrough(ctx context.Context, last StepID) error {
	if !c.checked {
		// A tag or deletion chosen later is checked by its own step (the
		// engine refuses a missing tag, or a deletion without a signer).
		if err := c.current().Check(ctx, c.eng); err != nil {
			return err
		}
		c.checked = true
	}
	for {
		c.mu.Lock()
		plan := c.setup.Plan()
		lastIdx := slices.IndexFunc(plan, func(s Step) bool { return s.ID == last })
		if c.next >= len(plan) || c.next > lastIdx {
			c.mu.Unlock()
			return nil
		}
		step := plan[c.next]
		c.mu.Unlock()
		if err := c.run(ctx, step); err != nil {
			return err
		}
		c.mu.Lock()
		c.next++
		c.mu.Unlock()
	}
}

// run runs one step on a copy of the report, so that readers never see
// it half-written, and records its outcome.
func (c *Ceremony) run(ctx context.Context, step Step) error {
	c.mu.Lock()
	rep := c.rep
	// A failed step's status is replaced by its rerun's.
	if n := len(rep.Steps); n > 0 && rep.Steps[n-1].Step == step.ID {
		rep.Steps = rep.Steps[:n-1]
	}
	if step.Skip != "" {
		rep.Steps = append(rep.Steps, StepStatus{Step: step.ID, Status: Skipped, Note: step.Skip})
		c.mu.Unlock()
		c.events(Event{Step: step.ID, Kind: Skipped, Note: step.Skip})
		return nil
	}
	rep.Steps = append(rep.Steps, StepStatus{Step: step.ID, Status: Started})
	work, setup := rep.clone(), c.setup
	c.mu.Unlock()

	c.events(Event{Step: step.ID, Kind: Started, Note: step.Title})
	began := time.Now()
	note, err := runStep(ctx, c.eng, setup, step.ID, work)

	c.mu.Lock()
	// What the step published stays in the report, even when it failed.
	work.Steps = rep.Steps
	*rep = *work
	st := &rep.Steps[len(rep.Steps)-1]
	var skip skipped
	var ev Event
	switch {
	case errors.As(err, &skip):
		st.Status, st.Note = Skipped, skip.why
		ev = Event{Step: step.ID, Kind: Skipped, Note: skip.why}
	case err != nil:
		st.Status, st.Error = Failed, err.Error()
		ev = Event{Step: step.ID, Kind: Failed, Err: err}
	default:
		st.Status, st.Note = Done, note
		ev = Event{Step: step.ID, Kind: Done, Note: note}
	}
	c.mu.Unlock()
	ev.Taken = time.Since(began)
	c.events(ev)
	if ev.Kind == Failed {
		return err
	}
	return nil
}

func runStep(ctx context.Context, eng Engine, s Setup, id StepID, rep *Report) (string, error) {
	switch id {
	case StepInit:
		res, err := eng.Init(ctx, s.GUN, s.Root)
		if err != nil {
			return "", err
		}
		rep.Init = res
		if res.AlreadyDone {
			return "already published with these keys", nil
		}
		return fmt.Sprintf("root %s, targets %s", trust.ShortID(res.Root.ID), trust.ShortID(res.Targets.ID)), nil

	case StepDelegations:
		rep.Delegations = nil // a rerun lists every signer once
		added := 0
		for _, sig := range s.Signers {
			res, err := eng.AddDelegation(ctx, s.GUN, sig.Name, sig.Cert)
			if err != nil {
				return "", err
			}
			rep.Delegations = append(rep.Delegations, res)
			if res.Changed {
				added++
			}
		}
		return fmt.Sprintf("%d signer(s) added, %d already present", added, len(s.Signers)-added), nil

	case StepRootCert:
		certs, err := eng.RootCertificates(ctx, s.GUN)
		if err != nil {
			return "", err
		}
		rep.RootCerts = certs
		note := "fingerprint " + certs[0].Fingerprint
		if s.RootCertOut != "" {
			if err := trust.WriteRootCertificates(s.RootCertOut, certs); err != nil {
				return "", err
			}
			rep.RootCertFile = s.RootCertOut
			note = "written to " + s.RootCertOut
		}
		if y, ok := s.Root.(interface {
			Attestation() *trust.YubiKeyAttestation
		}); ok && y.Attestation() != nil {
			if err := attest(s, y.Attestation(), &certs[0], rep); err != nil {
				return "", err
			}
			note += "; " + attestationNote(rep.Attestation)
		}
		return note, nil

	case StepTestSign:
		if _, err := eng.SigningRole(ctx, s.GUN); errors.Is(err, trust.ErrNoTargetsKey) && rep.Init != nil && rep.Init.AlreadyDone {
			// A rerun after the targets key was deleted: nothing can sign here any more.
			return "", skipped{"the targets key of this repository was deleted earlier and no signer key is here"}
		}
		// Verify as a consumer who knows only the exported root certificate.
		opts := trust.TestSignOptions{Keep: s.KeepTestSig, PinnedRoot: trust.PinnedIDs(rep.RootCerts)}
		if rep.RootCertFile != "" {
			pemBytes, err := os.ReadFile(rep.RootCertFile)
			if err != nil {
				return "", &trust.Error{Kind: trust.ErrBadInput, Input: rep.RootCertFile, Cause: err, Msg: "cannot read the exported root certificate back"}
			}
			if opts.PinnedRoot, err = trust.RootCertIDs(rep.RootCertFile, pemBytes); err != nil {
				return "", err
			}
		}
		res, err := eng.TestSign(ctx, s.GUN, s.TestTag, opts)
		if err != nil {
			return "", err
		}
		rep.TestSign = res
		return fmt.Sprintf("%s:%s verified as %s", s.GUN, s.TestTag, res.Verified.Digest), nil

	case StepDeleteTargetsKey:
		res, err := eng.DeleteTargetsKey(ctx, s.GUN)
		if err != nil {
			return "", err
		}
		rep.TargetsKey = res
		if len(res.KeyIDs) == 0 {
			return "no targets key was left in the trust dir", nil
		}
		return fmt.Sprintf("targets key %s deleted and verified gone", trust.ShortID(res.KeyIDs[0])), nil
	}
	return "", fmt.Errorf("unknown step %q", id)
}

// attest checks that the YubiKey attestation (already verified when the
// key was opened, before anything was published) is for the published
// root key, and keeps it beside the exported root certificate.
func attest(s Setup, att *trust.YubiKeyAttestation, rootCert *trust.RootCertificate, rep *Report) error {
	ar := &trust.AttestationReport{Serial: att.Serial, Slot: att.Slot, Roots: "Yubico PIV root CA"}
	if s.AttestationRoots != nil {
		ar.Roots = "the given attestation CA"
	}
	if err := trust.VerifyAttestation(att, s.AttestationRoots, rootCert); err != nil {
		return &trust.Error{Kind: trust.ErrYubiKey, Input: fmt.Sprintf("YubiKey %d", att.Serial), Cause: err,
			Msg: "the attestation does not prove the published root key: " + err.Error()}
	}
	ar.Verified = true
	if s.RootCertOut != "" {
		ar.File = s.RootCertOut + ".attestation.pem"
		if err := os.WriteFile(ar.File, trust.AttestationPEM(att), 0o644); err != nil {
			return &trust.Error{Kind: trust.ErrBadInput, Input: ar.File, Cause: err, Msg: "cannot write the attestation"}
		}
	}
	rep.Attestation = ar
	return nil
}

func attestationNote(ar *trust.AttestationReport) string {
	if ar.Verified {
		return fmt.Sprintf("YubiKey %d attestation verified against %s", ar.Serial, ar.Roots)
	}
	return fmt.Sprintf("YubiKey %d attestation NOT verified: %s", ar.Serial, ar.Error)
}

// skipped is how a step says at run time that it has nothing to do.
type skipped struct{ why string }

func (s skipped) Error() string { return s.why }
