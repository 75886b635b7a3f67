package ui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
)

// The wizard tried as a new admin would: leaving from everywhere, keys
// that wander off the happy path, rules stated where they bite.

// subState is a place in the wizard to quit from: a screen reached on the
// happy path, then some keys into one of its sub-states.
type subState struct {
	name   string
	screen screenID
	then   func(h *harness) // from the screen's settled state
	typing bool             // a text field has the focus: q is a letter
}

var subStates = []subState{
	{"welcome", scrWelcome, func(h *harness) { h.wait("Trust dir writable") }, false},
	{"welcome help page", scrWelcome, func(h *harness) { h.wait("Trust dir writable"); h.runes("?"); h.wait("Help: Welcome") }, false},
	{"repository", scrRepository, func(h *harness) { h.wait("step 2 of 11") }, true},
	{"yubikey list", scrYubiKey, func(h *harness) { h.wait("YubiKey 12345678, firmware") }, false},
	{"yubikey preparation", scrYubiKey, func(h *harness) { h.wait("YubiKey 12345678, firmware"); h.enter(); h.wait("New PIN") }, true},
	{"yubikey settings", scrYubiKey, func(h *harness) {
		h.wait("YubiKey 12345678, firmware")
		h.enter()
		h.prepareToken()
		h.wait("Touch policy")
	}, false},
	{"yubikey backup token", scrYubiKey, func(h *harness) {
		h.wait("YubiKey 12345678, firmware")
		h.enter()
		h.prepareToken()
		h.wait("Touch policy")
		h.enter()
		h.wait("b adds a backup root key")
		h.runes("b")
		h.wait("no other YubiKey found")
	}, false},
	{"yubikey file key warning", scrYubiKey, func(h *harness) { h.wait("YubiKey 12345678, firmware"); h.runes("f"); h.wait("WARNING") }, true},
	{"targets key", scrTargetsKey, func(h *harness) { h.wait("step 4 of 11") }, true},
	{"delegations", scrDelegations, func(h *harness) { h.wait("SignPath Signer") }, false},
	{"delegations picker", scrDelegations, func(h *harness) { h.wait("SignPath Signer"); h.runes("a"); h.wait("Pick the signer") }, false},
	{"delegations typed path", scrDelegations, func(h *harness) {
		h.wait("SignPath Signer")
		h.runes("a")
		h.wait("Pick the signer")
		h.runes("t")
		h.wait("Type the certificate's path")
	}, true},
	{"review", scrReview, func(h *harness) { h.wait("└── timestamp") }, false},
	{"publish", scrPublish, func(h *harness) { h.wait("Published.") }, false},
	{"root certificate", scrRootCert, func(h *harness) { h.wait("What to do with it") }, false},
	{"test signing", scrTestSign, func(h *harness) { h.wait("Choose the tag") }, false},
	{"delete targets key", scrDeleteKey, func(h *harness) { h.wait("To confirm") }, true},
}

// Quitting works from every screen and sub-state, by every way there is,
// and never waits for work that is not running (a YubiKey screen not yet
// visited held every quit on the first two screens).
func TestQuitFromEveryScreenAndSubState(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole table of screens and ways out; skipped with -short")
	}
	type method struct {
		name string
		quit func(h *harness)
	}
	methods := []method{
		{"q then y", func(h *harness) { h.runes("q"); h.wait("Quit the ceremony?"); h.runes("y") }},
		{"ctrl+c then y", func(h *harness) { h.press(tea.KeyCtrlC); h.wait("Quit the ceremony?"); h.runes("y") }},
		{"ctrl+c twice", func(h *harness) { h.press(tea.KeyCtrlC); h.wait("Quit the ceremony?"); h.press(tea.KeyCtrlC) }},
		{"signal", func(h *harness) { h.send(Stop{}) }}, // what SIGINT, SIGTERM and SIGHUP send
	}
	for _, s := range subStates {
		for _, q := range methods {
			if q.name == "q then y" && s.typing {
				continue // q is a letter there: TestQIsALetterInTextFields
			}
			t.Run(s.name+"/"+q.name, func(t *testing.T) {
				h := newHarness(t)
				h.to(s.screen)
				s.then(h)
				q.quit(h)
				out := h.outcome()
				m := h.end()
				if m.Finished() || !strings.Contains(out, "the ceremony was stopped") {
					t.Fatalf("finished %v, outcome:\n%s", m.Finished(), out)
				}
				if m.st.inflight != 0 {
					t.Errorf("quit with %d commands counted as running", m.st.inflight)
				}
			})
		}
	}
}

