package main

import (
	"crypto/elliptic"
	"crypto/x509"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
)

const rootKeyHelp = `where the root key comes from: "yubikey" or "yubikey:SERIAL" (made on the token, used from it), "file" (the trust dir's root key, created if there is none) or "file:PATH" (a notary/docker root key file)`

// rootKeyFlags are the flags that choose and shape the root key.
type rootKeyFlags struct {
	source      string
	slot        string
	pinPolicy   string
	touchPolicy string
	curve       string
	overwrite   bool
	attestCA    string
	lastTry     bool
}

func (f *rootKeyFlags) register(fs *pflag.FlagSet) { f.registerWithDefault(fs, "file") }

// registerOptional registers the flags for a command that needs the root
// key only sometimes: without --root-key it uses none.
func (f *rootKeyFlags) registerOptional(fs *pflag.FlagSet) { f.registerWithDefault(fs, "") }

func (f *rootKeyFlags) registerWithDefault(fs *pflag.FlagSet, source string) {
	fs.StringVar(&f.source, "root-key", source, rootKeyHelp)
	fs.StringVar(&f.slot, "slot", "9c", "YubiKey PIV slot of the root key")
	fs.StringVar(&f.pinPolicy, "pin-policy", "once", "YubiKey PIN policy of a new root key: once (per ceremony), always or never")
	fs.StringVar(&f.touchPolicy, "touch-policy", "always", "YubiKey touch policy of a new root key: always, cached or never")
	fs.StringVar(&f.curve, "curve", "p256", "curve of a new YubiKey root key: p256 or p384")
	fs.BoolVar(&f.overwrite, "overwrite-slot", false, "replace a key in the YubiKey slot that is not a root key made on the token (destroys it; needs --yes or typing the slot)")
	// Not --yes: a script that confirms destructive steps must not also
	// risk blocking the PIN.
	fs.BoolVar(&f.lastTry, "last-pin-try", false, "try the PIN even when the YubiKey has only one try left (a wrong PIN then blocks it)")
	fs.StringVar(&f.attestCA, "attestation-ca", "", "verify the YubiKey's attestation against this CA (PEM) instead of Yubico's PIV root CA (the virtual YubiKey has its own)")
}

// rootKeySpec is the root-key flags, parsed: nothing asked, nothing opened.
type rootKeySpec struct {
	file        bool
	path        string // file:PATH
	serial      uint32 // yubikey:SERIAL; 0: the only one connected
	slot        yubikey.Slot
	pinPolicy   yubikey.PINPolicy
	touchPolicy yubikey.TouchPolicy
	curve       elliptic.Curve
}

// parse reads the root-key flags, refusing malformed ones (exit 2).
func (f rootKeyFlags) parse() (rootKeySpec, error) {
	var spec rootKeySpec
	kind, arg, _ := strings.Cut(f.source, ":")
	switch kind {
	case "file":
		spec.file, spec.path = true, arg
		return spec, nil
	case "yubikey":
	default:
		return spec, usagef("--root-key %q: use yubikey[:SERIAL], file or file:PATH", f.source)
	}
	if arg != "" {
		serial, err := strconv.ParseUint(arg, 10, 32)
		if err != nil {
			return spec, usagef("--root-key %q: the YubiKey serial is a number", f.source)
		}
		spec.serial = uint32(serial)
	}
	var err error
	if spec.slot, err = yubikey.ParseSlot(f.slot); err != nil {
		return spec, usageError{err}
	}
	if spec.pinPolicy, err = yubikey.ParsePINPolicy(f.pinPolicy); err != nil {
		return spec, usageError{err}
	}
	if spec.touchPolicy, err = yubikey.ParseTouchPolicy(f.touchPolicy); err != nil {
		return spec, usageError{err}
	}
	curve, ok := map[string]elliptic.Curve{"p256": elliptic.P256(), "p384": elliptic.P384()}[f.curve]
	if !ok {
		return spec, usagef("--curve %q: use p256 or p384", f.curve)
	}
	spec.curve = curve
	return spec, nil
}

// check refuses malformed root-key flags, before a plan is shown or
// anything is asked.
func (f rootKeyFlags) check() error {
	_, err := f.parse()
	return err
}

