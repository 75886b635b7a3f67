package trust

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/theupdateframework/notary/tuf/data"

	"github.com/dctwiz/dctwiz/yubikey"
)

// YubiKeyRootOptions choose the token, slot and policies of a root key
// made on a YubiKey.
type YubiKeyRootOptions struct {
	Serial      uint32 // 0: the only YubiKey connected
	Slot        yubikey.Slot
	PIN         string
	Curve       elliptic.Curve    // P-256 (default) or P-384
	PINPolicy   yubikey.PINPolicy // default once: the PIN is asked once per ceremony
	TouchPolicy yubikey.TouchPolicy
	// Overwrite replaces a key in the slot that is not a root key (the
	// caller has the user confirm: the old key is destroyed).
	Overwrite bool
	// OnTouch is called before each signature the token will wait to be
	// touched for, so that the caller can tell the user.
	OnTouch func()
	// AllowLastTry lets the PIN be tried when only one try is left (the
	// user confirmed it, e.g. typed it twice); otherwise that is refused.
	AllowLastTry bool
	// AttestationRoots verify the token's attestation before its key is
	// used; nil: Yubico's PIV root CA (real tokens). The virtual YubiKey
	// has a CA of its own.
	AttestationRoots *x509.CertPool
}

// Defaults for a key used rarely, at ceremonies: the PIN once per
// ceremony (every signature of one ceremony is the admin's act anyway),
// and a touch for every signature, so that nothing signs with the root key
// unless someone is at the token.
const (
	DefaultYubiKeyPINPolicy   = yubikey.PINPolicyOnce
	DefaultYubiKeyTouchPolicy = yubikey.TouchPolicyAlways
)

// YubiKeyRoot is a root key on a YubiKey, made on the token by the first
// ceremony that needs it (so the private key exists nowhere else) and used
// from the token afterwards. Its PIN is checked once; a wrong PIN costs
// one try and is never retried. Close releases the token.
func YubiKeyRoot(opts YubiKeyRootOptions) *YubiKeyRootKey {
	if opts.Slot.Key == 0 {
		opts.Slot = yubikey.SlotSignature
	}
	if opts.Curve == nil {
		opts.Curve = elliptic.P256()
	}
	if opts.PINPolicy == 0 {
		opts.PINPolicy = DefaultYubiKeyPINPolicy
	}
	if opts.TouchPolicy == 0 {
		opts.TouchPolicy = DefaultYubiKeyTouchPolicy
	}
	return &YubiKeyRootKey{opts: opts}
}

// YubiKeyRootKey is the RootKey YubiKeyRoot returns.
type YubiKeyRootKey struct {
	// mu: the repositories of a batch run side by side and may each open
	// the key; the first opens it, the others use it. signMu: the token
	// signs one request at a time.
	mu     sync.Mutex
	signMu sync.Mutex
	opts   YubiKeyRootOptions
	tok    *yubikey.Token
	key    *pivKey
	att    *YubiKeyAttestation // verified, once the key is open
	info   YubiKeyRootInfo     // once the key is open
}

// YubiKeyRootInfo is the root key as the token has it.
type YubiKeyRootInfo struct {
	Serial      uint32
	Slot        string // "9c"
	Curve       string // "P-256"
	PINPolicy   string // "once"
	TouchPolicy string // "always"
	KeyID       string // canonical ID of the public key
	// Made: this ceremony made the key; false: it was on the token already
	// (made on it by an earlier ceremony, as its attestation proves).
	Made bool
}

// YubiKeyAttestation is the proof that the root key was made on the token.
type YubiKeyAttestation struct {
	Serial     uint32
	Slot       string
	SlotCert   *x509.Certificate // issued by DeviceCert for the slot's key
	DeviceCert *x509.Certificate // the token's attestation certificate
}

func (y *YubiKeyRootKey) String() string {
	if y.tok != nil {
		return fmt.Sprintf("YubiKey %d slot %x", y.tok.Serial(), y.opts.Slot.Key)
	}
	if y.opts.Serial != 0 {
		return fmt.Sprintf("YubiKey %d slot %x", y.opts.Serial, y.opts.Slot.Key)
	}
	return fmt.Sprintf("YubiKey slot %x", y.opts.Slot.Key)
}

