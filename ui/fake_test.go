package ui

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
)

// The fakes stand in for the engine and the tokens in the UI's own
// tests: they return fixed, realistic values so that screens and golden
// files are stable. The real engine is tested in trust/ and flows/, and
// the wizard on it end to end in cmd/dctwiz (sandbox_test.go).

type fakeBackend struct {
	mu        sync.Mutex
	tokens    []yubikey.Info
	tokensErr error
	prepared  map[uint32]string // serial -> new PIN
	createErr error             // returned once by YubiKeyRoot
	opts      trust.YubiKeyRootOptions
	engine    *fakeEngine
	// touched, when set, holds the key creation after the touch request
	// until the test closes it (as a token waits for a finger).
	touched chan struct{}
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		tokens: []yubikey.Info{{Serial: 12345678, Firmware: "5.7.1", PINTriesLeft: 3, PUKTriesLeft: 3,
			DefaultPIN: true, DefaultPUK: true, DefaultMgmt: true}},
		prepared: map[uint32]string{},
		engine:   newFakeEngine(),
	}
}

func (f *fakeBackend) Engine(server, caCert string, pass trust.Passphrases) (Engine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.engine.server, f.engine.pass = server, pass
	return f.engine, nil
}

func (f *fakeBackend) Tokens() ([]yubikey.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]yubikey.Info(nil), f.tokens...), f.tokensErr
}

// FreeTokens: the fake holds no token open; the screens leave out the
// current one themselves.
func (f *fakeBackend) FreeTokens() ([]yubikey.Info, error) { return f.Tokens() }

func (f *fakeBackend) PrepareToken(serial uint32, pin, puk string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prepared[serial] = pin
	for i := range f.tokens {
		if f.tokens[i].Serial == serial {
			f.tokens[i].DefaultPIN, f.tokens[i].DefaultPUK, f.tokens[i].DefaultMgmt = false, false, false
		}
	}
	return nil
}

func (f *fakeBackend) YubiKeyRoot(ctx context.Context, opts trust.YubiKeyRootOptions) (RootKeyResult, error) {
	f.mu.Lock()
	f.opts = opts
	err := f.createErr
	f.createErr = nil
	f.mu.Unlock()
	if err != nil {
		return RootKeyResult{}, err
	}
	if opts.OnTouch != nil {
		opts.OnTouch()
	}
	if f.touched != nil {
		<-f.touched
	}
	slot := fmt.Sprintf("%x", opts.Slot.Key)
	att := &trust.YubiKeyAttestation{Serial: opts.Serial, Slot: slot,
		DeviceCert: &x509.Certificate{Subject: pkix.Name{CommonName: "Yubico PIV Attestation"}}}
	info := trust.YubiKeyRootInfo{Serial: opts.Serial, Slot: slot, Curve: opts.Curve.Params().Name,
		PINPolicy: yubikey.PINPolicyName(opts.PINPolicy), TouchPolicy: yubikey.TouchPolicyName(opts.TouchPolicy),
		KeyID: "cbcdf849a9083f8bb4e4bebee4591b9818e650b5b12e4ff0ffb4a854126d6ee8", Made: true}
	return RootKeyResult{Key: trust.FileRootKey(""), Info: info, Attestation: att, Close: func() error { return nil }}, nil
}