// rootKey reads the root-key flags. A YubiKey's PIN is collected here,
// before anything runs; a file key's passphrase when the engine opens it
// (through the client's passphrase callback).
func (a *app) rootKey(f rootKeyFlags) (trust.RootKey, error) {
	spec, err := f.parse()
	if err != nil {
		return nil, err
	}
	if spec.file {
		return trust.FileRootKey(spec.path), nil
	}
	if f.overwrite {
		what := fmt.Sprintf("Replacing the key in slot %s of the YubiKey destroys it", f.slot)
		if err := a.confirm(what, f.slot); err != nil {
			return nil, err
		}
	}
	var roots *x509.CertPool
	if f.attestCA != "" {
		if roots, err = loadCAPool(f.attestCA); err != nil {
			return nil, err
		}
	}
	pin, askedTwice, err := a.yubiKeyPIN(spec.serial)
	if err != nil {
		return nil, err
	}
	// Two tokens can take part in one ceremony (a root rotation): the
	// prompt names the one that waits.
	touch := "Touch your YubiKey now: it waits to sign with the root key."
	if spec.serial != 0 {
		touch = fmt.Sprintf("Touch YubiKey %d now: it waits to sign with its root key.", spec.serial)
	}
	root := trust.YubiKeyRoot(trust.YubiKeyRootOptions{
		Serial: spec.serial, Slot: spec.slot, PIN: pin, PINPolicy: spec.pinPolicy, TouchPolicy: spec.touchPolicy, Overwrite: f.overwrite,
		Curve: spec.curve, AttestationRoots: roots, AllowLastTry: askedTwice || f.lastTry,
		OnTouch: func() { a.say(touch) },
	})
	a.closers = append(a.closers, root.Close)
	return root, nil
}

// rootNeeds says which root key a ceremony will use, for its plan.
func rootNeeds(f rootKeyFlags) string {
	switch kind, arg, _ := strings.Cut(f.source, ":"); kind {
	case "yubikey":
		if arg == "" {
			return "the root key on the YubiKey connected (its PIN once; a touch per root signature with touch policy always)"
		}
		return "the root key on YubiKey " + arg + " (its PIN once; a touch per root signature with touch policy always)"
	case "file":
		if arg == "" {
			return "the trust dir's root key (its passphrase)"
		}
		return "the root key file " + arg + " (its passphrase)"
	}
	return "no root key"
}

// touchNote is what a batch's plan says about touches: with touch policy
// always each root signature waits for one, perRepo per repository.
func touchNote(f rootKeyFlags, repos, perRepo int) string {
	if kind, _, _ := strings.Cut(f.source, ":"); kind != "yubikey" || repos < 2 || f.touchPolicy == "never" {
		return ""
	}
	if f.touchPolicy == "cached" {
		return fmt.Sprintf("; a new key with touch policy cached: one touch covers 15 seconds of the %d root signatures", repos*perRepo)
	}
	return fmt.Sprintf("; with touch policy always, %d touches (%d per repository): for a batch, a root key made with --touch-policy cached needs one per 15 seconds",
		repos*perRepo, perRepo)
}

// yubiKeyPIN gets the PIN once per token and ceremony:
// DCTWIZ_YUBIKEY_PIN_<SERIAL> (two tokens in one ceremony, each its own
// PIN), else DCTWIZ_YUBIKEY_PIN, else a no-echo prompt that first names
// the token and says how many tries are left (and, with one left, asks
// twice before anything is tried).
func (a *app) yubiKeyPIN(serial uint32) (pin string, askedTwice bool, err error) {
	if serial != 0 {
		if pin := a.getenv(fmt.Sprintf("DCTWIZ_YUBIKEY_PIN_%d", serial)); pin != "" {
			return pin, false, nil
		}
	}
	if pin := a.getenv("DCTWIZ_YUBIKEY_PIN"); pin != "" {
		return pin, false, nil
	}
	if a.prompt == nil {
		return "", false, &trust.Error{Kind: trust.ErrPassphraseRequired, Input: "YubiKey PIN",
			Msg: "no PIN given and no terminal to ask on", Fix: "set DCTWIZ_YUBIKEY_PIN (or run dctwiz on a terminal)"}
	}
	tok, err := yubikey.Open(serial)
	if err != nil {
		return "", false, trust.YubiKeyError(err, "YubiKey")
	}
	info, err := tok.Info()
	tok.Close()
	if err != nil {
		return "", false, trust.YubiKeyError(err, "YubiKey")
	}
	if info.PINTriesLeft == 0 {
		// Blocked: nothing to ask; the engine says what is left (unblock or reset).
		return "", false, trust.YubiKeyError(fmt.Errorf("%w (PUK tries left: %d)", yubikey.ErrPINBlocked, info.PUKTriesLeft), fmt.Sprintf("YubiKey %d", info.Serial))
	}
	fmt.Fprintf(a.stderr, "YubiKey %d: %d PIN tries left.\n", info.Serial, info.PINTriesLeft)
	pin, err = a.prompt.Secret("YubiKey PIN: ")
	if err != nil || info.PINTriesLeft != 1 {
		return pin, false, err
	}
	fmt.Fprintln(a.stderr, "One try left: a wrong PIN now blocks the PIN. Type it again to be sure.")
	again, err := a.prompt.Secret("YubiKey PIN again: ")
	if err != nil {
		return "", false, err
	}
	if again != pin {
		return "", false, usagef("the two PINs differ: nothing was tried")
	}
	return pin, true, nil
}

// sameToken says whether two root-key specs name the same YubiKey (a
// YubiKey without a serial is the only one connected, so the same one).
func sameToken(f rootKeyFlags, a, b string) bool {
	fa, fb := f, f
	fa.source, fb.source = a, b
	sa, errA := fa.parse()
	sb, errB := fb.parse()
	return errA == nil && errB == nil && !sa.file && !sb.file && sa.serial == sb.serial
}
