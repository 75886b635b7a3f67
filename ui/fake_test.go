package ui

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
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

func (e *fakeEngine) Init(ctx context.Context, gun trust.GUN, root trust.RootKey) (*trust.InitResult, error) {
	if err := e.call(ctx, "init"); err != nil {
		return nil, err
	}
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
	return []trust.RootCertificate{{GUN: gun.String(), KeyID: fakeRootID, Fingerprint: hex.EncodeToString(sum[:]),
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
	return nil, trust.ErrNotInitialized
}

func (e *fakeEngine) Reach(ctx context.Context, gun trust.GUN) error { return e.call(ctx, "reach") }

// The wizard has no rotation yet: these only complete the engine.
func (e *fakeEngine) Snapshot(context.Context, trust.GUN) (*trust.TrustSnapshot, error) {
	return nil, errors.New("not in the wizard")
}

func (e *fakeEngine) RotateTargetsKey(context.Context, trust.GUN, trust.RootKey) (*trust.KeyRotation, error) {
	return nil, errors.New("not in the wizard")
}

func (e *fakeEngine) RotateServerKey(context.Context, trust.GUN, trust.RootKey, string) (*trust.KeyRotation, error) {
	return nil, errors.New("not in the wizard")
}

func (e *fakeEngine) RemoveDelegation(context.Context, trust.GUN, string, bool) (*trust.DelegationResult, error) {
	return nil, errors.New("not in the wizard")
}

func (e *fakeEngine) ReplaceDelegation(context.Context, trust.GUN, string, *trust.Certificate) (*trust.DelegationResult, error) {
	return nil, errors.New("not in the wizard")
}

func (e *fakeEngine) HoldsTargetsKey(context.Context, trust.GUN) (bool, error) {
	return false, errors.New("not in the wizard")
}

func (e *fakeEngine) SignerChangeNeeded(context.Context, trust.GUN, string, *trust.Certificate, bool) (bool, error) {
	return false, errors.New("not in the wizard")
}

func (e *fakeEngine) RotateLocalSnapshotKey(_ context.Context, _ trust.GUN, _ trust.RootKey) (*trust.KeyRotation, error) {
	return nil, errors.New("not in the wizard")
}

func (e *fakeEngine) VerifyPublished(context.Context, trust.GUN, []string) error {
	return errors.New("not in the wizard")
}

func (e *fakeEngine) VerifyFromSnapshot(context.Context, trust.GUN, *trust.TrustSnapshot) error {
	return errors.New("not in the wizard")
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
	return &trust.Inspection{GUN: gun.String(),
		Roles: []trust.RoleExpiry{{Role: "root", Version: 1, Expires: time.Date(2036, 11, 19, 0, 0, 0, 0, time.UTC)},
			{Role: "targets", Version: 3, Expires: time.Date(2029, 11, 21, 0, 0, 0, 0, time.UTC)},
			{Role: "timestamp", Version: 3, Expires: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}},
		Certificates: []trust.CertExpiry{{Role: "targets/releases", Subject: "CN=SignPath Signer,O=Acme", NotAfter: time.Date(2029, 11, 22, 0, 0, 0, 0, time.UTC)}}}, nil
}
