package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/internal/testbed"
)

// The commands the wizard prints when it is left early are complete: each
// parses with dctwiz's own command tree and, run as printed on the test
// bed, finishes the ceremony. Left before the Delegations screen, the
// command still carries the signer the wizard was started with; left on
// the test-signing screen, the tag that was highlighted.
func TestContinueCommandsFinishTheCeremony(t *testing.T) {
	needBed(t)
	for _, c := range []struct {
		name     string
		walk     func(term *tmuxTerm)
		testSign bool // the printed command test-signs a tag
	}{
		{"left on the targets key screen", func(term *tmuxTerm) {}, false},
		{"left on the test-signing screen", func(term *tmuxTerm) { term.walkToTestSigning("CN=alice") }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			gun := newGUN()
			repo := strings.TrimPrefix(gun, reg.Host+"/")
			img, err := testbed.RandomImage()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := reg.PushImage(context.Background(), img, repo, "1.0"); err != nil {
				t.Fatal(err)
			}
			trustDir, out := t.TempDir(), t.TempDir()
			cert := writeCert(t, certSpecAlice)
			e := newEnv(t)
			e["TERM"], e["NO_COLOR"] = "xterm-256color", "1"
			// Wide enough that the terminal wraps none of the printed lines.
			term := startTerminalSized(t, e, 250, 60, append([]string{"wizard", gun, "--delegation", "alice=" + cert,
				"--out-dir", out, "--trust-dir", trustDir}, serverArgs()...)...)
			term.walkToTargetsKey()
			c.walk(term)
			term.keys("C-c")
			term.waitFor("Quit the ceremony?")
			term.keys("y")
			screen := term.waitFor("EXIT=")
			if !strings.Contains(screen, "EXIT=3") {
				t.Fatalf("leaving the wizard early, want exit 3:\n%s", screen)
			}
			cmds := printedCommands(t, screen)
			if len(cmds) != 1 || cmds[0][1] != "setup" {
				t.Fatalf("continue commands %q:\n%s", cmds, screen)
			}
			args := cmds[0][1:]
			// It parses with dctwiz's own commands and flags.
			root := (&app{}).rootCmd()
			cmd, rest, err := root.Find(args)
			if err != nil || cmd.Name() != "setup" {
				t.Fatalf("%q does not name a dctwiz command: %v", args, err)
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Fatalf("%q does not parse: %v", args, err)
			}
			for _, want := range []string{"--delegation", "alice=" + cert, "--root-key", "file", "--delete-targets-key"} {
				if !contains(args, want) {
					t.Errorf("%q lacks %s", args, want)
				}
			}
			if c.testSign != contains(args, "--test-tag") {
				t.Errorf("%q: --test-tag given %v, want %v", args, contains(args, "--test-tag"), c.testSign)
			}

			// Run as printed, on a terminal: the deletion asks for the GUN.
			run := startTerminalSized(t, e, 250, 60, args...)
			run.waitWithin("to confirm", 1, time.Minute)
			run.typeLine(gun)
			s := run.waitWithin("EXIT=", 1, time.Minute)
			if !strings.Contains(s, "EXIT=0") {
				t.Fatalf("the printed command failed:\n%s", s)
			}
			if signed := strings.Contains(s, "test signature: 1.0 verified"); signed != c.testSign {
				t.Errorf("test-signed %v, want %v:\n%s", signed, c.testSign, s)
			}
			checkFinished(t, gun, trustDir)
		})
	}
}

// printedCommands reads the commands under "To continue headless from
// here:", joining lines broken with a trailing backslash and splitting
// them as a POSIX shell does (single quotes and backslashes: all that
// dctwiz's quoting uses).
func printedCommands(t *testing.T, screen string) [][]string {
	t.Helper()
	_, after, found := strings.Cut(screen, "To continue headless from here:\n")
	if !found {
		t.Fatalf("no continue commands:\n%s", screen)
	}
	joined := regexp.MustCompile(` \\\n\s+`).ReplaceAllString(after, " ")
	var cmds [][]string
	for _, line := range strings.Split(joined, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "dctwiz ") {
			if line == "" || strings.HasPrefix(line, "EXIT=") {
				break
			}
			continue // a # note
		}
		cmds = append(cmds, shellWords(t, line))
	}
	return cmds
}

func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted, escaped := false, false, false
	for _, r := range line {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped, inWord = false, true
		case quoted && r == '\'':
			quoted = false
		case quoted:
			cur.WriteRune(r)
		case r == '\\':
			escaped = true
		case r == '\'':
			quoted, inWord = true, true
		case r == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %q", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkFinished reads the repository as a consumer would: alice signs
// releases, no test signature is left, and the targets key is gone.
func checkFinished(t *testing.T, gun, trustDir string) {
	t.Helper()
	in := inspectAsConsumer(t, notary.URL, notary.CACert, gun)
	var names []string
	for _, s := range in.Signers {
		names = append(names, s.Name)
	}
	if !contains(names, "alice") || len(in.SignedTags) != 0 {
		t.Errorf("signers %v, signed tags %+v", names, in.SignedTags)
	}
	keys, _ := filepath.Glob(filepath.Join(trustDir, "private", "*.key"))
	for _, k := range keys {
		if b, _ := os.ReadFile(k); strings.Contains(string(b), "role: targets") {
			t.Errorf("the targets key is still in the trust dir: %s", k)
		}
	}
}
