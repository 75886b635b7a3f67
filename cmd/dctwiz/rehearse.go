package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/ui"
)

// sandboxRootPassphrase is the rehearsal's file root key passphrase when
// no virtual YubiKey can run (no pcscd): published on purpose, as the
// virtual token's PIN is.
const sandboxRootPassphrase = "rehearsal root passphrase"

// setUpRehearsal sets the sandbox's repository up as a setup ceremony a
// year ago would have left it, headless, with the same ceremony as
// `dctwiz setup`: the root key on the virtual YubiKey (or a file key),
// signer signpath, targets key deleted. The wizard then starts on the
// maintenance path, with signpath's renewed certificate to pick. For the
// root-rotation rehearsal the root has a backup on the second token, and
// newToken then puts a factory-fresh third token in the primary's place.
func (a *app) setUpRehearsal(ctx context.Context, cfg *ui.Config, env map[string]string, newToken func(context.Context) error) error {
	gun, err := trust.ParseGUN(cfg.GUNs[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "SANDBOX: setting %s up as the setup ceremony a year ago left it (signer signpath, targets key deleted) ...\n", gun)
	buf := make([]byte, 16)
	if _, err := rand.Read(buf); err != nil {
		return err
	}
	// The targets key is deleted at the end: its passphrase is never needed again.
	pass := trust.Passphrases{Targets: hex.EncodeToString(buf)}
	var root, backup trust.RootKey
	var tokens []*trust.YubiKeyRootKey // released before the wizard opens them again
	defer func() {
		for _, t := range tokens {
			t.Close()
		}
	}()
	var rootNote string
	token := func(s string) (*trust.YubiKeyRootKey, error) {
		serial, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return nil, err
		}
		return trust.YubiKeyRoot(trust.YubiKeyRootOptions{Serial: uint32(serial), PIN: env["YUBIKEY_PIN"], AttestationRoots: cfg.AttestationRoots}), nil
	}
	rootRotation := env["REHEARSAL"] == "root-rotation" && env["YUBIKEY_SERIAL"] != "" && env["YUBIKEY_SERIAL_3"] != ""
	if s := env["YUBIKEY_SERIAL"]; s != "" {
		yk, err := token(s)
		if err != nil {
			return err
		}
		tokens = append(tokens, yk)
		root = yk
		rootNote = fmt.Sprintf("root key on the virtual YubiKey %s, PIN %s", s, env["YUBIKEY_PIN"])
		if rootRotation {
			yk2, err := token(env["YUBIKEY_SERIAL_2"])
			if err != nil {
				return err
			}
			tokens = append(tokens, yk2)
			backup = yk2
			rootNote = fmt.Sprintf("root key on the virtual YubiKey %s, its backup on %s, both PIN %s", s, env["YUBIKEY_SERIAL_2"], env["YUBIKEY_PIN"])
		}
	} else {
		pass.Root = sandboxRootPassphrase
		root = trust.FileRootKey("")
		rootNote = fmt.Sprintf("root key in a file (no virtual YubiKey: %s), passphrase %q", env["YUBIKEY_PROBLEM"], sandboxRootPassphrase)
	}
	eng, err := a.clientFor(cfg.Server, cfg.CACert, cfg.TrustDir, trust.WithPassphrases(pass))
	if err != nil {
		return err
	}
	signer := cfg.Signers[0]
	cert, err := trust.LoadCertificate(signer.Path, time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	s := flows.Setup{GUN: gun, Root: root, BackupRoot: backup, Signers: []flows.Signer{{Name: signer.Name, Cert: cert}}, DeleteTargetsKey: true,
		AttestationRoots: cfg.AttestationRoots}
	if _, err := flows.RunSetup(ctx, eng, s, nil); err != nil {
		return fmt.Errorf("the rehearsal's repository could not be set up: %w", err)
	}
	cfg.Maintain = true
	if env["REHEARSAL"] == "root-rotation" {
		cfg.Rehearse = "root-rotation"
		if !rootRotation {
			cfg.SandboxNote = fmt.Sprintf("The root ceremony: %s is set up (%s); without virtual YubiKeys there is no token to move the root onto.", gun, rootNote)
			return nil
		}
		// Both tokens are released before the primary leaves its reader.
		for _, t := range tokens {
			t.Close()
		}
		if err := newToken(ctx); err != nil {
			return err
		}
		cfg.SandboxNote = fmt.Sprintf("The root ceremony: %s's root keys are on YubiKeys %s (now in the safe) and %s (its backup, inserted; PIN %s). A new, factory-fresh YubiKey %s is inserted beside it.",
			gun, env["YUBIKEY_SERIAL"], env["YUBIKEY_SERIAL_2"], env["YUBIKEY_PIN"], env["YUBIKEY_SERIAL_3"])
		return nil
	}
	renewed := env["RENEWED_SIGNER_CERT"]
	cfg.Signers = []ui.SignerFile{{Name: signer.Name, Path: renewed}}
	cfg.SandboxNote = fmt.Sprintf("The yearly ceremony: %s is set up (%s); signpath's certificate ends in 20 days, its renewed one is %s.",
		gun, rootNote, filepath.Base(renewed))
	return nil
}
