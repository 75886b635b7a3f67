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

	"github.com/dctwiz/dctwiz/trust"
)

// Engine is what the ceremonies need from trust.Client.
type Engine interface {
	Rotator
	Signers
	Init(ctx context.Context, gun trust.GUN, root trust.RootKey, backup ...trust.RootKey) (*trust.InitResult, error)
	AddDelegation(ctx context.Context, gun trust.GUN, name string, cert *trust.Certificate) (*trust.DelegationResult, error)
	RootCertificates(ctx context.Context, gun trust.GUN) ([]trust.RootCertificate, error)
	TestSign(ctx context.Context, gun trust.GUN, tag string, opts trust.TestSignOptions) (*trust.TestSignResult, error)
	DeleteTargetsKey(ctx context.Context, gun trust.GUN) (*trust.TargetsKeyDeletion, error)
	SigningRole(ctx context.Context, gun trust.GUN) (string, error)
	ResolveTag(ctx context.Context, gun trust.GUN, tag string) (*trust.Image, error)
	Delegations(ctx context.Context, gun trust.GUN) ([]trust.Delegation, error)
}

var _ Engine = (*trust.Client)(nil)

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
	GUN  trust.GUN
	Root trust.RootKey
	// BackupRoot, when set, is a second root key the root role names too
	// (threshold 1): a backup token that can sign alone if Root is lost.
	BackupRoot       trust.RootKey
	Signers          []Signer
	RootCertOut      string // where to write the root certificate; "" = do not write
	TestTag          string // "" = skip test signing
	KeepTestSig      bool
	DeleteTargetsKey bool // the admin confirmed deleting the targets key
	// AttestationRoots verify a YubiKey root key's attestation; nil means
	// Yubico's PIV root CA (real tokens). The virtual YubiKey has its own.
	AttestationRoots *x509.CertPool
}

// SetupSteps is the setup ceremony, in order: the one table that the
// CLI's progress lines, the wizard's screens and the ceremony record read.
var SetupSteps = []Step[Setup]{
	{ID: StepInit, Phase: PhasePublish,
		Title: "Publish the root, targets and server-managed snapshot keys",
		Run:   runInit},
	{ID: StepDelegations, Phase: PhasePublish,
		Title: "Add the signers (targets/releases and targets/<name>)",
		Skip:  func(s Setup) string { return unless(len(s.Signers) > 0, "no signer certificate given") },
		Run:   runDelegations},
	{ID: StepRootCert, Phase: PhasePublish,
		Title: "Export the root certificate",
		Run:   runRootCert},
	{ID: StepTestSign, Phase: PhaseVerify,
		Title: "Test-sign a tag and verify it as a consumer would",
		Skip:  func(s Setup) string { return unless(s.TestTag != "", "no test tag given") },
		Run:   runTestSign},
	{ID: StepDeleteTargetsKey, Phase: PhaseFinish,
		Title: "Delete the local targets private key",
		Skip:  func(s Setup) string { return unless(s.DeleteTargetsKey, "not requested") },
		Run:   runDeleteTargetsKey},
}

// unless is why, when the condition does not hold.
func unless(cond bool, why string) string {
	if cond {
		return ""
	}
	return why
}

// Plan lists the steps the ceremony will take, in order, and which are
// skipped and why: what the review screen and the CLI show before anything runs.
func (s Setup) Plan() []PlannedStep { return plan(SetupSteps, s) }

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
	Rotation     *trust.KeyRotation        `json:"rotation,omitempty"`
	RootRotation *trust.RootRotation       `json:"root_rotation,omitempty"`
	Attestation  *trust.AttestationReport  `json:"attestation,omitempty"`
	// BackupAttestation is the backup root key's, when setup made it on a YubiKey.
	BackupAttestation *trust.AttestationReport `json:"backup_attestation,omitempty"`
	Warnings          []string                 `json:"warnings,omitempty"`
}

// Published says whether anything reached the server.
func (r *Report) Published() bool {
	if r.Init != nil || r.Rotation != nil || r.RootRotation != nil {
		return true
	}
	for _, d := range r.Delegations {
		if d != nil && d.Changed {
			return true
		}
	}
	return false
}

// Publishes says whether step sends a change to the server: what the CLI
// lists as published when a ceremony stops, and what the wizard counts as
// possibly landed when one is cut off. One list, so the faces agree. A
// test signature is published, then removed unless kept; reading as a
// consumer, exporting the root certificate and verifying change nothing.
func Publishes(step StepID) bool {
	switch step {
	case StepInit, StepDelegations, StepTestSign, StepRotateKey, StepTargetsKeyForChange,
		StepChangeSigner, StepRotateRoot, StepRenewRoot:
		return true
	}
	return false
}

// Changed says whether step, done, changed what the server holds, by what
// the report says it did: a step that found its change already made (by
// an earlier run) or a test signature removed again changed nothing now.
// Only steps that Publishes can have.
func (r *Report) Changed(step StepID) bool {
	switch step {
	case StepInit:
		return r.Init != nil && !r.Init.AlreadyDone
	case StepDelegations, StepChangeSigner:
		return slices.ContainsFunc(r.Delegations, func(d *trust.DelegationResult) bool { return d != nil && d.Changed })
	case StepRotateKey, StepTargetsKeyForChange:
		return r.Rotation != nil // a rotation always publishes a new key
	case StepRotateRoot, StepRenewRoot:
		return r.RootRotation != nil && !r.RootRotation.AlreadyDone
	case StepTestSign:
		return r.TestSign != nil && r.TestSign.Kept && !r.TestSign.Existing
	}
	return false
}

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
				Fix: "add a signer's certificate in the same ceremony", Action: trust.ActionAddSigner}
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

// SetupCeremony is the setup ceremony, run in parts by the wizard.
type SetupCeremony = Ceremony[Setup]

