package main

import (
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

// TestSandboxRotationRehearsalEndToEnd runs `dctwiz sandbox --rehearse
// rotation` in a real 80x24 terminal (tmux) and renews the signer's
// certificate as an admin would once a year: the status table proposes
// it, the renewed certificate is picked, a wrong PIN is typed first, then
// the right one on the virtual YubiKey (a file root key where pcscd
// cannot run). Before leaving the summary it reads the published trust
// data with a fresh engine and with the notary CLI: the renewed key signs
// for signpath, the old one is gone, and no private key is left.
func TestSandboxRotationRehearsalEndToEnd(t *testing.T) {
	needBed(t)
	dir := filepath.Join(t.TempDir(), "sandbox")
	e := sandboxEnv(t)
	term := startTerminalSized(t, e, 80, 24, "sandbox", "--dir", dir, "--rehearse", "rotation")

	// 1 Welcome: maintenance is chosen already.
	screen := term.waitWithin("Trust dir writable", 1, 3*time.Minute)
	if !strings.Contains(screen, "› Maintain repositories") || !strings.Contains(screen, "The yearly ceremony") {
		t.Fatalf("welcome screen:\n%s", screen)
	}
	env, err := readEnvFile(filepath.Join(dir, "sandbox.env"))
	if err != nil {
		t.Fatal(err)
	}
	gun := env["REGISTRY_HOST"] + "/acme/app"
	before := inspectAsConsumer(t, env["NOTARY_URL"], env["NOTARY_CA"], gun)
	renewed, err := trust.LoadCertificate(env["RENEWED_SIGNER_CERT"], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	term.keys("Enter")
	term.waitFor("step 2 of 10")
	term.keys("Enter")
	// 3 Status: the certificate's end is found and the ceremony proposed.
	screen = term.waitFor("Proposed: Renew a signer's certificate: signpath")
	if !strings.Contains(screen, "! signer signpath's certificate") {
		t.Errorf("status table:\n%s", screen)
	}
	term.keys("Enter")
	// 4 Ceremony: the proposed one, its signer, the renewed certificate.
	term.waitFor("(proposed for signpath)")
	term.keys("Enter")
	term.waitFor("Which signer?")
	term.keys("Enter")
	term.waitFor("› signpath-renewed.crt")
	term.keys("Enter")
	term.waitFor("Compare the SHA-256")
	term.keys("Enter")
	// 5 Root key.
	onYubiKey := env["YUBIKEY_SERIAL"] != ""
	fill := func(secret string) {
		term.text(secret)
		if onYubiKey {
			term.keys("Tab") // the slot, found on the token: 9c
		}
		term.keys("Tab")
		term.text(targetsPass)
		term.keys("Tab")
		term.text(targetsPass)
		term.keys("Enter")
	}
	if onYubiKey {
		term.waitFor("YubiKey 5000001, firmware")
		term.keys("Enter")
		term.waitFor("Targets passphrase")
		fill("000000")
		// The form comes back, the tries left read anew, the passphrase kept.
		term.waitFor("wrong PIN: 2 tries left")
		term.waitFor("YubiKey 5000001: 2 tries left")
		term.text(env["YUBIKEY_PIN"])
		term.keys("Enter")
		term.waitFor("It is the root key of")
	} else {
		t.Logf("no virtual YubiKey in the sandbox (%s): rehearsing with a file root key", env["YUBIKEY_PROBLEM"])
		term.waitFor("no YubiKey found")
		term.keys("f")
		term.waitFor("Root passphrase")
		fill(sandboxRootPassphrase)
		term.waitFor("root key file signs")
	}
	term.keys("Enter")
	// 6 Review, 7 Publish, 8 Verify, 9 the targets key signed in goes again.
	term.waitFor("Keys of ")
	term.keys("p")
	term.waitFor("Press enter to verify it as consumers")
	term.keys("Enter")
	term.waitFor("Verified: new consumers")
	term.keys("Enter")
	term.waitFor("it is gone")
	term.keys("Enter")
	// 10 Summary.
	term.waitFor("Ceremony record (and its .json")

	after := inspectAsConsumer(t, env["NOTARY_URL"], env["NOTARY_CA"], gun)
	keysOf := func(in *trust.Inspection) []string {
		for _, s := range in.Signers {
			if s.Name == "signpath" {
				return s.KeyIDs
			}
		}
		return nil
	}
	old := keysOf(before)
	if got := keysOf(after); !slices.Equal(got, []string{renewed.KeyID}) || len(old) != 1 || old[0] == renewed.KeyID {
		t.Errorf("signpath's keys: before %v, after %v; want the renewed %s alone", old, got, renewed.KeyID)
	}
	out, err := exec.Command(env["NOTARY_CLI"], "-s", env["NOTARY_URL"], "--tlscacert", env["NOTARY_CA"], "-d", t.TempDir(),
		"delegation", "list", gun).CombinedOutput()
	if err != nil || !strings.Contains(string(out), renewed.KeyID) || strings.Contains(string(out), old[0]) {
		t.Errorf("notary delegation list (%v) should name %s and not %s:\n%s", err, renewed.KeyID, old[0], out)
	}
	keys, _ := filepath.Glob(filepath.Join(dir, "trust", "private", "*.key"))
	for _, k := range keys {
		b, _ := os.ReadFile(k)
		if onYubiKey || strings.Contains(string(b), "role: targets") {
			t.Errorf("a private key is left in the trust dir: %s", k)
		}
	}
	records, _ := filepath.Glob(filepath.Join(dir, "out", "dctwiz-ceremony-*.json"))
	if len(records) != 1 {
		t.Fatalf("ceremony records: %v", records)
	} else if rec, _ := os.ReadFile(records[0]); !strings.Contains(string(rec), `"ceremony": "delegation replace"`) {
		t.Errorf("ceremony record:\n%s", rec)
	}

	term.finishSandbox(dir, "delegation replace")
}

// Quitting the rehearsal after the publish stops with exit 3, says that
// the repository is published, and prints the command that verifies it.
func TestSandboxRotationRehearsalQuitAfterPublish(t *testing.T) {
	term, _, env := startSandbox(t, "--rehearse", "rotation")
	if env["YUBIKEY_SERIAL"] == "" {
		t.Skip("no virtual YubiKey: the end-to-end test covers the file root key")
	}
	term.keys("Enter")
	term.waitFor("step 2 of 10")
	term.keys("Enter")
	term.waitFor("Proposed:")
	// Rotate the timestamp key this time: no targets key, no passphrase.
	term.keys("Enter")
	term.waitFor("(proposed for signpath)")
	for range 6 {
		term.keys("Down")
	}
	term.keys("Enter")
	term.waitFor("YubiKey 5000001, firmware")
	term.keys("Enter")
	term.waitFor("PIN")
	term.text(env["YUBIKEY_PIN"])
	term.keys("Enter")
	term.waitFor("It is the root key of")
	term.keys("Enter")
	term.waitFor("timestamp  NEW key")
	term.keys("p")
	term.waitFor("Press enter to verify it as consumers")
	term.keys("C-c")
	term.waitFor("Quit the ceremony?")
	term.keys("y")
	screen := term.waitWithin("EXIT=", 1, time.Minute)
	for _, s := range []string{"EXIT=3", "signed into root.json by the root key: done", "not done yet: Verify as a new consumer", "dctwiz check " + gun(env)} {
		if !strings.Contains(strings.ReplaceAll(screen, "\\\n", ""), s) {
			t.Errorf("after the quit, no %q:\n%s", s, screen)
		}
	}
}

func gun(env map[string]string) string { return env["REGISTRY_HOST"] + "/acme/app" }

// TestSandboxRootRotationRehearsal runs `dctwiz sandbox --rehearse
// root-rotation` in a real 80x24 terminal. The repository's root has a
// backup; the primary is in the safe. The backup moves the root onto the
// third, factory-fresh virtual YubiKey through the maintenance path: the
// root key opened on the backup, the new token prepared and its root key
// made and attested, the rotation published and verified. Before leaving,
// the published root role is read: it names the new token's key alone;
// the notary CLI reads the repository; nothing is left behind.
func TestSandboxRootRotationRehearsal(t *testing.T) {
	term, dir, env := startSandbox(t, "--rehearse", "root-rotation")
	if env["YUBIKEY_SERIAL_3"] == "" {
		t.Skip("no virtual YubiKeys (pcscd needs root): the root ceremonies need two tokens")
	}
	gun := env["REGISTRY_HOST"] + "/acme/app"
	// The rehearsal starts on a root with a backup: the primary 5000001 (in
	// the safe now) and the backup 5000002.
	if before := rootCanonicalIDs(t, env["NOTARY_URL"], env["NOTARY_CA"], gun); len(before) != 2 {
		t.Fatalf("the rehearsal's root role names %v, want the primary's and the backup's keys", before)
	}
	term.toRootRehearsalCeremonies()
	term.keys("Enter")
	term.waitFor("YubiKey 5000002, firmware")
	term.keys("Enter") // the backup, 5000002, is the first: the primary is in the safe
	term.waitFor("its PIN is checked once")
	term.text(env["YUBIKEY_PIN"])
	term.keys("Enter")
	term.waitFor("Press enter to insert the new YubiKey")
	term.keys("Enter")
	term.waitFor("YubiKey 5000003, firmware 5.4.3, PIN tries left 3, factory-fresh")
	term.prepareToken("24681357", "11223344")
	screen := term.waitWithin("New root key made on YubiKey 5000003", 1, time.Minute)
	// The key the wizard made on the new token, as the token's attestation proved it.
	ids := regexp.MustCompile(`public key ID ([0-9a-f]{64})`).FindAllStringSubmatch(screen, -1)
	if len(ids) != 2 {
		t.Fatalf("the Root key screen does not show both tokens' public key IDs:\n%s", screen)
	}
	oldKey, newKey := ids[0][1], ids[1][1]
	term.keys("Enter")
	term.waitFor("Keys of ")
	term.publishToSummaryEnd()
	term.waitFor("Lock YubiKey 5000003 in the safe")
	if now := rootCanonicalIDs(t, env["NOTARY_URL"], env["NOTARY_CA"], gun); len(now) != 1 || now[0] != newKey || newKey == oldKey {
		t.Errorf("the published root role names %v, want the new token's key %s (the old one was %s)", now, newKey, oldKey)
	}
	out, err := exec.Command(env["NOTARY_CLI"], "-s", env["NOTARY_URL"], "--tlscacert", env["NOTARY_CA"], "-d", t.TempDir(),
		"delegation", "list", gun).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "targets/signpath") {
		t.Errorf("notary delegation list after the root moved: %v\n%s", err, out)
	}
	term.finishSandbox(dir, "rotate root")
}

// TestSandboxRootRehearsalRemovesTheLostPrimary: the same rehearsal,
// choosing "Remove a lost YubiKey". The list of root keys says which one
// an inserted token holds (the backup) and proposes the other (the
// primary, in the safe); the backup signs its removal; afterwards the
// published root role names the backup's key alone, which kept its
// certificate, and the notary CLI reads the repository.
func TestSandboxRootRehearsalRemovesTheLostPrimary(t *testing.T) {
	term, dir, env := startSandbox(t, "--rehearse", "root-rotation")
	if env["YUBIKEY_SERIAL_3"] == "" {
		t.Skip("no virtual YubiKeys (pcscd needs root): the root ceremonies need two tokens")
	}
	gun := env["REGISTRY_HOST"] + "/acme/app"
	term.toRootRehearsalCeremonies()
	term.keys("Down", "Down", "Enter")
	screen := term.waitFor("on YubiKey 5000002, inserted: it can sign the removal")
	// The proposed key (the cursor) is the one no inserted token holds.
	m := regexp.MustCompile(`› ([0-9a-f]{64})\n\s+on no YubiKey inserted now`).FindStringSubmatch(screen)
	kept := regexp.MustCompile(`([0-9a-f]{64})\n\s+on YubiKey 5000002, inserted`).FindStringSubmatch(screen)
	if m == nil || kept == nil {
		t.Fatalf("the list of root keys does not propose the lost one, or does not say where the other is:\n%s", screen)
	}
	lost := m[1]
	term.keys("Enter")
	term.waitFor("YubiKey 5000002, firmware")
	term.keys("Enter")
	term.waitFor("its PIN is checked once")
	term.text(env["YUBIKEY_PIN"])
	term.keys("Enter")
	term.waitFor("It is the root key of")
	term.keys("Enter")
	term.waitFor("Remove a lost YubiKey: root key " + lost[:12])
	term.publishToSummaryEnd()
	term.waitFor("add a new backup YubiKey soon")
	in := inspectAsConsumer(t, env["NOTARY_URL"], env["NOTARY_CA"], gun)
	var roots []string
	for _, k := range in.AdministrativeKeys {
		if k.Name == "Root" {
			roots = k.KeyIDs
		}
	}
	if len(roots) != 1 || roots[0] != kept[1] {
		t.Errorf("the published root keys %v, want the backup's %s alone, its certificate kept (the lost one was %s)", roots, kept[1], lost)
	}
	out, err := exec.Command(env["NOTARY_CLI"], "-s", env["NOTARY_URL"], "--tlscacert", env["NOTARY_CA"], "-d", t.TempDir(),
		"delegation", "list", gun).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "targets/signpath") {
		t.Errorf("notary delegation list after the lost key was removed: %v\n%s", err, out)
	}
	term.finishSandbox(dir, "rotate root")
}

