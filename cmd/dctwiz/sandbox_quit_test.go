package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/internal/testbed"
)

// sandboxState is a place in the sandbox's wizard to leave from, and the
// keys that get there from the welcome screen.
type sandboxState struct {
	name   string
	typing bool // a text field has the focus: q is a letter there
	walk   func(term *tmuxTerm, gun string)
}

// sandboxStates are the screens and sub-states of the ceremony, in order;
// each walks on from the one before.
var sandboxStates = []sandboxState{
	{"welcome", false, func(*tmuxTerm, string) {}},
	{"repository", true, func(term *tmuxTerm, _ string) { term.keys("Enter"); term.waitFor("step 2 of 11") }},
	{"yubikey list", false, func(term *tmuxTerm, _ string) {
		term.keys("Enter")
		term.waitFor("factory PIN/PUK/management key: to prepare")
	}},
	{"yubikey preparation", true, func(term *tmuxTerm, _ string) { term.keys("Enter"); term.waitFor("New PIN") }},
	{"yubikey settings", false, func(term *tmuxTerm, _ string) {
		for _, s := range []string{"24681357", "24681357", "11223344", "11223344"} {
			term.text(s)
			term.keys("Tab")
		}
		term.keys("Enter")
		term.waitFor("Touch policy")
	}},
	{"targets key", true, func(term *tmuxTerm, _ string) {
		term.keys("Enter")
		term.waitFor("Attestation verified")
		term.keys("Enter")
		term.waitFor("step 4 of 11")
	}},
	{"delegations", false, func(term *tmuxTerm, _ string) {
		for range 2 {
			term.text(targetsPass)
			term.keys("Enter")
		}
		term.waitFor("CN=signpath")
	}},
	{"review", false, func(term *tmuxTerm, _ string) { term.keys("Enter"); term.waitFor("└── timestamp") }},
	{"publish", false, func(term *tmuxTerm, _ string) { term.keys("p"); term.waitFor("Published.") }},
	{"test signing", false, func(term *tmuxTerm, _ string) {
		term.keys("Enter")
		term.waitFor("What to do with it")
		term.keys("Enter")
		term.waitFor("› 1.0")
	}},
	{"delete targets key", true, func(term *tmuxTerm, _ string) {
		term.keys("Enter")
		term.waitFor("test signature removed again")
		term.keys("Enter")
		term.waitFor("To confirm")
	}},
	{"summary", false, func(term *tmuxTerm, gun string) {
		term.text(gun)
		term.keys("Enter")
		term.waitFor("it is gone")
		term.keys("Enter")
		term.waitFor("Ceremony record (and its .json") // written: the ceremony is complete
	}},
}

// TestSandboxQuitTable leaves `dctwiz sandbox`, in a real 80x24 terminal,
// from every screen and sub-state of the ceremony by every way there is:
// q then y, ctrl+c then y, SIGTERM, and the terminal closed (SIGHUP). Each
// must end within 5 s with the documented exit status (3: stopped before
// the end; 0 on the summary, where the ceremony is complete), and leave no
// process and no sandbox directory. One sandbox at a time: two would see
// each other's virtual cards through the one pcscd, as no admin's does.
func TestSandboxQuitTable(t *testing.T) {
	needBed(t)
	if os.Geteuid() != 0 {
		t.Fatal("the sandbox's virtual YubiKey needs pcscd, which only root can start: run make test as root")
	}
	if err := testbed.EnsurePCSCD(); err != nil { // started once, here: the helpers leave it alone
		t.Fatal(err)
	}
	methods := []string{"q then y", "ctrl+c then y", "SIGTERM", "terminal closed"}
	type job struct {
		upTo   int
		method string
	}
	var jobs []job
	for i, s := range sandboxStates {
		for _, m := range methods {
			if m == "q then y" && s.typing {
				continue // q is a letter in a text field (TestQIsALetterInTextFields in ui)
			}
			jobs = append(jobs, job{i, m})
		}
	}
	for _, j := range jobs {
		t.Run(sandboxStates[j.upTo].name+"/"+j.method, func(t *testing.T) {
			quitSandboxAt(t, j.upTo, j.method)
		})
	}
}

