package ui

import (
	"fmt"
	"strings"

	"github.com/dctwiz/dctwiz/flows"
)

// status says exactly what state every repository is in: what was
// created, what was published, what is left.
func status(st *state, width int) string {
	var b strings.Builder
	if !st.published() {
		if st.outcomeUnknown() {
			b.WriteString("Whether the last publish reached the server is not known (see below).")
		} else {
			b.WriteString("Nothing is published.")
		}
		if st.root.key != nil && !st.root.fileKey {
			fmt.Fprintf(&b, " The root key is on %s; the next ceremony uses it again.", st.root.where())
		}
		b.WriteString("\n")
	}
	for _, c := range st.active() {
		rep := c.Report()
		titles := map[flows.StepID]string{}
		for _, p := range c.Plan() {
			titles[p.ID] = p.Title
		}
		if !rep.Published() {
			// A publish that failed or was cut off may still have reached
			// the server: say what the engine said, not more.
			for _, s := range rep.Steps {
				switch s.Status {
				case flows.Failed:
					fmt.Fprintf(&b, "%s: %s failed: %s\n  the same step, run again, finds out and goes on\n", rep.GUN, titles[s.Step], plainText(s.Error))
				case flows.Started:
					fmt.Fprintf(&b, "%s: %s %s\n", rep.GUN, titles[s.Step], running(st))
				}
			}
			continue
		}
		fmt.Fprintf(&b, "%s is published:\n", rep.GUN)
		for _, s := range rep.Steps {
			line := titles[s.Step] + ": " + string(s.Status)
			if s.Note != "" {
				line += " (" + s.Note + ")"
			}
			if s.Error != "" {
				line += " (" + plainText(s.Error) + ")"
			}
			if s.Status == flows.Started {
				line = titles[s.Step] + ": " + running(st)
			}
			b.WriteString("  " + line + "\n")
		}
		if next, ok := c.Next(); ok {
			fmt.Fprintf(&b, "  not done yet: %s\n", next.Title)
			if next.Phase != flows.PhaseFinish && (!st.maintaining || madeTargetsKey(rep)) {
				b.WriteString("  the targets private key is still in the trust dir\n")
			}
		} else if del := deletionCommand(st, rep.GUN); kept(rep) && del != nil {
			b.WriteString("  the targets private key was kept in the trust dir; delete it later with:\n")
			b.WriteString(formatCommand(del.Words, width, "  ") + "\n")
		}
	}
	if cmds := continueCommands(st); len(cmds) > 0 {
		b.WriteString("\nTo continue headless from here:\n")
		for _, c := range cmds {
			b.WriteString(formatCommand(c.Words, width, "  ") + "\n")
			if c.Note != "" {
				b.WriteString("    # " + c.Note + "\n")
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
		name := "setup"
		if st.maintaining {
			name = st.mnt.ceremonyName()
		}
		fmt.Fprintf(&b, "dctwiz: the %s ceremony is complete.\n", name)
		switch {
		case st.recordMD != "" && st.cfg.Sandbox:
			b.WriteString("The ceremony record goes with the sandbox; a real ceremony keeps it in the output dir.\n")
		case st.recordMD != "":
			fmt.Fprintf(&b, "Ceremony record: %s and %s\n", st.recordMD, st.recordJSON)
		}
		for _, c := range st.active() {
			if rep := c.Report(); kept(rep) {
				fmt.Fprintf(&b, "The targets key of %s was kept in the trust dir.\n", rep.GUN)
				if del := deletionCommand(st, rep.GUN); del != nil {
					fmt.Fprintf(&b, "Delete it later with:\n%s\n", formatCommand(del.Words, MinWidth, "  "))
				}
			}
		}
		if !st.root.fileKey {
			b.WriteString(strings.ReplaceAll(lastWord(st), "\n", " ") + "\n")
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
// repository's ceremony from where it stopped.
func continueCommands(st *state) []ContinueCommand {
	var out []ContinueCommand
	for _, p := range resumePoints(st) {
		if c := continueCommand(st, p); c != nil {
			out = append(out, *c)
		}
	}
	return out
}

// deletionCommand is the command that deletes gun's targets key later.
func deletionCommand(st *state, gun string) *ContinueCommand {
	p := resumePoint(st, gun)
	p.OnlyDeletion = true
	return continueCommand(st, p)
}

// madeTargetsKey says whether a maintenance ceremony published a new
// targets key (a rotation, or one signed in for a signer change): its
// private key is in the trust dir until the ceremony deletes it.
func madeTargetsKey(rep *flows.Report) bool {
	return rep.Rotation != nil && rep.Rotation.Role == flows.RoleTargets
}
