// Package virtual is a software YubiKey 5 PIV application: the card side
// of the PIV protocol as piv-go, yubico-piv-tool and pcscd speak it, with
// a YubiKey's serial, firmware version, PIN/PUK counters, management-key
// authentication (3DES, AES-128/192/256), on-card ECDSA P-256/P-384 keys,
// data objects, attestation by a CA of its own, metadata and reset. It
// follows firmware 5.4 by default; from firmware 5.7 the factory
// management key is AES-192 instead of 3DES.
//
// Connect it to vsmartcard's vpcd with Insert so that real clients reach
// it through pcscd, or call Transmit directly.
package virtual

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Options describe a virtual token.
type Options struct {
	Serial   uint32 // default 1000001
	Firmware string // default "5.4.3"
	// Path keeps the token's state in a file (0600) so that it survives a
	// restart; an existing file wins over Serial and Firmware.
	Path string
	// TouchDelay is how long the simulated user takes to touch the token
	// when a key's touch policy asks for it.
	TouchDelay time.Duration
	// OnTouchWait, if set, is told each time the token starts to wait for
	// a touch: a test's hook to act at that moment (pull the card out)
	// instead of guessing it with a sleep.
	OnTouchWait func()
	// Trace, if set, receives every command and response APDU in hex,
	// with PINs, keys and the PIN-protected object redacted.
	Trace io.Writer
	// OnSaveError, if set, hears of state that could not be written to
	// Path; the token keeps working from memory.
	OnSaveError func(error)
}

// Card is one virtual token. It is safe for concurrent use.
type Card struct {
	mu          sync.Mutex
	st          *state
	path        string
	touch       time.Duration
	onTouchWait func()
	trace       io.Writer
	onErr       func(error)

	// session state, lost at power off
	selected bool
	pinOK    bool
	mgmtOK   bool
	witness  []byte // the management-key witness sent, awaiting its answer
	chain    []byte // command chaining buffer
	pending  []byte // response chaining remainder
}