// Close releases the token.
func (y *YubiKeyRootKey) Close() error {
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.tok == nil {
		return nil
	}
	err := y.tok.Close()
	y.tok, y.key = nil, nil
	return err
}

// open follows the ceremony's checklist for the root key on the token:
// connect, unlock with the PIN (checked once), find or make the root key
// in the slot, prove it was made on the token, then sign with it.
func (y *YubiKeyRootKey) open(_ context.Context, _ *keyStore, _ *passRecorder, create bool) (data.PrivateKey, error) {
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.key != nil {
		return y.key, nil // the PIN was checked once for the whole ceremony
	}
	if err := y.connect(); err != nil {
		return nil, err
	}
	if err := y.unlock(); err != nil {
		return nil, err
	}
	k, err := y.rootKeyInSlot(create)
	if err != nil {
		return nil, err
	}
	att, err := y.attest(k.pub)
	if err != nil {
		return nil, err
	}
	return y.useKey(k, att)
}

// slotKey is the root key found or made in the slot.
type slotKey struct {
	pub       *ecdsa.PublicKey
	pinPolicy yubikey.PINPolicy
	touch     yubikey.TouchPolicy
	made      bool // made by this ceremony
}

// connect opens the token: the one with the serial asked for, else the only one.
func (y *YubiKeyRootKey) connect() error {
	if y.tok != nil {
		return nil
	}
	tok, err := yubikey.Open(y.opts.Serial)
	if err != nil {
		return YubiKeyError(err, y.String())
	}
	y.tok = tok
	return nil
}

// unlock checks that the token is prepared and that the PIN may be tried
// (never the last try unconfirmed), then verifies it: once per ceremony.
func (y *YubiKeyRootKey) unlock() error {
	input := y.String()
	info, err := y.tok.Info()
	if err != nil {
		return YubiKeyError(err, input)
	}
	switch {
	case info.FactoryDefaults():
		return newError(ErrYubiKey, input, "prepare it first: a new PIN, PUK and management key",
			"the YubiKey still has its factory PIN, PUK or management key").with(ActionPrepareToken)
	case y.opts.PIN == "":
		return newError(ErrPassphraseRequired, input, "give the YubiKey PIN", "no PIN given for the YubiKey")
	case info.PINTriesLeft == 0 && info.PUKTriesLeft == 0:
		return newError(ErrPINBlocked, input, "only a reset is left, and it destroys every key on the YubiKey",
			"the PIN and the PUK are blocked").with(ActionResetToken)
	case info.PINTriesLeft == 0:
		return newError(ErrPINBlocked, input, "unblock it with the PUK", "the PIN is blocked").with(ActionUnblockPIN)
	case info.PINTriesLeft == 1 && !y.opts.AllowLastTry:
		return newError(ErrWrongPIN, input, "make sure of the PIN, then confirm that the last try may be spent",
			"one PIN try left: a wrong PIN now blocks the PIN, so dctwiz does not try it unconfirmed").with(ActionLastPINTry)
	}
	if err := y.tok.VerifyPIN(y.opts.PIN); err != nil {
		return YubiKeyError(err, input)
	}
	return nil
}

// rootKeyInSlot finds the root key in the slot, or makes it there when
// create is set (errNoRootKeyYet when not).
func (y *YubiKeyRootKey) rootKeyInSlot(create bool) (slotKey, error) {
	pub, pinPolicy, touch, err := y.tok.PublicKey(y.opts.Slot)
	switch {
	case errors.Is(err, yubikey.ErrNoKey) && !create:
		return slotKey{}, errNoRootKeyYet
	case errors.Is(err, yubikey.ErrNoKey):
		return y.makeKey(false)
	case err != nil:
		return slotKey{}, YubiKeyError(err, y.String())
	}
	return y.existingKey(slotKey{pub: pub, pinPolicy: pinPolicy, touch: touch}, create)
}

