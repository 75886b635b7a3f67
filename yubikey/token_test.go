package yubikey_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/go-piv/piv-go/v2/piv"

	"github.com/dctwiz/dctwiz/internal/testbed"
	"github.com/dctwiz/dctwiz/yubikey"
	"github.com/dctwiz/dctwiz/yubikey/virtual"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // the token tests skip themselves (insert)
	}
	if err := testbed.EnsurePCSCD(); err != nil {
		// Fail, never skip: the token code is proven through the real pcscd.
		fmt.Fprintln(os.Stderr, "FAIL: pcscd with vsmartcard's vpcd is required:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

const (
	newPIN = "246810"
	newPUK = "97531086"
)

// insert puts a fresh virtual YubiKey into this package's reader.
func insert(t *testing.T, serial uint32, firmware string) *testbed.VirtualToken {
	t.Helper()
	if testing.Short() {
		t.Skip("needs pcscd and the virtual YubiKey; skipped with -short")
	}
	vt, err := testbed.InsertVirtualYubiKey(testbed.VPCDPortA, virtual.Options{Serial: serial, Firmware: firmware})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vt.Remove)
	return vt
}

func open(t *testing.T, serial uint32) *yubikey.Token {
	t.Helper()
	tok, err := yubikey.Open(serial)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tok.Close() })
	return tok
}

