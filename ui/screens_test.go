package ui

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
)

// Model tests: keys in, state and the text a person reads out.

func TestWelcomeShowsEachFailingItemWithItsFix(t *testing.T) {
	h := newHarness(t, func(_ *Config, b *fakeBackend) {
		b.engine.failNext["reach"] = &trust.Error{Kind: trust.ErrTLS, Input: "https://notary.example.com",
			Msg: "the server's certificate is not trusted", Fix: "give the server's CA with --tlscacert"}
		b.tokens, b.tokensErr = nil, yubikey.ErrNoToken
	})
	h.wait("Trust dir writable")
	out := h.screen()
	for _, want := range []string{
		"✗ Notary server reachable over TLS: https://notary.example.com: the server's",
		"fix: give the server's CA with --tlscacert",
		"✗ YubiKey found: no YubiKey connected",
		"fix: insert the YubiKey that will hold the root key",
		"✓ Trust dir writable",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("welcome screen lacks %q:\n%s", want, out)
		}
	}
}

func TestRepositoryValidatesAsYouType(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *fakeBackend) { c.GUNs, c.Server = nil, "" })
	h.to(scrRepository)
	h.wait("step 2 of 11")
	h.typ("docker.io/Acme/App")
	h.wait("docker.io/Acme/App: not a valid repository name")
	h.enter() // refused: the GUN is wrong
	h.wait("fix: give the repository as registry/path")
	for range len("Acme/App") {
		h.press(tea.KeyBackspace)
	}
	h.typ("acme/app registry.example.com/team/api")
	h.wait("✓ registry.example.com/team/api  server https://registry.example.com")
	h.tab()
	h.typ("http://notary.example.com")
	h.wait("is not TLS")
	m := h.end()
	if len(m.st.guns) != 0 || m.active != scrRepository {
		t.Fatalf("a bad server URL got through: on screen %d with %v", m.active, m.st.gunStrings())
	}
	if got := m.View(); !strings.Contains(got, "✓ docker.io/acme/app") {
		t.Errorf("the repositories are not shown:\n%s", got)
	}
}

// serverDownAfterWelcome passes the welcome checks, then submits the
// repository screen with the server refusing connections.
func serverDownAfterWelcome(t *testing.T) *harness {
	h := newHarness(t, func(_ *Config, b *fakeBackend) {
		b.engine.failNext["reach"] = nil // the welcome check passes
	})
	h.wait("Trust dir writable")
	h.b.engine.mu.Lock()
	h.b.engine.failNext["reach"] = &trust.Error{Kind: trust.ErrServerUnreachable, Input: "https://notary.example.com",
		Msg: "connection refused", Fix: "check the server URL"}
	h.b.engine.mu.Unlock()
	h.enter()
	h.wait("step 2 of 11")
	h.enter()
	return h
}

func TestRepositoryChecksTheServerBeforeGoingOn(t *testing.T) {
	h := serverDownAfterWelcome(t)
	h.wait("fix: check the server URL")
	if m := h.end(); m.active != scrRepository || len(m.st.guns) != 0 {
		t.Fatalf("went on to screen %d although the server is unreachable", m.active)
	}
}

func TestYubiKeyPreparationRefusesMismatchesAndFactoryPIN(t *testing.T) {
	h := newHarness(t)
	h.to(scrYubiKey)
	h.wait("YubiKey 12345678, firmware")
	h.enter()
	h.wait("New PIN")
	h.typ("123456") // the factory PIN
	h.wait("that is the factory PIN")
	for range 6 {
		h.press(tea.KeyBackspace)
	}
	for _, s := range []string{"24681357", "24681358", "11223344", "11223344"} {
		h.typ(s)
		h.tab()
	}
	h.enter()
	h.wait("the two PINs differ")
	m := h.end()
	if len(h.b.prepared) != 0 {
		t.Fatalf("the token was prepared with mismatched PINs: %v", h.b.prepared)
	}
	if m.cur().(*yubikeyScreen).phase != ykPrepareForm {
		t.Fatal("left the preparation form")
	}
}