// existingKey decides about a key already in the slot. It is this
// token's root key if its certificate says so (notary's convention);
// another key is never taken over, only replaced when asked. A key made on
// the token whose certificate was never stored is an earlier creation cut
// short (the token was removed): it is finished.
func (y *YubiKeyRootKey) existingKey(k slotKey, create bool) (slotKey, error) {
	input := y.String()
	cert, err := y.tok.Certificate(y.opts.Slot)
	switch {
	case err == nil && cert.Subject.CommonName == "root" && !y.tok.MadeOnToken(y.opts.Slot):
		// notary's own YubiKey support imports a software key and keeps a
		// backup on disk: such a key is not what dctwiz promises.
		return k, newError(ErrYubiKey, input, "make a new root key in that slot, or choose another slot",
			"slot %x holds a root key that was imported, not made on the token: a copy may exist elsewhere", y.opts.Slot.Key).with(ActionOverwriteSlot)
	case err == nil && cert.Subject.CommonName == "root":
		return k, nil
	case errors.Is(err, yubikey.ErrNoCertificate) && create && y.tok.MadeOnToken(y.opts.Slot):
		if _, err := y.tok.StoreRootCertificate(y.opts.PIN, y.opts.Slot, k.pub, k.pinPolicy, k.touch, y.opts.OnTouch); err != nil {
			return k, YubiKeyError(err, input)
		}
		return k, nil
	case create && y.opts.Overwrite:
		return y.makeKey(true)
	}
	return k, newError(ErrYubiKey, input, "choose another slot, or replace that key",
		"slot %x holds a key that is not a root key (no certificate with CN root)", y.opts.Slot.Key).with(ActionOverwriteSlot)
}

// makeKey generates the root key on the token, with its certificate.
func (y *YubiKeyRootKey) makeKey(overwrite bool) (slotKey, error) {
	cert, err := y.tok.CreateKey(y.opts.PIN, yubikey.KeyOptions{Slot: y.opts.Slot, Curve: y.opts.Curve,
		PINPolicy: y.opts.PINPolicy, TouchPolicy: y.opts.TouchPolicy, Overwrite: overwrite, OnTouch: y.opts.OnTouch})
	if err != nil {
		return slotKey{}, YubiKeyError(err, y.String())
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return slotKey{}, newError(ErrYubiKey, y.String(), "", "the new key in slot %x is not an ECDSA key", y.opts.Slot.Key)
	}
	return slotKey{pub: pub, pinPolicy: y.opts.PINPolicy, touch: y.opts.TouchPolicy, made: true}, nil
}

// attest proves that the slot's key was made on this token, up to the
// attestation roots, before anything uses it.
func (y *YubiKeyRootKey) attest(pub *ecdsa.PublicKey) (*YubiKeyAttestation, error) {
	input := y.String()
	slotCert, devCert, err := y.tok.Attest(y.opts.Slot)
	if err != nil {
		return nil, YubiKeyError(err, input)
	}
	att := &YubiKeyAttestation{Serial: y.tok.Serial(), Slot: fmt.Sprintf("%x", y.opts.Slot.Key), SlotCert: slotCert, DeviceCert: devCert}
	if err := VerifyAttestation(att, y.opts.AttestationRoots, nil); err != nil {
		fix := "check the attestation CA: the token's attestation does not chain to it"
		if y.opts.AttestationRoots == nil {
			fix = "for a token whose attestation CA is not Yubico's (the virtual YubiKey), give that CA"
		}
		return nil, wrapError(ErrYubiKey, err, input, fix, "the attestation of the root key does not verify: %v", err).with(ActionAttestationCA)
	}
	if p, ok := slotCert.PublicKey.(*ecdsa.PublicKey); !ok || !p.Equal(pub) {
		return nil, newError(ErrYubiKey, input, "", "the attestation is for another key than the one in slot %x", y.opts.Slot.Key)
	}
	return att, nil
}

