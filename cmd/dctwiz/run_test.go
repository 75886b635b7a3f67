package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// These tests call the commands' run functions with options structs and
// a scripted prompter: no cobra, no terminal, no server.

// scripted answers prompts from a list, and keeps the prompts.
type scripted struct {
	answers []string
	prompts []string
}

func (s *scripted) next(prompt string) (string, error) {
	s.prompts = append(s.prompts, prompt)
	if len(s.answers) == 0 {
		return "", errors.New("the script has no more answers")
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a, nil
}

func (s *scripted) Secret(prompt string) (string, error) { return s.next(prompt) }
func (s *scripted) Line(prompt string) (string, error)   { return s.next(prompt) }

// testApp is an app with no environment, and a prompter when answers are given.
func testApp(env map[string]string, answers ...string) (*app, *scripted, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
	var p *scripted
	if answers != nil {
		p = &scripted{answers: answers}
		a.prompt = p
	}
	return a, p, &stderr
}

func TestANewPassphraseIsAskedTwiceAndLongEnough(t *testing.T) {
	a, p, stderr := testApp(nil, "short", "long enough 1", "not the same", "long enough 1", "long enough 1")
	got, err := a.passphraseFor("targets", true)
	if err != nil || got != "long enough 1" {
		t.Fatalf("passphraseFor = %q, %v", got, err)
	}
	if len(p.prompts) != 5 || !strings.Contains(p.prompts[0], "new targets (repository) key (8+ characters)") {
		t.Errorf("prompts %q", p.prompts)
	}
	for _, want := range []string{"Too short", "differ"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// An existing key's passphrase is asked once; the environment wins.
	a, p, _ = testApp(map[string]string{"NOTARY_ROOT_PASSPHRASE": "from the environment"}, "typed")
	if got, _ := a.passphraseFor("root", false); got != "from the environment" || len(p.prompts) != 0 {
		t.Errorf("root passphrase %q after %d prompts, want the environment's", got, len(p.prompts))
	}
	if got, _ := a.passphraseFor("delegation", false); got != "typed" || len(p.prompts) != 1 {
		t.Errorf("delegation passphrase %q after %d prompts", got, len(p.prompts))
	}
}

// With no terminal, a missing secret is an error that names its variable.
func TestNoPrompterNamesTheVariable(t *testing.T) {
	a, _, _ := testApp(nil)
	_, err := a.passphraseFor("targets", true)
	if !errors.Is(err, trust.ErrPassphraseRequired) || !strings.Contains(fixLine(err), "NOTARY_TARGETS_PASSPHRASE") {
		t.Errorf("passphraseFor: %v (fix %q)", err, fixLine(err))
	}
	if _, _, err := a.yubiKeyPIN(0); !errors.Is(err, trust.ErrPassphraseRequired) || !strings.Contains(fixLine(err), "DCTWIZ_YUBIKEY_PIN") {
		t.Errorf("yubiKeyPIN: %v", err)
	}
}

// A destructive step is confirmed by typing what the prompt names, by
// --yes, or not at all; a wrong answer does nothing.
func TestConfirmation(t *testing.T) {
	const gun = "registry.example.com/acme/app"
	for _, tc := range []struct {
		name    string
		answers []string
		yes     bool
		ok      bool
	}{
		{"typed", []string{gun}, false, true},
		{"typed with spaces around", []string{"  " + gun + " "}, false, true},
		{"typed wrong", []string{"registry.example.com/acme/ap"}, false, false},
		{"--yes", nil, true, true},
		{"no terminal", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, p, _ := testApp(nil, tc.answers...)
			if tc.answers == nil {
				a.prompt = nil
			}
			a.yes = tc.yes
			err := a.confirm("Deleting the targets private key of "+gun, gun)
			if (err == nil) != tc.ok {
				t.Fatalf("confirm: %v, want ok=%v", err, tc.ok)
			}
			var u usageError
			if err != nil && !errors.As(err, &u) {
				t.Errorf("a refusal is a usage error (exit 2): %v", err)
			}
			if p != nil && len(tc.answers) > 0 && !strings.Contains(p.prompts[0], `Type "`+gun+`" to confirm`) {
				t.Errorf("prompt %q", p.prompts)
			}
		})
	}
}

// setup checks what it can before anything runs, from its options alone.
func TestSetupPlanChecksItsOptions(t *testing.T) {
	cert := filepath.Join("..", "..", "ui", "testdata", "certs", "signpath.crt")
	if _, err := os.Stat(cert); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o600)
	base := setupOptions{GUNs: []string{"registry.example.com/acme/app"}, Signers: []string{"signpath=" + cert}, TestTag: "1.0"}
	setupPlan := func(a *app, o setupOptions) (flows.Setup, error) {
		guns, err := parseGUNArgs(o.GUNs)
		if err != nil {
			return flows.Setup{}, err
		}
		return a.setupPlan(o, guns)
	}
	for _, tc := range []struct {
		name   string
		change func(*setupOptions)
		want   string
	}{
		{"a bad GUN", func(o *setupOptions) { o.GUNs = []string{"Not A GUN"} }, "GUN"},
		{"several GUNs and a root certificate file, not a directory", func(o *setupOptions) {
			o.GUNs, o.RootCertOut = append(o.GUNs, "registry.example.com/acme/api"), notDir
		}, "not a directory"},
		{"a malformed delegation", func(o *setupOptions) { o.Signers = []string{"signpath"} }, "give NAME=CERT"},
		{"a signer named twice", func(o *setupOptions) { o.Signers = append(o.Signers, o.Signers[0]) }, "signpath"},
		{"a missing certificate", func(o *setupOptions) { o.Signers = []string{"x=/nonexistent.crt"} }, "/nonexistent.crt"},
		{"a bad tag", func(o *setupOptions) { o.TestTag = "bad tag" }, "tag"},
		{"a record dir that is a file", func(o *setupOptions) { o.RecordDir = notDir }, "not a directory"},
		{"a deletion nobody confirms", func(o *setupOptions) { o.DeleteKey = true }, "needs confirmation: pass --yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _, _ := testApp(nil)
			opts := base
			tc.change(&opts)
			_, err := setupPlan(a, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("setupPlan: %v, want an error with %q", err, tc.want)
			}
		})
	}
	a, _, _ := testApp(nil, base.GUNs[0])
	opts := base
	opts.DeleteKey = true
	plan, err := setupPlan(a, opts)
	if err != nil || !plan.DeleteTargetsKey || len(plan.Signers) != 1 || plan.Signers[0].Name != "signpath" {
		t.Fatalf("setupPlan with the GUN typed to confirm: %+v, %v", plan, err)
	}
}

