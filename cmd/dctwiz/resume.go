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
	// flag adds a flag with its value, when it has one.
	flag := func(name, value string) {
		if value != "" {
			args = append(args, name, value)
		}
	}
	global := func() {
		flag("--server", p.Server)
		flag("--tlscacert", p.CACert)
		flag("--trust-dir", p.TrustDir)
	}
	if p.OnlyDeletion {
		args = []string{"dctwiz", "targets-key", "delete", p.GUN}
		global()
		return args, ""
	}
	if m := p.Maintenance; m != nil {
		return maintenanceArgs(p, m)
	}
	args = []string{"dctwiz", "setup", p.GUN}
	global()
	switch r := p.Root; {
	case r.File:
		flag("--root-key", "file")
	case r.Serial == 0:
		flag("--root-key", "yubikey")
	default:
		flag("--root-key", fmt.Sprintf("yubikey:%d", r.Serial))
		flag("--slot", r.Slot)
		flag("--curve", strings.ToLower(strings.ReplaceAll(r.Curve, "-", "")))
		flag("--pin-policy", r.PINPolicy)
		flag("--touch-policy", r.TouchPolicy)
	}
	flag("--attestation-ca", p.AttestationCA)
	for _, s := range p.Signers {
		flag("--delegation", s.Name+"="+s.Path)
	}
	flag("--root-cert-out", p.RootCertOut)
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

// maintenanceArgs continue a maintenance ceremony: the same command,
// which converges, or once it is published, a check as a consumer.
func maintenanceArgs(p ui.ResumePoint, m *ui.MaintenancePoint) (args []string, note string) {
	flag := func(name, value string) {
		if value != "" {
			args = append(args, name, value)
		}
	}
	global := func() {
		flag("--server", p.Server)
		flag("--tlscacert", p.CACert)
		flag("--trust-dir", p.TrustDir)
	}
	if m.Verify {
		args = []string{"dctwiz", "check", p.GUN}
		global()
		return args, "the change is published: this reads it as a consumer does and lists what expires"
	}
	args = append([]string{"dctwiz"}, strings.Fields(m.Ceremony)...)
	args = append(args, p.GUN)
	if strings.HasPrefix(m.Ceremony, "delegation ") {
		args = append(args, m.Signer)
		if m.Cert != "" {
			args = append(args, m.Cert)
		}
	}
	global()
	switch r := p.Root; {
	case r.File:
		flag("--root-key", "file")
	case r.Serial == 0:
		flag("--root-key", "yubikey")
	default:
		flag("--root-key", fmt.Sprintf("yubikey:%d", r.Serial))
		if r.Slot != "9c" {
			flag("--slot", r.Slot)
		}
	}
	flag("--attestation-ca", p.AttestationCA)
	if m.DeleteTargetsKey {
		args = append(args, "--delete-targets-key")
	}
	return args, ""
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`)

// shellQuote quotes s for a POSIX shell, only when it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