func TestYubiKeyAsksForTheTouchAndShowsTheAttestation(t *testing.T) {
	touched := make(chan struct{})
	h := newHarness(t, func(_ *Config, b *fakeBackend) {
		b.touched = touched
		b.tokens[0].DefaultPIN, b.tokens[0].DefaultPUK, b.tokens[0].DefaultMgmt = false, false, false
		b.tokens[0].PINTriesLeft = 2
	})
	h.to(scrYubiKey)
	h.wait("PIN tries left 2, prepared")
	h.enter()
	h.wait("Touch policy")
	h.runes("l") // P-256 -> P-384 is on the next row; first row is the slot: 9c -> 9a
	h.press(tea.KeyDown)
	h.press(tea.KeyRight)
	h.enter() // no PIN typed yet
	h.wait("type the YubiKey's PIN")
	h.typ("24681357")
	h.enter()
	h.wait("Touch YubiKey 12345678 now")
	close(touched)
	h.wait("Attestation verified")
	m := h.end()
	opts := h.b.opts
	if opts.PIN != "24681357" || opts.Slot.Key != 0x9a || opts.Curve.Params().Name != "P-384" || opts.AllowLastTry {
		t.Fatalf("the key was made with %+v", opts)
	}
	if !m.st.root.ready() || m.st.root.slot != "9a" || m.st.root.info.Curve != "P-384" {
		t.Fatalf("root choice %+v", m.st.root)
	}
	if v := m.View(); !strings.Contains(v, "Root key made on YubiKey 12345678, slot 9a (ECDSA P-384)") || !strings.Contains(v, "verified against: Yubico's PIV root CA") {
		t.Errorf("the result does not say where the key is and what was verified:\n%s", v)
	}
}

func TestFileRootKeyOnlyBehindAWarning(t *testing.T) {
	h := newHarness(t, func(_ *Config, b *fakeBackend) { b.tokens = nil; b.tokensErr = yubikey.ErrNoToken })
	h.to(scrYubiKey)
	h.wait("no YubiKey found")
	h.runes("f")
	h.wait("WARNING: a file root key")
	h.typ("root passphrase 1")
	h.tab()
	h.typ("root passphrase 1")
	h.enter()
	h.wait("step 4 of 11")
	m := h.end()
	if !m.st.root.fileKey || m.st.root.filePass != "root passphrase 1" || m.st.root.key == nil {
		t.Fatalf("root choice %+v", m.st.root)
	}
}

func TestTargetsKeyPassphraseTwiceWithAStrengthHint(t *testing.T) {
	h := newHarness(t)
	h.to(scrTargetsKey)
	h.wait("step 4 of 11")
	h.typ("short")
	h.wait("too short (5 of at least 8 characters)")
	h.typ("er!")
	h.wait("weak")
	h.enter()
	h.typ("shorter?")
	h.enter()
	h.wait("the two passphrases differ")
	m := h.end()
	if m.st.targetsPass != "" || m.active != scrTargetsKey {
		t.Fatal("a mismatched passphrase was accepted")
	}
	if strengthHint(testPass) != ok("strong") {
		t.Errorf("%q rated %s", testPass, strengthHint(testPass))
	}
}

func TestDelegationsPickPreviewAndName(t *testing.T) {
	h := newHarness(t)
	h.to(scrDelegations)
	h.wait("SignPath Signer")
	h.runes("a")
	h.wait("signpath.crt")                  // the picker opens where the prefilled signer is
	h.enter()                               // root.crt comes first
	h.wait("registry-example-com-acme-app") // the signer name, derived from the subject's CN
	for range len("registry-example-com-acme-app") {
		h.press(tea.KeyBackspace)
	}
	h.typ("releases")
	h.wait("reserved")
	h.enter()
	for range len("releases") {
		h.press(tea.KeyBackspace)
	}
	h.typ("ci")
	h.enter()
	h.wait("› ci")
	m := h.end()
	var names []string
	for _, s := range m.st.signers {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"signpath", "ci"}) {
		t.Fatalf("signers %v", names)
	}
	if v := m.View(); !strings.Contains(v, "subject     CN=registry.example.com/acme/app") || !strings.Contains(v, "expires     2036-11-19") {
		t.Errorf("the certificate is not previewed:\n%s", v)
	}
}