// useKey makes the attested key the ceremony's root key: a signer on the
// token that says when it waits for a touch.
func (y *YubiKeyRootKey) useKey(k slotKey, att *YubiKeyAttestation) (data.PrivateKey, error) {
	input := y.String()
	signer, err := y.tok.Signer(y.opts.Slot, k.pub, y.opts.PIN, k.pinPolicy)
	if err != nil {
		return nil, YubiKeyError(err, input)
	}
	der, err := x509.MarshalPKIXPublicKey(k.pub)
	if err != nil {
		return nil, err
	}
	onTouch := func() {}
	if k.touch != yubikey.TouchPolicyNever && y.opts.OnTouch != nil {
		onTouch = y.opts.OnTouch
	}
	y.att = att
	y.key = &pivKey{PublicKey: data.NewECDSAPublicKey(der), signMu: &y.signMu, signer: signer, curve: k.pub.Curve, onTouch: onTouch, input: input}
	y.info = YubiKeyRootInfo{Serial: y.tok.Serial(), Slot: att.Slot, Curve: k.pub.Curve.Params().Name,
		PINPolicy: yubikey.PINPolicyName(k.pinPolicy), TouchPolicy: yubikey.TouchPolicyName(k.touch), KeyID: y.key.ID(), Made: k.made}
	return y.key, nil
}

// YubiKeyError says what went wrong with a token and what to do, for
// every error package yubikey returns; input names the token.
func YubiKeyError(err error, input string) error {
	var wrong yubikey.WrongPINError
	switch {
	case errors.As(err, &wrong):
		fix := "give the right PIN"
		if wrong.Left == 1 {
			fix = "one more wrong PIN blocks it: make sure of the PIN before trying again"
		}
		return wrapError(ErrWrongPIN, err, input, fix, "%v", err)
	case errors.Is(err, yubikey.ErrPINBlocked):
		return wrapError(ErrPINBlocked, err, input, "unblock it with the PUK", "%v", err).with(ActionUnblockPIN)
	case errors.Is(err, yubikey.ErrPUKBlocked):
		return wrapError(ErrPINBlocked, err, input, "only a reset is left, and it destroys every key on the YubiKey", "%v", err).with(ActionResetToken)
	case errors.Is(err, yubikey.ErrNoToken), errors.Is(err, yubikey.ErrSeveralTokens):
		return wrapError(ErrYubiKey, err, input, "connect the YubiKey (is pcscd running?), and name it by serial when several are connected", "%v", err)
	case errors.Is(err, yubikey.ErrRemoved):
		return wrapError(ErrYubiKey, err, input, "reconnect the YubiKey and run the same step again: nothing was half-done", "the YubiKey was removed")
	case errors.Is(err, yubikey.ErrSlotOccupied):
		return wrapError(ErrYubiKey, err, input, "choose another slot, or replace that key", "%v", err).with(ActionOverwriteSlot)
	case errors.Is(err, yubikey.ErrFactoryDefaults):
		return wrapError(ErrYubiKey, err, input, "prepare it first: a new PIN, PUK and management key", "%v", err).with(ActionPrepareToken)
	case errors.Is(err, yubikey.ErrNotFactory):
		return wrapError(ErrYubiKey, err, input, "this YubiKey was prepared before: use its PIN, or reset it to start over", "%v", err).with(ActionResetToken)
	case errors.Is(err, yubikey.ErrBadPIN):
		return wrapError(ErrYubiKey, err, input, "choose 6 to 8 characters that are not the factory value", "%v", err)
	}
	return wrapError(ErrYubiKey, err, input, "", "%v", err)
}

// pivKey is a notary private key on a PIV token. TUF wants SHA-256 and a
// raw r||s signature; x509 wants DER from CryptoSigner (notary's own
// YubiKey signer returned r||s there, which x509.CreateCertificate rejects).
type pivKey struct {
	data.PublicKey
	signMu  *sync.Mutex   // the token's: one signature at a time
	signer  crypto.Signer // returns DER
	curve   elliptic.Curve
	onTouch func()
	input   string
}

func (k *pivKey) Sign(r io.Reader, msg []byte, _ crypto.SignerOpts) ([]byte, error) {
	digest := sha256.Sum256(msg)
	der, err := k.CryptoSigner().Sign(r, digest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, err
	}
	n := (k.curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*n)
	sig.R.FillBytes(out[:n])
	sig.S.FillBytes(out[n:])
	return out, nil
}

func (k *pivKey) Private() []byte { return nil } // never leaves the token

