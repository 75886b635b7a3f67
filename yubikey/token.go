// Package yubikey manages the PIV application of YubiKeys through piv-go:
// finding tokens, preparing them (PIN, PUK, a random management key kept
// PIN-protected on the token), creating a key on the token, attesting it,
// signing with it, and resetting. It never prints or prompts: PINs are
// inputs, failures are typed errors. Package virtual is a software
// YubiKey for tests and the sandbox.
package yubikey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/ebfe/scard"
	"github.com/go-piv/piv-go/v2/piv"
)

// Factory credentials.
const (
	DefaultPIN = "123456"
	DefaultPUK = "12345678"
)

// Info is what a token says about itself without a PIN.
type Info struct {
	Serial        uint32     `json:"serial"`
	Firmware      string     `json:"firmware"`
	Reader        string     `json:"reader"`
	PINTriesLeft  int        `json:"pin_tries_left"`
	PUKTriesLeft  int        `json:"puk_tries_left"`   // -1 when the firmware does not say
	DefaultPIN    bool       `json:"default_pin"`      // still the factory PIN
	DefaultPUK    bool       `json:"default_puk"`      // still the factory PUK
	DefaultMgmt   bool       `json:"default_mgmt_key"` // still the factory management key
	MgmtAlgorithm string     `json:"mgmt_key_algorithm"`
	Problem       string     `json:"problem,omitempty"` // why dctwiz cannot use this token
	Slots         []SlotInfo `json:"slots"`
}

// FactoryDefaults says whether any credential is still the factory one.
func (i Info) FactoryDefaults() bool { return i.DefaultPIN || i.DefaultPUK || i.DefaultMgmt }

// SlotInfo describes one slot that holds a key or a certificate.
type SlotInfo struct {
	Slot        string `json:"slot"` // "9c"
	Key         bool   `json:"key"`
	Algorithm   string `json:"algorithm,omitempty"`
	PINPolicy   string `json:"pin_policy,omitempty"`
	TouchPolicy string `json:"touch_policy,omitempty"`
	Generated   bool   `json:"generated_on_token"`
	Certificate string `json:"certificate,omitempty"` // the certificate's subject
	// PublicKey is the slot's public key (from the token's metadata, or
	// its certificate): which published root key a token holds.
	PublicKey crypto.PublicKey `json:"-"`
}

// Token is an open YubiKey. Close it when done: while open, no other
// program can use it.
type Token struct {
	yk       *piv.YubiKey
	reader   string
	serial   uint32
	creds    credentialMetadata // read when opened
	credsErr error
}

// List returns the YubiKeys connected, by serial. A reader whose card
// does not answer as a YubiKey PIV application is skipped.
func List() ([]Info, error) { return list(true) }

// ListFree lists the YubiKeys that no program holds now, without waiting
// for one that is held: while a ceremony holds its root key's token open,
// it looks for the second token (a backup, the token the root moves to),
// and waiting for its own token would only cost seconds.
func ListFree() ([]Info, error) { return list(false) }

func list(wait bool) ([]Info, error) {
	tokens, err := openAll(0, wait)
	if err != nil {
		return nil, err
	}
	var out []Info
	for _, t := range tokens {
		info, err := t.Info()
		t.Close()
		if err != nil {
			info.Problem = err.Error() // listed, with why dctwiz cannot use it
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Serial < out[j].Serial })
	return out, nil
}

