package ui

import (
	"fmt"

	"strings"

	"github.com/dctwiz/dctwiz/flows"
)

// status says exactly what state every repository is in: what was
// created, what was published, what is left.
func status(st *state) string {
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
				if s.Status == flows.Failed {
					fmt.Fprintf(&b, "%s: %s failed: %s\n  the same step, run again, finds out and goes on\n", rep.GUN, stepTitles[s.Step], s.Error)
				}
			}
			continue
		}
		fmt.Fprintf(&b, "%s is published:\n", rep.GUN)
		for _, s := range rep.Steps {
			line := stepTitles[s.Step] + ": " + string(s.Status)
			if s.Note != "" {
				line += " (" + s.Note + ")"
			}
			if s.Error != "" {
				line += " (" + s.Error + ")"
			}
			b.WriteString("  " + line + "\n")
		}
		if next, ok := c.Next(); ok {
			fmt.Fprintf(&b, "  not done yet: %s\n", stepTitles[next])
			if next != flows.StepDeleteTargetsKey {
				b.WriteString("  the targets private key is still in the trust dir\n")
			}
		}
	}
	if cmds := continueCommands(st); len(cmds) > 0 {
		b.WriteString("\nTo continue headless from here:\n")
		for _, c := range cmds {
			b.WriteString("  " + c + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
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
				fmt.Fprintf(&b, "The targets key of %s was kept in the trust dir; delete it later with: dctwiz targets-key delete%s %s\n", rep.GUN, globalFlags(st), rep.GUN)
			}
		}
		if !st.root.fileKey {
			b.WriteString("Lock the YubiKey in the safe.\n")
		}
	} else {
		b.WriteString("dctwiz: the ceremony was stopped.\n" + status(st) + "\n")
	}
	if st.cfg.Sandbox {
		b.WriteString("SANDBOX: nothing left this machine.\n")
	}
	return b.String()
}

// continueCommands are the headless commands that finish each
// repository's ceremony from where it stopped (every step converges, so
// setup can simply run again before the test signature).
func continueCommands(st *state) []string {
	if len(st.guns) == 0 {
		return nil
	}
	var out []string
	global := globalFlags(st)
	for i, g := range st.guns {
		var next flows.StepID = flows.StepInit
		if i < len(st.ceremonies) {
			n, ok := st.ceremonies[i].Next()
			if !ok {
				continue
			}
			next = n
		}
		tag := st.testTags[g.String()]
		if tag == "" {
			tag = "TAG"
		}
		switch next {
		case flows.StepTestSign:
			out = append(out, "dctwiz test-sign"+global+" "+g.String()+":"+tag)
			fallthrough
		case flows.StepDeleteTargetsKey:
			out = append(out, "dctwiz targets-key delete"+global+" "+g.String())
		default:
			out = append(out, setupCommand(st, g.String(), global))
		}
	}
	return out
}

func globalFlags(st *state) string {
	var f string
	if st.server != "" {
		f += " --server " + st.server
	}
	if st.caCert != "" {
		f += " --tlscacert " + st.caCert
	}
	if st.cfg.TrustDir != "" {
		f += " --trust-dir " + st.cfg.TrustDir
	}
	return f
}

func setupCommand(st *state, gun, global string) string {
	cmd := "dctwiz setup" + global + " " + gun
	switch {
	case st.root.fileKey:
		cmd += " --root-key file"
	case st.root.token.Serial != 0:
		cmd += fmt.Sprintf(" --root-key yubikey:%d --slot %s", st.root.token.Serial, st.root.slot)
		if st.cfg.AttestationCA != "" {
			cmd += " --attestation-ca " + st.cfg.AttestationCA
		}
	default:
		cmd += " --root-key yubikey"
	}
	for _, s := range st.signers {
		cmd += " --delegation " + s.Name + "=" + s.Cert.Path
	}
	cmd += " --root-cert-out " + rootCertPath(st, gun)
	if tag := st.testTags[gun]; tag != "" {
		cmd += " --test-tag " + tag
	}
	return cmd + " --delete-targets-key"
}
