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

// commandLine is a command's arguments as they are built.
type commandLine []string

// flag adds a flag with its value, when it has one.
func (c *commandLine) flag(name, value string) {
	if value != "" {
		*c = append(*c, name, value)
	}
}

// global adds the options every command takes: server, CA, trust dir.
func (c *commandLine) global(p ui.ResumePoint) {
	c.flag("--server", p.Server)
	c.flag("--tlscacert", p.CACert)
	c.flag("--trust-dir", p.TrustDir)
}

// rootKey adds the root key as chosen; a key still to be made also gets
// its settings.
func (c *commandLine) rootKey(r ui.RootKeyPoint) {
	switch {
	case r.File:
		c.flag("--root-key", "file")
	case r.Serial == 0:
		c.flag("--root-key", "yubikey")
	default:
		c.flag("--root-key", fmt.Sprintf("yubikey:%d", r.Serial))
		if r.Slot != "9c" {
			c.flag("--slot", r.Slot)
		}
		c.flag("--curve", strings.ToLower(strings.ReplaceAll(r.Curve, "-", "")))
		c.flag("--pin-policy", r.PINPolicy)
		c.flag("--touch-policy", r.TouchPolicy)
	}
}

// continueArgs are the command's arguments, unquoted.
func continueArgs(p ui.ResumePoint) (args []string, note string) {
	if p.OnlyDeletion {
		c := commandLine{"dctwiz", "targets-key", "delete", p.GUN}
		c.global(p)
		return c, ""
	}
	if m := p.Maintenance; m != nil {
		return maintenanceArgs(p, m)
	}
	c := commandLine{"dctwiz", "setup", p.GUN}
	c.global(p)
	c.rootKey(p.Root)
	c.flag("--backup-root-key", p.BackupRoot)
	c.flag("--attestation-ca", p.AttestationCA)
	for _, s := range p.Signers {
		c.flag("--delegation", s.Name+"="+s.Path)
	}
	c.flag("--root-cert-out", p.RootCertOut)
	if p.TestTag != "" {
		c = append(c, "--test-tag", p.TestTag)
	} else {
		note = "add --test-tag TAG to test-sign one of the registry's tags"
	}
	if len(p.Signers) > 0 {
		c = append(c, "--delete-targets-key")
	} else {
		note = "no signer chosen yet: add --delegation NAME=CERT, then --delete-targets-key"
	}
	return c, note
}

// maintenanceArgs continue a maintenance ceremony: the same command,
// which converges, or once it is published, a check as a consumer.
func maintenanceArgs(p ui.ResumePoint, m *ui.MaintenancePoint) (args []string, note string) {
	if m.Verify {
		c := commandLine{"dctwiz", "check", p.GUN}
		c.global(p)
		return c, "the change is published: this reads it as a consumer does and lists what expires"
	}
	c := append(commandLine{"dctwiz"}, strings.Fields(m.Ceremony)...)
	c = append(c, p.GUN)
	if strings.HasPrefix(m.Ceremony, "delegation ") {
		c = append(c, m.Signer)
		if m.Cert != "" {
			c = append(c, m.Cert)
		}
	}
	c.global(p)
	c.rootKey(p.Root)
	c.flag("--attestation-ca", p.AttestationCA)
	c.flag("--new-root-key", m.NewRootKey)
	c.flag("--add-backup-root-key", m.AddBackup)
	c.flag("--remove-root-key", m.RemoveRootKey)
	if m.DeleteTargetsKey {
		c = append(c, "--delete-targets-key")
	}
	return c, ""
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`)

// shellQuote quotes s for a POSIX shell, only when it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