func TestTokenLifecycle(t *testing.T) {
	for _, fw := range []string{"5.4.3", "5.7.1"} { // 3DES and AES-192 factory management keys
		t.Run(fw, func(t *testing.T) {
			serial := uint32(7001)
			if fw == "5.7.1" {
				serial = 7002
			}
			vt := insert(t, serial, fw)
			tok := open(t, serial)

			info, err := tok.Info()
			if err != nil {
				t.Fatal(err)
			}
			factoryAlg := map[string]string{"5.4.3": "3DES", "5.7.1": "AES-192"}[fw]
			if info.MgmtAlgorithm != factoryAlg {
				t.Errorf("firmware %s: factory management key %q, want %s", fw, info.MgmtAlgorithm, factoryAlg)
			}
			if info.Serial != serial || info.Firmware != fw || info.PINTriesLeft != 3 || info.PUKTriesLeft != 3 || !info.DefaultPIN || !info.DefaultPUK || !info.DefaultMgmt || len(info.Slots) != 0 {
				t.Fatalf("a new token: %+v", info)
			}
			if _, err := tok.CreateKey(yubikey.DefaultPIN, yubikey.KeyOptions{Slot: piv.SlotSignature}); !errors.Is(err, yubikey.ErrFactoryDefaults) {
				t.Errorf("creating a key on a factory token: %v, want ErrFactoryDefaults", err)
			}
			if err := tok.Prepare(yubikey.DefaultPIN, newPUK); !errors.Is(err, yubikey.ErrBadPIN) {
				t.Errorf("preparing with the factory PIN: %v", err)
			}
			if err := tok.Prepare(newPIN, newPUK); err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if err := tok.Prepare(newPIN, newPUK); !errors.Is(err, yubikey.ErrNotFactory) {
				t.Errorf("preparing twice: %v, want ErrNotFactory", err)
			}
			// The management key is random, 24 bytes, stored PIN-protected, and
			// is what the token now accepts (cosign once shipped empty keys).
			key := storedManagementKey(t, tok)
			if len(key) != 24 || string(key) == string(piv.DefaultManagementKey) || allZero(key) {
				t.Fatalf("stored management key %x: want 24 random bytes", key)
			}
			tok.Close()
			tok = open(t, serial)
			info, _ = tok.Info()
			if info.DefaultPIN || info.DefaultPUK || info.DefaultMgmt || info.MgmtAlgorithm != "AES-192" {
				t.Errorf("after Prepare: %+v; want no factory credentials and an AES-192 management key", info)
			}

			// Create the root key on the token.
			if err := tok.VerifyPIN(newPIN); err != nil {
				t.Fatal(err)
			}
			cert, err := tok.CreateKey(newPIN, yubikey.KeyOptions{Slot: piv.SlotSignature, PINPolicy: piv.PINPolicyOnce, TouchPolicy: piv.TouchPolicyAlways})
			if err != nil {
				t.Fatalf("CreateKey: %v", err)
			}
			if cert.Subject.CommonName != "root" || cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) != nil {
				t.Errorf("slot certificate %v: want a self-signed CN=root", cert.Subject)
			}
			if _, err := tok.CreateKey(newPIN, yubikey.KeyOptions{Slot: piv.SlotSignature}); !errors.Is(err, yubikey.ErrSlotOccupied) {
				t.Errorf("creating over an occupied slot: %v, want ErrSlotOccupied", err)
			}
			pub, pinPolicy, touch, err := tok.PublicKey(piv.SlotSignature)
			if err != nil || pinPolicy != piv.PINPolicyOnce || touch != piv.TouchPolicyAlways || !pub.Equal(cert.PublicKey) {
				t.Fatalf("PublicKey: %v %v %v %v", pub, pinPolicy, touch, err)
			}

			// Sign: a DER signature that verifies.
			signer, err := tok.Signer(piv.SlotSignature, pub, newPIN, pinPolicy)
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256([]byte("root.json"))
			sig, err := signer.Sign(rand.Reader, digest[:], nil)
			if err != nil || !ecdsa.VerifyASN1(pub, digest[:], sig) {
				t.Fatalf("signature: %v", err)
			}

			// Attestation verifies up to the virtual token's own CA.
			slotCert, devCert, err := tok.Attest(piv.SlotSignature)
			if err != nil {
				t.Fatal(err)
			}
			roots := x509.NewCertPool()
			ca, _ := x509.ParseCertificate(vt.Card.AttestationCA())
			roots.AddCert(ca)
			att, err := (&piv.Verifier{Roots: roots}).Verify(devCert, slotCert)
			if err != nil {
				t.Fatalf("attestation: %v", err)
			}
			if att.Serial != serial || att.PINPolicy != piv.PINPolicyOnce || att.TouchPolicy != piv.TouchPolicyAlways || !pub.Equal(slotCert.PublicKey) {
				t.Errorf("attestation %+v", att)
			}
			if _, err := piv.Verify(devCert, slotCert); err == nil {
				t.Error("the virtual token's attestation verifies against Yubico's CA")
			}

			// A P-384 key signs a 48-byte digest.
			cert384, err := tok.CreateKey(newPIN, yubikey.KeyOptions{Slot: piv.SlotKeyManagement, Curve: elliptic.P384()})
			if err != nil {
				t.Fatalf("CreateKey P-384: %v", err)
			}
			pub384 := cert384.PublicKey.(*ecdsa.PublicKey)
			signer384, err := tok.Signer(piv.SlotKeyManagement, pub384, newPIN, piv.PINPolicyOnce)
			if err != nil {
				t.Fatal(err)
			}
			d384 := sha512.Sum384([]byte("root.json"))
			if sig, err := signer384.Sign(rand.Reader, d384[:], nil); err != nil || !ecdsa.VerifyASN1(pub384, d384[:], sig) {
				t.Errorf("P-384 signature: %v", err)
			}
		})
	}
}

