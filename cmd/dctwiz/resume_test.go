package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/ui"
)

// The commands the wizard prints to continue a ceremony are built here
// from its resume points: they must survive the shell and parse with
// dctwiz's own command tree into the choices the wizard had.
func TestContinueCommandsParse(t *testing.T) {
	base := ui.ResumePoint{GUN: "registry.example.com/acme/app", Server: "https://notary.example.com:4443",
		CACert: "/home/admin/ca dir/ca.pem", TrustDir: "/home/admin/it's trust",
		Signers:     []ui.SignerFile{{Name: "signpath", Path: "/certs/sign path.crt"}, {Name: "ci", Path: "/certs/ci.crt"}},
		RootCertOut: "/out/root.crt", TestTag: "v1.0"}
	for _, tc := range []struct {
		name     string
		change   func(*ui.ResumePoint)
		command  string
		flags    map[string]string // flag -> value as cobra has it
		noteHas  string
		notFlags []string
	}{
		{"a file root key", func(p *ui.ResumePoint) { p.Root.File = true }, "setup",
			map[string]string{"root-key": "file", "test-tag": "v1.0", "delete-targets-key": "true", "tlscacert": base.CACert,
				"trust-dir": base.TrustDir, "delegation": "[signpath=/certs/sign path.crt,ci=/certs/ci.crt]"}, "", []string{"attestation-ca"}},
		{"a YubiKey key that exists", func(p *ui.ResumePoint) {
			p.Root = ui.RootKeyPoint{Serial: 12345678, Slot: "9a"}
			p.AttestationCA = "/sandbox/ca.pem"
		}, "setup", map[string]string{"root-key": "yubikey:12345678", "slot": "9a", "attestation-ca": "/sandbox/ca.pem"}, "", []string{"curve", "pin-policy", "touch-policy"}},
		{"a YubiKey key still to be made", func(p *ui.ResumePoint) {
			p.Root = ui.RootKeyPoint{Serial: 7, Slot: "9c", Curve: "P-384", PINPolicy: "always", TouchPolicy: "cached"}
		}, "setup", map[string]string{"root-key": "yubikey:7", "curve": "p384", "pin-policy": "always", "touch-policy": "cached"}, "", nil},
		{"no YubiKey chosen yet", func(p *ui.ResumePoint) {}, "setup", map[string]string{"root-key": "yubikey"}, "", nil},
		{"a backup YubiKey", func(p *ui.ResumePoint) {
			p.Root, p.BackupRoot = ui.RootKeyPoint{Serial: 12345678, Slot: "9c"}, "yubikey:12345679"
		}, "setup", map[string]string{"root-key": "yubikey:12345678", "backup-root-key": "yubikey:12345679"}, "", nil},
		{"no test tag yet", func(p *ui.ResumePoint) { p.TestTag = "" }, "setup", map[string]string{}, "--test-tag TAG", []string{"test-tag"}},
		{"no signer yet", func(p *ui.ResumePoint) { p.Signers = nil }, "setup", map[string]string{}, "--delegation NAME=CERT", []string{"delete-targets-key", "delegation"}},
		{"only the deletion left", func(p *ui.ResumePoint) { p.OnlyDeletion = true }, "delete",
			map[string]string{"server": base.Server, "trust-dir": base.TrustDir}, "", []string{"root-key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			tc.change(&p)
			c := continueCommand(p)
			line := strings.Join(c.Words, " ")
			args := shellWords(t, line)
			want, _ := continueArgs(p)
			if !slices.Equal(args, want) {
				t.Fatalf("through the shell %q\nbecame %q\nwant %q", line, args, want)
			}
			if args[0] != "dctwiz" {
				t.Fatalf("%q does not start with dctwiz", args)
			}
			cmd, rest, err := (&app{}).rootCmd().Find(args[1:])
			if err != nil || cmd.Name() != tc.command {
				t.Fatalf("%q: command %v, %v; want %s", args, cmd.Name(), err, tc.command)
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Fatalf("%q does not parse: %v", args, err)
			}
			if pos := cmd.Flags().Args(); len(pos) != 1 || pos[0] != p.GUN {
				t.Errorf("arguments %q, want the GUN alone", pos)
			}
			for name, value := range tc.flags {
				f := cmd.Flags().Lookup(name)
				if f == nil {
					t.Errorf("no flag --%s", name)
					continue
				}
				if got := f.Value.String(); got != value {
					t.Errorf("--%s = %s, want %s", name, got, value)
				}
			}
			for _, name := range tc.notFlags {
				if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
					t.Errorf("--%s given: %s", name, f.Value)
				}
			}
			if !strings.Contains(c.Note, tc.noteHas) || (tc.noteHas == "") != (c.Note == "") {
				t.Errorf("note %q, want one with %q", c.Note, tc.noteHas)
			}
		})
	}
}

