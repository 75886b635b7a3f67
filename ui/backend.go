package ui

import (
	"context"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
)

// Engine is what the wizard asks of the trust engine: the setup
// ceremony's steps, the environment checks and the registry's tags.
type Engine interface {
	flows.Engine
	flows.Environment
	ListTags(ctx context.Context, gun trust.GUN) ([]string, error)
	Inspect(ctx context.Context, gun trust.GUN) (*trust.Inspection, error)
}

var _ Engine = (*trust.Client)(nil)

// Backend is the engine and token work behind the screens. The wizard
// calls it only from tea.Cmds, never while rendering. NewBackend is the
// real one; UI tests use a fake (the engine itself is tested for real in
// trust/, flows/ and by the end-to-end test of the binary).
type Backend interface {
	// Engine makes an engine for the server and TLS CA chosen on the
	// repository screen, with the passphrases collected so far.
	Engine(server, caCert string, pass trust.Passphrases) (Engine, error)
	Tokens() ([]yubikey.Info, error)
	// FreeTokens lists the tokens no program holds now, without waiting:
	// the ceremony's own root token, held open, is left out at once.
	FreeTokens() ([]yubikey.Info, error)
	PrepareToken(serial uint32, pin, puk string) error
	// YubiKeyRoot makes (or finds) the root key on a token and verifies
	// its attestation; the returned RootKey is used by the ceremony.
	YubiKeyRoot(ctx context.Context, opts trust.YubiKeyRootOptions) (RootKeyResult, error)
	// OpenYubiKeyRoot opens the root key already on a token (never making
	// one) and verifies its attestation: the maintenance ceremonies' root.
	OpenYubiKeyRoot(ctx context.Context, opts trust.YubiKeyRootOptions) (RootKeyResult, error)
}

// RootKeyResult is a root key made (or found) on a YubiKey.
type RootKeyResult struct {
	Key         trust.RootKey
	Info        trust.YubiKeyRootInfo
	Attestation *trust.YubiKeyAttestation
	Close       func() error // releases the token
}

// NewBackend is the real backend: engines from newEngine (the CLI's
// wiring of flags and environment), tokens through piv-go and pcscd.
func NewBackend(newEngine func(server, caCert string, pass trust.Passphrases) (*trust.Client, error)) Backend {
	return realBackend{newEngine: newEngine}
}

type realBackend struct {
	newEngine func(server, caCert string, pass trust.Passphrases) (*trust.Client, error)
}

func (b realBackend) Engine(server, caCert string, pass trust.Passphrases) (Engine, error) {
	c, err := b.newEngine(server, caCert, pass)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (realBackend) Tokens() ([]yubikey.Info, error) { return yubikey.List() }

func (realBackend) FreeTokens() ([]yubikey.Info, error) { return yubikey.ListFree() }

func (realBackend) PrepareToken(serial uint32, pin, puk string) error {
	tok, err := yubikey.Open(serial)
	if err != nil {
		return err
	}
	defer tok.Close()
	return tok.Prepare(pin, puk)
}

func (realBackend) YubiKeyRoot(ctx context.Context, opts trust.YubiKeyRootOptions) (RootKeyResult, error) {
	root := trust.YubiKeyRoot(opts)
	att, err := root.Create(ctx)
	if err != nil {
		root.Close()
		return RootKeyResult{}, err
	}
	return RootKeyResult{Key: root, Info: root.Info(), Attestation: att, Close: root.Close}, nil
}

func (realBackend) OpenYubiKeyRoot(ctx context.Context, opts trust.YubiKeyRootOptions) (RootKeyResult, error) {
	root := trust.YubiKeyRoot(opts)
	att, err := root.Open(ctx)
	if err != nil {
		root.Close()
		return RootKeyResult{}, err
	}
	return RootKeyResult{Key: root, Info: root.Info(), Attestation: att, Close: root.Close}, nil
}
