package ui

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"
)

func TestMain(m *testing.M) {
	// What NO_COLOR gives: the screens must read well as plain text, and
	// the golden files stay readable.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

const (
	testGUN  = "registry.example.com/acme/app"
	testPass = "correct horse battery staple"
)

// harness runs the wizard as a Bubble Tea program at 80x24 (teatest) on
// the fake backend, sending keys and waiting for what a person would see.
type harness struct {
	t     *testing.T
	tm    *teatest.TestModel
	m     *Model
	b     *fakeBackend
	out   string
	ended bool
	steps map[screenID]func() // the happy path, once to has been called
}

func newHarness(t *testing.T, tweak ...func(*Config, *fakeBackend)) *harness {
	t.Helper()
	// A fixed output dir: its path is on screen, and wraps the same way every run.
	out := filepath.Join(os.TempDir(), "dctwiz-ui-test-out")
	os.RemoveAll(out)
	if err := os.MkdirAll(out, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(out) })
	// The certificates too: their paths are on screen and in commands.
	certs := filepath.Join(out, "certs")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"root.crt", "signpath.crt", "signpath-renewed.crt"} {
		b, err := os.ReadFile(filepath.Join("testdata", "certs", name))
		if err == nil {
			err = os.WriteFile(filepath.Join(certs, name), b, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{GUNs: []string{testGUN}, Server: "https://notary.example.com", OutDir: out,
		Signers: []SignerFile{{Name: "signpath", Path: filepath.Join(certs, "signpath.crt")}},
		Now:     func() time.Time { return fakeDate }, ContinueCommand: testContinue}
	b := newFakeBackend()
	for _, f := range tweak {
		f(&cfg, b)
	}
	m := New(cfg, b)
	h := &harness{t: t, m: m, b: b, out: out}
	h.tm = teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	t.Cleanup(func() {
		if !h.ended {
			h.tm.Quit()
		}
	})
	return h
}

// wait reads the terminal output until text appears. The bound is
// generous: under the race detector on a loaded two-core machine a long
// walk through the screens can take seconds; it is a limit, not a timing.
func (h *harness) wait(text string) {
	h.t.Helper()
	teatest.WaitFor(h.t, h.tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(text)) },
		teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

func (h *harness) typ(s string)        { h.tm.Type(s) }
func (h *harness) press(k tea.KeyType) { h.tm.Send(tea.KeyMsg{Type: k}) }
func (h *harness) enter()              { h.press(tea.KeyEnter) }
func (h *harness) tab()                { h.press(tea.KeyTab) }
func (h *harness) send(msg tea.Msg)    { h.tm.Send(msg) }
func (h *harness) runes(s string)      { h.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}) }

// to walks the happy path from the welcome screen to screen id.
func (h *harness) to(id screenID) {
	h.t.Helper()
	steps := map[screenID]func(){
		scrWelcome:    func() { h.wait("Trust dir writable"); h.enter() },
		scrRepository: func() { h.wait("step 2 of 11"); h.enter() },
		scrYubiKey: func() {
			h.wait("YubiKey 12345678, firmware")
			h.enter()
			h.prepareToken()
			h.wait("Touch policy")
			h.enter()
			h.wait("Attestation verified")
			h.enter()
		},
		scrTargetsKey: func() {
			h.wait("step 4 of 11")
			h.typ(testPass)
			h.enter()
			h.typ(testPass)
			h.enter()
		},
		scrDelegations: func() { h.wait("SignPath Signer"); h.enter() },
		scrReview:      func() { h.wait("└── timestamp"); h.runes("p") },
		scrPublish:     func() { h.wait("Published."); h.enter() },
		scrRootCert:    func() { h.wait("What to do with it"); h.enter() },
		scrTestSign: func() {
			h.wait("Choose the tag")
			h.enter()
			h.wait("Press enter to continue")
			h.enter()
		},
		scrDeleteKey: func() {
			h.wait("To confirm")
			h.typ(testGUN)
			h.enter()
			h.wait("it is gone")
			h.enter()
		},
	}
	h.steps = steps
	h.walk(scrWelcome, id)
}

// walk runs the happy path's steps of the screens from up to (not including) to.
func (h *harness) walk(from, to screenID) {
	for s := from; s < to; s++ {
		h.steps[s]()
	}
}

// prepareToken fills in the new PIN and PUK, each twice, and submits.
func (h *harness) prepareToken() {
	h.t.Helper()
	h.wait("New PIN")
	for _, s := range []string{"24681357", "24681357", "11223344", "11223344"} {
		h.typ(s)
		h.tab()
	}
	h.enter()
}

// outcome waits for the program to end by itself (a quit) and returns
// what the wizard prints then.
func (h *harness) outcome() string {
	h.t.Helper()
	h.tm.WaitFinished(h.t, teatest.WithFinalTimeout(20*time.Second))
	h.ended = true
	return h.tm.FinalModel(h.t).(*Model).Outcome()
}

// end stops the program and returns the final model.
func (h *harness) end() *Model {
	h.t.Helper()
	if !h.ended {
		h.tm.Quit()
		h.ended = true
	}
	return h.tm.FinalModel(h.t, teatest.WithFinalTimeout(20*time.Second)).(*Model)
}

// screen is the final screen as text.
func (h *harness) screen() string {
	h.t.Helper()
	return h.end().View()
}

// testContinue stands in for cmd's renderer of resume points: a command
// long enough to show the layout, with the point's main choices. What
// the points hold is tested on resumePoints; cmd tests the real commands.
func testContinue(p ResumePoint) ContinueCommand {
	if p.OnlyDeletion {
		return ContinueCommand{Words: []string{"dctwiz", "finish", p.GUN}}
	}
	words := []string{"dctwiz", "continue", p.GUN, "--server", p.Server, "--yubikey", fmt.Sprint(p.Root.Serial)}
	for _, s := range p.Signers {
		words = append(words, "--signer", s.Name+"="+s.Path)
	}
	words = append(words, "--root-cert-out", p.RootCertOut)
	if p.TestTag == "" {
		return ContinueCommand{Words: words, Note: "no tag chosen yet"}
	}
	return ContinueCommand{Words: append(words, "--tag", p.TestTag)}
}

// final is the model once the program ended by itself.
func (h *harness) final() *Model {
	h.t.Helper()
	return h.tm.FinalModel(h.t, teatest.WithFinalTimeout(20*time.Second)).(*Model)
}
