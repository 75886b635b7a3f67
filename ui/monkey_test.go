package ui

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// The monkey: random keys and resizes, seeded and so reproducible, for a
// few thousand steps on the fake backend. The wizard must never panic,
// its view must always fit the terminal, and it must never stay busy
// with nothing running. DCTWIZ_MONKEY_SEED=N replays one seed.
func TestMonkey(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of random keys; skipped with -short")
	}
	seeds := []int64{1, 2, 3}
	if s := os.Getenv("DCTWIZ_MONKEY_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		seeds = []int64{n}
	}
	steps := 1500
	if testing.Short() {
		steps = 300
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { monkey(t, seed, steps) })
	}
}

// monkeyKeys are what the monkey presses: every key the wizard knows,
// some that it does not, and whole words that get a form through.
var monkeyKeys = []tea.KeyMsg{
	{Type: tea.KeyEnter}, {Type: tea.KeyEnter}, {Type: tea.KeyEnter}, {Type: tea.KeyEsc}, {Type: tea.KeyTab},
	{Type: tea.KeyShiftTab}, {Type: tea.KeyUp}, {Type: tea.KeyDown}, {Type: tea.KeyLeft}, {Type: tea.KeyRight},
	{Type: tea.KeyBackspace}, {Type: tea.KeyCtrlU}, {Type: tea.KeyCtrlS}, {Type: tea.KeyCtrlC}, {Type: tea.KeyF1},
	{Type: tea.KeyPgUp}, {Type: tea.KeyPgDown}, {Type: tea.KeyHome}, {Type: tea.KeyDelete},
}

var monkeyWords = []string{"q", "y", "n", "?", "p", "r", "s", "a", "x", "c", "f", "t", "1", "2", "3", "4", "j", "k",
	"24681357", "11223344", testPass, testGUN, "ééé", "Acme/App", "/tmp", " "}

func monkey(t *testing.T, seed int64, steps int) {
	rnd := rand.New(rand.NewSource(seed))
	width, height := 80, 24
	m, results := monkeyModel(t, rnd)
	var furthest screenID
	defer func() { t.Logf("seed %d: furthest screen reached: %s", seed, m.screens[furthest].title()) }()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("seed %d: panic: %v", seed, r)
		}
	}()
	for step := 0; step < steps; step++ {
		var msg tea.Msg
		switch n := rnd.Intn(100); {
		case n < 3:
			width, height = 60+rnd.Intn(61), 16+rnd.Intn(25)
			msg = tea.WindowSizeMsg{Width: width, Height: height}
		case n < 40:
			w := monkeyWords[rnd.Intn(len(monkeyWords))]
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(w)}
		default:
			msg = monkeyKeys[rnd.Intn(len(monkeyKeys))]
		}
		quit := deliver(m, msg, results)
		// Let the commands the key started answer (the fakes answer at once).
		quit = settle(m, results, 2*time.Millisecond) || quit
		furthest = max(furthest, m.active)
		if v := m.View(); !m.quitting {
			if err := fits(v, width, height); err != nil {
				t.Fatalf("seed %d, step %d (%v), screen %d: %v\n%s", seed, step, msg, m.active, err, v)
			}
		}
		if quit {
			m, results = monkeyModel(t, rnd) // a quit ends this wizard: start another
			m.Update(tea.WindowSizeMsg{Width: width, Height: height})
		}
	}
	// Stop pressing keys: whatever runs must end and be counted as ended
	// (the spinner never goes quiet: wait for the count, not for silence).
	for deadline := time.Now().Add(2 * time.Second); m.st.inflight != 0 && time.Now().Before(deadline); {
		settle(m, results, 10*time.Millisecond)
	}
	if m.st.inflight != 0 {
		t.Fatalf("seed %d: busy with %d commands counted as running, none left to answer (screen %d)", seed, m.st.inflight, m.active)
	}
}