// A word that needs quoting is quoted once, and only then.
func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain/path.crt": "plain/path.crt",
		"with space":     "'with space'",
		"it's":           `'it'\''s'`,
		"$HOME":          "'$HOME'",
		"":               "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
		if got := shellWords(t, fmt.Sprintf("x %s", shellQuote(in))); in != "" && (len(got) != 2 || got[1] != in) {
			t.Errorf("%q through the shell: %q", in, got)
		}
	}
}

// The wizard's maintenance ceremonies continue with their own commands,
// which parse into the same choices.
func TestMaintenanceContinueCommandsParse(t *testing.T) {
	base := ui.ResumePoint{GUN: "registry.example.com/acme/app", Server: "https://notary.example.com:4443",
		TrustDir: "/home/admin/trust", Root: ui.RootKeyPoint{Serial: 5000001, Slot: "9c"}, AttestationCA: "/sandbox/ca.pem"}
	for _, tc := range []struct {
		name    string
		point   ui.MaintenancePoint
		command string
		pos     []string
		flags   map[string]string
	}{
		{"a signer renewed", ui.MaintenancePoint{Ceremony: "delegation replace", Signer: "signpath", Cert: "/certs/renewed one.crt", DeleteTargetsKey: true},
			"replace", []string{base.GUN, "signpath", "/certs/renewed one.crt"},
			map[string]string{"root-key": "yubikey:5000001", "attestation-ca": "/sandbox/ca.pem", "delete-targets-key": "true", "slot": "9c"}},
		{"a signer removed", ui.MaintenancePoint{Ceremony: "delegation remove", Signer: "old"},
			"remove", []string{base.GUN, "old"}, map[string]string{"root-key": "yubikey:5000001", "delete-targets-key": "false"}},
		{"a targets rotation", ui.MaintenancePoint{Ceremony: "rotate targets", DeleteTargetsKey: true},
			"targets", []string{base.GUN}, map[string]string{"root-key": "yubikey:5000001", "delete-targets-key": "true"}},
		{"a timestamp rotation", ui.MaintenancePoint{Ceremony: "rotate timestamp"},
			"timestamp", []string{base.GUN}, map[string]string{"root-key": "yubikey:5000001", "server": base.Server}},
		{"a renewal", ui.MaintenancePoint{Ceremony: "renew", DeleteTargetsKey: true},
			"renew", []string{base.GUN}, map[string]string{"delete-targets-key": "true", "trust-dir": base.TrustDir}},
		{"published, not verified yet", ui.MaintenancePoint{Ceremony: "rotate targets", Verify: true},
			"check", []string{base.GUN}, map[string]string{"server": base.Server}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			p.Maintenance = &tc.point
			c := continueCommand(p)
			args := shellWords(t, strings.Join(c.Words, " "))
			cmd, rest, err := (&app{}).rootCmd().Find(args[1:])
			if err != nil || cmd.Name() != tc.command {
				t.Fatalf("%q: command %v, %v; want %s", args, cmd.Name(), err, tc.command)
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Fatalf("%q does not parse: %v", args, err)
			}
			if pos := cmd.Flags().Args(); !slices.Equal(pos, tc.pos) {
				t.Errorf("arguments %q, want %q", pos, tc.pos)
			}
			for name, value := range tc.flags {
				if f := cmd.Flags().Lookup(name); f == nil || f.Value.String() != value {
					t.Errorf("--%s = %v, want %s", name, f, value)
				}
			}
		})
	}
}