// RunSetup checks the setup (Check), then runs the ceremony. Each step reports Started then Done,
// Skipped or Failed to events (which may be nil); the first failure stops
// the ceremony. Every step converges when run again, so rerunning the same
// setup after a failure continues where it stopped.
func RunSetup(ctx context.Context, eng Engine, s Setup, events func(Event)) (*Report, error) {
	c, err := NewSetup(eng, s, events)
	if err != nil {
		return c.Report(), err
	}
	err = c.RunAll(ctx)
	return c.Report(), err
}

// NewSetup validates s and returns its ceremony, with nothing run yet.
func NewSetup(eng Engine, s Setup, events func(Event)) (*SetupCeremony, error) {
	check := func(ctx context.Context, eng Engine, s Setup) error { return s.Check(ctx, eng) }
	c := newCeremony(eng, SetupSteps, s, check, events)
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

func (r *Report) clone() *Report {
	out := *r
	out.Steps = slices.Clone(r.Steps)
	out.Delegations = slices.Clone(r.Delegations)
	out.RootCerts = slices.Clone(r.RootCerts)
	out.Warnings = slices.Clone(r.Warnings)
	return &out
}

// runInit creates the root and targets keys and publishes them with a
// server-managed snapshot key.
func runInit(ctx context.Context, eng Engine, s Setup, rep *Report) (string, error) {
	var backup []trust.RootKey
	if s.BackupRoot != nil {
		backup = append(backup, s.BackupRoot)
	}
	res, err := eng.Init(ctx, s.GUN, s.Root, backup...)
	if res != nil {
		rep.Init = res // published, even when saving it locally then failed
	}
	if err != nil {
		return "", err
	}
	if res.AlreadyDone {
		return "already published with these keys", nil
	}
	note := fmt.Sprintf("root %s, targets %s", trust.ShortID(res.Root.ID), trust.ShortID(res.Targets.ID))
	if res.BackupRoot != nil {
		note = fmt.Sprintf("root %s and backup root %s, targets %s", trust.ShortID(res.Root.ID), trust.ShortID(res.BackupRoot.ID), trust.ShortID(res.Targets.ID))
	}
	return note, nil
}

// runDelegations adds every signer as targets/releases and targets/<name>.
func runDelegations(ctx context.Context, eng Engine, s Setup, rep *Report) (string, error) {
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
}

// runRootCert reads the root certificate back from the published
// root.json, writes it if asked, and checks the YubiKey attestation.
func runRootCert(ctx context.Context, eng Engine, s Setup, rep *Report) (string, error) {
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
	if y, ok := s.Root.(attested); ok && y.Attestation() != nil {
		if rep.Attestation, err = attest(s, y.Attestation(), certs, ".attestation.pem"); err != nil {
			return "", err
		}
		note += "; " + attestationNote(rep.Attestation)
	}
	if y, ok := s.BackupRoot.(attested); ok && y.Attestation() != nil {
		if rep.BackupAttestation, err = attest(s, y.Attestation(), certs, ".backup-attestation.pem"); err != nil {
			return "", err
		}
		note += "; backup: " + attestationNote(rep.BackupAttestation)
	}
	return note, nil
}

// attested is a root key that proves it was made on its token.
type attested interface {
	Attestation() *trust.YubiKeyAttestation
}

// runTestSign signs the test tag and verifies it as a consumer who knows
// only the exported root certificate.
func runTestSign(ctx context.Context, eng Engine, s Setup, rep *Report) (string, error) {
	if rep.Init != nil && rep.Init.AlreadyDone {
		if _, err := eng.SigningRole(ctx, s.GUN); errors.Is(err, trust.ErrNoTargetsKey) {
			// A rerun after the targets key was deleted: nothing can sign here any more.
			return "", skipped{"the targets key of this repository was deleted earlier and no signer key is here"}
		}
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
}

// runDeleteTargetsKey deletes the local targets private key.
func runDeleteTargetsKey(ctx context.Context, eng Engine, s Setup, rep *Report) (string, error) {
	return runDeleteTargetsKeyOf(ctx, eng, s.GUN, rep)
}

// attest checks that the YubiKey attestation (already verified when the
// key was opened, before anything was published) is for one of the
// published root keys (a primary and its backup: each has its own), and
// keeps it beside the exported root certificate, its file name ending in
// suffix.
func attest(s Setup, att *trust.YubiKeyAttestation, rootCerts []trust.RootCertificate, suffix string) (*trust.AttestationReport, error) {
	ar := &trust.AttestationReport{Serial: att.Serial, Slot: att.Slot, Roots: "Yubico PIV root CA"}
	if s.AttestationRoots != nil {
		ar.Roots = "the given attestation CA"
	}
	var err error
	for i := range rootCerts {
		if err = trust.VerifyAttestation(att, s.AttestationRoots, &rootCerts[i]); err == nil {
			break
		}
	}
	if err != nil {
		return nil, &trust.Error{Kind: trust.ErrYubiKey, Input: fmt.Sprintf("YubiKey %d", att.Serial), Cause: err,
			Msg: "the attestation does not prove a published root key: " + err.Error()}
	}
	ar.Verified = true
	if s.RootCertOut != "" {
		ar.File = s.RootCertOut + suffix
		if err := trust.WriteOutputFile(ar.File, trust.AttestationPEM(att), 0o644); err != nil {
			return nil, err
		}
	}
	return ar, nil
}

func attestationNote(ar *trust.AttestationReport) string {
	if ar.Verified {
		return fmt.Sprintf("YubiKey %d attestation verified against %s", ar.Serial, ar.Roots)
	}
	return fmt.Sprintf("YubiKey %d attestation NOT verified: %s", ar.Serial, ar.Error)
}
