package ui

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/dctwiz/dctwiz/flows"
)

// maintDelete ends each repository's ceremony: the targets key a signer
// change signed in is deleted again (the repository is left as it was
// found), and a new targets key from a rotation is deleted once the admin
// confirms, or kept.
type maintDelete struct {
	st      *state
	asked   bool // the admin chose, or there was nothing to ask
	running bool
	done    bool
	err     error
}

var keyKeepKey = key.NewBinding(key.WithKeys("k"), key.WithHelp("k", "keep the new targets key"))

func newMaintDelete(st *state) *maintDelete { return &maintDelete{st: st} }

func (d *maintDelete) title() string { return "Delete the targets key" }
func (d *maintDelete) typing() bool  { return false }
func (d *maintDelete) explain() string {
	return `A targets key can change the list of signers. After setup it was deleted,
so that only the root key (on the YubiKey) can sign in a new one. A signer
change that had to sign in a new targets key deletes it again here: the
repository is left as it was found. A targets key rotation asks: deleting
the new key is recommended (the next ceremony signs in another one with the
root key); k keeps it in the trust dir, passphrase-protected.`
}
func (d *maintDelete) keys() keyMap {
	switch {
	case d.running:
		return bindings(false)
	case d.err != nil:
		return bindings(false, keyRetryStep)
	case !d.asked:
		return bindings(false, keyDeleteKey, keyKeepKey)
	}
	return bindings(false, keyNext)
}

// rotations are the targets-key rotations whose new key is still to be
// decided about.
func (d *maintDelete) rotations() []*flows.RotateCeremony {
	var out []*flows.RotateCeremony
	for _, c := range d.st.active() {
		if r, isRotation := c.(*flows.RotateCeremony); isRotation && r.Input().Role == flows.RoleTargets {
			if next, ok := r.Next(); ok && next.Phase == flows.PhaseFinish {
				out = append(out, r)
			}
		}
	}
	return out
}

func (d *maintDelete) enter() tea.Cmd {
	if d.done || d.running {
		return nil
	}
	if len(d.rotations()) == 0 {
		d.asked = true
		return d.run()
	}
	return nil
}

// run ends the next repository's ceremony.
func (d *maintDelete) run() tea.Cmd {
	cmd := runNextStep(d.st, flows.PhaseFinish)
	d.running, d.done, d.err = cmd != nil, cmd == nil, nil
	return cmd
}

func (d *maintDelete) decide(del bool) tea.Cmd {
	for _, r := range d.rotations() {
		r.Change(func(in **flows.Rotate) { (*in).DeleteTargetsKey = del })
	}
	d.asked = true
	return d.run()
}

func (d *maintDelete) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case ranMsg:
		d.running, d.err = false, msg.err
		if msg.err != nil {
			return showError(msg.err)
		}
		if d.st.stopping {
			return nil
		}
		return d.run()
	case tea.KeyMsg:
		switch {
		case d.running:
		case d.err != nil && key.Matches(msg, keyRetryStep):
			return d.run()
		case !d.asked && key.Matches(msg, keyDeleteKey):
			return d.decide(true)
		case !d.asked && key.Matches(msg, keyKeepKey):
			return d.decide(false)
		case d.done && key.Matches(msg, keyNext):
			return next
		}
	}
	return nil
}

func (d *maintDelete) view(width int) string {
	var b strings.Builder
	if !d.asked {
		fmt.Fprintf(&b, `The new targets key of %s is in the trust dir.
Deleting it (recommended) means:
 • nobody can change the signers or re-sign targets.json with it: the next
   ceremony signs in a new one with the root key, as this one did;
 • tags are signed only by the signers (targets/releases), as before;
 • its public half stays published; the trust data was verified first.
Press enter to delete it, or k to keep it (passphrase-protected).

`, strings.Join(gunsOf(d.rotations()), ", "))
	}
	for _, c := range d.st.active() {
		rep := c.Report()
		b.WriteString(styleTitle.Render(rep.GUN) + "\n")
		lines := stepLines(c, flows.PhaseFinish, true)
		if lines == "" {
			// A root or server-key ceremony makes no targets key.
			lines = "  " + styleDim.Render("nothing to delete: this ceremony made no targets key") + "\n"
		}
		b.WriteString(lines)
		if tk := rep.TargetsKey; tk != nil {
			for _, f := range tk.Files {
				fmt.Fprintf(&b, "  removed private/%s from the trust dir\n", ansi.Truncate(filepath.Base(f), 24, "…"))
			}
			if tk.Gone {
				b.WriteString("  " + ok("a fresh look at the key store finds no targets key: it is gone") + "\n")
			}
		}
	}
	switch {
	case d.running:
		b.WriteString("\n{spinner} finishing ...\n")
	case d.err != nil:
		b.WriteString("\n" + fail("The step failed: "+errorText(d.err)) + "\nPress r to run it again, or q to quit.\n")
	case d.done:
		b.WriteString("\nPress enter for the summary.\n")
	}
	return b.String()
}

func gunsOf(cs []*flows.RotateCeremony) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Report().GUN
	}
	return out
}
