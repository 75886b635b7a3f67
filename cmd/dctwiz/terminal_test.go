package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tmuxTerm runs the dctwiz binary in a real terminal (tmux), so that the
// prompts run as an admin sees them.
type tmuxTerm struct {
	t       *testing.T
	session string
}

func startTerminal(t *testing.T, e env, args ...string) *tmuxTerm {
	t.Helper()
	return startTerminalSized(t, e, 120, 40, args...)
}

// startTerminalSized runs dctwiz in a tmux terminal of width x height;
// the shell prints EXIT=<code> when it ends.
func startTerminalSized(t *testing.T, e env, width, height int, args ...string) *tmuxTerm {
	t.Helper()
	return startTerminalShell(t, e, width, height, "", "; echo EXIT=$?; sleep 30", args...)
}

// startTerminalShell runs dctwiz in a tmux terminal, with shell text
// before and after the command.
func startTerminalShell(t *testing.T, e env, width, height int, before, after string, args ...string) *tmuxTerm {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is required for the terminal tests (scripts/install-deps.sh installs it): ", err)
	}
	session := fmt.Sprintf("dctwiz-test-%d-%d", os.Getpid(), gunSeq.Add(1))
	var cmdline strings.Builder
	cmdline.WriteString(before + "env -i PATH=" + os.Getenv("PATH") + " HOME=" + t.TempDir())
	for k, v := range e {
		cmdline.WriteString(" " + k + "=" + quoteAlways(v))
	}
	cmdline.WriteString(" " + dctwizBin)
	for _, a := range args {
		cmdline.WriteString(" " + quoteAlways(a))
	}
	cmdline.WriteString(after)
	out, err := exec.Command("tmux", "new-session", "-d", "-s", session, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), cmdline.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	term := &tmuxTerm{t: t, session: session}
	t.Cleanup(func() { exec.Command("tmux", "kill-session", "-t", session).Run() })
	return term
}

// screenWithEscapes is the screen with its colours and attributes.
func (m *tmuxTerm) screenWithEscapes() string {
	out, _ := exec.Command("tmux", "capture-pane", "-p", "-e", "-t", m.session).Output()
	return string(out)
}

func (m *tmuxTerm) screen() string {
	out, _ := exec.Command("tmux", "capture-pane", "-p", "-t", m.session).Output()
	return string(out)
}

// waitFor waits until the screen shows text (bounded: 20 s).
func (m *tmuxTerm) waitFor(text string) string {
	m.t.Helper()
	return m.waitForCount(text, 1)
}

// waitForCount waits until the screen shows text n times.
func (m *tmuxTerm) waitForCount(text string, n int) string {
	m.t.Helper()
	return m.waitWithin(text, n, 20*time.Second)
}