// A run function needs no cobra: the same command, called directly,
// fails on a bad argument before it touches the network.
func TestRunFunctionsRefuseBadArgumentsFirst(t *testing.T) {
	a, _, _ := testApp(nil)
	ctx := context.Background()
	for name, err := range map[string]error{
		"init":            a.runInit(ctx, initOptions{GUN: "Bad GUN"}),
		"test-sign":       a.runTestSign(ctx, testSignOptions{Ref: "registry.example.com/acme/app"}),
		"delegation add":  a.runDelegationAdd(ctx, "registry.example.com/acme/app", "Bad Name", "x.crt"),
		"targets-key":     a.runDeleteTargetsKeys(ctx, []string{"registry.example.com/acme/app"}),
		"root-cert":       a.runRootCertExports(ctx, []string{"registry.example.com/acme/app", "Bad GUN"}, ""),
		"inspect":         a.runInspect(ctx, []string{"Bad GUN"}),
		"delegation list": a.runDelegationList(ctx, ""),
		"rotate targets":  a.runRotate(ctx, rotateOptions{Role: "targets", GUNs: []string{"registry.example.com/acme/app", "Bad GUN"}}),
		"rotate, a malformed root key": a.runRotate(ctx, rotateOptions{Role: "targets", GUNs: []string{"registry.example.com/acme/app"},
			RootKey: rootKeyFlags{source: "yubikey:abc", slot: "9c", pinPolicy: "once", touchPolicy: "always", curve: "p256"}}),
		// Publishing a rotation needs --yes or a terminal: refused before anything runs.
		"rotate targets unconfirmed": a.runRotate(ctx, rotateOptions{Role: "targets", GUNs: []string{"registry.example.com/acme/app"}}),
	} {
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("%s: %v, want a usage error", name, err)
		}
	}
}

// The plan of a signer's removal or replacement warns when its key alone
// signed the release tags: consumers lose them until someone signs again.
func TestReleasesNotice(t *testing.T) {
	for _, tc := range []struct {
		signedBy, leaving []string
		tags              int
		want              string
	}{
		{[]string{"a"}, []string{"a"}, 3, "WARNING: the 3 tag(s)"},
		{[]string{"a", "b"}, []string{"a"}, 3, "another signer's key"},
		{[]string{"a"}, []string{"a"}, 0, "holds no tag"},
		{nil, []string{"a"}, 0, "holds no tag"},
	} {
		if got := releasesNotice(tc.signedBy, tc.tags, tc.leaving); !strings.Contains(got, tc.want) {
			t.Errorf("releasesNotice(%v, %d, %v) = %q, want %q", tc.signedBy, tc.tags, tc.leaving, got, tc.want)
		}
	}
}

// A typo in a subcommand fails (exit 2); a group alone shows its help.
func TestUnknownSubcommands(t *testing.T) {
	for _, args := range [][]string{{"rotate", "roots", "registry.example.com/acme/app"}, {"delegation", "frob"}, {"yubikey", "lst"}, {"targets-key", "remove", "x"}} {
		if r := dctwiz(env{}, args...); r.code != 2 || !strings.Contains(r.stderr, "unknown command") {
			t.Errorf("dctwiz %v:\n%s", args, r)
		}
	}
	if r := dctwiz(env{}, "rotate"); r.code != 0 || !strings.Contains(r.stdout, "Available Commands") {
		t.Errorf("dctwiz rotate:\n%s", r)
	}
}