// New makes a factory-fresh token, or loads it from opts.Path.
func New(opts Options) (*Card, error) {
	if opts.Path != "" {
		if st, err := loadState(opts.Path); err == nil {
			return &Card{st: st, path: opts.Path, touch: opts.TouchDelay, onTouchWait: opts.OnTouchWait, trace: opts.Trace, onErr: opts.OnSaveError}, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	if opts.Serial == 0 {
		opts.Serial = 1000001
	}
	if opts.Firmware == "" {
		opts.Firmware = "5.4.3"
	}
	v, err := parseVersion(opts.Firmware)
	if err != nil {
		return nil, err
	}
	st, err := newState(opts.Serial, v)
	if err != nil {
		return nil, err
	}
	c := &Card{st: st, path: opts.Path, touch: opts.TouchDelay, onTouchWait: opts.OnTouchWait, trace: opts.Trace, onErr: opts.OnSaveError}
	return c, st.save(opts.Path)
}

// Serial is the token's serial number.
func (c *Card) Serial() uint32 { return c.st.Serial }

// AttestationCA is the virtual token's attestation root, in DER: it plays
// the part of Yubico's PIV root CA, and is not it.
func (c *Card) AttestationCA() []byte { return c.st.CACert }

// PowerCycle ends the session: PIN and management-key authentication are
// forgotten, as when a token is unplugged.
func (c *Card) PowerCycle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.selected, c.pinOK, c.mgmtOK = false, false, false
	c.witness, c.chain, c.pending = nil, nil, nil
}

// Status words.
var (
	swOK               = []byte{0x90, 0x00}
	swSecurityStatus   = []byte{0x69, 0x82}
	swAuthBlocked      = []byte{0x69, 0x83}
	swConditions       = []byte{0x69, 0x85}
	swWrongData        = []byte{0x6a, 0x80}
	swFileNotFound     = []byte{0x6a, 0x82}
	swIncorrectP1P2    = []byte{0x6a, 0x86}
	swReferenceMissing = []byte{0x6a, 0x88}
	swWrongLength      = []byte{0x67, 0x00}
	swInsNotSupported  = []byte{0x6d, 0x00}
	swClaNotSupported  = []byte{0x6e, 0x00}
)

var pivAID = []byte{0xa0, 0x00, 0x00, 0x03, 0x08}

// Transmit answers one command APDU with a response APDU.
func (c *Card) Transmit(apdu []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := c.transmit(apdu)
	if c.trace != nil {
		in, out := redact(apdu, resp)
		fmt.Fprintf(c.trace, "> %s\n< %s\n", in, out)
	}
	return resp
}

// redact hides secrets in a traced exchange: PINs and PUKs, management
// keys and their authentication, and the PIN-protected object.
func redact(apdu, resp []byte) (string, string) {
	in, out := fmt.Sprintf("%x", apdu), fmt.Sprintf("%x", resp)
	ins := apdu[1]
	secret := ins == 0x20 || ins == 0x24 || ins == 0x2c || ins == 0xff ||
		(ins == 0x87 && len(apdu) > 3 && apdu[3] == 0x9b) ||
		bytes.Contains(apdu, []byte{0x5f, 0xc1, 0x09})
	if secret && len(apdu) > 5 {
		in = fmt.Sprintf("%x [%d bytes redacted]", apdu[:4], len(apdu)-4)
	}
	if secret && len(resp) > 2 {
		out = fmt.Sprintf("[%d bytes redacted] %x", len(resp)-2, resp[len(resp)-2:])
	}
	return in, out
}

func (c *Card) transmit(apdu []byte) []byte {
	if len(apdu) < 4 {
		return swWrongLength
	}
	cla, ins, p1, p2 := apdu[0], apdu[1], apdu[2], apdu[3]
	data, err := commandData(apdu)
	if err != nil {
		return swWrongLength
	}
	if ins == 0xc0 { // GET RESPONSE
		return c.respond(true)
	}
	c.pending = nil
	if cla&0xef != 0 {
		return swClaNotSupported
	}
	if cla&0x10 != 0 { // command chaining: more to come
		c.chain = append(c.chain, data...)
		return swOK
	}
	if c.chain != nil {
		data = append(c.chain, data...)
		c.chain = nil
	}
	if ins == 0xa4 {
		return c.sel(data)
	}
	if !c.selected {
		return swFileNotFound
	}
	resp, sw := c.dispatch(ins, p1, p2, data)
	if sw != nil && !bytes.Equal(sw, swOK) {
		return sw
	}
	if len(resp) == 0 {
		return swOK
	}
	c.pending = resp
	return c.respond(false)
}

// respond sends the next chunk of a pending response: 256 bytes at most,
// with 61xx while more remain.
func (c *Card) respond(getResponse bool) []byte {
	if getResponse && c.pending == nil {
		return swConditions
	}
	chunk := c.pending
	if len(chunk) > 256 {
		chunk, c.pending = chunk[:256], chunk[256:]
		left := len(c.pending)
		if left > 255 {
			left = 0 // 6100: 256 or more
		}
		return concat(chunk, []byte{0x61, byte(left)})
	}
	c.pending = nil
	return concat(chunk, swOK)
}

func commandData(apdu []byte) ([]byte, error) {
	body := apdu[4:]
	switch {
	case len(body) <= 1: // no data (maybe Le)
		return nil, nil
	case body[0] == 0 && len(body) >= 3: // extended length
		n := int(binary.BigEndian.Uint16(body[1:3]))
		if len(body) < 3+n {
			return nil, errTLV
		}
		return body[3 : 3+n], nil
	default:
		n := int(body[0])
		if len(body) < 1+n {
			return nil, errTLV
		}
		return body[1 : 1+n], nil
	}
}

func (c *Card) sel(aid []byte) []byte {
	// Selecting an application ends the PIV security state, as on a
	// YubiKey: a new connection must verify the PIN and authenticate with
	// the management key again.
	c.pinOK, c.mgmtOK, c.witness = false, false, nil
	if !bytes.HasPrefix(aid, pivAID) {
		c.selected = false
		return swFileNotFound
	}
	c.selected = true
	// Application property template, as a YubiKey answers.
	c.pending = []byte{0x61, 0x11, 0x4f, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
		0x79, 0x07, 0x4f, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08}
	return c.respond(false)
}

func (c *Card) dispatch(ins, p1, p2 byte, data []byte) ([]byte, []byte) {
	switch ins {
	case 0xfd: // GET VERSION
		return c.st.Version[:], nil
	case 0xf8: // GET SERIAL
		return binary.BigEndian.AppendUint32(nil, c.st.Serial), nil
	case 0x20:
		return nil, c.verify(p1, p2, data)
	case 0x24:
		return nil, c.changeReference(p2, data)
	case 0x2c:
		return nil, c.resetRetry(p2, data)
	case 0x87:
		return c.authenticate(p1, p2, data)
	case 0x47:
		return c.generate(p2, data)
	case 0xdb:
		return nil, c.putData(data)
	case 0xcb:
		return c.getData(data)
	case 0xf9:
		return c.attest(p1)
	case 0xf7:
		return c.metadata(p2)
	case 0xff:
		return nil, c.setManagementKey(p2, data)
	case 0xfb:
		return nil, c.reset()
	case 0xfa:
		return nil, c.setRetries(p1, p2)
	}
	return nil, swInsNotSupported
}

// pinBytes undoes the 0xFF padding of an 8-byte PIN or PUK field.
func pinBytes(b []byte) string { return string(bytes.TrimRight(b, "\xff")) }

func triesLeft(n int) []byte { return []byte{0x63, 0xc0 | byte(n&0x0f)} }

// check compares a PIN or PUK, counting a wrong one.
func check(given, want string, left *int) []byte {
	if *left == 0 {
		return swAuthBlocked
	}
	if subtle.ConstantTimeCompare([]byte(given), []byte(want)) != 1 {
		*left--
		if *left == 0 {
			return swAuthBlocked
		}
		return triesLeft(*left)
	}
	return nil
}

func (c *Card) verify(p1, p2 byte, data []byte) []byte {
	if p2 != 0x80 {
		return swReferenceMissing
	}
	if p1 == 0xff { // forget the verification
		c.pinOK = false
		return swOK
	}
	if len(data) == 0 { // how many tries are left?
		if c.st.PINLeft == 0 {
			return swAuthBlocked
		}
		if c.pinOK {
			return swOK
		}
		return triesLeft(c.st.PINLeft)
	}
	if len(data) != 8 {
		return swWrongData
	}
	defer c.save()
	if sw := check(pinBytes(data), c.st.PIN, &c.st.PINLeft); sw != nil {
		c.pinOK = false
		return sw
	}
	c.st.PINLeft = c.st.PINMax
	c.pinOK = true
	return swOK
}

func (c *Card) changeReference(p2 byte, data []byte) []byte {
	if len(data) != 16 {
		return swWrongData
	}
	// The old value is checked first: a wrong one counts whatever the new
	// one is (piv-go's reset blocks the PUK with random short values).
	value, left, max := &c.st.PIN, &c.st.PINLeft, c.st.PINMax
	switch p2 {
	case 0x80:
	case 0x81:
		value, left, max = &c.st.PUK, &c.st.PUKLeft, c.st.PUKMax
	default:
		return swReferenceMissing
	}
	old, nw := pinBytes(data[:8]), pinBytes(data[8:])
	defer c.save()
	if sw := check(old, *value, left); sw != nil {
		return sw
	}
	if len(nw) < 6 {
		return swWrongData
	}
	*value, *left = nw, max
	return swOK
}

func (c *Card) resetRetry(p2 byte, data []byte) []byte {
	if p2 != 0x80 {
		return swReferenceMissing
	}
	if len(data) != 16 {
		return swWrongData
	}
	defer c.save()
	if sw := check(pinBytes(data[:8]), c.st.PUK, &c.st.PUKLeft); sw != nil {
		return sw
	}
	if len(pinBytes(data[8:])) < 6 {
		return swWrongData
	}
	c.st.PUKLeft = c.st.PUKMax
	c.st.PIN, c.st.PINLeft = pinBytes(data[8:]), c.st.PINMax
	return swOK
}

func (c *Card) mgmtCipher() (cipher.Block, error) {
	if c.st.MgmtAlg == alg3DES {
		return des.NewTripleDESCipher(c.st.MgmtKey)
	}
	return aes.NewCipher(c.st.MgmtKey)
}

func (c *Card) authenticate(alg, ref byte, data []byte) ([]byte, []byte) {
	tlvs, err := parseTLVs(data)
	if err != nil || len(tlvs) != 1 || !bytes.Equal(tlvs[0].tag, []byte{0x7c}) {
		return nil, swWrongData
	}
	inner, err := parseTLVs(tlvs[0].value)
	if err != nil {
		return nil, swWrongData
	}
	if ref == 0x9b {
		return c.mgmtAuth(alg, inner)
	}
	return c.sign(alg, ref, inner)
}

// mgmtAuth is the mutual authentication with the management key: the card
// sends an encrypted witness, the host returns it decrypted with a
// challenge of its own, and the card answers the challenge encrypted.
func (c *Card) mgmtAuth(alg byte, inner []tlv) ([]byte, []byte) {
	if alg != c.st.MgmtAlg {
		return nil, swIncorrectP1P2
	}
	block, err := c.mgmtCipher()
	if err != nil {
		return nil, swConditions
	}
	bs := block.BlockSize()
	witness, hasWitness := find(inner, 0x80)
	challenge, hasChallenge := find(inner, 0x81)
	switch {
	case hasWitness && len(witness) == 0 && !hasChallenge: // step 1: send a witness
		c.mgmtOK = false
		c.witness = make([]byte, bs)
		rand.Read(c.witness)
		enc := make([]byte, bs)
		block.Encrypt(enc, c.witness)
		return encode([]byte{0x7c}, encode([]byte{0x80}, enc)), nil
	case hasWitness && hasChallenge: // step 2: check it, answer the challenge
		expected := c.witness
		c.witness = nil
		if expected == nil || len(challenge) != bs || subtle.ConstantTimeCompare(witness, expected) != 1 {
			return nil, swSecurityStatus
		}
		if c.st.MgmtTouch {
			c.waitTouch()
		}
		c.mgmtOK = true
		enc := make([]byte, bs)
		block.Encrypt(enc, challenge)
		return encode([]byte{0x7c}, encode([]byte{0x82}, enc)), nil
	}
	return nil, swWrongData
}

func (c *Card) waitTouch() {
	c.mu.Unlock()
	if c.onTouchWait != nil {
		c.onTouchWait()
	}
	time.Sleep(c.touch)
	c.mu.Lock()
}

func (c *Card) sign(alg, ref byte, inner []tlv) ([]byte, []byte) {
	key, ok := c.st.Keys[ref]
	if !ok {
		return nil, swReferenceMissing
	}
	if key.Alg != alg {
		return nil, swIncorrectP1P2
	}
	digest, ok := find(inner, 0x81)
	if _, hasResponse := find(inner, 0x82); !ok || !hasResponse {
		return nil, swWrongData
	}
	// A YubiKey wants the digest as long as the key (32 bytes for P-256,
	// 48 for P-384): a SHA-256 digest for P-384 must come left-padded.
	if len(digest) != (curveFor(key.Alg).Params().BitSize+7)/8 {
		return nil, swWrongData
	}
	switch key.PINPolicy {
	case 0x01: // never
	default:
		if !c.pinOK {
			return nil, swSecurityStatus
		}
	}
	if key.PINPolicy == 0x03 { // always: one signature per verification
		c.pinOK = false
	}
	if key.TouchPolicy == 0x02 || key.TouchPolicy == 0x03 {
		c.waitTouch()
	}
	priv, err := key.private()
	if err != nil {
		return nil, swConditions
	}
	sig, err := ecdsa.SignASN1(rand.Reader, priv, digest)
	if err != nil {
		return nil, swConditions
	}
	return encode([]byte{0x7c}, encode([]byte{0x82}, sig)), nil
}

func curveFor(alg byte) elliptic.Curve {
	switch alg {
	case algECP256:
		return elliptic.P256()
	case algECP384:
		return elliptic.P384()
	}
	return nil
}

// keySlot says whether ref names a slot that holds an asymmetric key.
func keySlot(ref byte) bool {
	return ref == 0x9a || ref == 0x9c || ref == 0x9d || ref == 0x9e || (ref >= 0x82 && ref <= 0x95)
}

func (c *Card) generate(ref byte, data []byte) ([]byte, []byte) {
	if !c.mgmtOK {
		return nil, swSecurityStatus
	}
	if !keySlot(ref) {
		return nil, swReferenceMissing
	}
	tlvs, err := parseTLVs(data)
	if err != nil {
		return nil, swWrongData
	}
	tmpl, ok := find(tlvs, 0xac)
	if !ok {
		return nil, swWrongData
	}
	params, err := parseTLVs(tmpl)
	if err != nil {
		return nil, swWrongData
	}
	algB, ok := find(params, 0x80)
	if !ok || len(algB) != 1 || curveFor(algB[0]) == nil {
		return nil, swWrongData // only ECDSA P-256 and P-384 here
	}
	key := &slotKey{Alg: algB[0], PINPolicy: 0x02, TouchPolicy: 0x01, Generated: true} // defaults: once, never
	if p, ok := find(params, 0xaa); ok && len(p) == 1 && p[0] >= 0x01 && p[0] <= 0x03 {
		key.PINPolicy = p[0]
	}
	if p, ok := find(params, 0xab); ok && len(p) == 1 && p[0] >= 0x01 && p[0] <= 0x03 {
		key.TouchPolicy = p[0]
	}
	priv, err := ecdsa.GenerateKey(curveFor(key.Alg), rand.Reader)
	if err != nil {
		return nil, swConditions
	}
	if key.PKCS8, err = x509.MarshalPKCS8PrivateKey(priv); err != nil {
		return nil, swConditions
	}
	c.st.Keys[ref] = key
	c.save()
	return encode([]byte{0x7f, 0x49}, encode([]byte{0x86}, uncompressedPoint(priv))), nil
}

// uncompressedPoint is the PIV wire form of an EC public key (04 X Y).
func uncompressedPoint(priv *ecdsa.PrivateKey) []byte {
	pub, err := priv.PublicKey.ECDH()
	if err != nil {
		return nil // not reached: the card only makes P-256 and P-384 keys
	}
	return pub.Bytes()
}

// printedObject holds the PIN-protected data (piv-go keeps the
// management key there): reading it needs the PIN.
const printedObject = "5fc109"

func (c *Card) putData(data []byte) []byte {
	if !c.mgmtOK {
		return swSecurityStatus
	}
	tlvs, err := parseTLVs(data)
	if err != nil {
		return swWrongData
	}
	id, ok1 := find(tlvs, 0x5c)
	value, ok2 := find(tlvs, 0x53)
	if !ok1 || !ok2 {
		return swWrongData
	}
	if len(value) == 0 {
		delete(c.st.Objects, hex.EncodeToString(id))
	} else {
		c.st.Objects[hex.EncodeToString(id)] = append([]byte{}, value...)
	}
	c.save()
	return swOK
}

func (c *Card) getData(data []byte) ([]byte, []byte) {
	tlvs, err := parseTLVs(data)
	if err != nil {
		return nil, swWrongData
	}
	id, ok := find(tlvs, 0x5c)
	if !ok {
		return nil, swWrongData
	}
	name := hex.EncodeToString(id)
	if name == printedObject && !c.pinOK {
		return nil, swSecurityStatus
	}
	value, ok := c.st.Objects[name]
	if !ok {
		return nil, swFileNotFound
	}
	return encode([]byte{0x53}, value), nil
}

func (c *Card) attest(ref byte) ([]byte, []byte) {
	key, ok := c.st.Keys[ref]
	if !ok {
		return nil, swReferenceMissing
	}
	if !key.Generated {
		return nil, swWrongData // imported keys cannot be attested
	}
	der, err := c.st.attestation(ref, key)
	if err != nil {
		return nil, swConditions
	}
	return der, nil
}

func (c *Card) metadata(ref byte) ([]byte, []byte) {
	if !c.st.atLeast(5, 3) {
		return nil, swInsNotSupported
	}
	switch ref {
	case 0x9b:
		def := byte(0)
		if bytes.Equal(c.st.MgmtKey, DefaultManagementKey) {
			def = 1
		}
		touch := byte(0x01)
		if c.st.MgmtTouch {
			touch = 0x02
		}
		return concat(encode([]byte{0x01}, []byte{c.st.MgmtAlg}), encode([]byte{0x02}, []byte{0x00, touch}),
			encode([]byte{0x05}, []byte{def})), nil
	case 0x80, 0x81:
		def, max, left := byte(0), c.st.PINMax, c.st.PINLeft
		if ref == 0x80 && c.st.PIN == DefaultPIN {
			def = 1
		}
		if ref == 0x81 {
			max, left = c.st.PUKMax, c.st.PUKLeft
			if c.st.PUK == DefaultPUK {
				def = 1
			}
		}
		return concat(encode([]byte{0x01}, []byte{0xff}), encode([]byte{0x05}, []byte{def}),
			encode([]byte{0x06}, []byte{byte(max), byte(left)})), nil
	}
	key, ok := c.st.Keys[ref]
	if !ok {
		return nil, swReferenceMissing
	}
	priv, err := key.private()
	if err != nil {
		return nil, swConditions
	}
	origin := byte(0x02)
	if key.Generated {
		origin = 0x01
	}
	point := uncompressedPoint(priv)
	return concat(encode([]byte{0x01}, []byte{key.Alg}), encode([]byte{0x02}, []byte{key.PINPolicy, key.TouchPolicy}),
		encode([]byte{0x03}, []byte{origin}), encode([]byte{0x04}, encode([]byte{0x86}, point))), nil
}

func (c *Card) setManagementKey(p2 byte, data []byte) []byte {
	if !c.mgmtOK {
		return swSecurityStatus
	}
	if len(data) < 3 || data[1] != 0x9b || int(data[2]) != len(data)-3 {
		return swWrongData
	}
	alg, key := data[0], data[3:]
	want := map[byte]int{alg3DES: 24, algAES128: 16, algAES192: 24, algAES256: 32}
	n, ok := want[alg]
	if !ok || len(key) != n || (alg != alg3DES && !c.st.atLeast(5, 4)) {
		return swWrongData
	}
	c.st.MgmtAlg, c.st.MgmtKey, c.st.MgmtTouch = alg, append([]byte{}, key...), p2 == 0xfe
	c.save()
	return swOK
}

func (c *Card) reset() []byte {
	if c.st.PINLeft != 0 || c.st.PUKLeft != 0 {
		return swConditions // only when both PIN and PUK are blocked
	}
	c.st.factoryReset()
	c.pinOK, c.mgmtOK = false, false
	c.save()
	return swOK
}

func (c *Card) setRetries(pin, puk byte) []byte {
	if !c.mgmtOK || !c.pinOK {
		return swSecurityStatus
	}
	if pin == 0 || puk == 0 || pin > 15 || puk > 15 {
		return swWrongData
	}
	c.st.PINMax, c.st.PINLeft, c.st.PUKMax, c.st.PUKLeft = int(pin), int(pin), int(puk), int(puk)
	c.st.PIN, c.st.PUK = DefaultPIN, DefaultPUK
	c.pinOK = false // the PIN it verified no longer exists
	c.save()
	return swOK
}

// save persists the state; a token that cannot write its state file
// keeps working from memory (the file is for restarts only).
func (c *Card) save() {
	if err := c.st.save(c.path); err != nil && c.onErr != nil {
		c.onErr(err)
	}
}