// OpenYubiKeyRoot finds the root key made on the fake token at setup.
func (f *fakeBackend) OpenYubiKeyRoot(ctx context.Context, opts trust.YubiKeyRootOptions) (RootKeyResult, error) {
	f.mu.Lock()
	f.opts = opts
	err := f.createErr
	f.createErr = nil
	if err != nil {
		// A wrong PIN costs a try, as on a token.
		for i := range f.tokens {
			if f.tokens[i].Serial == opts.Serial {
				f.tokens[i].PINTriesLeft--
			}
		}
	}
	f.mu.Unlock()
	if err != nil {
		return RootKeyResult{}, err
	}
	slot := fmt.Sprintf("%x", opts.Slot.Key)
	att := &trust.YubiKeyAttestation{Serial: opts.Serial, Slot: slot,
		DeviceCert: &x509.Certificate{Subject: pkix.Name{CommonName: "Yubico PIV Attestation"}}}
	info := trust.YubiKeyRootInfo{Serial: opts.Serial, Slot: slot, Curve: "P-256", PINPolicy: "once", TouchPolicy: "always",
		KeyID: fakeRootCanonical}
	return RootKeyResult{Key: trust.FileRootKey(""), Info: info, Attestation: att, Close: func() error { return nil }}, nil
}

// fakeEngine records what the ceremony asked for.
type fakeEngine struct {
	mu       sync.Mutex
	server   string
	pass     trust.Passphrases
	calls    []string
	failNext map[string]error // by call name, returned once
	rootPEM  string
	tags     []string
	deleted  bool
	// hold, by call name: the call waits until the test closes the channel.
	hold map[string]chan struct{}
	// failInitOf: Init of this GUN fails once.
	failInitOf string
	// maintained: the repositories exist, set up before, with signer
	// signpath's certificate 20 days from its end (the rotation rehearsal).
	maintained   bool
	holdsTargets bool
	// rootCanonical: the root key the repositories name, if not the fake token's.
	rootCanonical string
	// backups counts the backup root keys Init was given.
	backups int
	// rootEndsSoon: the maintained repositories' root.json ends within
	// renew's window (targets.json has years left).
	rootEndsSoon bool
	// rootChanges are the root changes RotateRoot was asked for.
	rootChanges []trust.RootChange
}

const (
	fakeSignerKeyID   = "1f0e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	fakeRootCanonical = "cbcdf849a9083f8bb4e4bebee4591b9818e650b5b12e4ff0ffb4a854126d6ee8"
)

// maintainedInspection is a repository the wizard set up a year ago.
func maintainedInspection(gun string) *trust.Inspection {
	return &trust.Inspection{GUN: gun,
		SignedTags: []trust.SignedTag{{Tag: "1.0", Digest: fakeDigest, Size: 423, Signers: []string{"signpath"}}},
		Signers:    []trust.Signer{{Name: "signpath", KeyIDs: []string{fakeSignerKeyID}}},
		AdministrativeKeys: []trust.Signer{{Name: "Root", KeyIDs: []string{fakeRootID}},
			{Name: "Repository", KeyIDs: []string{fakeTargetsID}}},
		Roles: []trust.RoleExpiry{{Role: "root", Version: 2, Expires: time.Date(2035, 11, 19, 0, 0, 0, 0, time.UTC)},
			{Role: "targets", Version: 2, Expires: time.Date(2028, 11, 21, 0, 0, 0, 0, time.UTC)},
			{Role: "targets/releases", Version: 2, Expires: time.Date(2028, 11, 21, 0, 0, 0, 0, time.UTC)},
			{Role: "targets/signpath", Version: 1, Expires: time.Date(2028, 11, 21, 0, 0, 0, 0, time.UTC)},
			{Role: "snapshot", Version: 3, Expires: time.Date(2029, 11, 21, 0, 0, 0, 0, time.UTC)},
			{Role: "timestamp", Version: 9, Expires: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}},
		Certificates: []trust.CertExpiry{
			{Role: "root", KeyID: fakeRootID, Subject: "CN=" + gun, NotAfter: time.Date(2035, 11, 19, 0, 0, 0, 0, time.UTC)},
			{Role: "targets/releases", KeyID: fakeSignerKeyID, Subject: "CN=SignPath Signer,O=Acme", NotAfter: fakeDate.AddDate(0, 0, 20)},
			{Role: "targets/signpath", KeyID: fakeSignerKeyID, Subject: "CN=SignPath Signer,O=Acme", NotAfter: fakeDate.AddDate(0, 0, 20)}}}
}

