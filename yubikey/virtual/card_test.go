package virtual

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// send transmits an APDU and splits off the status word.
func send(t *testing.T, c *Card, apdu []byte) ([]byte, string) {
	t.Helper()
	resp := c.Transmit(apdu)
	if len(resp) < 2 {
		t.Fatalf("response %x has no status word", resp)
	}
	return resp[:len(resp)-2], hex.EncodeToString(resp[len(resp)-2:])
}

func cmd(ins, p1, p2 byte, data []byte) []byte {
	return append([]byte{0x00, ins, p1, p2, byte(len(data))}, data...)
}

func selected(t *testing.T, opts Options) *Card {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, sw := send(t, c, cmd(0xa4, 0x04, 0x00, pivAID)); sw != "9000" {
		t.Fatalf("SELECT: %s", sw)
	}
	return c
}

func pin8(s string) []byte { return append([]byte(s), bytes.Repeat([]byte{0xff}, 8-len(s))...) }

// authenticate runs the host side of the management-key mutual
// authentication and returns the status of the final step.
func authenticate(t *testing.T, c *Card, alg byte, key []byte) string {
	t.Helper()
	var block cipher.Block
	var err error
	if alg == alg3DES {
		block, err = des.NewTripleDESCipher(key)
	} else {
		block, err = aes.NewCipher(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	bs := block.BlockSize()
	resp, sw := send(t, c, cmd(0x87, alg, 0x9b, []byte{0x7c, 0x02, 0x80, 0x00}))
	if sw != "9000" {
		return sw
	}
	if len(resp) != 4+bs || resp[0] != 0x7c || resp[2] != 0x80 {
		t.Fatalf("witness %x", resp)
	}
	witness := make([]byte, bs)
	block.Decrypt(witness, resp[4:])
	challenge := bytes.Repeat([]byte{0x5a}, bs)
	msg := concat(encode([]byte{0x80}, witness), encode([]byte{0x81}, challenge))
	resp, sw = send(t, c, cmd(0x87, alg, 0x9b, encode([]byte{0x7c}, msg)))
	if sw != "9000" {
		return sw
	}
	want := make([]byte, bs)
	block.Encrypt(want, challenge)
	if !bytes.Equal(resp, encode([]byte{0x7c}, encode([]byte{0x82}, want))) {
		t.Fatalf("the card's answer to the challenge %x, want %x", resp, want)
	}
	return sw
}

func TestManagementKeyAlgorithms(t *testing.T) {
	// Factory keys: 3DES before firmware 5.7, AES-192 from 5.7.
	for fw, alg := range map[string]byte{"5.4.3": alg3DES, "5.7.1": algAES192} {
		c := selected(t, Options{Firmware: fw})
		md, sw := send(t, c, cmd(0xf7, 0x00, 0x9b, nil))
		if sw != "9000" || md[2] != alg {
			t.Fatalf("firmware %s: metadata %x %s, want algorithm %#x", fw, md, sw, alg)
		}
		if sw := authenticate(t, c, alg, DefaultManagementKey); sw != "9000" {
			t.Errorf("firmware %s: factory key authentication: %s", fw, sw)
		}
		if sw := authenticate(t, c, alg, bytes.Repeat([]byte{9}, 24)); sw != "6982" {
			t.Errorf("firmware %s: a wrong management key: %s, want 6982", fw, sw)
		}
	}
	// Every algorithm a YubiKey 5.4 accepts as a new key.
	for alg, n := range map[byte]int{algAES128: 16, algAES192: 24, algAES256: 32, alg3DES: 24} {
		c := selected(t, Options{})
		if sw := authenticate(t, c, alg3DES, DefaultManagementKey); sw != "9000" {
			t.Fatal(sw)
		}
		key := bytes.Repeat([]byte{byte(n)}, n)
		if _, sw := send(t, c, cmd(0xff, 0xff, 0xff, concat([]byte{alg, 0x9b, byte(n)}, key))); sw != "9000" {
			t.Fatalf("SET MANAGEMENT KEY %#x: %s", alg, sw)
		}
		if sw := authenticate(t, c, alg, key); sw != "9000" {
			t.Errorf("authentication with the new %#x key: %s", alg, sw)
		}
	}
	// A key of the wrong length is refused, and so is a change without authentication.
	c := selected(t, Options{})
	if _, sw := send(t, c, cmd(0xff, 0xff, 0xff, concat([]byte{algAES128, 0x9b, 0}))); sw != "6982" {
		t.Errorf("SET MANAGEMENT KEY unauthenticated: %s", sw)
	}
	authenticate(t, c, alg3DES, DefaultManagementKey)
	if _, sw := send(t, c, cmd(0xff, 0xff, 0xff, []byte{algAES128, 0x9b, 0})); sw != "6a80" {
		t.Errorf("a zero-length management key: %s, want 6a80", sw)
	}
}

func TestChaining(t *testing.T) {
	c := selected(t, Options{})
	authenticate(t, c, alg3DES, DefaultManagementKey)
	object := bytes.Repeat([]byte("certificate "), 100) // 1200 bytes
	data := concat(encode([]byte{0x5c}, []byte{0x5f, 0xc1, 0x0a}), encode([]byte{0x53}, object))
	for len(data) > 255 { // command chaining, as piv-go sends
		if _, sw := send(t, c, append([]byte{0x10, 0xdb, 0x3f, 0xff, 0xff}, data[:255]...)); sw != "9000" {
			t.Fatalf("chained PUT DATA: %s", sw)
		}
		data = data[255:]
	}
	if _, sw := send(t, c, cmd(0xdb, 0x3f, 0xff, data)); sw != "9000" {
		t.Fatalf("PUT DATA: %s", sw)
	}
	got, sw := send(t, c, cmd(0xcb, 0x3f, 0xff, []byte{0x5c, 0x03, 0x5f, 0xc1, 0x0a}))
	for sw[:2] == "61" { // response chaining
		more, next := send(t, c, []byte{0x00, 0xc0, 0x00, 0x00, 0x00})
		got, sw = append(got, more...), next
	}
	if sw != "9000" || !bytes.Equal(got, encode([]byte{0x53}, object)) {
		t.Fatalf("GET DATA: %s, %d bytes", sw, len(got))
	}
}

func TestStatePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	c := selected(t, Options{Serial: 55, Path: path})
	if _, sw := send(t, c, cmd(0x24, 0x00, 0x80, concat(pin8(DefaultPIN), pin8("654321")))); sw != "9000" {
		t.Fatalf("CHANGE REFERENCE: %s", sw)
	}
	authenticate(t, c, alg3DES, DefaultManagementKey)
	if _, sw := send(t, c, cmd(0x47, 0x00, 0x9c, []byte{0xac, 0x03, 0x80, 0x01, algECP256})); sw != "9000" {
		t.Fatalf("GENERATE: %s", sw)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v, want mode 0600", st, err)
	}

	again := selected(t, Options{Serial: 99, Path: path}) // the file wins
	serial, _ := send(t, again, cmd(0xf8, 0, 0, nil))
	if hex.EncodeToString(serial) != "00000037" {
		t.Errorf("serial after restart %x, want 55", serial)
	}
	if _, sw := send(t, again, cmd(0x20, 0x00, 0x80, pin8("654321"))); sw != "9000" {
		t.Errorf("the changed PIN after restart: %s", sw)
	}
	if _, sw := send(t, again, cmd(0xf7, 0x00, 0x9c, nil)); sw != "9000" {
		t.Errorf("the slot key after restart: %s", sw)
	}
}

func TestPINCountersAndReset(t *testing.T) {
	c := selected(t, Options{})
	if _, sw := send(t, c, cmd(0xfb, 0, 0, nil)); sw != "6985" {
		t.Errorf("RESET with PIN and PUK unblocked: %s, want 6985", sw)
	}
	for want, i := []string{"63c2", "63c1", "6983", "6983"}, 0; i < 4; i++ {
		if _, sw := send(t, c, cmd(0x20, 0x00, 0x80, pin8("000000"))); sw != want[i] {
			t.Errorf("wrong PIN %d: %s, want %s", i+1, sw, want[i])
		}
	}
	if _, sw := send(t, c, cmd(0x20, 0x00, 0x80, nil)); sw != "6983" {
		t.Errorf("empty VERIFY on a blocked PIN: %s", sw)
	}
	// A wrong PUK of any length counts (piv-go's reset sends short random ones).
	for i := 0; i < 3; i++ {
		send(t, c, cmd(0x24, 0x00, 0x81, concat(pin8("1"), pin8("1"))))
	}
	if _, sw := send(t, c, cmd(0xfb, 0, 0, nil)); sw != "9000" {
		t.Fatalf("RESET with PIN and PUK blocked: %s", sw)
	}
	if _, sw := send(t, c, cmd(0x20, 0x00, 0x80, pin8(DefaultPIN))); sw != "9000" {
		t.Errorf("the factory PIN after reset: %s", sw)
	}
	// SET PIN RETRIES needs the management key and the PIN.
	authenticate(t, c, alg3DES, DefaultManagementKey)
	if _, sw := send(t, c, cmd(0xfa, 5, 6, nil)); sw != "9000" {
		t.Fatalf("SET PIN RETRIES: %s", sw)
	}
	if _, sw := send(t, c, cmd(0x20, 0x00, 0x80, nil)); sw != "63c5" {
		t.Errorf("tries after SET PIN RETRIES: %s, want 63c5", sw)
	}
}