func TestQIsALetterInTextFields(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *fakeBackend) { c.GUNs = nil })
	h.to(scrRepository)
	h.wait("step 2 of 11")
	h.typ("q")
	h.wait("✓ docker.io/library/q")
	if v := h.screen(); strings.Contains(v, "Quit the ceremony?") {
		t.Fatalf("q in a text field asked to quit:\n%s", v)
	}
}

// Only the summary, with its record written, is a finished ceremony.
func TestFinishedOnlyAfterTheSummary(t *testing.T) {
	h := newHarness(t)
	h.to(scrSummary)
	h.wait("Ceremony record")
	h.press(tea.KeyEsc) // esc is not a way out of the summary
	h.runes("?")
	h.wait("Help: Summary")
	h.press(tea.KeyEsc)
	h.wait("Lock the YubiKey")
	h.enter()
	out := h.outcome()
	if m := h.end(); !m.Finished() || !strings.Contains(out, "the setup ceremony is complete") {
		t.Fatalf("finished %v:\n%s", m.Finished(), out)
	}
}

func TestEscOnTheSummaryDoesNotQuit(t *testing.T) {
	h := newHarness(t)
	h.to(scrSummary)
	h.wait("Ceremony record")
	h.press(tea.KeyEsc)
	m := h.end() // messages are handled in order: the esc came first
	if m.quitting || m.active != scrSummary || m.confirmQuit {
		t.Fatalf("esc on the summary: quitting %v, screen %d", m.quitting, m.active)
	}
}

// stopWhileTheTokenWaits makes the root key on a token that waits for a
// finger and ignores the cancel (until the test ends), and stops the
// wizard while it waits, with the quit's limits given.
func stopWhileTheTokenWaits(t *testing.T, cutOff, giveUp time.Duration) *harness {
	touch := make(chan struct{})
	t.Cleanup(func() { close(touch) })
	h := newHarness(t, func(_ *Config, b *fakeBackend) { b.touched = touch })
	h.m.cutOffAfter, h.m.giveUpAfter = cutOff, giveUp
	h.to(scrYubiKey)
	h.wait("YubiKey 12345678, firmware")
	h.enter()
	h.prepareToken()
	h.wait("Touch policy")
	h.enter()
	h.wait("Touch YubiKey 12345678 now")
	h.send(Stop{})
	return h
}

// A step that never returns cannot hold a quit forever: it is cut off
// (its context cancelled), and given up on if it ignores that.
func TestAQuitThatWaitsIsCutOffThenGivenUp(t *testing.T) {
	h := stopWhileTheTokenWaits(t, 300*time.Millisecond, 300*time.Millisecond)
	out := h.outcome()
	if !strings.Contains(out, "the ceremony was stopped") {
		t.Fatalf("outcome:\n%s", out)
	}
	if m := h.end(); m.Finished() || !m.cut || m.st.ctx.Err() == nil {
		t.Fatal("the waiting step was not cut off")
	}
}

// A publish cut off by the deadline is reported as not known, never as done.
func TestACutOffPublishIsReportedAsNotKnown(t *testing.T) {
	out := quitDuring(t, "delegation signpath")
	if !strings.Contains(out, "Add the signers (targets/releases and targets/<name>): failed (cut off before it finished, so whether it reached the server is not known)") {
		t.Errorf("the cut-off step is not reported as such:\n%s", out)
	}
	if strings.Contains(out, "Add the signers (targets/releases and targets/<name>): done") {
		t.Errorf("a cut-off step reported as done:\n%s", out)
	}
}

