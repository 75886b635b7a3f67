package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// recorder is what both summaries share: it reads the repositories as
// published now and writes the ceremony record, in a command, once;
// r writes it again after a failure.
type recorder struct {
	writing, written bool
	err              error
	inspections      []*trust.Inspection // as read for the record
}

type recordMsg struct {
	md, json    string
	inspections []*trust.Inspection
	err         error
}

// start writes the record of the ceremonies on guns, built by build from
// the repositories as they are now.
func (r *recorder) start(st *state, guns []trust.GUN, build func([]*trust.Inspection) *flows.Record) tea.Cmd {
	if r.written || r.writing {
		return nil
	}
	r.writing = true
	return st.work(func() tea.Msg {
		ctx, cancel := context.WithTimeout(st.ctx, 30*time.Second)
		defer cancel()
		var inspections []*trust.Inspection
		for _, g := range guns {
			in, err := st.engine.Inspect(ctx, g)
			if err != nil {
				return recordMsg{err: err}
			}
			inspections = append(inspections, in)
		}
		md, js, err := build(inspections).Write(st.outDir)
		return recordMsg{md: md, json: js, inspections: inspections, err: err}
	})
}

// take records the command's answer; an error is shown.
func (r *recorder) take(st *state, msg recordMsg) tea.Cmd {
	r.writing, r.err = false, msg.err
	if msg.err != nil {
		return showError(msg.err)
	}
	r.written, r.inspections = true, msg.inspections
	st.recordMD, st.recordJSON = msg.md, msg.json
	return nil
}

// handle takes the record's answer and the summary's keys: r writes it
// again after a failure (again), enter finishes the wizard.
func (r *recorder) handle(st *state, msg tea.Msg, again func() tea.Cmd) tea.Cmd {
	switch msg := msg.(type) {
	case recordMsg:
		return r.take(st, msg)
	case tea.KeyMsg:
		switch {
		case r.writing:
		case r.err != nil && key.Matches(msg, keyRetry):
			return again()
		case key.Matches(msg, keyNext):
			return func() tea.Msg { return doneMsg{} }
		}
	}
	return nil
}

func (r *recorder) keys() keyMap {
	if r.err != nil {
		return bindings(false, keyRetry, keyFinish)
	}
	return bindings(false, keyFinish)
}

// status is where the record stands, and the ceremony's last word.
func (r *recorder) status(st *state) string {
	var b strings.Builder
	switch {
	case r.writing:
		b.WriteString("{spinner} reading the repositories and writing the ceremony record ...\n")
	case r.err != nil:
		b.WriteString(fail("The ceremony record was not written: "+errorText(r.err)) + "\n  press r to try again\n")
	case r.written:
		fmt.Fprintf(&b, "Ceremony record (and its .json beside it):\n  %s\n", st.recordMD)
		if st.cfg.Sandbox {
			b.WriteString(styleDim.Render("  (SANDBOX: removed with the sandbox when you leave)") + "\n")
		}
	}
	b.WriteString("\n" + styleBox.Render(lastWord(st)) + "\n")
	return b.String()
}

// lastWord is what the admin does with the keys once the ceremony is done.
func lastWord(st *state) string {
	last := "Lock the YubiKey in the safe."
	m := st.mnt
	switch {
	case st.root.fileKey:
		last = "Move the root key file and its passphrase offline now."
	case !st.maintaining && st.backup != nil:
		last = fmt.Sprintf("Keep YubiKey %d and the backup YubiKey %d in different safes.", st.root.token.Serial, st.backup.Info.Serial)
	case st.maintaining && m.kind == mRotateRoot && m.newRoot != nil:
		last = fmt.Sprintf("Lock YubiKey %d in the safe. YubiKey %d (and any other old root token) no longer\nsigns for these repositories: keep it retired, or reset it. The root has one key\nnow: add a backup YubiKey soon (Maintain: Add a backup YubiKey).", m.newToken.Serial, st.root.token.Serial)
	case st.maintaining && m.kind == mAddBackup && m.newRoot != nil:
		last = fmt.Sprintf("Keep YubiKey %d and the backup YubiKey %d in different safes.", st.root.token.Serial, m.newToken.Serial)
	case st.maintaining && m.kind == mRemoveRoot:
		last = "Lock the YubiKey in the safe, and add a new backup YubiKey soon."
	}
	return last
}

// recordRoot is the record's root key: where it lives, with the token's
// details for a YubiKey.
func recordRoot(st *state) flows.RecordRootKey {
	if st.root.fileKey {
		return flows.RecordRootKey{Where: st.root.where()}
	}
	return flows.YubiKeyRecord(st.root.where(), st.root.info, st.root.attestation != nil)
}

// recordServer is the server the record names.
func recordServer(st *state) string {
	if st.server == "" && len(st.guns) > 0 {
		return trust.DefaultServerURL(st.guns[0])
	}
	return st.server
}