func TestDelegationsNeedASigner(t *testing.T) {
	h := newHarness(t)
	h.to(scrDelegations)
	h.wait("SignPath Signer")
	h.runes("x")
	h.wait("no signer yet")
	h.enter()
	h.wait("add at least one signer's certificate")
	if m := h.end(); m.active != scrDelegations {
		t.Fatal("went on without a signer")
	}
}

func TestReviewRevisitsAScreenAndComesBack(t *testing.T) {
	h := newHarness(t)
	h.to(scrReview)
	h.wait("└── timestamp")
	// esc on a revisited screen goes back to the review, nothing lost.
	h.runes("3")
	h.wait("step 4 of 11")
	h.press(tea.KeyEsc)
	h.wait("step 6 of 11")
	h.runes("3")
	h.wait("the two passphrases match") // kept, masked, on a revisit
	h.press(tea.KeyCtrlU)
	h.typ("another good passphrase")
	h.enter()
	h.press(tea.KeyCtrlU)
	h.typ("another good passphrase")
	h.enter()
	h.wait("step 6 of 11")
	m := h.end()
	if m.active != scrReview || m.st.targetsPass != "another good passphrase" {
		t.Fatalf("on screen %d with passphrase %q", m.active, m.st.targetsPass)
	}
	if calls := h.b.engine.callsMade(); slices.Contains(calls, "init") {
		t.Fatalf("something was published before the review: %v", calls)
	}
}

func TestPublishFailureSaysWhatIsPublishedAndRetries(t *testing.T) {
	h := newHarness(t, func(_ *Config, b *fakeBackend) {
		b.engine.failNext["delegation signpath"] = &trust.Error{Kind: trust.ErrPublish, Input: testGUN,
			Msg: "the server refused the publish", Fix: "run the same step again"}
	})
	h.to(scrPublish)
	h.wait("The ceremony stopped")
	h.send(tea.KeyMsg{Type: tea.KeyCtrlC})
	h.wait("Quit the ceremony?")
	h.runes("n")
	h.runes("r")
	h.wait("Published.")
	m := h.end()
	want := []string{"reach", "reach", "init", "delegation signpath", "delegation signpath", "root-cert"}
	if calls := h.b.engine.callsMade(); !slices.Equal(calls, want) {
		t.Fatalf("engine calls %v, want %v (the retry continues at the failed step)", calls, want)
	}
	if h.b.engine.pass.Targets != testPass {
		t.Error("the engine did not get the targets passphrase")
	}
	if m.active != scrPublish {
		t.Fatalf("on screen %d", m.active)
	}
}

func TestQuitAfterPublishingSaysHowToContinue(t *testing.T) {
	h := newHarness(t)
	h.to(scrTestSign)
	h.wait("Choose the tag")
	h.runes("q")
	h.wait("Quit the ceremony?")
	h.runes("y")
	out := h.outcome()
	for _, want := range []string{
		"the ceremony was stopped",
		testGUN + " is published",
		"not done yet: Test-sign a tag and verify it as a consumer would",
		"the targets private key is still in the trust dir",
		"To continue headless from here:\n  dctwiz continue " + testGUN,
	} {
		out := unbroken(out)
		if !strings.Contains(out, want) {
			t.Errorf("outcome lacks %q:\n%s", want, out)
		}
	}
	// setup converges up to the test signature: it runs again, with the
	// tag that was highlighted, on the key that was made.
	points := resumePoints(h.final().st)
	want := ResumePoint{GUN: testGUN, Server: "https://notary.example.com", Root: RootKeyPoint{Serial: 12345678, Slot: "9c"},
		Signers:     []SignerFile{{Name: "signpath", Path: "/tmp/dctwiz-ui-test-out/certs/signpath.crt"}},
		RootCertOut: "/tmp/dctwiz-ui-test-out/registry.example.com-acme-app-root.crt", TestTag: "latest"}
	if len(points) != 1 || fmt.Sprintf("%+v", points[0]) != fmt.Sprintf("%+v", want) {
		t.Errorf("resume points %+v\nwant %+v", points, want)
	}
}