// quitDuring publishes, holds the engine call named call until the quit
// cuts it off, and returns what the wizard says at the end.
func quitDuring(t *testing.T, call string) string {
	t.Helper()
	never := make(chan struct{})
	h := newHarness(t, func(_ *Config, b *fakeBackend) { b.engine.hold[call] = never })
	h.m.cutOffAfter = 200 * time.Millisecond
	h.to(scrReview)
	h.wait("└── timestamp")
	h.runes("p")
	h.wait("publishing")
	h.send(Stop{})
	return h.outcome()
}

// A quit that cuts off the very first publish (init) does not say
// "Nothing is published": whether it reached the server is not known.
func TestACutOffFirstPublishIsNotNothing(t *testing.T) {
	out := quitDuring(t, "init")
	if strings.Contains(out, "Nothing is published") || !strings.Contains(out, "Whether the last publish reached the server is not known") {
		t.Errorf("a cut-off init is reported as nothing published:\n%s", out)
	}
}

// A failed server check stays on screen through cursor blinks and other
// messages, until the admin edits a field.
func TestAFailedServerCheckStaysUntilAnEdit(t *testing.T) {
	h := serverDownAfterWelcome(t)
	h.wait("✗ Notary server reachable over TLS")
	h.send(struct{}{})        // any message that is not a key (the old code cleared the checks on every one)
	h.send(spinner.TickMsg{}) // and the kinds that arrive all the time
	h.send(cursor.BlinkMsg{})
	m := h.end()
	if v := m.View(); !strings.Contains(v, "✗ Notary server reachable over TLS") {
		t.Fatalf("the failed check went away without an edit:\n%s", v)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("x")})
	if v := m.View(); strings.Contains(v, "✗ Notary server reachable over TLS") {
		t.Fatalf("the failed check stayed after an edit:\n%s", v)
	}
}

// A slot that already holds a root key is used as it is: its curve and
// policies are shown as the token has them, and cannot be "changed".
func TestASlotHoldingARootKeyIsShownAsItIs(t *testing.T) {
	h := newHarness(t, func(_ *Config, b *fakeBackend) {
		b.tokens[0].DefaultPIN, b.tokens[0].DefaultPUK, b.tokens[0].DefaultMgmt = false, false, false
		b.tokens[0].Slots = []yubikey.SlotInfo{{Slot: "9c", Key: true, Algorithm: "ECDSA P-384", PINPolicy: "always",
			TouchPolicy: "never", Generated: true, Certificate: "CN=root"}}
	})
	h.to(scrYubiKey)
	h.wait("YubiKey 12345678, firmware")
	h.enter()
	h.wait("already holds a root key made on this token")
	h.press(tea.KeyDown) // the curve
	h.press(tea.KeyRight)
	h.wait("its curve and policies were fixed")
	m := h.end()
	y := m.screens[scrYubiKey].(*yubikeyScreen)
	if got := []string{y.settings.curve.value(), y.settings.pinPolicy.value(), y.settings.touch.value()}; !slices.Equal(got, []string{"P-384", "always", "never"}) {
		t.Fatalf("settings %v, want the slot's key's P-384, always, never", got)
	}
}

func TestASlotHoldingAnotherKeyIsNeverTaken(t *testing.T) {
	h := newHarness(t, func(_ *Config, b *fakeBackend) {
		b.tokens[0].DefaultPIN, b.tokens[0].DefaultPUK, b.tokens[0].DefaultMgmt = false, false, false
		b.tokens[0].Slots = []yubikey.SlotInfo{{Slot: "9c", Key: true, Algorithm: "RSA 2048", Generated: true, Certificate: "CN=ssh"}}
	})
	h.to(scrYubiKey)
	h.wait("YubiKey 12345678, firmware")
	h.enter()
	h.wait("the wizard never overwrites it")
	h.typ("24681357") // the PIN
	h.enter()
	h.wait("choose an empty slot")
	h.end()
	if h.b.opts.Serial != 0 {
		t.Fatal("the key was made in an occupied slot")
	}
}