// quitSandboxAt runs the sandbox, walks to state upTo, leaves by method,
// and checks how it ended and what it left.
func quitSandboxAt(t *testing.T, upTo int, method string) {
	dir := filepath.Join(t.TempDir(), "sandbox")
	exitFile := filepath.Join(t.TempDir(), "exit")
	e := sandboxEnv(t)
	// The shell ignores the hangup so that it outlives a closed terminal
	// long enough to write dctwiz's exit status (dctwiz handles SIGHUP itself).
	term := startTerminalShell(t, e, 80, 24, "trap '' HUP; ", "; echo $? > "+exitFile+"; sleep 30", "sandbox", "--dir", dir)
	term.waitWithin("Trust dir writable", 1, 3*time.Minute)
	env, err := readEnvFile(filepath.Join(dir, "sandbox.env"))
	if err != nil {
		t.Fatal(err)
	}
	if env["YUBIKEY_SERIAL"] == "" {
		t.Fatalf("the sandbox has no virtual YubiKey: %s", env["YUBIKEY_PROBLEM"])
	}
	gun := env["REGISTRY_HOST"] + "/acme/app"
	for i := 0; i <= upTo; i++ {
		sandboxStates[i].walk(term, gun)
	}
	pid := sandboxPID(t, dir)
	start := time.Now()
	switch method {
	case "q then y", "ctrl+c then y":
		term.keys(map[string]string{"q then y": "q", "ctrl+c then y": "C-c"}[method])
		if sandboxStates[upTo].name != "summary" { // the ceremony is done there: no question
			term.waitFor("Quit the ceremony?")
			term.keys("y")
		}
	case "SIGTERM":
		syscall.Kill(pid, syscall.SIGTERM)
	case "terminal closed":
		exec.Command("tmux", "kill-session", "-t", term.session).Run()
	}
	want := exitStopped
	if sandboxStates[upTo].name == "summary" {
		want = exitOK // the ceremony is complete there
	}
	code := waitExitFile(t, exitFile, 5*time.Second)
	if code != want {
		t.Errorf("exit status %d, want %d", code, want)
	}
	t.Logf("ended %s after the %s", time.Since(start).Round(10*time.Millisecond), method)
	if screen := term.screen(); strings.Contains(screen, "the sandbox helper ended badly") {
		// The helper must stop by itself, not die (dctwiz would still clean
		// up after it, checked below).
		t.Errorf("the helper did not stop cleanly:\n%s", screen)
	}
	checkSandboxGone(t, dir, 5*time.Second, term.screen)
}