func storedManagementKey(t *testing.T, tok *yubikey.Token) []byte {
	t.Helper()
	key, err := yubikey.StoredManagementKey(tok, newPIN)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// TestPIN: a wrong PIN costs exactly one try and says how many are left;
// three block it; the PUK unblocks it; a blocked PUK leaves only reset.
func TestPIN(t *testing.T) {
	insert(t, 7003, "5.4.3")
	tok := open(t, 7003)
	if err := tok.Prepare(newPIN, newPUK); err != nil {
		t.Fatal(err)
	}
	var wrong yubikey.WrongPINError
	if err := tok.VerifyPIN("000000"); !errors.As(err, &wrong) || wrong.Left != 2 {
		t.Fatalf("a wrong PIN: %v", err)
	}
	if info, _ := tok.Info(); info.PINTriesLeft != 2 {
		t.Errorf("tries left after one wrong PIN: %d, want 2", info.PINTriesLeft)
	}
	if err := tok.VerifyPIN("000000"); !errors.As(err, &wrong) || wrong.Left != 1 || wrong.Error() != "wrong PIN: one try left before the PIN is blocked" {
		t.Fatalf("the second wrong PIN: %v", err)
	}
	if err := tok.VerifyPIN("000000"); !errors.Is(err, yubikey.ErrPINBlocked) {
		t.Fatalf("the third wrong PIN: %v, want ErrPINBlocked", err)
	}
	if err := tok.VerifyPIN(newPIN); !errors.Is(err, yubikey.ErrPINBlocked) {
		t.Fatalf("the right PIN when blocked: %v", err)
	}
	var wrongPUK yubikey.WrongPUKError
	if err := tok.Unblock("00000000", "135790"); !errors.As(err, &wrongPUK) || wrongPUK.Left != 2 {
		t.Fatalf("a wrong PUK: %v", err)
	}
	if err := tok.Unblock(newPUK, "135790"); err != nil {
		t.Fatalf("Unblock: %v", err)
	}
	if err := tok.VerifyPIN("135790"); err != nil {
		t.Fatalf("the new PIN: %v", err)
	}
	for i := 0; i < 3; i++ {
		tok.Unblock("00000000", "135790")
	}
	if err := tok.Unblock(newPUK, "135790"); !errors.Is(err, yubikey.ErrPUKBlocked) {
		t.Fatalf("a blocked PUK: %v, want ErrPUKBlocked", err)
	}
	if err := tok.Reset(); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	tok.Close()
	tok = open(t, 7003)
	if info, err := tok.Info(); err != nil || !info.FactoryDefaults() || info.PINTriesLeft != 3 {
		t.Errorf("after reset: %+v, %v; want factory credentials", info, err)
	}
}

// TestSeveralTokens: with two YubiKeys connected, one is chosen by serial.
// (make test runs this package alone, so both vpcd readers are free.)
func TestSeveralTokens(t *testing.T) {
	insert(t, 7004, "5.4.3")
	second, err := testbed.InsertVirtualYubiKey(testbed.VPCDPortB, virtual.Options{Serial: 7005})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Remove()
	if _, err := yubikey.Open(0); !errors.Is(err, yubikey.ErrSeveralTokens) || !strings.Contains(err.Error(), "7004, 7005") {
		t.Errorf("Open(0) with two tokens: %v, want ErrSeveralTokens naming both", err)
	}
	infos, err := yubikey.List()
	if err != nil || len(infos) != 2 || infos[0].Serial != 7004 || infos[1].Serial != 7005 {
		t.Errorf("List: %+v, %v", infos, err)
	}
	tok := open(t, 7005)
	if tok.Serial() != 7005 {
		t.Errorf("Open(7005) opened %d", tok.Serial())
	}
	if _, err := yubikey.Open(9999); !errors.Is(err, yubikey.ErrNoToken) {
		t.Errorf("Open(9999): %v, want ErrNoToken", err)
	}
}

// TestPrepareResumes: a preparation cut short after the management key
// changed (the token was pulled out) is finished by running it again.
func TestPrepareResumes(t *testing.T) {
	insert(t, 7006, "5.4.3")
	func() {
		yk, err := piv.Open(readerOf(t, 7006))
		if err != nil {
			t.Fatal(err)
		}
		defer yk.Close()
		key := bytes.Repeat([]byte{0x42}, 24)
		if err := yk.SetMetadata(piv.DefaultManagementKey, &piv.Metadata{ManagementKey: &key}); err != nil {
			t.Fatal(err)
		}
		if err := yk.SetManagementKey(piv.DefaultManagementKey, key); err != nil {
			t.Fatal(err)
		}
	}() // ... and here the token was pulled out
	tok := open(t, 7006)
	if err := tok.Prepare(newPIN, newPUK); err != nil {
		t.Fatalf("resuming Prepare: %v", err)
	}
	info, err := tok.Info()
	if err != nil || info.FactoryDefaults() {
		t.Errorf("after resuming: %+v, %v", info, err)
	}
	if err := tok.VerifyPIN(newPIN); err != nil {
		t.Errorf("the new PIN: %v", err)
	}
}

func readerOf(t *testing.T, serial uint32) string {
	t.Helper()
	infos, err := yubikey.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range infos {
		if i.Serial == serial {
			return i.Reader
		}
	}
	t.Fatalf("no reader holds YubiKey %d", serial)
	return ""
}