func TestQuitBeforePublishingSaysNothingWasPublished(t *testing.T) {
	h := newHarness(t)
	h.to(scrTargetsKey)
	h.wait("step 4 of 11")
	h.send(tea.KeyMsg{Type: tea.KeyCtrlC})
	h.wait("Quit the ceremony?")
	h.runes("y")
	out := h.outcome()
	if !strings.Contains(out, "Nothing is published. The root key is on YubiKey 12345678, slot 9c") {
		t.Errorf("outcome does not say that nothing is published:\n%s", out)
	}
	if !strings.Contains(unbroken(out), "dctwiz continue "+testGUN) || !strings.Contains(out, "# no tag chosen yet") {
		t.Errorf("outcome does not give the command and its note:\n%s", out)
	}
	// The signer the wizard was started with, although its screen was
	// never reached; no tag yet.
	points := resumePoints(h.final().st)
	if len(points) != 1 || points[0].TestTag != "" || points[0].OnlyDeletion || len(points[0].Signers) != 1 ||
		points[0].Signers[0].Path != "/tmp/dctwiz-ui-test-out/certs/signpath.crt" || points[0].Root != (RootKeyPoint{Serial: 12345678, Slot: "9c"}) {
		t.Errorf("resume points %+v", points)
	}
}

func TestDeletionNeedsTheExactRepositoryName(t *testing.T) {
	h := newHarness(t)
	h.to(scrDeleteKey)
	h.wait("To confirm")
	h.typ("registry.example.com/acme/ap")
	h.enter()
	h.wait("type " + testGUN + " exactly to confirm")
	if slices.Contains(h.b.engine.callsMade(), "delete-targets-key") {
		t.Fatal("deleted without the exact name")
	}
	h.typ("p")
	h.enter()
	h.wait("it is gone")
	h.end()
	if !h.b.engine.deleted {
		t.Fatal("not deleted after the confirmation")
	}
}

func TestSummaryWritesTheCeremonyRecord(t *testing.T) {
	h := newHarness(t)
	h.to(scrSummary)
	h.wait("Ceremony record")
	m := h.end()
	md, err := os.ReadFile(m.st.recordMD)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Docker Content Trust setup ceremony, 2026-11-22", "| root | `" + fakeRootID + "` |",
		"| targets | `" + fakeTargetsID + "` | deleted (public key published) |", "| signpath | CN=SignPath Signer,O=Acme |",
		"Test signature: " + testGUN + ":latest, digest `" + fakeDigest + "`", "goes into the safe"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the Markdown record lacks %q", want)
		}
	}
	js, err := os.ReadFile(m.st.recordJSON)
	if err != nil {
		t.Fatal(err)
	}
	var rec flows.Record
	if err := json.Unmarshal(js, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.RootKey.Serial != 12345678 || len(rec.Repositories) != 1 || rec.Repositories[0].TargetsKey == nil || !rec.Repositories[0].TargetsKey.Gone {
		t.Fatalf("the JSON record says %+v", rec)
	}
	if strings.Contains(string(js)+string(md), testPass) || strings.Contains(string(js)+string(md), "24681357") {
		t.Fatal("a secret is in the ceremony record")
	}
}

func TestFollowsResizes(t *testing.T) {
	h := newHarness(t)
	h.wait("Trust dir writable")
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.wait(strings.Repeat("─", 120))
	lines := strings.Split(h.screen(), "\n")
	if len(lines) != 40 {
		t.Errorf("%d lines at height 40", len(lines))
	}
	for _, l := range lines {
		if w := len([]rune(l)); w > 120 {
			t.Errorf("line wider than 120: %q", l)
		}
	}
}

