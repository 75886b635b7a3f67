package ui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
)

// maintained sets the harness up as the rotation rehearsal does: the
// repository exists, its YubiKey is prepared with the root key in 9c,
// and signpath's renewed certificate is the one prefilled.
func maintained(renewed string) func(*Config, *fakeBackend) {
	return func(cfg *Config, b *fakeBackend) {
		cfg.Maintain = true
		cfg.Signers = []SignerFile{{Name: "signpath", Path: renewed}}
		b.engine.maintained = true
		b.tokens = []yubikey.Info{{Serial: 5000001, Firmware: "5.7.1", PINTriesLeft: 3, PUKTriesLeft: 3,
			Slots: []yubikey.SlotInfo{{Slot: "9c", Key: true, Algorithm: "ECCP256", Certificate: "CN=root"}}}}
	}
}

// renewedCert is signpath's renewed certificate (a new key, valid a year
// from the fake date), as the harness copies it.
func renewedCert() string {
	return filepath.Join(os.TempDir(), "dctwiz-ui-test-out", "certs", "signpath-renewed.crt")
}

// The walks of the maintenance path, each from where the last one ends.

// toMaintCeremony walks from the welcome screen to the ceremony picker,
// the status table read on the way.
func (h *harness) toMaintCeremony() {
	h.t.Helper()
	h.wait("Maintain repositories")
	h.enter()
	h.wait("step 2 of 10")
	h.enter()
	h.wait("Proposed: Renew a signer's certificate: signpath")
	h.enter()
	h.wait("(proposed for signpath)")
}

// chooseCeremony picks the ceremony down rows below the proposed one.
func (h *harness) chooseCeremony(down int) {
	h.t.Helper()
	for range down {
		h.press(tea.KeyDown)
	}
	h.enter()
	h.wait("YubiKey 5000001, firmware")
}

// fillRootForm types the PIN (and, when asked for, the targets key's
// passphrase twice), the slot left as found, and submits.
func (h *harness) fillRootForm(pin string, withPass bool) {
	h.t.Helper()
	h.typ(pin)
	h.tab()
	if withPass {
		h.tab() // the slot, prefilled: 9c
		h.typ(testPass)
		h.tab()
		h.typ(testPass)
	}
	h.enter()
}

// openRoot chooses the token and opens the root key on it.
func (h *harness) openRoot(withPass bool) {
	h.t.Helper()
	h.enter()
	h.wait("its PIN is checked once")
	h.fillRootForm("135790", withPass)
	h.wait("It is the root key of")
	h.enter()
	h.wait("Keys of ")
}

// toMaintReview walks the maintenance path to its review: the proposed
// ceremony (signpath's certificate renewed) with the prefilled certificate.
func (h *harness) toMaintReview() {
	h.t.Helper()
	h.toMaintCeremony()
	h.enter()
	h.wait("Which signer?")
	h.enter()
	h.wait("signpath-renewed.crt")
	h.enter()
	h.wait("Compare the SHA-256")
	h.enter()
	h.wait("YubiKey 5000001, firmware")
	h.openRoot(true)
}

// summaryAndOutcome goes from the last step screen to the summary, leaves
// it, and returns the outcome printed.
func (h *harness) summaryAndOutcome() string {
	h.t.Helper()
	h.wait("Press enter for the summary")
	h.enter()
	h.wait("Ceremony record")
	h.enter()
	return h.outcome()
}

// publishAndVerify publishes from the review and verifies as consumers.
func (h *harness) publishAndVerify() {
	h.t.Helper()
	h.runes("p")
	h.wait("Press enter to verify it as consumers")
	h.enter()
	h.wait("Verified: new consumers")
	h.enter()
}