// publishToSummaryEnd publishes from the review, verifies as consumers,
// goes on to the summary and pages to its end (the last word).
func (m *tmuxTerm) publishToSummaryEnd() {
	m.t.Helper()
	m.keys("p")
	m.waitFor("Press enter to verify it as consumers")
	m.keys("Enter")
	m.waitFor("Verified: new consumers")
	m.keys("Enter")
	m.waitFor("Press enter for the summary")
	m.keys("Enter")
	m.waitFor("Ceremony record (and its .json")
	m.keys("NPage")
}

// prepareToken chooses the factory-fresh token under the cursor and sets
// its PIN and PUK, each typed twice, on the wizard's preparation form.
func (m *tmuxTerm) prepareToken(pin, puk string) {
	m.t.Helper()
	m.keys("Enter")
	m.waitFor("New PIN")
	for _, s := range []string{pin, pin, puk, puk} {
		m.text(s)
		m.keys("Tab")
	}
	m.keys("Enter")
}

// toRootRehearsalCeremonies walks the root-rotation rehearsal from the
// welcome screen to the ceremony list (where "Move the root" is proposed).
func (m *tmuxTerm) toRootRehearsalCeremonies() {
	m.t.Helper()
	m.keys("Enter")
	m.waitFor("step 2 of 10")
	m.keys("Enter")
	m.waitFor("Nothing needs a ceremony within 90 days")
	m.keys("Enter")
	m.waitFor("› Move the root to a new YubiKey")
}

