package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/dctwiz/dctwiz/ui"
)

// continueCommand is the headless command that continues a ceremony from
// where the wizard stopped, shell-quoted, with a note on what it leaves
// out. The wizard gives the resume point as data; the command line is
// this package's to know.
func continueCommand(p ui.ResumePoint) ui.ContinueCommand {
	args, note := continueArgs(p)
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = shellQuote(a)
	}
	return ui.ContinueCommand{Words: words, Note: note}
}

// continueArgs are the command's arguments, unquoted.
func continueArgs(p ui.ResumePoint) (args []string, note string) {
	global := func() []string {
		var a []string
		if p.Server != "" {
			a = append(a, "--server", p.Server)
		}
		if p.CACert != "" {
			a = append(a, "--tlscacert", p.CACert)
		}
		if p.TrustDir != "" {
			a = append(a, "--trust-dir", p.TrustDir)
		}
		return a
	}
	if p.OnlyDeletion {
		return append([]string{"dctwiz", "targets-key", "delete", p.GUN}, global()...), ""
	}
	args = append([]string{"dctwiz", "setup", p.GUN}, global()...)
	switch r := p.Root; {
	case r.File:
		args = append(args, "--root-key", "file")
	case r.Serial == 0:
		args = append(args, "--root-key", "yubikey")
	default:
		args = append(args, "--root-key", fmt.Sprintf("yubikey:%d", r.Serial))
		if r.Slot != "" {
			args = append(args, "--slot", r.Slot)
		}
		if r.Curve != "" {
			args = append(args, "--curve", strings.ToLower(strings.ReplaceAll(r.Curve, "-", "")))
		}
		if r.PINPolicy != "" {
			args = append(args, "--pin-policy", r.PINPolicy)
		}
		if r.TouchPolicy != "" {
			args = append(args, "--touch-policy", r.TouchPolicy)
		}
	}
	if p.AttestationCA != "" {
		args = append(args, "--attestation-ca", p.AttestationCA)
	}
	for _, s := range p.Signers {
		args = append(args, "--delegation", s.Name+"="+s.Path)
	}
	if p.RootCertOut != "" {
		args = append(args, "--root-cert-out", p.RootCertOut)
	}
	if p.TestTag != "" {
		args = append(args, "--test-tag", p.TestTag)
	} else {
		note = "add --test-tag TAG to test-sign one of the registry's tags"
	}
	if len(p.Signers) > 0 {
		args = append(args, "--delete-targets-key")
	} else {
		note = "no signer chosen yet: add --delegation NAME=CERT, then --delete-targets-key"
	}
	return args, note
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`)

// shellQuote quotes s for a POSIX shell, only when it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