func newFakeEngine() *fakeEngine {
	pemBytes, err := os.ReadFile("testdata/certs/root.crt")
	if err != nil {
		panic(err)
	}
	return &fakeEngine{failNext: map[string]error{}, hold: map[string]chan struct{}{}, rootPEM: string(pemBytes), tags: []string{"1.0", "1.1", "latest"}}
}

func (e *fakeEngine) call(ctx context.Context, name string) error {
	e.mu.Lock()
	wait := e.hold[name]
	e.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done(): // as the real engine's requests do
			return ctx.Err()
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, name)
	if err, ok := e.failNext[name]; ok {
		delete(e.failNext, name)
		return err
	}
	return nil
}

func (e *fakeEngine) callsMade() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.calls...)
}

const (
	fakeRootID    = "ee32af4e132582b6cc0aa4dad77586286b392eaf5aa65c4c5ee3f5a8de576a24"
	fakeTargetsID = "9c4af3943674863cd99d5432d2f7b29128ac2e5205cef8f5d1f0ccfba1443315"
	fakeDigest    = "sha256:2e6147aa99d293e3855e01a5a613e2482cad2f5d5240eb608521b6f6da5f7eb2"
)

var fakeDate = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

func (e *fakeEngine) Init(ctx context.Context, gun trust.GUN, root trust.RootKey, backup ...trust.RootKey) (*trust.InitResult, error) {
	if err := e.call(ctx, "init"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.backups += len(backup)
	e.mu.Unlock()
	e.mu.Lock()
	failHere := e.failInitOf == gun.String()
	if failHere {
		e.failInitOf = ""
	}
	e.mu.Unlock()
	if failHere {
		return nil, &trust.Error{Kind: trust.ErrPublish, Input: gun.String(), Msg: "the server refused the publish"}
	}
	return &trust.InitResult{GUN: gun.String(), Server: e.server,
		Root:      trust.KeyInfo{ID: fakeRootID, Location: root.String()},
		Targets:   trust.KeyInfo{ID: fakeTargetsID, Location: "trust dir"},
		Snapshot:  trust.KeyInfo{ID: "9d2283f01a4740f2308fbf6c962b05422574d81ad70506f15e8e7f3ac2afc3f4", Location: "server"},
		Timestamp: trust.KeyInfo{ID: "a0cc241f5b0b74db9ed74e31d1a03b51961956a93069fdbf0ddd13bca78f2567", Location: "server"}}, nil
}

func (e *fakeEngine) AddDelegation(ctx context.Context, gun trust.GUN, name string, cert *trust.Certificate) (*trust.DelegationResult, error) {
	if err := e.call(ctx, "delegation "+name); err != nil {
		return nil, err
	}
	return &trust.DelegationResult{GUN: gun.String(), Signer: name, KeyIDs: []string{cert.KeyID},
		Roles: []string{"targets/releases", "targets/" + name}, Changed: true}, nil
}

func (e *fakeEngine) RootCertificates(ctx context.Context, gun trust.GUN) ([]trust.RootCertificate, error) {
	if err := e.call(ctx, "root-cert"); err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(e.rootPEM))
	sum := sha256.Sum256(block.Bytes)
	canonical := fakeRootCanonical
	if e.rootCanonical != "" {
		canonical = e.rootCanonical
	}
	return []trust.RootCertificate{{GUN: gun.String(), KeyID: fakeRootID, CanonicalID: canonical, Fingerprint: hex.EncodeToString(sum[:]),
		Subject: "CN=" + gun.String(), NotBefore: fakeDate, NotAfter: time.Date(2036, 11, 19, 0, 0, 0, 0, time.UTC), PEM: e.rootPEM}}, nil
}

