package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-piv/piv-go/v2/piv"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/internal/testbed"
	"github.com/dctwiz/dctwiz/yubikey"
	"github.com/dctwiz/dctwiz/yubikey/virtual"
)

const ykPIN, ykPUK = "314159", "27182818"

// insertYubiKey puts a virtual YubiKey into this package's vpcd reader
// (the yubikey package's tests use the other one) and prepares it.
func insertYubiKey(t *testing.T, serial uint32, prepare bool) *testbed.VirtualToken {
	t.Helper()
	if err := testbed.EnsurePCSCD(); err != nil {
		t.Fatal("pcscd with vsmartcard's vpcd is required: ", err)
	}
	vt, err := testbed.InsertVirtualYubiKey(testbed.VPCDPortB, virtual.Options{Serial: serial})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vt.Remove)
	if prepare {
		tok, err := yubikey.Open(serial)
		if err != nil {
			t.Fatal(err)
		}
		defer tok.Close()
		if err := tok.Prepare(ykPIN, ykPUK); err != nil {
			t.Fatal(err)
		}
	}
	return vt
}

// TestYubiKeySetupCeremony runs the whole headless ceremony with the root
// key on a (virtual) YubiKey through pcscd, then checks the result with
// the token, the notary CLI, docker and Yubico's tool.
func TestYubiKeySetupCeremony(t *testing.T) {
	const serial = 8001
	vt := insertYubiKey(t, serial, true)
	caFile := filepath.Join(t.TempDir(), "attestation-ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vt.Card.AttestationCA()}), 0o644)

	gun := newGUN()
	img, err := reg.PushRandomImage(context.Background(), strings.TrimPrefix(gun, reg.Host+"/"), "1.0")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t).without("NOTARY_ROOT_PASSPHRASE").with("DCTWIZ_YUBIKEY_PIN", ykPIN)
	rootCrt := filepath.Join(t.TempDir(), "root.crt")
	r := mustOK(t, dctwizBinary(t, e, append([]string{"setup", gun, "--root-key", "yubikey:8001",
		"--delegation", "signpath=" + writeCert(t, certSpecAlice), "--root-cert-out", rootCrt, "--attestation-ca", caFile,
		"--test-tag", "1.0", "--delete-targets-key", "--yes", "--json"}, serverArgs()...)...))
	var rep flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("setup --json: %v\n%s", err, r)
	}
	if rep.Attestation == nil || !rep.Attestation.Verified || rep.Attestation.Serial != serial {
		t.Fatalf("attestation %+v\n%s", rep.Attestation, r)
	}
	if !strings.Contains(rep.Root, "YubiKey 8001 slot 9c") || rep.TestSign == nil || rep.TestSign.Verified.Digest != img.Digest.String() || rep.TargetsKey == nil || !rep.TargetsKey.Gone {
		t.Fatalf("report %+v", rep)
	}
	if !strings.Contains(r.stderr, "Touch your YubiKey") {
		t.Errorf("no touch prompt on stderr:\n%s", r.stderr)
	}
	if _, err := os.Stat(rootCrt + ".attestation.pem"); err != nil {
		t.Errorf("attestation not kept beside the root certificate: %v", err)
	}

	// The root key in root.json is the key in slot 9c.
	tok, err := yubikey.Open(serial)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, err := tok.PublicKey(piv.SlotSignature)
	tok.Close()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(rep.RootCerts[0].PEM))
	rootCert, err := parseCert(block.Bytes)
	if err != nil || !pub.Equal(rootCert.PublicKey) {
		t.Fatalf("root.json's root certificate is not for the slot 9c key: %v", err)
	}
	// No root private key ever reached the trust dir: after the targets
	// key's deletion it holds no private key at all.
	if n := keyFileCount(t, filepath.Join(e["DOCKER_CONFIG"], "trust", "private")); n != 0 {
		t.Errorf("%d private key files in the trust dir, want none", n)
	}

	// Interop: the notary CLI and docker read the repository.
	out, err := exec.Command(bins.CLI, "-s", notary.URL, "-d", t.TempDir(), "--tlscacert", notary.CACert, "list", gun).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No targets present") && !strings.Contains(string(out), "targets") {
		t.Errorf("notary list: %v\n%s", err, out)
	}
	// Yubico's tool sees the token and the root certificate in slot 9c.
	out, err = exec.Command("yubico-piv-tool", "-r", "Virtual PCD 00 01", "-a", "status").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Serial Number:\t8001") || !strings.Contains(string(out), "CN=root") {
		t.Errorf("yubico-piv-tool -a status: %v\n%s", err, out)
	}
	out, err = exec.Command("yubico-piv-tool", "-r", "Virtual PCD 00 01", "-a", "read-certificate", "-s", "9c").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "BEGIN CERTIFICATE") {
		t.Errorf("yubico-piv-tool -a read-certificate -s 9c: %v\n%s", err, out)
	}
}