// waitWithin waits until the screen shows text n times, for at most limit.
func (m *tmuxTerm) waitWithin(text string, n int, limit time.Duration) string {
	m.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		s := m.screen()
		if strings.Count(s, text) >= n {
			return s
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("the terminal never showed %q:\n%s", text, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// keys sends tmux key names (Enter, Tab, BSpace, C-c) or literal text.
func (m *tmuxTerm) keys(keys ...string) {
	m.t.Helper()
	if out, err := exec.Command("tmux", append([]string{"send-keys", "-t", m.session}, keys...)...).CombinedOutput(); err != nil {
		m.t.Fatalf("send-keys: %v\n%s", err, out)
	}
}

// text types s literally.
func (m *tmuxTerm) text(s string) { m.keys("-l", s) }

func (m *tmuxTerm) typeLine(s string) {
	m.t.Helper()
	if out, err := exec.Command("tmux", "send-keys", "-t", m.session, "-l", s).CombinedOutput(); err != nil {
		m.t.Fatalf("send-keys: %v\n%s", err, out)
	}
	exec.Command("tmux", "send-keys", "-t", m.session, "Enter").Run()
}

// TestPromptsOnATerminal: without passphrase variables, dctwiz asks on the
// terminal, without echo, twice for new keys; a destructive step asks the
// admin to type the GUN.
func TestPromptsOnATerminal(t *testing.T) {
	needBed(t)
	gun := newGUN()
	e := newEnv(t).without("NOTARY_ROOT_PASSPHRASE", "NOTARY_TARGETS_PASSPHRASE")
	const rootSecret, targetsSecret = "terminal-root-secret", "terminal-targets-secret"

	// The engine asks for each passphrase when it first needs it: the new
	// targets key's first (checked before any key is made), then the root's.
	term := startTerminal(t, e, append([]string{"init", gun}, serverArgs()...)...)
	term.waitFor("Passphrase for the new targets (repository) key")
	term.typeLine(targetsSecret)
	term.waitFor("Repeat it")
	term.typeLine("a-different-one")
	term.waitFor("The two entries differ")
	term.typeLine(targetsSecret)
	term.typeLine(targetsSecret)
	term.waitFor("Passphrase for the new root key")
	term.typeLine("short")
	term.waitFor("Too short")
	term.typeLine(rootSecret)
	term.waitForCount("Repeat it", 3)
	term.typeLine(rootSecret)
	screen := term.waitFor("EXIT=")
	if !strings.Contains(screen, "EXIT=0") || !strings.Contains(screen, "Published "+gun) {
		t.Fatalf("init on a terminal:\n%s", screen)
	}
	for _, secret := range []string{rootSecret, targetsSecret, "a-different-one"} {
		if strings.Contains(screen, secret) {
			t.Errorf("the terminal shows the passphrase %q:\n%s", secret, screen)
		}
	}

	// The passphrases typed above unlock the keys for a later command.
	mustOK(t, dctwiz(e.with("NOTARY_TARGETS_PASSPHRASE", targetsSecret),
		append([]string{"delegation", "add", gun, "alice", writeCert(t, certSpecAlice)}, serverArgs()...)...))

	// Deleting the targets key: typing something else refuses, the GUN confirms.
	term = startTerminal(t, e, append([]string{"targets-key", "delete", gun}, serverArgs()...)...)
	term.waitFor("Type \"" + gun + "\" to confirm")
	term.typeLine("yes")
	if screen := term.waitFor("EXIT="); !strings.Contains(screen, "EXIT=2") || !strings.Contains(screen, "not confirmed") {
		t.Fatalf("a wrong confirmation:\n%s", screen)
	}
	term = startTerminal(t, e, append([]string{"targets-key", "delete", gun}, serverArgs()...)...)
	term.waitFor("to confirm")
	term.typeLine(gun)
	if screen := term.waitFor("EXIT="); !strings.Contains(screen, "EXIT=0") || !strings.Contains(screen, "verified gone") {
		t.Fatalf("a typed confirmation:\n%s", screen)
	}
}

// quoteAlways single-quotes every word of a test's terminal command line:
// the process checks tell dctwiz (dctwiz sandbox --dir ...) from the
// shell that started it ('dctwiz' 'sandbox' ...) by these quotes.
func quoteAlways(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestCtrlCAtAPrompt: ctrl+c at a passphrase prompt ends the command at
// once (it used to wait for Enter), nothing is made, and the terminal has
// its echo back.
func TestCtrlCAtAPrompt(t *testing.T) {
	needBed(t)
	e := newEnv(t).without("NOTARY_ROOT_PASSPHRASE", "NOTARY_TARGETS_PASSPHRASE")
	after := "; echo EXIT=$?; stty -a | tr ' ' '\\n' | grep -x -e echo -e -echo | sed 's/^/TTY=/'; sleep 30"
	term := startTerminalShell(t, e, 100, 30, "", after, append([]string{"init", newGUN()}, serverArgs()...)...)
	term.waitFor("Passphrase for the new targets (repository) key")
	term.keys("C-c")
	screen := term.waitWithin("TTY=", 1, 10*time.Second)
	if !strings.Contains(screen, "EXIT=1") || !strings.Contains(screen, "interrupted at a prompt") {
		t.Errorf("ctrl+c at the prompt:\n%s", screen)
	}
	if !strings.Contains(screen, "TTY=echo") {
		t.Errorf("the terminal's echo is not back:\n%s", screen)
	}
	if n := keyFileCount(t, filepath.Join(e["DOCKER_CONFIG"], "trust")); n != 0 {
		t.Errorf("%d key files after the interrupted prompt, want none", n)
	}
}