func TestSandboxIsOnEveryScreen(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *fakeBackend) { c.Sandbox = true })
	h.to(scrSummary)
	h.wait("Ceremony record")
	m := h.end()
	for i, s := range m.screens {
		m.active = screenID(i)
		if v := m.View(); !strings.Contains(strings.SplitN(v, "\n", 2)[0], "[SANDBOX]") {
			t.Errorf("screen %s does not say SANDBOX", s.title())
		}
	}
}

func TestTwoRepositoriesInOneCeremony(t *testing.T) {
	const second = "registry.example.com/acme/api"
	h := newHarness(t, func(c *Config, _ *fakeBackend) { c.GUNs = []string{testGUN, second} })
	h.to(scrRootCert)
	h.wait("What to do with it")
	h.enter()
	for range 2 {
		h.wait("Choose the tag")
		h.enter()
		h.wait("Press enter to continue")
		h.enter()
	}
	for _, gun := range []string{testGUN, second} {
		h.wait("To confirm")
		h.typ(gun)
		h.enter()
		h.wait("it is gone")
		h.enter()
	}
	h.wait(second + ": 5 of 5 steps done")
	m := h.end()
	calls := h.b.engine.callsMade()
	count := func(name string) int {
		n := 0
		for _, c := range calls {
			if c == name {
				n++
			}
		}
		return n
	}
	if count("init") != 2 || count("delegation signpath") != 2 || count("test-sign latest") != 2 || count("delete-targets-key") != 2 {
		t.Fatalf("each repository gets the whole ceremony once: %v", calls)
	}
	if v := m.View(); !strings.Contains(v, testGUN+": 5 of 5 steps done") || !strings.Contains(v, second+": 5 of 5 steps done") {
		t.Errorf("the summary does not cover both repositories:\n%s", v)
	}
	if m.st.root.token.Serial != 12345678 || len(m.st.ceremonies) != 2 {
		t.Fatal("the two repositories do not share the one root key")
	}
}

// Findings of a review, each a test.

func TestChoosingThePreparedTokenAgainUsesItsNewPIN(t *testing.T) {
	h := newHarness(t, func(_ *Config, b *fakeBackend) {
		b.tokens = append(b.tokens, yubikey.Info{Serial: 7654321, Firmware: "5.7.1", PINTriesLeft: 3, PUKTriesLeft: 3})
	})
	h.to(scrYubiKey)
	h.wait("YubiKey 7654321")
	h.enter()
	h.prepareToken()
	h.wait("The PIN you just set unlocks the token")
	h.press(tea.KeyEsc)
	h.wait("YubiKey 7654321")
	h.press(tea.KeyDown) // the other token: its own PIN is asked for
	h.enter()
	h.wait("3 tries left")
	h.press(tea.KeyEsc)
	h.press(tea.KeyUp) // the prepared one again: no crash, its new PIN is used
	h.enter()
	h.wait("The PIN you just set unlocks the token")
	h.enter()
	h.wait("Attestation verified")
	h.end()
	if h.b.opts.Serial != 12345678 || h.b.opts.PIN != "24681357" {
		t.Fatalf("made on %d with PIN %q", h.b.opts.Serial, h.b.opts.PIN)
	}
}

func TestAWrongPINIsNeverSentTwice(t *testing.T) {
	h := newHarness(t, func(_ *Config, b *fakeBackend) {
		b.tokens[0].DefaultPIN, b.tokens[0].DefaultPUK, b.tokens[0].DefaultMgmt = false, false, false
		b.createErr = &trust.Error{Kind: trust.ErrWrongPIN, Input: "YubiKey 12345678", Msg: "wrong PIN: 2 tries left", Fix: "give the right PIN"}
	})
	h.to(scrYubiKey)
	h.wait("PIN tries left 3, prepared")
	h.enter()
	h.wait("3 tries left")
	h.press(tea.KeyDown)
	h.press(tea.KeyDown)
	h.press(tea.KeyDown)
	h.press(tea.KeyDown)
	h.typ("99999999")
	h.b.mu.Lock()
	h.b.tokens[0].PINTriesLeft = 2 // what the token says after the wrong PIN
	h.b.mu.Unlock()
	h.enter()
	h.wait("PIN tries left: 2") // the token was read again
	h.enter()                   // the field is empty again: nothing is sent
	h.wait("type the YubiKey's PIN")
	h.typ("24681357")
	h.enter()
	h.wait("Attestation verified")
	h.end()
	if h.b.opts.PIN != "24681357" {
		t.Fatalf("the key was made with PIN %q", h.b.opts.PIN)
	}
}