// waitExitFile waits for the shell to write dctwiz's exit status.
func waitExitFile(t *testing.T, path string, limit time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			code, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return code
		}
		if time.Now().After(deadline) {
			t.Fatalf("dctwiz did not end within %s", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sandboxPID is the process of `dctwiz sandbox --dir dir`.
func sandboxPID(t *testing.T, dir string) int {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", "-x", ".*dctwiz sandbox --dir "+regexp.QuoteMeta(dir)).Output()
	fields := strings.Fields(string(out))
	if len(fields) != 1 {
		t.Fatalf("dctwiz sandbox processes: %q", out)
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// checkSandboxGone waits until no process of the sandbox in dir runs and
// the directory is gone.
func checkSandboxGone(t *testing.T, dir string, limit time.Duration, screens ...func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		// dctwiz, its helper, and the helper's notary server (not the
		// terminal's shell, whose command line names dir too).
		procs, _ := exec.Command("pgrep", "-a", "-f", "(dctwiz sandbox|dctwiz-testbed|notary-server).*"+regexp.QuoteMeta(dir)).Output()
		_, statErr := os.Stat(dir)
		if len(procs) == 0 && os.IsNotExist(statErr) {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "sandbox.log"))
			// Who is left, with parents and ages: an orphan has parent 1.
			ps, _ := exec.Command("ps", "-eo", "pid,ppid,pgid,etime,args").Output()
			var who []string
			for _, line := range strings.Split(string(ps), "\n") {
				if strings.Contains(line, dir) || strings.Contains(line, "dctwiz-testbed") || strings.Contains(line, "notary-server") {
					who = append(who, strings.TrimSpace(line))
				}
			}
			t.Logf("processes now:\n%s", strings.Join(who, "\n"))
			for _, screen := range screens {
				t.Logf("the terminal:\n%s", screen())
			}
			var left []string
			filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { left = append(left, p); return nil })
			t.Fatalf("after %s: processes %q, left: %q; the helper's log:\n%s", limit, procs, left, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// If dctwiz itself is killed (SIGKILL: nothing of it runs any more), the
// helper notices through its lifeline and stops the servers and the
// virtual YubiKey, and removes the sandbox's directory.
func TestSandboxKilledLeavesNothing(t *testing.T) {
	needBed(t)
	dir := filepath.Join(t.TempDir(), "sandbox")
	term := startTerminalSized(t, sandboxEnv(t), 80, 24, "sandbox", "--dir", dir)
	term.waitWithin("Trust dir writable", 1, 3*time.Minute)
	term.keys("Enter")
	term.waitFor("step 2 of 11")
	if err := syscall.Kill(sandboxPID(t, dir), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	checkSandboxGone(t, dir, 10*time.Second)
	t.Logf("the sandbox was gone %s after dctwiz was killed", time.Since(start).Round(10*time.Millisecond))
}

var (
	buildTestbedOnce sync.Once
	buildTestbedErr  error
)

// sandboxEnv builds dctwiz-testbed beside the test's dctwiz and returns
// the environment a sandbox runs with in a scratch HOME: the Go and
// notary build caches this test run already filled, and NO_COLOR.
func sandboxEnv(t *testing.T) env {
	t.Helper()
	testbedBin := filepath.Join(filepath.Dir(dctwizBin), testbedName)
	buildTestbedOnce.Do(func() {
		if out, err := exec.Command("go", "build", "-o", testbedBin, "../../internal/testbed/cmd/dctwiz-testbed").CombinedOutput(); err != nil {
			buildTestbedErr = fmt.Errorf("building %s: %v\n%s", testbedName, err, out)
		}
	})
	if buildTestbedErr != nil {
		t.Fatal(buildTestbedErr)
	}
	e := env{"TERM": "xterm-256color", "NO_COLOR": "1"}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	e["XDG_CACHE_HOME"] = cache
	for _, v := range []string{"GOMODCACHE", "GOCACHE", "GOPATH", "GOFLAGS", "GOPROXY"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatal(err)
		}
		e[v] = strings.TrimSpace(string(out))
	}
	return e
}

// If the sandbox's helper dies (a crash: nothing of its own shutdown
// runs), dctwiz, when the wizard ends, says so with the helper's last log
// lines and still leaves no server running: it ends the helper's whole
// process group.
func TestSandboxHelperCrashLeavesNothing(t *testing.T) {
	needBed(t)
	dir := filepath.Join(t.TempDir(), "sandbox")
	term := startTerminalSized(t, sandboxEnv(t), 80, 24, "sandbox", "--dir", dir)
	term.waitWithin("Trust dir writable", 1, 3*time.Minute)
	out, _ := exec.Command("pgrep", "-f", "dctwiz-testbed .*"+regexp.QuoteMeta(dir)).Output()
	fields := strings.Fields(string(out))
	if len(fields) != 1 {
		t.Fatalf("helper processes: %q", out)
	}
	pid, _ := strconv.Atoi(fields[0])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	term.keys("C-c")
	term.waitFor("Quit the ceremony?")
	term.keys("y")
	screen := term.waitFor("EXIT=")
	if !strings.Contains(screen, "the sandbox helper ended badly") {
		t.Errorf("dctwiz did not say that the helper crashed:\n%s", screen)
	}
	checkSandboxGone(t, dir, 5*time.Second, term.screen)
}