func (e *fakeEngine) TestSign(ctx context.Context, gun trust.GUN, tag string, opts trust.TestSignOptions) (*trust.TestSignResult, error) {
	if err := e.call(ctx, "test-sign "+tag); err != nil {
		return nil, err
	}
	return &trust.TestSignResult{GUN: gun.String(), Tag: tag, Role: "targets", Pinned: opts.PinnedRoot,
		Image:    trust.Image{Ref: gun.String() + ":" + tag, Digest: fakeDigest, Size: 423},
		Verified: &trust.Resolved{Tag: tag, Digest: fakeDigest, Size: 423, Role: "targets"}}, nil
}

func (e *fakeEngine) DeleteTargetsKey(ctx context.Context, gun trust.GUN) (*trust.TargetsKeyDeletion, error) {
	if err := e.call(ctx, "delete-targets-key"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.deleted = true
	e.mu.Unlock()
	return &trust.TargetsKeyDeletion{GUN: gun.String(), KeyIDs: []string{fakeTargetsID},
		Files: []string{"private/" + fakeTargetsID[:12] + ".key"}, Verified: true, Gone: true,
		Consequence: "release signers can still sign; changing the signers needs a targets-key rotation"}, nil
}

func (e *fakeEngine) SigningRole(ctx context.Context, gun trust.GUN) (string, error) {
	return "targets", nil
}

func (e *fakeEngine) ResolveTag(ctx context.Context, gun trust.GUN, tag string) (*trust.Image, error) {
	return &trust.Image{Ref: gun.String() + ":" + tag, Digest: fakeDigest, Size: 423}, nil
}

func (e *fakeEngine) Delegations(ctx context.Context, gun trust.GUN) ([]trust.Delegation, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.maintained {
		return nil, trust.ErrNotInitialized
	}
	return []trust.Delegation{{Name: "releases", Role: "targets/releases", KeyIDs: []string{fakeSignerKeyID}},
		{Name: "signpath", Role: "targets/signpath", KeyIDs: []string{fakeSignerKeyID}}}, nil
}

func (e *fakeEngine) Reach(ctx context.Context, gun trust.GUN) error { return e.call(ctx, "reach") }

// The maintenance ceremonies' verbs: each is recorded as a call, and
// answers as a repository set up by the wizard would.
func (e *fakeEngine) Snapshot(ctx context.Context, gun trust.GUN) (*trust.TrustSnapshot, error) {
	if err := e.call(ctx, "read-as-consumer"); err != nil {
		return nil, err
	}
	return &trust.TrustSnapshot{GUN: gun.String()}, nil
}

const fakeNewTargetsID = "5be2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80"

func (e *fakeEngine) RotateTargetsKey(ctx context.Context, gun trust.GUN, _ trust.RootKey) (*trust.KeyRotation, error) {
	if err := e.call(ctx, "rotate targets"); err != nil {
		return nil, err
	}
	return &trust.KeyRotation{GUN: gun.String(), Role: "targets", OldKeyIDs: []string{fakeTargetsID}, NewKeyID: fakeNewTargetsID, Location: "trust dir"}, nil
}

func (e *fakeEngine) RotateServerKey(ctx context.Context, gun trust.GUN, _ trust.RootKey, role string) (*trust.KeyRotation, error) {
	if err := e.call(ctx, "rotate "+role); err != nil {
		return nil, err
	}
	return &trust.KeyRotation{GUN: gun.String(), Role: role, OldKeyIDs: []string{fakeTargetsID}, NewKeyID: fakeNewTargetsID, Location: "server"}, nil
}

func (e *fakeEngine) RemoveDelegation(ctx context.Context, gun trust.GUN, name string, _ bool) (*trust.DelegationResult, error) {
	if err := e.call(ctx, "remove "+name); err != nil {
		return nil, err
	}
	return &trust.DelegationResult{GUN: gun.String(), Signer: name, Roles: []string{"targets/releases", "targets/" + name}, Changed: true}, nil
}

func (e *fakeEngine) ReplaceDelegation(ctx context.Context, gun trust.GUN, name string, cert *trust.Certificate) (*trust.DelegationResult, error) {
	if err := e.call(ctx, "replace "+name); err != nil {
		return nil, err
	}
	return &trust.DelegationResult{GUN: gun.String(), Signer: name, KeyIDs: []string{cert.KeyID},
		Roles: []string{"targets/releases", "targets/" + name}, Changed: true}, nil
}

func (e *fakeEngine) HoldsTargetsKey(context.Context, trust.GUN) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.holdsTargets, nil
}