// Open opens the YubiKey with serial, or the only one when serial is 0.
func Open(serial uint32) (*Token, error) {
	tokens, err := openAll(serial, true)
	if err != nil {
		return nil, err
	}
	var chosen *Token
	var serials []string
	for _, t := range tokens {
		serials = append(serials, fmt.Sprint(t.serial))
		if chosen == nil && (serial == 0 || t.serial == serial) {
			chosen = t
			continue
		}
		t.Close()
	}
	switch {
	case chosen == nil && serial != 0:
		return nil, fmt.Errorf("%w with serial %d (found: %s)", ErrNoToken, serial, listOrNone(serials))
	case chosen == nil:
		return nil, ErrNoToken
	case serial == 0 && len(tokens) > 1:
		chosen.Close()
		return nil, fmt.Errorf("%w: %s; choose one by serial", ErrSeveralTokens, strings.Join(serials, ", "))
	}
	return chosen, nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// openAll opens the YubiKeys, or only the one with serial when it is not 0.
// A token held open by another program is skipped: at once, or, with
// wait, once it is still held after 3 s.
func openAll(serial uint32, wait bool) ([]*Token, error) {
	retry := busy
	if !wait {
		retry = func(op func() error) error { return op() }
	}
	readers, err := piv.Cards()
	if err != nil {
		return nil, fmt.Errorf("listing smart card readers (is pcscd running?): %w", err)
	}
	var out []*Token
	for _, r := range readers {
		var creds credentialMetadata
		var credsErr error
		retry(func() error { creds, credsErr = readCredentialMetadata(r); return credsErr })
		if errors.Is(credsErr, errNoPIV) {
			// Not for piv-go: its Open keeps the card locked when the PIV
			// application cannot be selected.
			continue
		}
		if serial != 0 && creds.serial != 0 && creds.serial != serial {
			continue
		}
		var yk *piv.YubiKey
		err := retry(func() (err error) { yk, err = piv.Open(r); return err })
		if err != nil {
			continue // an empty reader, or a card without PIV
		}
		serial, err := yk.Serial()
		if err != nil {
			yk.Close()
			continue
		}
		out = append(out, &Token{yk: yk, reader: r, serial: serial, creds: creds, credsErr: credsErr})
	}
	return out, nil
}

// busy retries op while another program holds the card (for up to 3 s):
// pcscd gives a card to one program at a time.
func busy(op func() error) error {
	var err error
	for i := 0; i < 30; i++ {
		if err = op(); err == nil || !busyErr(err) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// Close releases the token.
func (t *Token) Close() error { return t.yk.Close() }

// Serial is the token's serial number.
func (t *Token) Serial() uint32 { return t.serial }

// Info reports the token's state; it needs no PIN and costs no tries.
func (t *Token) Info() (Info, error) {
	v := t.yk.Version()
	info := Info{Serial: t.serial, Firmware: fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch), Reader: t.reader, PUKTriesLeft: -1}
	left, err := t.yk.Retries()
	switch {
	case err != nil && strings.Contains(err.Error(), "expected error code from empty pin"):
		// The PIN is verified in this session: its counter is full. piv-go
		// says so only in this text (a plain fmt.Errorf, no type to match).
		left = t.creds.pinMax
	case err != nil:
		return info, t.explain(err)
	}
	info.PINTriesLeft = left
	if err := t.defaults(&info); err != nil {
		return info, err
	}
	for _, s := range allSlots() {
		si := SlotInfo{Slot: fmt.Sprintf("%x", s.Key)}
		if ki, err := t.yk.KeyInfo(s); err == nil {
			si.Key = true
			si.Algorithm = algorithmName(ki.Algorithm)
			si.PINPolicy = PINPolicyName(ki.PINPolicy)
			si.TouchPolicy = TouchPolicyName(ki.TouchPolicy)
			si.Generated = ki.Origin == piv.OriginGenerated
			si.PublicKey = ki.PublicKey
		}
		if cert, err := t.yk.Certificate(s); err == nil {
			si.Certificate = cert.Subject.String()
			if si.PublicKey == nil {
				si.PublicKey = cert.PublicKey
			}
		}
		if si.Key || si.Certificate != "" {
			info.Slots = append(info.Slots, si)
		}
	}
	return info, nil
}

// defaults finds out which credentials are still the factory ones, from
// the token's metadata (firmware 5.3 and later): no PIN is tried.
func (t *Token) defaults(info *Info) error {
	if t.credsErr != nil {
		return fmt.Errorf("reading the credential metadata of YubiKey %d (dctwiz needs firmware 5.3 or later): %w", t.serial, t.credsErr)
	}
	md := t.creds
	info.DefaultPIN, info.DefaultPUK, info.DefaultMgmt = md.pinDefault, md.pukDefault, md.mgmtDefault
	info.MgmtAlgorithm = md.mgmtAlgorithm
	if md.pukLeft >= 0 {
		info.PUKTriesLeft = md.pukLeft
	}
	return nil
}

// VerifyPIN checks the PIN once. A wrong PIN costs exactly one try and is
// reported with the tries left; it is never retried here.
func (t *Token) VerifyPIN(pin string) error {
	if err := t.yk.VerifyPIN(pin); err != nil {
		return t.explain(err)
	}
	return nil
}

// explain maps piv-go's errors to this package's.
func (t *Token) explain(err error) error {
	var auth piv.AuthErr
	switch {
	case removedErr(err):
		return fmt.Errorf("%w (serial %d): %v", ErrRemoved, t.serial, err)
	case errors.As(err, &auth) && auth.Retries == 0:
		return fmt.Errorf("%w: unblock it with the PUK, or reset the YubiKey", ErrPINBlocked)
	case errors.As(err, &auth):
		return WrongPINError{Left: auth.Retries}
	}
	return err
}

// removedErr recognises a token that went away: by ebfe/scard's typed
// codes where they reach us, else by piv-go's PC/SC messages (its scErr
// type and codes are unexported, so there is no type to match).
func removedErr(err error) bool {
	if errors.Is(err, scard.ErrRemovedCard) || errors.Is(err, scard.ErrResetCard) || errors.Is(err, scard.ErrNoSmartcard) {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"has been removed", "card was removed", "no smart card is currently", "non-existent transaction",
		"has been reset", "card was reset", "reader is unavailable", "unresponsive", "unpowered",
		// No byte came back: the card went away in the middle of a command
		// (what vpcd's reader reports when its card disconnects).
		"response too short: 0"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// busyErr recognises a token held by another program.
func busyErr(err error) bool {
	if errors.Is(err, scard.ErrSharingViolation) {
		return true
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "other connections outstanding") || strings.Contains(msg, "sharing violation")
}

// Prepare replaces the factory credentials of a new token: the PIN and
// PUK become the given ones and the management key a random one, kept
// PIN-protected on the token (as yubikey-agent does), so that nobody needs
// to know it. It refuses a token that no longer has factory credentials.
func (t *Token) Prepare(pin, puk string) error {
	if err := CheckPIN(pin); err != nil {
		return err
	}
	if err := CheckPUK(puk); err != nil {
		return err
	}
	if err := CheckPUKNotPIN(pin, puk); err != nil {
		return err
	}
	var info Info
	if err := t.defaults(&info); err != nil {
		return err
	}
	if info.DefaultPUK && !info.DefaultMgmt {
		return t.resumePrepare(info, pin, puk)
	}
	if !info.DefaultPIN || !info.DefaultPUK || !info.DefaultMgmt {
		return ErrNotFactory
	}
	key, err := newManagementKey()
	if err != nil {
		return err
	}
	// Order matters: the random key is stored on the token (under the
	// factory PIN) before it replaces the factory key, so that at no point
	// is the token left with a management key nobody knows.
	if err := t.yk.SetMetadata(piv.DefaultManagementKey, &piv.Metadata{ManagementKey: &key}); err != nil {
		return t.explain(err)
	}
	if err := t.yk.SetManagementKey(piv.DefaultManagementKey, key); err != nil {
		return t.explain(err)
	}
	if err := t.yk.SetPIN(DefaultPIN, pin); err != nil {
		return t.explain(err)
	}
	if err := t.yk.SetPUK(DefaultPUK, puk); err != nil {
		return t.explain(err)
	}
	t.creds.pinDefault, t.creds.pukDefault, t.creds.mgmtDefault = false, false, false
	t.creds.mgmtAlgorithm = mgmtAlgorithmAfterSet(t)
	return nil
}

// resumePrepare finishes a Prepare that was cut short (the token was
// removed): the management key is already the random one stored on the
// token, the PUK still the factory one, the PIN the factory one or already
// the new one.
func (t *Token) resumePrepare(info Info, pin, puk string) error {
	current := pin
	if info.DefaultPIN {
		current = DefaultPIN
	}
	if _, err := t.managementKey(current); err != nil {
		return fmt.Errorf("%w: its management key was changed by another tool; a reset starts over", ErrNotFactory)
	}
	if info.DefaultPIN {
		if err := t.yk.SetPIN(DefaultPIN, pin); err != nil {
			return t.explain(err)
		}
	}
	if err := t.yk.SetPUK(DefaultPUK, puk); err != nil {
		return t.explain(err)
	}
	t.creds.pinDefault, t.creds.pukDefault = false, false
	return nil
}

// newManagementKey makes a random 24-byte key: piv-go's protected metadata
// round-trips only 24-byte keys; on firmware 5.4 and later 24 bytes set an
// AES-192 key, on earlier firmware a 3DES one.
func newManagementKey() ([]byte, error) {
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, nil
}

// CheckPIN applies the PIV rules and refuses the factory PIN.
func CheckPIN(pin string) error {
	if !pivChars(pin) {
		return fmt.Errorf("%w: a PIN has 6 to 8 ASCII characters (letters, digits, punctuation; no accents or spaces)", ErrBadPIN)
	}
	if pin == DefaultPIN {
		return fmt.Errorf("%w: that is the factory PIN", ErrBadPIN)
	}
	return nil
}

// pivChars says whether s is 6 to 8 printable ASCII characters. PIV
// counts bytes, and a YubiKey takes any; but a PIN with an accent is a
// different byte string on another keyboard layout or input method, so
// it is refused rather than set on the token.
func pivChars(s string) bool {
	if len(s) < 6 || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// CheckPUKNotPIN refuses a PUK equal to the PIN: the PUK unblocks a
// blocked PIN, so whoever learns one must not know the other.
func CheckPUKNotPIN(pin, puk string) error {
	if pin == puk {
		return fmt.Errorf("%w: the PUK is the same as the PIN; choose another PUK", ErrBadPIN)
	}
	return nil
}

// CheckPUK applies the PIV rules and refuses the factory PUK.
func CheckPUK(puk string) error {
	if !pivChars(puk) {
		return fmt.Errorf("%w: a PUK has 6 to 8 ASCII characters (letters, digits, punctuation; no accents or spaces)", ErrBadPIN)
	}
	if puk == DefaultPUK {
		return fmt.Errorf("%w: that is the factory PUK", ErrBadPIN)
	}
	return nil
}

// managementKey reads the PIN-protected management key stored by Prepare.
func (t *Token) managementKey(pin string) ([]byte, error) {
	md, err := t.yk.Metadata(pin)
	if err != nil {
		return nil, t.explain(err)
	}
	if md.ManagementKey == nil || len(*md.ManagementKey) != 24 {
		return nil, fmt.Errorf("%w: no management key is stored on the token; prepare it first", ErrFactoryDefaults)
	}
	return *md.ManagementKey, nil
}

// KeyOptions describe a key to create on the token.
type KeyOptions struct {
	Slot        piv.Slot
	Curve       elliptic.Curve // P-256 (default) or P-384
	PINPolicy   piv.PINPolicy
	TouchPolicy piv.TouchPolicy
	Overwrite   bool // replace a key already in the slot (the caller confirmed)
	CommonName  string
	// OnTouch is called before a signature the token waits to be touched for.
	OnTouch func()
}

// CreateKey makes a key on the token in opts.Slot, so that the private
// key exists nowhere else, and stores a self-signed certificate for it in
// the slot (CN "root" by default: notary's YubiKey convention, which
// notary's PKCS#11 support and Yubico's tools recognise). The PIN must
// have been verified; pin also unlocks the stored management key.
func (t *Token) CreateKey(pin string, opts KeyOptions) (*x509.Certificate, error) {
	if opts.Curve == nil {
		opts.Curve = elliptic.P256()
	}
	if opts.PINPolicy == 0 {
		opts.PINPolicy = piv.PINPolicyOnce
	}
	if opts.TouchPolicy == 0 {
		opts.TouchPolicy = piv.TouchPolicyNever
	}
	alg := piv.AlgorithmEC256
	if opts.Curve == elliptic.P384() {
		alg = piv.AlgorithmEC384
	}
	if _, err := t.yk.KeyInfo(opts.Slot); err == nil && !opts.Overwrite {
		return nil, fmt.Errorf("%w: slot %x of YubiKey %d", ErrSlotOccupied, opts.Slot.Key, t.serial)
	}
	mgmt, err := t.managementKey(pin)
	if err != nil {
		return nil, err
	}
	pub, err := t.yk.GenerateKey(mgmt, opts.Slot, piv.Key{Algorithm: alg, PINPolicy: opts.PINPolicy, TouchPolicy: opts.TouchPolicy})
	if err != nil {
		return nil, t.explain(err)
	}
	return t.storeCertificate(pin, mgmt, opts.Slot, pub, opts.PINPolicy, opts.TouchPolicy, opts.CommonName, opts.OnTouch)
}

// StoreRootCertificate signs and stores the CN=root certificate for the
// key already in slot (finishing a creation that was cut short).
func (t *Token) StoreRootCertificate(pin string, slot piv.Slot, pub crypto.PublicKey, policy piv.PINPolicy, touch piv.TouchPolicy, onTouch func()) (*x509.Certificate, error) {
	mgmt, err := t.managementKey(pin)
	if err != nil {
		return nil, err
	}
	return t.storeCertificate(pin, mgmt, slot, pub, policy, touch, "", onTouch)
}

// MadeOnToken says whether slot's key was generated on the token.
func (t *Token) MadeOnToken(slot piv.Slot) bool {
	ki, err := t.yk.KeyInfo(slot)
	return err == nil && ki.Origin == piv.OriginGenerated
}

func (t *Token) storeCertificate(pin string, mgmt []byte, slot piv.Slot, pub crypto.PublicKey, policy piv.PINPolicy, touch piv.TouchPolicy, cn string, onTouch func()) (*x509.Certificate, error) {
	signer, err := t.Signer(slot, pub, pin, policy)
	if err != nil {
		return nil, err
	}
	if onTouch != nil && touch != piv.TouchPolicyNever {
		onTouch() // the self-signature below waits for a touch
	}
	if cn == "" {
		cn = "root"
	}
	now := time.Now()
	// 128 random bits, as RFC 5280 advises: a clock can repeat, and an
	// issuer's serial numbers must not.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		return nil, t.explain(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if err := t.yk.SetCertificate(mgmt, slot, cert); err != nil {
		return nil, t.explain(err)
	}
	return cert, nil
}

// PublicKey returns the public key in slot.
func (t *Token) PublicKey(slot piv.Slot) (*ecdsa.PublicKey, piv.PINPolicy, piv.TouchPolicy, error) {
	ki, err := t.yk.KeyInfo(slot)
	if err != nil {
		if errors.Is(err, piv.ErrNotFound) {
			return nil, 0, 0, fmt.Errorf("%w: slot %x of YubiKey %d", ErrNoKey, slot.Key, t.serial)
		}
		return nil, 0, 0, t.explain(err)
	}
	pub, ok := ki.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, 0, 0, fmt.Errorf("slot %x holds a %T key; a root key must be ECDSA", slot.Key, ki.PublicKey)
	}
	return pub, ki.PINPolicy, ki.TouchPolicy, nil
}

// Signer returns a crypto.Signer for the key in slot: its Sign returns
// ASN.1 DER signatures, as x509 wants. The PIN is given up front; a wrong
// one fails the signature and is not retried.
func (t *Token) Signer(slot piv.Slot, pub crypto.PublicKey, pin string, policy piv.PINPolicy) (crypto.Signer, error) {
	priv, err := t.yk.PrivateKey(slot, pub, piv.KeyAuth{PIN: pin, PINPolicy: policy})
	if err != nil {
		return nil, t.explain(err)
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("slot %x cannot sign", slot.Key)
	}
	return errorMapper{s, t}, nil
}

type errorMapper struct {
	crypto.Signer
	t *Token
}

func (e errorMapper) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := e.Signer.Sign(r, digest, opts)
	if err != nil {
		return nil, e.t.explain(err)
	}
	return sig, nil
}

// Certificate returns the certificate stored in slot.
func (t *Token) Certificate(slot piv.Slot) (*x509.Certificate, error) {
	cert, err := t.yk.Certificate(slot)
	if errors.Is(err, piv.ErrNotFound) {
		return nil, fmt.Errorf("%w: slot %x", ErrNoCertificate, slot.Key)
	}
	if err != nil {
		return nil, t.explain(err)
	}
	return cert, nil
}

// Attest returns the slot's attestation certificate and the token's
// attestation (device) certificate that signed it.
func (t *Token) Attest(slot piv.Slot) (slotCert, deviceCert *x509.Certificate, err error) {
	if slotCert, err = t.yk.Attest(slot); err != nil {
		if errors.Is(err, piv.ErrNotFound) {
			return nil, nil, fmt.Errorf("%w: slot %x of YubiKey %d", ErrNoKey, slot.Key, t.serial)
		}
		return nil, nil, t.explain(err)
	}
	if deviceCert, err = t.yk.AttestationCertificate(); err != nil {
		return nil, nil, t.explain(err)
	}
	return slotCert, deviceCert, nil
}

// Unblock sets a new PIN with the PUK after the PIN was blocked.
func (t *Token) Unblock(puk, newPIN string) error {
	if err := CheckPIN(newPIN); err != nil {
		return err
	}
	if err := t.yk.Unblock(puk, newPIN); err != nil {
		var auth piv.AuthErr
		if errors.As(err, &auth) {
			if auth.Retries == 0 {
				return fmt.Errorf("%w: only a reset is left, and it destroys every key on the token", ErrPUKBlocked)
			}
			return WrongPUKError{Left: auth.Retries}
		}
		return t.explain(err)
	}
	return nil
}

// Reset wipes the PIV application back to factory state: every key on it
// is destroyed. The caller must have the user confirm first.
func (t *Token) Reset() error {
	if err := t.yk.Reset(); err != nil {
		return t.explain(err)
	}
	return nil
}

// mgmtAlgorithmAfterSet is the algorithm piv-go sets for a 24-byte key:
// AES-192 from firmware 5.4, 3DES before.
func mgmtAlgorithmAfterSet(t *Token) string {
	v := t.yk.Version()
	if v.Major > 5 || (v.Major == 5 && v.Minor >= 4) {
		return "AES-192"
	}
	return "3DES"
}
