package ui

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/dctwiz/dctwiz/flows"
)

// status says exactly what state every repository is in: what was
// created, what was published, what is left.
func status(st *state, width int) string {
	var b strings.Builder
	if !st.published() {
		b.WriteString("Nothing is published, as far as dctwiz knows.")
		if st.root.key != nil && !st.root.fileKey {
			fmt.Fprintf(&b, " The root key is on %s; the next ceremony uses it again.", st.root.where())
		}
		b.WriteString("\n")
	}
	for _, c := range st.ceremonies {
		rep := c.Report()
		if !rep.Published() {
			// A publish that failed or was cut off may still have reached
			// the server: say what the engine said, not more.
			for _, s := range rep.Steps {
				switch s.Status {
				case flows.Failed:
					fmt.Fprintf(&b, "%s: %s failed: %s\n  the same step, run again, finds out and goes on\n", rep.GUN, flows.StepTitle(s.Step), plainText(s.Error))
				case flows.Started:
					fmt.Fprintf(&b, "%s: %s %s\n", rep.GUN, flows.StepTitle(s.Step), running(st))
				}
			}
			continue
		}
		fmt.Fprintf(&b, "%s is published:\n", rep.GUN)
		for _, s := range rep.Steps {
			line := flows.StepTitle(s.Step) + ": " + string(s.Status)
			if s.Note != "" {
				line += " (" + s.Note + ")"
			}
			if s.Error != "" {
				line += " (" + plainText(s.Error) + ")"
			}
			if s.Status == flows.Started {
				line = flows.StepTitle(s.Step) + ": " + running(st)
			}
			b.WriteString("  " + line + "\n")
		}
		if next, ok := c.Next(); ok {
			fmt.Fprintf(&b, "  not done yet: %s\n", next.Title)
			if next.Phase != flows.PhaseFinish {
				b.WriteString("  the targets private key is still in the trust dir\n")
			}
		} else if kept(rep) {
			b.WriteString("  the targets private key was kept in the trust dir; delete it later with:\n")
			b.WriteString(formatCommand(deleteKeyArgs(st, rep.GUN), width, "  ") + "\n")
		}
	}
	if cmds := continueCommands(st); len(cmds) > 0 {
		b.WriteString("\nTo continue headless from here:\n")
		for _, c := range cmds {
			b.WriteString(formatCommand(c.args, width, "  ") + "\n")
			if c.note != "" {
				b.WriteString("    # " + c.note + "\n")
			}
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// running describes a step that has started and not ended: still
// running, or cut off, when its outcome is not known.
func running(st *state) string {
	if st.ctx.Err() != nil {
		return "was cut off while it ran: whether it finished is not known;\n  the same step, run again, finds out and goes on"
	}
	return "is running"
}

// outcome is printed after the wizard ends.
func outcome(st *state, finished bool) string {
	var b strings.Builder
	if finished {
		b.WriteString("dctwiz: the setup ceremony is complete.\n")
		switch {
		case st.recordMD != "" && st.cfg.Sandbox:
			b.WriteString("The ceremony record goes with the sandbox; a real ceremony keeps it in the output dir.\n")
		case st.recordMD != "":
			fmt.Fprintf(&b, "Ceremony record: %s and %s\n", st.recordMD, st.recordJSON)
		}
		for _, c := range st.ceremonies {
			if rep := c.Report(); kept(rep) {
				fmt.Fprintf(&b, "The targets key of %s was kept in the trust dir; delete it later with:\n%s\n", rep.GUN, formatCommand(deleteKeyArgs(st, rep.GUN), MinWidth, "  "))
			}
		}
		if !st.root.fileKey {
			b.WriteString("Lock the YubiKey in the safe.\n")
		}
	} else {
		b.WriteString("dctwiz: the ceremony was stopped.\n" + status(st, MinWidth) + "\n")
	}
	if st.cfg.Sandbox {
		if !finished && len(continueCommands(st)) > 0 {
			b.WriteString("SANDBOX: its servers go with it; the commands above show what a real ceremony would run.\n")
		}
		b.WriteString("SANDBOX: nothing left this machine.\n")
	}
	return b.String()
}

// continueCommands are the headless commands that finish each
// repository's ceremony from where it stopped, complete and shell-quoted.
// Every step up to the test signature converges, so setup runs again
// until then (skipping what is done); after it only the deletion is left.
func continueCommands(st *state) []resume {
	if len(st.guns) == 0 {
		return nil
	}
	var out []resume
	for i, g := range st.guns {
		finishing := false
		if i < len(st.ceremonies) {
			next, ok := st.ceremonies[i].Next()
			if !ok {
				continue
			}
			finishing = next.Phase == flows.PhaseFinish
		}
		if finishing {
			out = append(out, resume{args: deleteKeyArgs(st, g.String())})
			continue
		}
		args, note := setupArgs(st, g.String())
		out = append(out, resume{args, note})
	}
	return out
}

// resume is a command that continues the ceremony, and what it leaves out.
type resume struct {
	args []string
	note string
}

// formatCommand lays a command out for copying: shell-quoted, broken
// between arguments with a trailing backslash, never inside one; an
// option stays on the line of its value.
func formatCommand(args []string, width int, indent string) string {
	var units []string
	for i := 0; i < len(args); i++ {
		u := shellQuote(args[i])
		if strings.HasPrefix(args[i], "--") && args[i] != "--delete-targets-key" && i+1 < len(args) {
			v := shellQuote(args[i+1])
			i++
			if len(indent)+4+len(u)+1+len(v)+2 > width {
				// Too long for one line together: the value gets its own.
				units = append(units, u)
				u = v
			} else {
				u += " " + v
			}
		}
		units = append(units, u)
	}
	var lines []string
	line := indent + units[0]
	for _, u := range units[1:] {
		if len(line)+1+len(u)+2 > width {
			lines = append(lines, line+" \\")
			line = indent + "    " + u
			continue
		}
		line += " " + u
	}
	return strings.Join(append(lines, line), "\n")
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// deleteKeyArgs is the command that deletes gun's targets key.
func deleteKeyArgs(st *state, gun string) []string {
	return append([]string{"dctwiz", "targets-key", "delete", gun}, globalArgs(st)...)
}

// globalArgs are the server, CA and trust dir the wizard used.
func globalArgs(st *state) []string {
	var a []string
	if st.server != "" {
		a = append(a, "--server", st.server)
	}
	if st.caCert != "" {
		a = append(a, "--tlscacert", absPath(st.caCert))
	}
	if st.cfg.TrustDir != "" {
		a = append(a, "--trust-dir", absPath(st.cfg.TrustDir))
	}
	return a
}

// absPath makes a path work from any directory the command is run in.
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// setupArgs is the setup command for gun with the choices made so far,
// and a note on what it leaves out.
func setupArgs(st *state, gun string) (args []string, note string) {
	args = append([]string{"dctwiz", "setup", gun}, globalArgs(st)...)
	switch c := st.chosen; {
	case st.root.fileKey:
		args = append(args, "--root-key", "file")
	case st.root.key != nil:
		// Made (or found) on the token: it is used as it is.
		args = append(args, "--root-key", fmt.Sprintf("yubikey:%d", st.root.token.Serial), "--slot", st.root.slot)
	case c.serial != 0:
		// Chosen, not made yet: make it as chosen.
		args = append(args, "--root-key", fmt.Sprintf("yubikey:%d", c.serial), "--slot", c.slot,
			"--curve", strings.ToLower(strings.ReplaceAll(c.curve, "-", "")), "--pin-policy", c.pin, "--touch-policy", c.touch)
	default:
		args = append(args, "--root-key", "yubikey")
	}
	if !st.root.fileKey && st.cfg.AttestationCA != "" {
		args = append(args, "--attestation-ca", absPath(st.cfg.AttestationCA))
	}
	signers := chosenSigners(st)
	for _, s := range signers {
		args = append(args, "--delegation", s.Name+"="+absPath(s.Path))
	}
	args = append(args, "--root-cert-out", absPath(rootCertPath(st, gun)))
	tag := st.testTags[gun]
	if tag == "" {
		tag = st.tagChoice[gun]
	}
	if tag != "" {
		args = append(args, "--test-tag", tag)
	} else {
		note = "add --test-tag TAG to test-sign one of the registry's tags"
	}
	if len(signers) > 0 {
		args = append(args, "--delete-targets-key")
	} else {
		note = "no signer chosen yet: add --delegation NAME=CERT, then --delete-targets-key"
	}
	return args, note
}

// chosenSigners are the signers the wizard has, or, before their
// certificates were loaded, the ones it was started with.
func chosenSigners(st *state) []SignerFile {
	if !st.signersLoaded {
		return st.cfg.Signers
	}
	out := make([]SignerFile, len(st.signers))
	for i, s := range st.signers {
		out[i] = SignerFile{Name: s.Name, Path: s.Cert.Path}
	}
	return out
}