func (e *fakeEngine) SignerChangeNeeded(context.Context, trust.GUN, string, *trust.Certificate, bool) (bool, error) {
	return true, nil
}

func (e *fakeEngine) RotateLocalSnapshotKey(ctx context.Context, gun trust.GUN, root trust.RootKey) (*trust.KeyRotation, error) {
	return e.RotateServerKey(ctx, gun, root, "snapshot")
}

func (e *fakeEngine) VerifyPublished(ctx context.Context, _ trust.GUN, _ []string) error {
	return e.call(ctx, "verify-published")
}

func (e *fakeEngine) VerifyFromSnapshot(ctx context.Context, _ trust.GUN, _ *trust.TrustSnapshot) error {
	return e.call(ctx, "verify-as-consumers")
}

func (e *fakeEngine) RotateRoot(ctx context.Context, gun trust.GUN, _ trust.RootKey, change trust.RootChange) (*trust.RootRotation, error) {
	if err := e.call(ctx, "rotate root"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.rootChanges = append(e.rootChanges, change)
	e.mu.Unlock()
	if change.Renew {
		return &trust.RootRotation{GUN: gun.String(), OldKeyIDs: []string{fakeRootID}, NewKeyIDs: []string{fakeRootID}, Version: 3,
			Expires: fakeDate.AddDate(10, 0, 0), Renewed: true}, nil
	}
	return &trust.RootRotation{GUN: gun.String(), OldKeyIDs: []string{fakeRootID}, NewKeyIDs: []string{fakeNewTargetsID}, Version: 2}, nil
}

func (e *fakeEngine) Credentials(ctx context.Context, gun trust.GUN) (string, error) {
	return "docker config", nil
}

func (e *fakeEngine) ServerURL(gun trust.GUN) string {
	if e.server != "" {
		return e.server
	}
	return trust.DefaultServerURL(gun)
}

// fakeTrustDir is fixed so that golden files do not change from run to run.
var fakeTrustDir = filepath.Join(os.TempDir(), "dctwiz-ui-test-trust")

func (e *fakeEngine) TrustDir() string { return fakeTrustDir }

func (e *fakeEngine) ListTags(ctx context.Context, gun trust.GUN) ([]string, error) {
	if err := e.call(ctx, "list-tags"); err != nil {
		return nil, err
	}
	return e.tags, nil
}

func (e *fakeEngine) Inspect(ctx context.Context, gun trust.GUN) (*trust.Inspection, error) {
	if err := e.call(ctx, "inspect"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	maintained := e.maintained
	e.mu.Unlock()
	if maintained {
		in := maintainedInspection(gun.String())
		if e.rootEndsSoon {
			in.Roles[0].Expires = fakeDate.AddDate(0, 0, 100)
		}
		return in, nil
	}
	return &trust.Inspection{GUN: gun.String(),
		Roles: []trust.RoleExpiry{{Role: "root", Version: 1, Expires: time.Date(2036, 11, 19, 0, 0, 0, 0, time.UTC)},
			{Role: "targets", Version: 3, Expires: time.Date(2029, 11, 21, 0, 0, 0, 0, time.UTC)},
			{Role: "timestamp", Version: 3, Expires: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}},
		Certificates: []trust.CertExpiry{{Role: "targets/releases", Subject: "CN=SignPath Signer,O=Acme", NotAfter: time.Date(2029, 11, 22, 0, 0, 0, 0, time.UTC)}}}, nil
}
