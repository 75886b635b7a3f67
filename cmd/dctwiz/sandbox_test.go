package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/trust"
)

// TestSandboxWizardEndToEnd runs `dctwiz sandbox` in a real 80x24
// terminal (tmux) and goes through the whole ceremony as a newcomer
// would: a factory-fresh virtual YubiKey through pcscd (a file root key
// where pcscd cannot run), the sample signer, publishing, the test
// signature, the targets key's deletion. Before leaving the summary it
// checks the published trust data with the engine and with the notary
// CLI; after, that the sandbox left nothing behind.
func TestSandboxWizardEndToEnd(t *testing.T) {
	needBed(t)
	dir := filepath.Join(t.TempDir(), "sandbox")
	e := sandboxEnv(t)
	term := startTerminalSized(t, e, 80, 24, "sandbox", "--dir", dir)

	// 1 Welcome, with the sandbox's settings filled in.
	screen := term.waitWithin("Trust dir writable", 1, 3*time.Minute)
	if !strings.Contains(screen, "[SANDBOX]") || !strings.Contains(screen, "✓ Notary server reachable over TLS") ||
		!strings.Contains(screen, "✓ Notary credentials: none needed") || !strings.Contains(screen, "✓ YubiKey found") && os.Geteuid() == 0 {
		t.Fatalf("welcome screen:\n%s", screen)
	}
	if colour := regexp.MustCompile(`\x1b\[[0-9;]*(3[0-7]|38;)`); colour.MatchString(term.screenWithEscapes()) {
		t.Errorf("NO_COLOR is set but the screen has colour")
	}
	env, err := readEnvFile(filepath.Join(dir, "sandbox.env"))
	if err != nil {
		t.Fatal(err)
	}
	gun := env["REGISTRY_HOST"] + "/acme/app"
	term.keys("Enter")
	// 2 Repository: prefilled.
	term.waitFor("step 2 of 11")
	term.keys("Enter")
	// 3 YubiKey: prepare the factory-fresh token, make the root key.
	term.waitFor("step 3 of 11")
	onYubiKey := env["YUBIKEY_SERIAL"] != ""
	var rootKeys []string // the primary's and the backup's, as their attestations showed them
	if onYubiKey {
		term.waitFor("factory PIN/PUK/management key: to prepare")
		term.keys("Enter")
		term.waitFor("New PIN")
		for _, s := range []string{"24681357", "24681357", "11223344", "11223344"} {
			term.text(s)
			term.keys("Tab")
		}
		term.keys("Enter")
		term.waitFor("Touch policy")
		term.keys("Enter")
		term.waitFor("Attestation verified")
		if env["YUBIKEY_SERIAL_2"] != "" {
			// b: a backup root key on the second token, prepared here.
			term.keys("b")
			term.waitFor("YubiKey 5000002, firmware 5.4.3, PIN tries left 3, factory-fresh")
			term.prepareToken("13572468", "86427531")
			screen := term.waitWithin("the root role names both keys", 1, time.Minute)
			for _, m := range regexp.MustCompile(`public key ID ([0-9a-f]{64})`).FindAllStringSubmatch(screen, -1) {
				rootKeys = append(rootKeys, m[1])
			}
			if len(rootKeys) != 2 {
				t.Fatalf("the YubiKey screen does not show both tokens' public key IDs:\n%s", screen)
			}
		}
		term.keys("Enter")
	} else {
		t.Logf("no virtual YubiKey in the sandbox (%s): rehearsing with a file root key", env["YUBIKEY_PROBLEM"])
		term.waitFor("no YubiKey found")
		term.keys("f")
		term.waitFor("WARNING")
		term.text("sandbox root passphrase")
		term.keys("Tab")
		term.text("sandbox root passphrase")
		term.keys("Enter")
	}
	// 4 Targets key to 9 Test signing, with the sample signer.
	term.waitFor("step 4 of 11")
	term.walkToTestSigning("CN=signpath")
	term.keys("Enter")
	screen = term.waitFor("test signature removed again")
	if !strings.Contains(screen, env["IMAGE_DIGEST"]) {
		t.Errorf("the verified digest is not the registry's %s:\n%s", env["IMAGE_DIGEST"], screen)
	}
	term.keys("Enter")
	// 10 Delete the targets key: typing the GUN.
	term.waitFor("To confirm")
	term.text(gun)
	term.keys("Enter")
	term.waitFor("it is gone")
	term.keys("Enter")
	// 11 Summary.
	// The record is written once the summary shows: wait for it.
	screen = term.waitFor("Ceremony record (and its .json")
	term.keys("NPage")
	last := "Lock the YubiKey in the safe."
	switch {
	case rootKeys != nil:
		last = "Keep YubiKey 5000001 and the backup YubiKey 5000002 in different safes."
	case !onYubiKey:
		last = "Move the root key file"
	}
	if bottom := term.waitFor(last[:20]); !strings.Contains(strings.Join(strings.Fields(bottom), " "), last) {
		t.Errorf("summary without its last word %q:\n%s", last, bottom)
	}
	if !strings.Contains(screen, "5 of 5 steps done") || !strings.Contains(screen, "DELETED") {
		t.Errorf("summary:\n%s", screen)
	}

	checkSandboxTrustData(t, dir, env, gun, onYubiKey)
	if rootKeys != nil {
		if published := sortedIDs(rootCanonicalIDs(t, env["NOTARY_URL"], env["NOTARY_CA"], gun)); !slices.Equal(published, sortedIDs(rootKeys)) {
			t.Errorf("the published root role names %v, want the two tokens' keys %v", published, rootKeys)
		}
	}

	term.finishSandbox(dir, "setup")
}