// monkeyModel is a wizard on the fake backend, driven without a
// terminal: commands run in goroutines and their results come back on
// results. Every other one starts with the choices made and on a random
// screen up to the review, so that the monkey also reaches publishing.
func monkeyModel(t *testing.T, rnd *rand.Rand) (*Model, chan tea.Msg) {
	out := t.TempDir()
	cfg := Config{GUNs: []string{testGUN}, Server: "https://notary.example.com", OutDir: out,
		Signers: []SignerFile{{Name: "signpath", Path: "testdata/certs/signpath.crt"}},
		Now:     func() time.Time { return fakeDate }}
	b := newFakeBackend()
	maintain := rnd.Intn(3) == 0
	if maintain {
		// The maintenance path, on a repository set up before.
		maintained(filepath.Join("testdata", "certs", "signpath-renewed.crt"))(&cfg, b)
	}
	m := New(cfg, b)
	results := make(chan tea.Msg, 1024)
	run(m.Init(), results)
	if maintain && rnd.Intn(2) == 0 {
		g, _ := trust.ParseGUN(testGUN)
		st := m.st
		st.guns, st.targetsPass = []trust.GUN{g}, testPass
		in := maintainedInspection(testGUN)
		st.mnt.inspections, st.mnt.checks, st.mnt.readAt = []*trust.Inspection{in}, []flows.CheckResult{flows.Check(in, fakeDate, checkWithin)}, fakeDate
		st.mnt.kind = []maintKind{mRotateTargets, mRotateTimestamp, mRemoveSigner}[rnd.Intn(3)]
		st.mnt.signer = "signpath"
		st.root = rootChoice{token: b.tokens[0], slot: "9c", key: trust.FileRootKey(""), closer: closerFunc(func() error { return nil })}
		run(m.show(screenID(rnd.Intn(int(mntReview)+1))), results)
		return m, results
	}
	if !maintain && rnd.Intn(2) == 0 {
		cert, err := trust.LoadCertificate("testdata/certs/signpath.crt", fakeDate)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := trust.ParseGUN(testGUN)
		st := m.st
		st.guns, st.targetsPass = []trust.GUN{g}, testPass
		st.root = rootChoice{fileKey: true, filePass: testPass, key: trust.FileRootKey("")}
		st.signers, st.signersLoaded = []flows.Signer{{Name: "signpath", Cert: cert}}, true
		m.screens[scrDelegations].(*delegations).loaded = true
		run(m.show(screenID(rnd.Intn(int(scrReview)+1))), results)
	}
	return m, results
}

// deliver hands msg to the model and runs the command it returns; it
// says whether the wizard quit.
func deliver(m *Model, msg tea.Msg, results chan tea.Msg) bool {
	_, cmd := m.Update(msg)
	return run(cmd, results)
}

// run executes a command as Bubble Tea would: batches in parallel,
// anything else in a goroutine. A quit is reported, not run.
func run(cmd tea.Cmd, results chan tea.Msg) bool {
	if cmd == nil {
		return false
	}
	go func() {
		if msg := cmd(); msg != nil {
			results <- msg
		}
	}()
	return false
}

// settle feeds results back to the model until none comes for quiet.
func settle(m *Model, results chan tea.Msg, quiet time.Duration) (quit bool) {
	for {
		select {
		case msg := <-results:
			switch msg := msg.(type) {
			case tea.QuitMsg:
				quit = true
			case tea.BatchMsg:
				for _, c := range msg {
					run(c, results)
				}
			default:
				deliver(m, msg, results)
			}
		case <-time.After(quiet):
			return quit
		}
	}
}

// fits says why a view does not fit a terminal of width x height.
func fits(v string, width, height int) error {
	lines := strings.Split(v, "\n")
	if len(lines) > height {
		return fmt.Errorf("%d lines on a %d-line terminal", len(lines), height)
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > width {
			return fmt.Errorf("a line of %d columns on a %d-column terminal: %q", w, width, l)
		}
	}
	return nil
}