// Every rule is stated where it is broken.
func TestValidationErrorsStateTheirRule(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{"https://docker.io/acme/app", "has no scheme"},
		{"docker.io/Acme/App", "in lower-case letters"},
		{"docker.io/acme/app_", "lower-case letters and digits"},
	} {
		_, err := validateGUNs(c.value)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("GUN %q: %v, want %q", c.value, err, c.want)
		}
	}
	for _, pin := range []string{"ééééé1", "pinéé1", "12345", "123456789", "12 456"} {
		if _, err := validatePIN(pin); err == nil || !strings.Contains(err.Error(), "6 to 8 ASCII characters") {
			t.Errorf("PIN %q: %v", pin, err)
		}
	}
	if err := trust.ValidSignerName("Sign Path"); err == nil || !strings.Contains(err.Error(), "lower-case letters, digits") {
		t.Errorf("signer name: %v", err)
	}
}

func TestThePUKMustDifferFromThePIN(t *testing.T) {
	h := newHarness(t)
	h.to(scrYubiKey)
	h.wait("YubiKey 12345678, firmware")
	h.enter()
	h.wait("New PIN")
	for _, s := range []string{"24681357", "24681357", "24681357", "24681357"} {
		h.typ(s)
		h.tab()
	}
	h.enter()
	h.wait("the PUK is the same as the PIN")
	h.end()
	if len(h.b.prepared) != 0 {
		t.Fatal("a token was prepared with PUK = PIN")
	}
}

func TestAWeakPassphraseTakesASecondEnter(t *testing.T) {
	h := newHarness(t)
	h.to(scrTargetsKey)
	h.wait("step 4 of 11")
	h.typ("abcdefgh")
	h.enter()
	h.typ("abcdefgh")
	h.enter()
	h.wait("press enter again")
	h.enter()
	h.wait("step 5 of 11")
	if m := h.end(); m.st.targetsPass != "abcdefgh" {
		t.Fatal("the confirmed weak passphrase was not taken")
	}
}

// Every key a screen offers is on its footer at 80 columns: wrapped, never cut.
func TestFootersShowEveryKeyAt80Columns(t *testing.T) {
	for _, s := range subStates {
		t.Run(s.name, func(t *testing.T) {
			h := newHarness(t)
			h.to(s.screen)
			s.then(h)
			m := h.end()
			v := m.View()
			want := m.cur().keys().short
			if m.fullHelp {
				want = []key.Binding{keyCloseHelp, keyScrollUp, keyQuit}
			}
			// The footer is what follows the last rule.
			rule := strings.Repeat("─", 80)
			footer := v[strings.LastIndex(v, rule)+len(rule):]
			for _, k := range want {
				if hk := k.Help().Key; !strings.Contains(footer, hk+" "+k.Help().Desc) {
					t.Errorf("the footer lacks %q %q:\n%s", hk, k.Help().Desc, footer)
				}
			}
			checkFits(t, v, 80, 24)
		})
	}
}

// checkFits fails when a view is larger than the terminal.
func checkFits(t *testing.T, v string, width, height int) {
	t.Helper()
	lines := strings.Split(v, "\n")
	if len(lines) > height {
		t.Errorf("%d lines on a %d-line terminal:\n%s", len(lines), height, v)
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > width {
			t.Errorf("a line of %d columns on a %d-column terminal: %q", w, width, l)
		}
	}
}

func TestATerminalTooSmallSaysSo(t *testing.T) {
	h := newHarness(t)
	h.wait("Trust dir writable")
	h.send(tea.WindowSizeMsg{Width: 70, Height: 20})
	h.wait("needs at least 80x24")
	h.press(tea.KeyCtrlC)
	h.wait("Quit the ceremony? y quit")
	h.runes("y")
	if out := h.outcome(); !strings.Contains(out, "the ceremony was stopped") {
		t.Fatalf("outcome:\n%s", out)
	}
}