// startSandbox runs `dctwiz sandbox` with args in an 80x24 terminal, waits
// for the welcome screen's checklist, and returns the terminal, the
// sandbox's directory and its settings.
func startSandbox(t *testing.T, args ...string) (*tmuxTerm, string, map[string]string) {
	t.Helper()
	needBed(t)
	dir := filepath.Join(t.TempDir(), "sandbox")
	term := startTerminalSized(t, sandboxEnv(t), 80, 24, append([]string{"sandbox", "--dir", dir}, args...)...)
	term.waitWithin("Trust dir writable", 1, 3*time.Minute)
	env, err := readEnvFile(filepath.Join(dir, "sandbox.env"))
	if err != nil {
		t.Fatal(err)
	}
	return term, dir, env
}

// finishSandbox leaves the summary with enter: the ceremony named complete,
// exit 0, and nothing of the sandbox left.
func (m *tmuxTerm) finishSandbox(dir, ceremony string) {
	m.t.Helper()
	m.keys("Enter")
	screen := m.waitWithin("EXIT=", 1, time.Minute)
	if !strings.Contains(screen, "EXIT=0") || !strings.Contains(screen, "the "+ceremony+" ceremony is complete") {
		m.t.Fatalf("leaving the wizard:\n%s", screen)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		m.t.Errorf("the sandbox left %s behind", dir)
	}
	if out, _ := exec.Command("pgrep", "-f", "--", "--dir "+dir).Output(); len(out) > 0 {
		m.t.Errorf("the sandbox left processes running: %s", out)
	}
}