func TestMaintenancePathRenewsASigner(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()))
	h.toMaintReview()
	h.publishAndVerify()
	out := h.summaryAndOutcome()
	m := h.final()
	if !m.Finished() {
		t.Fatalf("the ceremony did not finish:\n%s", out)
	}
	if !strings.Contains(out, "the delegation replace ceremony is complete") {
		t.Errorf("outcome:\n%s", out)
	}
	calls := h.b.engine.callsMade()
	// The trust dir holds no targets key (deleted at setup): one is signed
	// in for the change and deleted again, and consumers verify in between.
	want := []string{"read-as-consumer", "rotate targets", "replace signpath", "verify-as-consumers", "delete-targets-key"}
	got := slices.DeleteFunc(slices.Clone(calls), func(c string) bool { return !slices.Contains(want, c) })
	if !slices.Equal(got, want) {
		t.Errorf("engine calls %v, want in this order %v (all: %v)", got, want, calls)
	}
	if h.b.opts.PIN != "135790" || h.b.opts.Serial != 5000001 {
		t.Errorf("the root key was opened with serial %d PIN %q", h.b.opts.Serial, h.b.opts.PIN)
	}
	if h.b.engine.pass.Targets != testPass {
		t.Errorf("the engine got targets passphrase %q", h.b.engine.pass.Targets)
	}
	rec, err := os.ReadFile(m.st.recordJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"ceremony": "delegation replace"`, `"name": "signpath"`, `"yubikey_serial": 5000001`} {
		if !strings.Contains(string(rec), s) {
			t.Errorf("the record lacks %s:\n%s", s, rec)
		}
	}
}

// A targets rotation asks before the new key goes, and k keeps it: the
// outcome then says how to delete it later.
func TestMaintenanceTargetsRotationKeepsTheKeyOnK(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()))
	h.toMaintCeremony()
	h.chooseCeremony(3)
	h.openRoot(true)
	h.publishAndVerify()
	h.wait("Press enter to delete it, or k to keep it")
	h.runes("k")
	out := h.summaryAndOutcome()
	if !strings.Contains(out, "the rotate targets ceremony is complete") || !strings.Contains(out, "was kept in the trust dir") ||
		!strings.Contains(out, "dctwiz finish "+testGUN) {
		t.Errorf("outcome:\n%s", out)
	}
	if slices.Contains(h.b.engine.callsMade(), "delete-targets-key") {
		t.Error("k deleted the targets key")
	}
}

// Quitting after the publish says it is published and what continues it.
func TestMaintenanceQuitAfterPublishSaysWhatIsPublished(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()))
	h.toMaintReview()
	h.runes("p")
	h.wait("Press enter to verify it as consumers")
	h.runes("q")
	h.wait("Quit the ceremony?")
	h.runes("y")
	out := h.outcome()
	for _, s := range []string{"the ceremony was stopped", testGUN + " is published", "not done yet: Verify as a new consumer",
		"Publish the signer change (targets/releases and targets/<name>): done (signer signpath: replace"} {
		if !strings.Contains(out, s) {
			t.Errorf("outcome lacks %q:\n%s", s, out)
		}
	}
	// The change is checked as a consumer, then the targets key signed in
	// for it deleted: two commands.
	pts := resumePoints(h.final().st)
	if len(pts) != 2 || pts[0].Maintenance == nil || !pts[0].Maintenance.Verify || pts[0].OnlyDeletion || !pts[1].OnlyDeletion {
		t.Errorf("resume points %+v", pts)
	}
	if !strings.Contains(out, "the targets private key is still in the trust dir") || !strings.Contains(out, "dctwiz finish "+testGUN) {
		t.Errorf("the outcome does not say that the targets key signed in is left, and how to delete it:\n%s", out)
	}
}

// Before the publish nothing is published, whatever screen the quit is on.
func TestMaintenanceQuitBeforePublishPublishesNothing(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()))
	h.toMaintReview()
	h.runes("q")
	h.wait("Quit the ceremony?")
	h.runes("y")
	out := h.outcome()
	if !strings.Contains(out, "Nothing is published") {
		t.Errorf("outcome:\n%s", out)
	}
	for _, c := range h.b.engine.callsMade() {
		if strings.HasPrefix(c, "rotate") || strings.HasPrefix(c, "replace") {
			t.Errorf("a quit before p made call %q", c)
		}
	}
}

// A root key that is not the repository's is refused before anything is
// published, with the reason.
func TestMaintenanceRefusesAnotherRootKey(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()), func(_ *Config, b *fakeBackend) {
		b.engine.rootCanonical = "0000000000000000000000000000000000000000000000000000000000000000"
	})
	h.toMaintCeremony()
	h.chooseCeremony(5) // rotate the snapshot key
	h.enter()
	h.wait("its PIN is checked once")
	h.fillRootForm("135790", false)
	h.wait("is not the root key of")
	h.end()
}

// A wrong PIN is never sent again: the form comes back with the tries
// left read anew and the targets passphrase kept, and the next PIN opens
// the key.
func TestMaintenanceWrongPINAsksAgain(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()), func(_ *Config, b *fakeBackend) {
		b.createErr = &trust.Error{Kind: trust.ErrWrongPIN, Input: "YubiKey 5000001", Msg: "wrong PIN: 2 tries left", Fix: "give the right PIN"}
	})
	h.toMaintCeremony()
	h.chooseCeremony(3) // rotate the targets key: a passphrase is asked for
	h.enter()
	h.wait("Targets passphrase")
	h.fillRootForm("000000", true)
	// The error shows with the form back, the tries left read anew (the
	// placeholder says so): one frame, so one wait.
	h.wait("YubiKey 5000001: 2 tries left")
	h.typ("135790")
	h.enter()
	h.wait("It is the root key of")
	m := h.end()
	if m.st.targetsPass != testPass || h.b.opts.PIN != "135790" {
		t.Errorf("after a wrong PIN: targets passphrase %q, PIN tried %q", m.st.targetsPass, h.b.opts.PIN)
	}
}

// Removing the last release signer of a repository whose targets key was
// deleted could not finish: it is refused on the review, before the
// publishing screen shows and before anything is published.
func TestMaintenanceRefusesRemovingTheLastReleaseSignerOnTheReview(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()))
	h.toMaintCeremony()
	h.press(tea.KeyDown)
	h.press(tea.KeyDown)
	h.enter()
	h.wait("Which signer?")
	h.enter()
	h.wait("YubiKey 5000001, firmware")
	h.openRoot(true)
	h.runes("p")
	h.wait("its tags would stop verifying")
	m := h.end()
	if m.active != mntReview {
		t.Errorf("the refusal left the review for screen %d", m.active)
	}
	for _, c := range h.b.engine.callsMade() {
		if strings.HasPrefix(c, "rotate") || strings.HasPrefix(c, "remove") {
			t.Errorf("a refused removal made call %q", c)
		}
	}
}

// Going back to the welcome screen and taking the other path drops the
// first path's root key: the maintenance path never shows a key it did
// not check as the repositories' own.
func TestSwitchingPathsDropsTheRootKey(t *testing.T) {
	h := newHarness(t)
	h.to(scrTargetsKey) // setup made a root key on the token
	h.wait("step 4 of 11")
	for range 3 {
		h.press(tea.KeyEsc)
	}
	h.wait("step 1 of 11")
	h.press(tea.KeyDown)
	h.enter()
	h.wait("step 2 of 10")
	h.enter()
	h.wait("step 3 of 10")
	m := h.end()
	if m.st.root.ready() || !m.st.maintaining || m.st.targetsPass != "" {
		t.Errorf("after switching to maintenance: root ready %v, maintaining %v, targets passphrase %q", m.st.root.ready(), m.st.maintaining, m.st.targetsPass)
	}
}

// A choice backed out of is not kept: from the review, starting to add a
// signer and leaving it leaves the ceremony as it was chosen (drawing the
// review with a signer and no certificate crashed the wizard).
func TestMaintenanceChoiceBackedOutOfIsNotKept(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()))
	h.toMaintReview()
	h.runes("2")
	h.wait("(proposed for signpath)")
	h.press(tea.KeyDown)
	h.enter()
	h.wait("The new signer's name")
	h.typ("ci")
	h.press(tea.KeyEsc) // back to the list of ceremonies
	h.wait("(proposed for signpath)")
	h.press(tea.KeyEsc) // back to the review
	h.wait("Keys of ")
	m := h.end()
	if mnt := m.st.mnt; mnt.kind != mReplaceSigner || mnt.signer != "signpath" || mnt.cert == nil {
		t.Errorf("after backing out: kind %s, signer %q, certificate %v", mnt.kind, mnt.signer, mnt.cert != nil)
	}
	if v := m.View(); !strings.Contains(v, "Renew a signer's certificate: signpath") {
		t.Errorf("the review:\n%s", v)
	}
}

// Other repositories chosen from the review are read again, and the root
// key is checked against them again.
func TestMaintenanceOtherRepositoriesAreReadAndCheckedAgain(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()))
	h.toMaintReview()
	h.runes("1")
	h.wait("step 2 of 10")
	h.press(tea.KeyEnd)
	h.typ(" registry.example.com/acme/api")
	h.enter()
	h.wait("step 3 of 10")
	m := h.end()
	if m.active != mntStatus || m.st.root.ready() || len(m.st.guns) != 2 {
		t.Errorf("screen %d, root still open %v, repositories %v", m.active, m.st.root.ready(), m.st.gunStrings())
	}
}

// A ceremony chosen from the review that needs a targets passphrase the
// first did not asks for it alone: the root key stays open.
func TestMaintenancePassphraseForANewCeremonyAlone(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()))
	h.toMaintCeremony()
	h.chooseCeremony(6) // rotate the timestamp key: no passphrase
	h.openRoot(false)
	h.runes("2")
	h.wait("(proposed for signpath)")
	for range 3 {
		h.press(tea.KeyUp) // from the timestamp key, the current choice
	}
	h.enter() // rotate the targets key, back on the review
	h.wait("Keys of ")
	h.runes("p")
	h.wait("no passphrase for it yet: press 3")
	h.runes("3")
	h.wait("The root key is open")
	h.typ(testPass)
	h.tab()
	h.typ(testPass)
	h.enter()
	h.wait("Targets key passphrase set")
	h.enter()
	h.wait("Keys of ")
	h.runes("p")
	h.wait("Press enter to verify it as consumers")
	m := h.end()
	if h.b.opts.PIN != "135790" || m.st.targetsPass != testPass || !slices.Contains(h.b.engine.callsMade(), "rotate targets") {
		t.Errorf("PIN %q, passphrase %q, calls %v", h.b.opts.PIN, m.st.targetsPass, h.b.engine.callsMade())
	}
}

// Back on the review after a revisit, esc goes back a screen at once.
func TestEscOnTheReviewAfterARevisit(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()))
	h.toMaintReview()
	h.runes("3")
	h.wait("It is the root key of")
	h.enter()
	h.wait("Keys of ")
	h.press(tea.KeyEsc)
	h.wait("It is the root key of")
	if m := h.end(); m.active != mntRootKey {
		t.Errorf("esc on the review went to screen %d", m.active)
	}
}

// Adding a backup YubiKey: the current root key opened, then the new
// token (factory-fresh, so prepared first), its root key made and
// attested; the root rotation published and verified; the record says so.
func TestMaintenanceAddsABackupYubiKey(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()), func(_ *Config, b *fakeBackend) {
		b.tokens = append(b.tokens, yubikey.Info{Serial: 5000002, Firmware: "5.7.1", PINTriesLeft: 3, PUKTriesLeft: 3,
			DefaultPIN: true, DefaultPUK: true, DefaultMgmt: true})
	})
	h.toMaintCeremony()
	h.chooseCeremony(8) // Add a backup YubiKey
	h.enter()
	h.wait("its PIN is checked once")
	h.fillRootForm("135790", false)
	h.wait("Press enter to insert the new YubiKey")
	h.enter()
	h.wait("YubiKey 5000002, firmware 5.7.1, PIN tries left 3, factory-fresh")
	h.enter()
	h.prepareToken()
	h.wait("New root key made on YubiKey 5000002")
	h.enter()
	h.wait("Keys of ")
	h.runes("p")
	h.wait("Press enter to verify it as consumers")
	h.enter()
	h.wait("Verified: new consumers")
	h.enter()
	out := h.summaryAndOutcome()
	if !strings.Contains(out, "the rotate root ceremony is complete") {
		t.Errorf("outcome:\n%s", out)
	}
	if h.b.prepared[5000002] != "24681357" || h.b.opts.Serial != 5000002 {
		t.Errorf("the new token: prepared %v, the key made on %d", h.b.prepared, h.b.opts.Serial)
	}
	if ch := h.b.engine.rootChanges; len(ch) != 1 || !slices.Equal(ch[0].Keep, []string{trust.KeepAll}) || len(ch[0].Add) != 1 || len(ch[0].Remove) != 0 || ch[0].Renew {
		t.Errorf("root changes %+v, want the current keys kept and one added", ch)
	}
	if !slices.Contains(h.b.engine.callsMade(), "rotate root") {
		t.Errorf("calls %v", h.b.engine.callsMade())
	}
}

// A root with one key has none to remove: said before anything is asked.
func TestMaintenanceRemoveALostYubiKeyNeedsTwoKeys(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()))
	h.toMaintCeremony()
	for range 9 {
		h.press(tea.KeyDown)
	}
	h.enter()
	h.wait("the root has one key")
	if m := h.end(); m.active != mntCeremony {
		t.Errorf("screen %d", m.active)
	}
}

// Setup with a backup YubiKey: after the root key is made, b brings a
// second token in (prepared, its key made and attested); the review and
// the key hierarchy name it, and the ceremony is published with both.
func TestSetupAddsABackupYubiKey(t *testing.T) {
	h := newHarness(t, func(_ *Config, b *fakeBackend) {
		b.tokens = append(b.tokens, yubikey.Info{Serial: 12345679, Firmware: "5.7.1", PINTriesLeft: 3, PUKTriesLeft: 3,
			DefaultPIN: true, DefaultPUK: true, DefaultMgmt: true})
	})
	h.to(scrYubiKey)
	h.wait("YubiKey 12345678, firmware")
	h.enter()
	h.prepareToken()
	h.wait("Touch policy")
	h.enter()
	h.wait("b adds a backup root key")
	h.runes("b")
	h.wait("YubiKey 12345679, firmware 5.7.1, PIN tries left 3, factory-fresh")
	h.enter()
	h.prepareToken()
	h.wait("Backup root key made on YubiKey 12345679")
	h.enter()
	h.walk(scrTargetsKey, scrReview) // the targets key and the signers, as on the happy path
	h.wait("Backup        YubiKey 12345679")
	h.runes("p")
	h.wait("Published.")
	m := h.end()
	if m.st.backup == nil || h.b.engine.backups != 1 || h.b.prepared[12345679] == "" {
		t.Errorf("backup %v, Init given %d backups, prepared %v", m.st.backup != nil, h.b.engine.backups, h.b.prepared)
	}
	pts := resumePoints(m.st)
	if len(pts) != 1 || pts[0].BackupRoot != "yubikey:12345679" {
		t.Errorf("resume points %+v", pts)
	}
}

// A renewal where root.json alone is due: the root key re-signs it with
// the same keys (no targets passphrase asked, no targets key made or
// deleted), and the review says so.
func TestMaintenanceRenewsRootJSONAlone(t *testing.T) {
	h := newHarness(t, maintained(renewedCert()), func(_ *Config, b *fakeBackend) { b.engine.rootEndsSoon = true })
	h.toMaintCeremony()
	h.chooseCeremony(4)
	h.enter()
	h.wait("its PIN is checked once")
	// No targets passphrase field: the PIN and the slot alone submit.
	h.fillRootForm("135790", false)
	h.wait("It is the root key of")
	h.enter()
	h.wait("root.json alone is due: the root key re-signs it")
	h.press(tea.KeyPgDown)
	h.wait("(unchanged: root.json alone is")
	h.publishAndVerify()
	out := h.summaryAndOutcome()
	if !strings.Contains(out, "the renew ceremony is complete") {
		t.Errorf("outcome:\n%s", out)
	}
	calls := h.b.engine.callsMade()
	for _, c := range []string{"rotate targets", "delete-targets-key"} {
		if slices.Contains(calls, c) {
			t.Errorf("a root renewal made the call %q: %v", c, calls)
		}
	}
	if ch := h.b.engine.rootChanges; len(ch) != 1 || !ch[0].Renew || len(ch[0].Add) != 0 {
		t.Errorf("root changes %+v, want one renewal", ch)
	}
	if h.b.engine.pass.Targets != "" {
		t.Errorf("the engine got a targets passphrase %q for a root renewal", h.b.engine.pass.Targets)
	}
}