// Paths break after a '/', not inside a name.
func TestLongPathsWrapAtPathBoundaries(t *testing.T) {
	path := "/home/admin/ceremonies/2026-12-03/registry.example.com-platform-team-api-gateway-root.crt"
	got := wrap("  root certificate written to "+path, 60)
	for _, l := range strings.Split(got, "\n") {
		if ansi.StringWidth(l) > 60 {
			t.Errorf("line over 60 columns: %q", l)
		}
	}
	if !strings.Contains(got, "2026-12-03/\n") && !strings.Contains(got, "ceremonies/\n") {
		t.Errorf("the path was not broken after a '/':\n%s", got)
	}
	if strings.ReplaceAll(strings.ReplaceAll(got, "\n", ""), " ", "") != strings.ReplaceAll("  root certificate written to "+path, " ", "") {
		t.Errorf("wrapping lost characters:\n%s", got)
	}
	if url := wrap("Notary server https://notary.internal.example.com:4443, registry registry.internal.example.com", 40); strings.Contains(url, "https:/\n") || strings.Contains(url, "https://\n") {
		t.Errorf("a URL was broken inside its scheme:\n%s", url)
	}
}

// The picker says in words what it cannot pick and why, and takes a typed path.
func TestThePickerSaysWhyAndTakesATypedPath(t *testing.T) {
	h := newHarness(t)
	certs := filepath.Join(h.out, "certs")
	if err := os.WriteFile(filepath.Join(certs, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.to(scrDelegations)
	h.wait("SignPath Signer")
	h.runes("a")
	h.wait("notes.txt  (not a certificate file: .crt .pem .cer .der)")
	h.enter() // notes.txt, root.crt, signpath.crt: notes.txt has the cursor
	h.wait("notes.txt: not a certificate file")
	h.runes("t")
	h.wait("Type the certificate's path")
	h.typ(filepath.Join(certs, "root.crt"))
	h.enter()
	h.wait("Signer name")
}

// ? explains the screen's words, not only its keys.
func TestHelpExplainsEachScreen(t *testing.T) {
	want := map[screenID][]string{
		scrWelcome:     {"root", "snapshot and timestamp"},
		scrRepository:  {"GUN", "CA file"},
		scrYubiKey:     {"Slot 9c", "PIN policy", "Touch policy", "attestation"},
		scrTargetsKey:  {"targets key"},
		scrDelegations: {"targets/releases", "delegation"},
		scrReview:      {"snapshot key", "timestamp key"},
		scrRootCert:    {"Pinning", "fingerprint"},
	}
	for id, words := range want {
		m := New(Config{Now: func() time.Time { return fakeDate }}, newFakeBackend())
		m.active = id
		text := m.cur().explain()
		for _, w := range words {
			if !strings.Contains(text, w) {
				t.Errorf("%s help lacks %q", m.cur().title(), w)
			}
		}
	}
}

// Keys that cannot be taken back say what they do, and errors read as
// what happened, not as Go's error chain.
func TestIrreversibleKeysAndPlainErrors(t *testing.T) {
	h := newHarness(t)
	h.to(scrDeleteKey)
	h.wait("To confirm")
	if v := h.screen(); !strings.Contains(v, "enter delete the targets key") {
		t.Errorf("the deletion's key is not labelled:\n%s", v)
	}
	msg, _ := describeError(&trust.Error{Kind: trust.ErrServerUnreachable, Input: "https://notary.example.com",
		Msg: `Get "https://notary.example.com/v2/": dial tcp 127.0.0.1:1: connect: connection refused; refused to go to http://notary.example.com (a redirect away from TLS, or plain http)`})
	if strings.Contains(msg, `Get "`) || strings.Contains(msg, "refused to go") || !strings.Contains(msg, "connection refused") {
		t.Errorf("error shown as %q", msg)
	}
}

// Below 80x24 nothing of the screen shows, so no key acts on it: p on
// the review does not publish.
func TestKeysDoNothingOnATerminalTooSmall(t *testing.T) {
	h := newHarness(t)
	h.to(scrReview)
	h.wait("└── timestamp")
	h.send(tea.WindowSizeMsg{Width: 60, Height: 20})
	h.wait("needs at least 80x24")
	h.runes("p")
	h.enter()
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.wait("└── timestamp")
	if m := h.end(); m.active != scrReview || slices.Contains(h.b.engine.callsMade(), "init") {
		t.Fatalf("a key acted on a screen that did not show: screen %d, calls %v", m.active, h.b.engine.callsMade())
	}
}

// A quit on the YubiKey settings continues with the token and settings
// chosen, not docker's defaults on whichever token comes first.
func TestContinueCommandsKeepTheYubiKeyChoices(t *testing.T) {
	h := newHarness(t)
	h.to(scrYubiKey)
	h.wait("YubiKey 12345678, firmware")
	h.enter()
	h.prepareToken()
	h.wait("Touch policy")
	h.press(tea.KeyDown) // curve: P-384
	h.press(tea.KeyRight)
	h.press(tea.KeyDown) // PIN policy
	h.press(tea.KeyDown) // touch policy: cached
	h.press(tea.KeyRight)
	h.wait("one touch covers 15 seconds")
	h.send(Stop{})
	h.outcome()
	points := resumePoints(h.final().st)
	want := RootKeyPoint{Serial: 12345678, Slot: "9c", Curve: "P-384", PINPolicy: "once", TouchPolicy: "cached"}
	if len(points) != 1 || points[0].Root != want {
		t.Fatalf("resume points %+v, want the root key %+v", points, want)
	}
}

// After a quit cut the step off, Settle waits only the give-up time, not
// the whole cut-off again.
func TestSettleAfterACutOffWaitsOnlyTheGiveUpTime(t *testing.T) {
	h := stopWhileTheTokenWaits(t, 200*time.Millisecond, 200*time.Millisecond)
	h.outcome()
	m := h.end()
	m.cutOffAfter = time.Hour // were Settle to wait for it again, it would not return
	settled := make(chan bool)
	go func() { settled <- m.Settle() }()
	select {
	case ok := <-settled:
		if ok {
			t.Fatal("Settle says the held step ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Settle waited for the cut-off time again")
	}
}

// Wrapping never changes the text and never leaves a line too long, even
// where a forced break falls inside a URL's "://".
func TestWrapKeepsTheTextAndTheWidth(t *testing.T) {
	for _, s := range []string{
		"see https://notary.internal.example.com:4443/v2/acme/app/_trust/tuf/root.json now",
		"xxxxxxxxxxxxxxxxxxhttps://a.b/c-d-e/f",
		"/very/long-path/with-hyphens-and/slashes/ending-in-a-slash/",
	} {
		for width := 10; width <= 40; width++ {
			got := wrap(s, width)
			if strings.ContainsAny(got, "\u2215\u2011") {
				t.Fatalf("width %d: a stand-in was left in %q", width, got)
			}
			if strings.ReplaceAll(strings.ReplaceAll(got, "\n", ""), " ", "") != strings.ReplaceAll(s, " ", "") {
				t.Fatalf("width %d: the text changed: %q", width, got)
			}
			for _, l := range strings.Split(got, "\n") {
				if ansi.StringWidth(l) > width {
					t.Fatalf("width %d: line %q is %d columns", width, l, ansi.StringWidth(l))
				}
			}
		}
	}
}

// maintSubStates are the places on the maintenance path, each reached
// from the previous one.
var maintSubStates = []struct {
	name   string
	step   func(h *harness) // from the previous sub-state
	typing bool
}{
	{"welcome", func(h *harness) { h.wait("Trust dir writable") }, false},
	{"repository", func(h *harness) { h.enter(); h.wait("step 2 of 10") }, true},
	{"status", func(h *harness) { h.enter(); h.wait("Proposed:") }, false},
	{"ceremony", func(h *harness) { h.enter(); h.wait("(proposed for signpath)") }, false},
	{"signer", func(h *harness) { h.enter(); h.wait("Which signer?") }, false},
	{"certificate picker", func(h *harness) { h.enter(); h.wait("signpath-renewed.crt") }, false},
	{"certificate preview", func(h *harness) { h.enter(); h.wait("Compare the SHA-256") }, false},
	{"root key list", func(h *harness) { h.enter(); h.wait("YubiKey 5000001, firmware") }, false},
	{"root key form", func(h *harness) { h.enter(); h.wait("Targets passphrase") }, true},
	{"root key open", func(h *harness) { h.fillRootForm("135790", true); h.wait("It is the root key of") }, false},
	{"review", func(h *harness) { h.enter(); h.wait("Keys of ") }, false},
	{"publish", func(h *harness) { h.runes("p"); h.wait("Press enter to verify") }, false},
	{"verify", func(h *harness) { h.enter(); h.wait("Verified: new consumers") }, false},
	{"delete", func(h *harness) { h.enter(); h.wait("Press enter for the summary") }, false},
}

// The maintenance path is left from every screen and sub-state by every
// way, as setup's is; each footer shows every key at 80 columns.
func TestMaintenanceQuitFromEveryScreenAndFooters(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole table of screens and ways out; skipped with -short")
	}
	quits := map[string]func(h *harness){
		"q then y":     func(h *harness) { h.runes("q"); h.wait("Quit the ceremony?"); h.runes("y") },
		"ctrl+c twice": func(h *harness) { h.press(tea.KeyCtrlC); h.wait("Quit the ceremony?"); h.press(tea.KeyCtrlC) },
		"signal":       func(h *harness) { h.send(Stop{}) },
	}
	for i, s := range maintSubStates {
		reach := func(h *harness) {
			for _, p := range maintSubStates[:i+1] {
				p.step(h)
			}
		}
		t.Run(s.name+"/footer", func(t *testing.T) {
			h := newHarness(t, maintained(renewedCert()))
			reach(h)
			m := h.end()
			v := m.View()
			rule := strings.Repeat("─", 80)
			footer := v[strings.LastIndex(v, rule)+len(rule):]
			for _, k := range m.cur().keys().short {
				if hk := k.Help().Key; !strings.Contains(footer, hk+" "+k.Help().Desc) {
					t.Errorf("the footer lacks %q %q:\n%s", hk, k.Help().Desc, footer)
				}
			}
			checkFits(t, v, 80, 24)
		})
		for name, quit := range quits {
			if name == "q then y" && s.typing {
				continue
			}
			t.Run(s.name+"/"+name, func(t *testing.T) {
				h := newHarness(t, maintained(renewedCert()))
				reach(h)
				quit(h)
				out := h.outcome()
				m := h.end()
				if m.Finished() || !strings.Contains(out, "the ceremony was stopped") {
					t.Fatalf("finished %v, outcome:\n%s", m.Finished(), out)
				}
				if m.st.inflight != 0 {
					t.Errorf("quit with %d commands counted as running", m.st.inflight)
				}
				published := i >= 11 // from the publish screen on
				if strings.Contains(out, "Nothing is published") == published {
					t.Errorf("published %v, outcome:\n%s", published, out)
				}
			})
		}
	}
}

// The repository field takes a pasted list (newlines arrive as spaces)
// and @FILE, a repository list; a bad line in the file names it.
func TestRepositoryFieldTakesAListAndAFile(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "repos.txt")
	os.WriteFile(list, []byte("# the fleet\ndocker.io/acme/api\nregistry.example.com/team/web # the site\n"), 0o644)
	guns, err := parseGUNs("docker.io/acme/app @" + list + " acme/worker")
	var got []string
	for _, g := range guns {
		got = append(got, g.String())
	}
	if err != nil || strings.Join(got, " ") != "docker.io/acme/app docker.io/acme/api registry.example.com/team/web docker.io/acme/worker" {
		t.Errorf("a GUN, a list file and a GUN: %v, %v", got, err)
	}
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("docker.io/acme/app\ndocker.io/acme/app:1.0\n"), 0o644)
	if _, err := validateGUNs("@" + bad); err == nil || !strings.Contains(err.Error(), "bad.txt line 2") {
		t.Errorf("a bad line in the list file: %v", err)
	}
	if _, err := validateGUNs("@-"); err == nil || !strings.Contains(err.Error(), "@ takes a file") {
		t.Errorf("@- (standard input, the terminal here): %v", err)
	}
	if _, err := validateGUNs("docker.io/acme/api @" + list); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("a GUN typed and in the file: %v", err)
	}
}
