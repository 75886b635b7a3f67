package ui

import (
	"context"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// welcome says what the ceremony does and needs, and checks the machine.
type welcome struct {
	st      *state
	checks  []flows.CheckItem
	running bool
	// cursor is the route chosen: 0 set up, 1 maintain.
	cursor int
}

type checksMsg struct{ items []flows.CheckItem }

func newWelcome(st *state) *welcome {
	w := &welcome{st: st}
	if st.cfg.Maintain {
		w.cursor = 1
	}
	return w
}

func (w *welcome) title() string { return "Welcome" }
func (w *welcome) typing() bool  { return false }
func (w *welcome) explain() string {
	return `Docker Content Trust signs image tags so that clients pull only what the
repository's signers signed. It is Notary (TUF): each repository has a root
key (the anchor, kept offline), a targets key (signs the list of signers),
and snapshot and timestamp keys that the Notary server holds.

This wizard runs a ceremony for one or more repositories, screen by
screen: the setup of new repositories, or the maintenance of repositories
set up before (a signer's renewed certificate, a signer added or removed,
the targets, snapshot or timestamp key rotated, expiring metadata
renewed). Nothing is published before the review screen's p. The checklist
tests what the ceremonies need; r runs it again after you fixed something.`
}
func (w *welcome) keys() keyMap { return bindings(false, keyNext, keyUpDown, keyRetry) }

func (w *welcome) enter() tea.Cmd {
	if w.checks != nil || w.running {
		return nil
	}
	return w.check()
}

func (w *welcome) check() tea.Cmd {
	w.running = true
	st := w.st
	var gun trust.GUN
	if len(st.cfg.GUNs) > 0 {
		gun, _ = trust.ParseGUN(st.cfg.GUNs[0])
	}
	server, ca := st.server, st.caCert
	return st.look(func() tea.Msg {
		return checksMsg{environmentChecks(st, server, ca, gun, true)}
	})
}

// environmentChecks runs the pre-flight checklist (in a command).
func environmentChecks(st *state, server, caCert string, gun trust.GUN, withTokens bool) []flows.CheckItem {
	ctx, cancel := context.WithTimeout(st.ctx, 20*time.Second)
	defer cancel()
	eng, err := st.backend.Engine(server, caCert, trust.Passphrases{})
	if err != nil {
		return []flows.CheckItem{{Name: "Notary client settings", Status: flows.CheckFail, Detail: err.Error(), Fix: wizardFix(err)}}
	}
	opts := flows.PreflightOptions{NoLogin: st.cfg.Sandbox}
	if withTokens {
		opts.Tokens = st.backend.Tokens
	}
	return flows.Preflight(ctx, eng, gun, opts)
}

func (w *welcome) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case checksMsg:
		w.running, w.checks = false, msg.items
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, keyNext):
			maintain := w.cursor == 1
			return func() tea.Msg { return routeMsg{maintain} }
		case key.Matches(msg, keyUp), key.Matches(msg, keyDown):
			w.cursor, _ = moveCursor(msg, w.cursor, 2)
		case key.Matches(msg, keyRetry) && !w.running:
			return w.check()
		}
	}
	return nil
}

func (w *welcome) view(width int) string {
	var b strings.Builder
	if w.st.cfg.Sandbox {
		b.WriteString(styleSandbox.Render("SANDBOX: a rehearsal on this machine only.") + " " + w.st.cfg.SandboxNote + "\n\n")
	}
	b.WriteString(`dctwiz runs Docker Content Trust's key ceremonies. You need a YubiKey 5
(the root key), Notary credentials (docker login), and for a new signer
its certificate (.crt, .pem or .cer). What are you here to do?

`)
	routes := []string{
		"Set up new repositories: root key on the YubiKey, targets key, signers,\n    publish, root certificate, test signature, targets key deleted",
		"Maintain repositories set up before: renew a signer's certificate, add or\n    remove a signer, rotate a key, renew what expires",
	}
	for i, r := range routes {
		b.WriteString(gutter(i == w.cursor) + r + "\n")
	}
	b.WriteString("\n")
	b.WriteString(styleTitle.Render("Checklist") + "\n")
	if w.running {
		b.WriteString("{spinner} checking ...\n")
	}
	b.WriteString(checklist(w.checks))
	return b.String()
}

// checklist renders check items with their fixes.
func checklist(items []flows.CheckItem) string {
	var b strings.Builder
	for _, it := range items {
		line := it.Name
		if it.Detail != "" {
			line += ": " + plainText(it.Detail)
		}
		switch it.Status {
		case flows.CheckOK:
			b.WriteString(ok(line))
		case flows.CheckWarn:
			b.WriteString(warn(line))
		case flows.CheckFail:
			b.WriteString(fail(line))
		default:
			b.WriteString(styleDim.Render(markLater + " " + line))
		}
		b.WriteString("\n")
		if fix := renderFix(it.Action, it.Fix); fix != "" && it.Status != flows.CheckOK {
			b.WriteString("    fix: " + fix + "\n")
		}
	}
	return b.String()
}