func TestResultsGoBackToTheScreenThatAsked(t *testing.T) {
	m := New(Config{Now: func() time.Time { return fakeDate }}, newFakeBackend())
	welcome := m.screens[scrWelcome].(*welcome)
	check := m.tagged(welcome.check()) // asked on the welcome screen ...
	m.show(scrRepository)              // ... which is left before the answer
	msg := check()
	if r, isRouted := msg.(routed); !isRouted || r.id != scrWelcome {
		t.Fatalf("the answer is %T, not addressed to the welcome screen", msg)
	}
	m.Update(msg)
	if welcome.running || len(welcome.checks) == 0 {
		t.Fatal("the welcome screen did not get its checklist")
	}
	if m.anyBusy() {
		t.Fatal("the answered check still counts as running work")
	}
}

func TestAStopWaitsForTheRunningStep(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, func(_ *Config, b *fakeBackend) { b.engine.hold["delegation signpath"] = release })
	h.to(scrReview)
	h.wait("└── timestamp")
	h.runes("p")
	h.wait("publishing")
	h.send(Stop{}) // what SIGTERM, SIGINT or SIGHUP send
	h.runes("q")   // and the quit dialog drawn meanwhile reads the report
	h.wait("A step is running")
	close(release)
	out := h.outcome()
	if !strings.Contains(out, "Add the signers (targets/releases and targets/<name>): done") || !strings.Contains(out, "not done yet: Export the root certificate") {
		t.Errorf("the outcome does not say where the ceremony stopped:\n%s", out)
	}
	if calls := h.b.engine.callsMade(); slices.Contains(calls, "root-cert") {
		t.Errorf("the ceremony went on after the stop: %v", calls)
	}
}

func TestARetryWithTwoRepositoriesStopsAtThePublishSteps(t *testing.T) {
	const second = "registry.example.com/acme/api"
	h := newHarness(t, func(c *Config, b *fakeBackend) {
		c.GUNs = []string{testGUN, second}
		b.engine.failInitOf = second
	})
	h.to(scrPublish)
	h.wait("The ceremony stopped")
	h.runes("r")
	h.wait("Published.")
	m := h.end()
	for _, c := range m.st.ceremonies {
		if next, _ := c.Next(); next.ID != flows.StepTestSign {
			t.Errorf("%s: next step %s after publishing, want test-sign", c.Report().GUN, next.ID)
		}
	}
}

func TestASecondStopCutsOffAHangingStep(t *testing.T) {
	never := make(chan struct{}) // the server never answers
	h := newHarness(t, func(_ *Config, b *fakeBackend) { b.engine.hold["init"] = never })
	h.to(scrReview)
	h.wait("└── timestamp")
	h.runes("p")
	h.wait("publishing")
	h.send(Stop{})
	h.wait("Waiting for it")
	h.send(tea.KeyMsg{Type: tea.KeyCtrlC})
	out := h.outcome()
	if !strings.Contains(out, "the ceremony was stopped") || !strings.Contains(out, "Publish the root, targets and server-managed snapshot keys failed: cut off before it finished, so whether it reached the server is not known") {
		t.Errorf("outcome:\n%s", out)
	}
}

// unbroken joins the lines of commands broken with a trailing backslash.
func unbroken(s string) string {
	return regexp.MustCompile(` \\\n +`).ReplaceAllString(s, " ")
}