// walkToTestSigning goes from the targets-key screen to the test-signing
// screen's tag list: the passphrase twice, the prefilled signer (shown
// by its subject), the review, publishing, and the root certificate.
// walkToTargetsKey takes the wizard from its first screen to the targets
// key screen, with the repository as given and a file root key (the
// rehearsal's choice) under the test passphrase.
func (m *tmuxTerm) walkToTargetsKey() {
	m.t.Helper()
	m.waitFor("Trust dir writable")
	m.keys("Enter")
	m.waitFor("step 2 of 11")
	m.keys("Enter")
	m.waitFor("f file root key instead")
	m.keys("f")
	m.waitFor("WARNING")
	m.text(rootPass)
	m.keys("Tab")
	m.text(rootPass)
	m.keys("Enter")
	m.waitFor("step 4 of 11")
}

func (m *tmuxTerm) walkToTestSigning(signerSubject string) {
	m.t.Helper()
	for range 2 {
		m.text(targetsPass)
		m.keys("Enter")
	}
	m.waitFor(signerSubject)
	m.keys("Enter")
	m.waitFor("Nothing is published yet")
	m.keys("p")
	m.waitFor("Published.")
	m.keys("Enter")
	m.waitFor("What to do with it")
	m.keys("Enter")
	m.waitFor("› 1.0") // the registry's tag is offered
}

// checkSandboxTrustData reads what the wizard published as a consumer
// would: with a fresh engine and with the notary CLI.
func checkSandboxTrustData(t *testing.T, dir string, env map[string]string, gun string, onYubiKey bool) {
	t.Helper()
	records, _ := filepath.Glob(filepath.Join(dir, "out", "dctwiz-ceremony-*.json"))
	if len(records) != 1 {
		t.Fatalf("ceremony records: %v", records)
	}
	raw, err := os.ReadFile(records[0])
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		RootKey struct {
			Serial   uint32 `json:"yubikey_serial"`
			Attested bool   `json:"attested"`
		} `json:"root_key"`
		Repositories []struct {
			Init struct {
				Root       trust.KeyInfo `json:"root"`
				BackupRoot trust.KeyInfo `json:"backup_root"`
			} `json:"init"`
		} `json:"repositories"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil || len(rec.Repositories) != 1 {
		t.Fatalf("ceremony record %s: %v", raw, err)
	}
	if onYubiKey && (rec.RootKey.Serial != 5000001 || !rec.RootKey.Attested) {
		t.Errorf("the record's root key: %+v", rec.RootKey)
	}
	rootID, backupID := rec.Repositories[0].Init.Root.ID, rec.Repositories[0].Init.BackupRoot.ID

	in := inspectAsConsumer(t, env["NOTARY_URL"], env["NOTARY_CA"], gun)
	if len(in.SignedTags) != 0 {
		t.Errorf("the test signature was left published: %+v", in.SignedTags)
	}
	signers := map[string]bool{}
	for _, s := range in.Signers {
		signers[s.Name] = true
	}
	if !signers["signpath"] {
		t.Errorf("signers %+v lack signpath", in.Signers)
	}
	var rootKeys []string
	for _, k := range in.AdministrativeKeys {
		if k.Name == "Root" {
			rootKeys = k.KeyIDs
		}
	}
	want := []string{rootID}
	if backupID != "" {
		want = append(want, backupID)
	}
	if !slices.Equal(sortedIDs(rootKeys), sortedIDs(want)) {
		t.Errorf("published root keys %v, the record says %v", rootKeys, want)
	}

	notaryCLI := func(args ...string) string {
		t.Helper()
		base := []string{"-s", env["NOTARY_URL"], "--tlscacert", env["NOTARY_CA"], "-d", t.TempDir()}
		out, err := exec.Command(env["NOTARY_CLI"], append(base, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("notary %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := notaryCLI("delegation", "list", gun); !strings.Contains(out, "targets/releases") || !strings.Contains(out, "targets/signpath") {
		t.Errorf("notary delegation list:\n%s", out)
	}
	if out := notaryCLI("list", gun); !strings.Contains(out, "No targets present") {
		t.Errorf("notary list (the test signature should be gone):\n%s", out)
	}

	// No private targets key is left in the sandbox's trust dir; with a
	// YubiKey, no private key at all.
	keys, _ := filepath.Glob(filepath.Join(dir, "trust", "private", "*.key"))
	for _, k := range keys {
		b, _ := os.ReadFile(k)
		if onYubiKey || strings.Contains(string(b), "role: targets") {
			t.Errorf("a private key is left in the trust dir: %s", k)
		}
	}
}

// inspectAsConsumer reads gun's published trust data with a fresh
// engine and an empty trust dir, as a consumer would.
func inspectAsConsumer(t *testing.T, server, ca, gun string) *trust.Inspection {
	t.Helper()
	c, err := trust.New(trust.WithServer(server), trust.WithCACert(ca), trust.WithTrustDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	g, err := trust.ParseGUN(gun)
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.Inspect(context.Background(), g)
	if err != nil {
		t.Fatalf("the engine cannot read the published repository: %v", err)
	}
	return in
}

// The sandbox removes its directory at the end: it never takes one that
// holds anything.
func TestSandboxRefusesANonEmptyDir(t *testing.T) {
	needBed(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep.me"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sandboxDir(dir); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Fatalf("a non-empty --dir: %v", err)
	}
	fresh := filepath.Join(dir, "new")
	if got, err := sandboxDir(fresh); err != nil || got != fresh {
		t.Fatalf("a new --dir: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keep.me")); err != nil {
		t.Fatal("the refused directory was changed")
	}
}
