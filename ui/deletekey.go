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

// deleteKey explains the consequences, has the admin type the GUN to
// confirm, deletes the local targets private key and shows it is gone.
type deleteKey struct {
	st      *state
	gun     int
	confirm *form
	running bool
	done    bool
}

func newDeleteKey(st *state) *deleteKey { return &deleteKey{st: st} }

func (d *deleteKey) title() string { return "Delete the targets key" }
func (d *deleteKey) typing() bool  { return !d.done && !d.running }
func (d *deleteKey) explain() string {
	return `The targets key can change the list of signers. Once the signers can sign
(targets/releases), keeping it around is a risk without a use: deleting
every copy from the trust dir leaves tags signable only by the signers.
Its public half stays published. Adding or removing a signer later takes
the root key and a new targets key (a rotation ceremony). ctrl+s keeps it.`
}
func (d *deleteKey) keys() keyMap {
	if d.done || d.running {
		return bindings(false, keyNext)
	}
	return bindings(true, keyDeleteKey, keySkipCtrl)
}

func (d *deleteKey) gunName() string { return d.st.guns[d.gun].String() }

func (d *deleteKey) enter() tea.Cmd {
	if d.confirm == nil {
		d.reset()
	}
	return d.confirm.focused().input.Focus()
}

func (d *deleteKey) reset() {
	gun := d.gunName()
	d.confirm = newForm(newField("Repository", "", "", false, func(s string) (string, error) {
		if strings.TrimSpace(s) != gun {
			return "", fmt.Errorf("type %s exactly to confirm", gun)
		}
		return "", nil
	}))
	d.done = false
}

func (d *deleteKey) run(confirmed bool) tea.Cmd {
	c := d.st.ceremonies[d.gun]
	c.Change(func(s *flows.Setup) { s.DeleteTargetsKey = confirmed })
	d.running = true
	st := d.st
	return st.work(func() tea.Msg { return ranMsg{c.RunPhase(st.ctx, flows.PhaseFinish)} })
}

func (d *deleteKey) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case ranMsg:
		d.running = false
		if msg.err != nil {
			return showError(msg.err)
		}
		d.done = true
		return nil
	case tea.KeyMsg:
		switch {
		case d.running:
			return nil
		case d.done && key.Matches(msg, keyNext):
			if d.gun+1 < len(d.st.ceremonies) {
				d.gun++
				d.reset()
				return d.confirm.focused().input.Focus()
			}
			return next
		case d.done:
			return nil
		case key.Matches(msg, keySkipCtrl):
			return d.run(false)
		case key.Matches(msg, keyNext):
			if _, err := d.confirm.fields[0].check(); err != nil {
				return showError(err)
			}
			return d.run(true)
		}
	}
	if d.done || d.running {
		return nil
	}
	return d.confirm.update(msg)
}

func (d *deleteKey) view(width int) string {
	var b strings.Builder
	gun := d.gunName()
	b.WriteString(styleTitle.Render(gun) + "\n")
	if !d.done && !d.running {
		b.WriteString(`Deleting the targets private key from the trust dir means:
 • nobody can change the list of signers with it any more: that takes the
   root key (on the YubiKey) and a new targets key, in a rotation ceremony;
 • tags are signed only by the signers (targets/releases), as intended;
 • the published trust data is verified first; the key's public half
   stays published.
This cannot be undone. To confirm, type the repository's name:

`)
		b.WriteString(d.confirm.view(width))
		b.WriteString(styleDim.Render("\n(ctrl+s keeps the targets key: the ceremony then ends without this step)") + "\n")
		return b.String()
	}
	b.WriteString(stepLines(d.st.ceremonies[d.gun], flows.PhaseFinish, true))
	if rep := d.st.ceremonies[d.gun].Report(); d.done && rep.TargetsKey != nil {
		tk := rep.TargetsKey
		for _, f := range tk.Files {
			fmt.Fprintf(&b, "  removed private/%s from the trust dir\n", ansi.Truncate(filepath.Base(f), 24, "…"))
		}
		if tk.Gone {
			b.WriteString("  " + ok("a fresh look at the key store finds no targets key: it is gone") + "\n")
		}
		if tk.Consequence != "" {
			b.WriteString("  " + styleDim.Render(tk.Consequence) + "\n")
		}
	}
	if d.done {
		b.WriteString("\nPress enter to continue.\n")
	}
	return b.String()
}
