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
	"time"

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
	return insertYubiKeyAt(t, testbed.VPCDPortB, serial, prepare)
}

// insertYubiKeyAt inserts a virtual YubiKey into one of vpcd's two
// readers: two tokens at once for a ceremony with a backup.
func insertYubiKeyAt(t *testing.T, port string, serial uint32, prepare bool) *testbed.VirtualToken {
	t.Helper()
	return insertCardAt(t, port, virtual.Options{Serial: serial}, prepare)
}

// insertCardAt is insertYubiKeyAt for a token with options (a touch
// delay, a hook on the touch).
func insertCardAt(t *testing.T, port string, opts virtual.Options, prepare bool) *testbed.VirtualToken {
	t.Helper()
	if err := testbed.EnsurePCSCD(); err != nil {
		t.Fatal("pcscd with vsmartcard's vpcd is required: ", err)
	}
	vt, err := testbed.InsertVirtualYubiKey(port, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vt.Remove() })
	if prepare {
		tok, err := yubikey.Open(opts.Serial)
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

// caFileOf writes the virtual token's attestation CA for --attestation-ca.
func caFileOf(t *testing.T, card *virtual.Card) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "attestation-ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: card.AttestationCA()}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestYubiKeySetupCeremony runs the whole headless ceremony with the root
// key on a (virtual) YubiKey through pcscd, then checks the result with
// the token, the notary CLI, docker and Yubico's tool.
func TestYubiKeySetupCeremony(t *testing.T) {
	needBed(t)
	const serial = 8001
	vt := insertYubiKey(t, serial, true)
	caFile := caFileOf(t, vt.Card)

	gun := newGUN()
	img, err := reg.PushRandomImage(context.Background(), strings.TrimPrefix(gun, reg.Host+"/"), "1.0")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t).without("NOTARY_ROOT_PASSPHRASE").with("DCTWIZ_YUBIKEY_PIN", ykPIN)
	rootCrt := filepath.Join(t.TempDir(), "root.crt")
	recordDir := t.TempDir()
	r := mustOK(t, dctwizBinary(t, e, append([]string{"setup", gun, "--root-key", "yubikey:8001",
		"--delegation", "signpath=" + writeCert(t, certSpecAlice), "--root-cert-out", rootCrt, "--attestation-ca", caFile,
		"--test-tag", "1.0", "--keep", "--delete-targets-key", "--yes", "--json", "--record", recordDir}, serverArgs()...)...))
	checkRecord(t, recordDir, gun, serial)
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
	if !strings.Contains(r.stderr, "Touch YubiKey 8001 now") {
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

	// Interop: the notary CLI resolves the tag, docker sees the root key.
	hexDigest := strings.TrimPrefix(img.Digest.String(), "sha256:")
	out, err := exec.Command(bins.CLI, "-s", notary.URL, "-d", t.TempDir(), "--tlscacert", notary.CACert, "lookup", gun, "1.0").CombinedOutput()
	if err != nil || !strings.Contains(string(out), hexDigest) {
		t.Errorf("notary lookup: %v\n%s", err, out)
	}
	dockerCfg := t.TempDir()
	os.MkdirAll(filepath.Join(dockerCfg, "tls", notary.Host()), 0o700)
	ca, _ := os.ReadFile(notary.CACert)
	os.WriteFile(filepath.Join(dockerCfg, "tls", notary.Host(), "ca.crt"), ca, 0o600)
	docker := exec.Command("docker", "trust", "inspect", gun)
	docker.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DOCKER_CONFIG=" + dockerCfg, "DOCKER_CONTENT_TRUST_SERVER=" + notary.URL}
	out, err = docker.CombinedOutput()
	if err != nil || !strings.Contains(string(out), rep.Init.Root.ID) || !strings.Contains(string(out), hexDigest) {
		t.Errorf("docker trust inspect does not show root key %s and the signed digest: %v\n%s", rep.Init.Root.ID, err, out)
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

	// The yearly ceremony: the targets key, deleted after setup, is rotated
	// with the root key on the token (a touch for the root signature), then
	// deleted again; docker, with the cache it filled above, follows.
	r = mustOK(t, dctwizBinary(t, e, append([]string{"rotate", "targets", gun, "--root-key", "yubikey:8001", "--attestation-ca", caFile,
		"--delete-targets-key", "--yes"}, serverArgs()...)...))
	if !strings.Contains(r.stdout, "Rotated the targets key of "+gun) || !strings.Contains(r.stderr, "Touch YubiKey 8001 now") ||
		!strings.Contains(r.stderr, "Plan for "+gun+":\n  1. Read the repository as a consumer") || !strings.Contains(r.stderr, "needs: the root key on YubiKey 8001") {
		t.Errorf("rotate targets with the YubiKey root:\n%s", r)
	}
	docker = exec.Command("docker", "trust", "inspect", gun)
	docker.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DOCKER_CONFIG=" + dockerCfg, "DOCKER_CONTENT_TRUST_SERVER=" + notary.URL}
	if out, err = docker.CombinedOutput(); err != nil || strings.Contains(string(out), rep.Init.Targets.ID) || !strings.Contains(string(out), hexDigest) {
		t.Errorf("docker trust inspect after the rotation still shows the old targets key %s, or not the tag: %v\n%s", rep.Init.Targets.ID, err, out)
	}
	if n := keyFileCount(t, filepath.Join(e["DOCKER_CONFIG"], "trust", "private")); n != 0 {
		t.Errorf("%d private key files in the trust dir after the rotation, want none", n)
	}
	// The signing service renews its certificate: replace the signer's key,
	// the targets key (deleted) rotated in with the YubiKey root and deleted
	// again. Without the root key, the error says to give it.
	renewed := writeCert(t, certSpecAlice)
	r = dctwiz(e, append([]string{"delegation", "add", gun, "ci", renewed}, serverArgs()...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "--root-key SPEC on this command") {
		t.Errorf("delegation add without the targets key or the root key:\n%s", r)
	}
	signerRecord := t.TempDir()
	r = mustOK(t, dctwizBinary(t, e, append([]string{"delegation", "replace", gun, "signpath", renewed, "--root-key", "yubikey:8001",
		"--attestation-ca", caFile, "--yes", "--json", "--record", signerRecord}, serverArgs()...)...))
	if mds, _ := filepath.Glob(filepath.Join(signerRecord, "dctwiz-ceremony-*.md")); len(mds) != 1 {
		t.Errorf("the signer ceremony's record: %v", mds)
	} else if md, _ := os.ReadFile(mds[0]); !strings.Contains(string(md), "delegation replace ceremony") || !strings.Contains(string(md), "YubiKey 8001") {
		t.Errorf("the signer ceremony's record:\n%s", md)
	}
	var signerRep flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &signerRep); err != nil || len(signerRep.Delegations) != 1 || !signerRep.Delegations[0].Changed ||
		signerRep.Rotation == nil || signerRep.TargetsKey == nil || !signerRep.TargetsKey.Gone {
		t.Fatalf("delegation replace --root-key: %v\n%s", err, r)
	}
	newKey := signerRep.Delegations[0].KeyIDs[0]
	docker = exec.Command("docker", "trust", "inspect", gun)
	docker.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DOCKER_CONFIG=" + dockerCfg, "DOCKER_CONTENT_TRUST_SERVER=" + notary.URL}
	if out, err = docker.CombinedOutput(); err != nil || !strings.Contains(string(out), newKey) || strings.Contains(string(out), rep.Delegations[0].KeyIDs[0]) {
		t.Errorf("docker trust inspect after replacing the signer's key: want %s and not %s: %v\n%s", newKey, rep.Delegations[0].KeyIDs[0], err, out)
	}
	if n := keyFileCount(t, filepath.Join(e["DOCKER_CONFIG"], "trust", "private")); n != 0 {
		t.Errorf("%d private key files in the trust dir after the signer ceremony, want none", n)
	}

	// Another repository's root key is refused before anything is made.
	r = dctwiz(newEnv(t), append([]string{"rotate", "targets", gun, "--root-key", "file", "--yes"}, serverArgs()...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "root key") {
		t.Errorf("rotate targets without this repository's root key:\n%s", r)
	}
}

// TestYubiKeyFailures: a token with factory credentials, a wrong PIN, a
// blocked PIN and an occupied slot each get one clear line, and leave the
// server without trust data.
func TestYubiKeyFailures(t *testing.T) {
	needBed(t)
	const serial = 8002
	vt := insertYubiKey(t, serial, false)
	ca := caFileOf(t, vt.Card)
	gun := newGUN()
	e := newEnv(t).without("NOTARY_ROOT_PASSPHRASE")
	initCmd := func(pin string, extra ...string) result {
		args := append([]string{"init", gun, "--root-key", "yubikey:8002", "--attestation-ca", ca}, extra...)
		return dctwiz(e.with("DCTWIZ_YUBIKEY_PIN", pin), append(args, serverArgs()...)...)
	}
	expect := func(r result, code int, msg string) {
		t.Helper()
		if r.code != code || !strings.Contains(r.stderr, msg) || strings.Count(r.stderr, "dctwiz: ")+strings.Count(r.stderr, "  fix: ") > 2 {
			t.Fatalf("want exit %d saying %q:\n%s", code, msg, r)
		}
		assertNoTrustData(t, gun)
	}

	expect(initCmd(yubikey.DefaultPIN), 1, "factory PIN, PUK or management key")
	r := mustOK(t, dctwiz(e, "yubikey", "status", "--serial", "8002", "--json"))
	if !strings.Contains(r.stdout, `"default_pin": true`) || !strings.Contains(r.stdout, `"default_mgmt_key": true`) || !strings.Contains(r.stdout, `"slots": null`) {
		t.Errorf("status of a factory token:\n%s", r)
	}
	// Headless preparation needs --yes, and the PIN and PUK from the environment.
	expect(dctwiz(e, "yubikey", "setup", "--serial", "8002"), 2, "pass --yes")
	mustOK(t, dctwiz(e.with("DCTWIZ_YUBIKEY_PIN", ykPIN).with("DCTWIZ_YUBIKEY_PUK", ykPUK), "yubikey", "setup", "--serial", "8002", "--yes"))
	expect(dctwiz(e.with("DCTWIZ_YUBIKEY_PIN", ykPIN).with("DCTWIZ_YUBIKEY_PUK", ykPUK), "yubikey", "setup", "--serial", "8002", "--yes"), 1, "no longer has factory credentials")

	// A wrong PIN costs exactly one try.
	r = initCmd("999999", "--json")
	if !strings.Contains(r.stdout, `"kind": "wrong_pin"`) {
		t.Errorf("a wrong PIN's error document:\n%s", r)
	}
	expect(r, 1, "wrong PIN: 2 tries left")
	r = mustOK(t, dctwiz(e, "yubikey", "status", "--serial", "8002", "--json"))
	if !strings.Contains(r.stdout, `"pin_tries_left": 2`) {
		t.Errorf("after one wrong PIN:\n%s", r)
	}
	expect(initCmd("999999"), 1, "wrong PIN: one try left")
	// The last try is not spent unconfirmed: headless, that needs
	// --last-pin-try; --yes, which confirms destructive steps, is not it.
	expect(initCmd("999999"), 1, "one PIN try left: a wrong PIN now blocks the PIN")
	expect(initCmd("999999", "--yes"), 1, "(--last-pin-try, or type the PIN twice on a terminal)")
	expect(initCmd("999999", "--last-pin-try"), 1, "the PIN is blocked")
	expect(initCmd(ykPIN), 1, "the PIN is blocked")
	if !strings.Contains(initCmd(ykPIN).stderr, "dctwiz yubikey unblock") {
		t.Error("a blocked PIN does not point at the unblock command")
	}
	mustOK(t, dctwiz(e.with("DCTWIZ_YUBIKEY_PUK", ykPUK).with("DCTWIZ_YUBIKEY_PIN", ykPIN), "yubikey", "unblock", "--serial", "8002"))

	// A slot holding another key is never taken over.
	func() {
		tok, err := yubikey.Open(serial)
		if err != nil {
			t.Fatal(err)
		}
		defer tok.Close()
		if err := tok.VerifyPIN(ykPIN); err != nil {
			t.Fatal(err)
		}
		if _, err := tok.CreateKey(ykPIN, yubikey.KeyOptions{Slot: piv.SlotAuthentication, CommonName: "ssh"}); err != nil {
			t.Fatal(err)
		}
	}()
	expect(initCmd(ykPIN, "--slot", "9a"), 1, "slot 9a holds a key that is not a root key")
	expect(initCmd(ykPIN, "--slot", "9a", "--overwrite-slot"), 2, "needs confirmation: pass --yes")

	// Nothing was made in slot 9c by any of the failures.
	r = mustOK(t, dctwiz(e, "yubikey", "status", "--serial", "8002"))
	if strings.Contains(r.stdout, "slot 9c") {
		t.Errorf("a failed ceremony left a key in slot 9c:\n%s", r)
	}
	// An attestation that does not verify stops the ceremony before anything is published.
	expect(initCmd(ykPIN, "--attestation-ca", notary.CACert), 1, "the attestation of the root key does not verify")
	// With the right PIN the ceremony goes through, and attest writes both certificates.
	mustOK(t, initCmd(ykPIN))
	if n := keyFileCount(t, filepath.Join(e["DOCKER_CONFIG"], "trust", "private")); n != 1 {
		t.Errorf("%d key files after a YubiKey init, want only the targets key", n)
	}
	// Confirmed, the foreign key in 9a is replaced by a root key.
	other := newGUN()
	r = mustOK(t, dctwiz(e.with("DCTWIZ_YUBIKEY_PIN", ykPIN), append([]string{"init", other, "--root-key", "yubikey:8002", "--attestation-ca", ca, "--slot", "9a", "--overwrite-slot", "--yes"}, serverArgs()...)...))
	if !strings.Contains(r.stdout, "YubiKey 8002 slot 9a") {
		t.Errorf("init over a confirmed slot:\n%s", r)
	}
	// A P-384 root key: notary's client verifies what the token signed.
	p384 := newGUN()
	mustOK(t, dctwiz(e.with("DCTWIZ_YUBIKEY_PIN", ykPIN), append([]string{"init", p384, "--root-key", "yubikey:8002", "--attestation-ca", ca, "--slot", "9d", "--curve", "p384"}, serverArgs()...)...))
	mustOK(t, dctwiz(e, append([]string{"inspect", p384}, serverArgs()...)...))
	r = mustOK(t, dctwiz(e, "yubikey", "status", "--serial", "8002"))
	if !strings.Contains(r.stdout, "slot 9d: ECDSA P-384") {
		t.Errorf("status after a P-384 root key:\n%s", r)
	}
	dir := t.TempDir()
	mustOK(t, dctwiz(e, "yubikey", "attest", "--serial", "8002", "--slot", "9c", "-o", dir))
	for _, f := range []string{"slot-9c-attestation.pem", "device-attestation.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("yubikey attest did not write %s: %v", f, err)
		}
	}
	// list, then reset: typed confirmation (or --yes), back to factory state.
	if r = mustOK(t, dctwiz(e, "yubikey", "list")); !strings.Contains(r.stdout, "8002") {
		t.Errorf("yubikey list:\n%s", r)
	}
	if r = dctwiz(e, "yubikey", "reset", "--serial", "8002"); r.code != 2 || !strings.Contains(r.stderr, "pass --yes") {
		t.Errorf("reset without confirmation:\n%s", r)
	}
	mustOK(t, dctwiz(e, "yubikey", "reset", "--serial", "8002", "--yes"))
	if r = mustOK(t, dctwiz(e, "yubikey", "status", "--serial", "8002", "--json")); !strings.Contains(r.stdout, `"default_pin": true`) || !strings.Contains(r.stdout, `"slots": null`) {
		t.Errorf("status after reset:\n%s", r)
	}
}

// TestYubiKeyRemovedMidCeremony pulls the token out while it waits for a
// touch: nothing is published, and after reinserting it the same command
// finishes with the key made on the token.
func TestYubiKeyRemovedMidCeremony(t *testing.T) {
	needBed(t)
	if err := testbed.EnsurePCSCD(); err != nil {
		t.Fatal(err)
	}
	// The card says when it starts waiting for the touch; the token is
	// pulled out right then.
	waiting := make(chan struct{}, 8)
	card, err := virtual.New(virtual.Options{Serial: 8003, TouchDelay: 3 * time.Second,
		OnTouchWait: func() { waiting <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	vt, err := testbed.InsertCard(testbed.VPCDPortB, card)
	if err != nil {
		t.Fatal(err)
	}
	func() {
		tok, err := yubikey.Open(8003)
		if err != nil {
			t.Fatal(err)
		}
		defer tok.Close()
		if err := tok.Prepare(ykPIN, ykPUK); err != nil {
			t.Fatal(err)
		}
	}()
	gun := newGUN()
	e := newEnv(t).without("NOTARY_ROOT_PASSPHRASE").with("DCTWIZ_YUBIKEY_PIN", ykPIN)
	args := append([]string{"init", gun, "--root-key", "yubikey:8003", "--attestation-ca", caFileOf(t, card)}, serverArgs()...)

	done := make(chan result)
	go func() { done <- dctwiz(e, args...) }()
	select {
	case <-waiting: // the token now waits for the touch
	case <-time.After(time.Minute):
		t.Fatal("the token never waited for a touch")
	}
	vt.Remove()
	r := <-done
	// The touch prompt, then one error line and its fix.
	errLines := strings.TrimPrefix(r.stderr, "Touch YubiKey 8003 now: it waits to sign with its root key.\n")
	if r.code != 1 || !strings.Contains(r.stderr, "the YubiKey was removed") || !strings.Contains(r.stderr, "reconnect the YubiKey") || strings.Count(errLines, "\n") > 2 {
		t.Fatalf("init with the token pulled out:\n%s", r)
	}
	assertNoTrustData(t, gun)

	vt, err = testbed.InsertCard(testbed.VPCDPortB, card)
	if err != nil {
		t.Fatal(err)
	}
	defer vt.Remove()
	r = mustOK(t, dctwiz(e, args...))
	if !strings.Contains(r.stdout, "YubiKey 8003 slot 9c") {
		t.Errorf("rerun:\n%s", r)
	}
}

// TestYubiKeyPINPrompt: on a terminal, dctwiz says how many PIN tries are
// left before asking, and with one left asks twice before trying.
func TestYubiKeyPINPrompt(t *testing.T) {
	needBed(t)
	vt := insertYubiKey(t, 8004, true)
	func() {
		tok, err := yubikey.Open(8004)
		if err != nil {
			t.Fatal(err)
		}
		defer tok.Close()
		tok.VerifyPIN("999999")
		tok.VerifyPIN("999999") // one try left
	}()
	gun := newGUN()
	e := newEnv(t).without("NOTARY_ROOT_PASSPHRASE")
	term := startTerminal(t, e, append([]string{"init", gun, "--root-key", "yubikey:8004", "--attestation-ca", caFileOf(t, vt.Card)}, serverArgs()...)...)
	term.waitFor("YubiKey 8004: 1 PIN tries left.")
	term.typeLine(ykPIN)
	term.waitFor("One try left")
	term.typeLine(ykPIN)
	screen := term.waitFor("EXIT=")
	if !strings.Contains(screen, "EXIT=0") || !strings.Contains(screen, "YubiKey 8004 slot 9c") || strings.Contains(screen, ykPIN) {
		t.Fatalf("init with the PIN typed on a terminal:\n%s", screen)
	}
}

// checkRecord reads the ceremony record that setup --record wrote: the
// same record as the wizard's, with the token, the signer, every step and
// the expiry dates, and no secret.
func checkRecord(t *testing.T, dir, gun string, serial uint32) {
	t.Helper()
	mds, _ := filepath.Glob(filepath.Join(dir, "dctwiz-ceremony-*.md"))
	jss, _ := filepath.Glob(filepath.Join(dir, "dctwiz-ceremony-*.json"))
	if len(mds) != 1 || len(jss) != 1 {
		t.Fatalf("record files %v %v, want one of each", mds, jss)
	}
	js, err := os.ReadFile(jss[0])
	if err != nil {
		t.Fatal(err)
	}
	var rec flows.Record
	if err := json.Unmarshal(js, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.RootKey.Serial != serial || !rec.RootKey.Attested || rec.RootKey.Slot != "9c" || len(rec.Signers) != 1 || rec.Signers[0].Name != "signpath" {
		t.Errorf("record root key %+v, signers %d", rec.RootKey, len(rec.Signers))
	}
	if len(rec.Repositories) != 1 || rec.Repositories[0].GUN != gun || len(rec.Repositories[0].Steps) != 5 || len(rec.Inspections) != 1 {
		t.Fatalf("record repositories %+v, inspections %d", rec.Repositories, len(rec.Inspections))
	}
	md, err := os.ReadFile(mds[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## " + gun, "| delete-targets-key | done |", "deleted (public key published)", "| signpath |", "targets metadata"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the Markdown record lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(string(md)+string(js), ykPIN) {
		t.Error("the PIN is in the ceremony record")
	}
}