func (k *pivKey) CryptoSigner() crypto.Signer { return touchSigner{k} }

func (k *pivKey) SignatureAlgorithm() data.SigAlgorithm { return data.ECDSASignature }

// touchSigner tells the caller before each signature that waits for a touch.
type touchSigner struct{ k *pivKey }

func (t touchSigner) Public() crypto.PublicKey { return t.k.signer.Public() }

func (t touchSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	// A YubiKey wants a digest as long as the key: a shorter one (SHA-256
	// for P-384) goes left-padded, which is the same number to ECDSA.
	if n := (t.k.curve.Params().BitSize + 7) / 8; len(digest) < n {
		padded := make([]byte, n)
		copy(padded[n-len(digest):], digest)
		digest = padded
	}
	t.k.signMu.Lock()
	defer t.k.signMu.Unlock()
	t.k.onTouch()
	sig, err := t.k.signer.Sign(r, digest, opts)
	if err != nil {
		return nil, YubiKeyError(err, t.k.input)
	}
	return sig, nil
}

// Attestation returns the proof that the root key was made on the token,
// once the key has been opened.
func (y *YubiKeyRootKey) Attestation() *YubiKeyAttestation { return y.att }

// AttestationReport is what was checked of a YubiKey attestation.
type AttestationReport struct {
	Serial   uint32 `json:"serial"`
	Slot     string `json:"slot"`
	File     string `json:"file,omitempty"` // the slot and device certificates, PEM
	Verified bool   `json:"verified"`
	Roots    string `json:"verified_against"` // "Yubico PIV root CA" or the CA file given
	Error    string `json:"error,omitempty"`
}

// VerifyAttestation checks that the token's device certificate chains to
// roots (nil: Yubico's PIV root CA, as for real tokens) and attests the
// key of rootCert: the repository's root key was made on that token.
func VerifyAttestation(att *YubiKeyAttestation, roots *x509.CertPool, rootCert *RootCertificate) error {
	serial, err := yubikey.VerifyAttestation(roots, att.DeviceCert, att.SlotCert)
	if err != nil {
		return err
	}
	if serial != att.Serial {
		return fmt.Errorf("the attestation is for YubiKey %d, not %d", serial, att.Serial)
	}
	if rootCert != nil {
		cert, err := x509.ParseCertificate(pemBlock(rootCert.PEM))
		if err != nil {
			return err
		}
		pub, ok := att.SlotCert.PublicKey.(*ecdsa.PublicKey)
		if !ok || !pub.Equal(cert.PublicKey) {
			return errors.New("the attested key is not the repository's root key")
		}
	}
	return nil
}

// AttestationPEM is the slot attestation certificate then the device
// certificate, as PEM: the chain a verifier needs besides the root CA.
func AttestationPEM(att *YubiKeyAttestation) []byte {
	return append(certPEM(att.SlotCert.Raw), certPEM(att.DeviceCert.Raw)...)
}

// Create makes the root key on the token now (or finds the one this
// ceremony made before), verifies its attestation and returns it: the
// wizard shows the attestation before anything is published. Init later
// uses the same key without asking for the PIN again.
func (y *YubiKeyRootKey) Create(ctx context.Context) (*YubiKeyAttestation, error) {
	if _, err := y.open(ctx, nil, nil, true); err != nil {
		return nil, err
	}
	return y.att, nil
}

// Open finds the root key already on the token, checks the PIN once and
// verifies the key's attestation, without ever making a key: a
// maintenance ceremony shows which root key it will sign with before
// anything is published, and then signs without asking for the PIN again.
func (y *YubiKeyRootKey) Open(ctx context.Context) (*YubiKeyAttestation, error) {
	if _, err := y.open(ctx, nil, nil, false); err != nil {
		if errors.Is(err, errNoRootKeyYet) {
			return nil, newError(ErrNoRootKey, y.String(), "choose the YubiKey and slot that hold the repository's root key",
				"slot %x holds no key", y.opts.Slot.Key)
		}
		return nil, err
	}
	return y.att, nil
}

// Info describes the root key as the token has it, once open.
func (y *YubiKeyRootKey) Info() YubiKeyRootInfo { return y.info }
