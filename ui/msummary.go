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

// maintSummary shows what the maintenance ceremony changed, each
// repository's keys as published now, and writes the ceremony record.
type maintSummary struct {
	st          *state
	writing     bool
	written     bool
	err         error
	inspections []*trust.Inspection
}

type maintRecordMsg struct {
	md, json    string
	inspections []*trust.Inspection
	err         error
}

func newMaintSummary(st *state) *maintSummary { return &maintSummary{st: st} }

func (s *maintSummary) title() string { return "Summary" }
func (s *maintSummary) typing() bool  { return false }
func (s *maintSummary) explain() string {
	return `The ceremony is done. Each repository's keys are shown as the Notary
server has them now, with what expires first: put those dates in a
calendar ('dctwiz check' in cron warns ahead of them). The ceremony record
(Markdown and JSON, no secrets) is what an auditor reads. Enter finishes;
then lock the YubiKey away.`
}
func (s *maintSummary) keys() keyMap {
	if s.err != nil {
		return bindings(false, keyRetry, keyFinish)
	}
	return bindings(false, keyFinish)
}

func (s *maintSummary) enter() tea.Cmd {
	if s.written || s.writing {
		return nil
	}
	s.writing = true
	st := s.st
	return st.work(func() tea.Msg {
		ctx, cancel := context.WithTimeout(st.ctx, 30*time.Second)
		defer cancel()
		var inspections []*trust.Inspection
		for _, c := range st.active() {
			g, err := trust.ParseGUN(c.Report().GUN)
			if err != nil {
				return maintRecordMsg{err: err}
			}
			in, err := st.engine.Inspect(ctx, g)
			if err != nil {
				return maintRecordMsg{err: err}
			}
			inspections = append(inspections, in)
		}
		md, js, err := maintRecord(st, inspections).Write(st.outDir)
		return maintRecordMsg{md: md, json: js, inspections: inspections, err: err}
	})
}

// maintRecord is the record of the maintenance ceremony.
func maintRecord(st *state, inspections []*trust.Inspection) *flows.Record {
	server := st.server
	if server == "" && len(st.guns) > 0 {
		server = trust.DefaultServerURL(st.guns[0])
	}
	root := flows.RecordRootKey{Where: st.root.where()}
	if !st.root.fileKey {
		root = flows.YubiKeyRecord(st.root.where(), st.root.info, st.root.attestation != nil)
	}
	var reports []*flows.Report
	for _, c := range st.active() {
		reports = append(reports, c.Report())
	}
	var signers []flows.Signer
	if m := st.mnt; m.cert != nil {
		signers = []flows.Signer{{Name: m.signer, Cert: m.cert}}
	}
	rec := flows.NewRecord(st.mnt.ceremonyName(), st.now(), server, root, signers, reports, inspections)
	rec.Sandbox = st.cfg.Sandbox
	return rec
}

func (s *maintSummary) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case maintRecordMsg:
		s.writing, s.err = false, msg.err
		if msg.err != nil {
			return showError(msg.err)
		}
		s.written, s.inspections = true, msg.inspections
		s.st.recordMD, s.st.recordJSON = msg.md, msg.json
	case tea.KeyMsg:
		switch {
		case s.writing:
		case s.err != nil && key.Matches(msg, keyRetry):
			return s.enter()
		case key.Matches(msg, keyNext):
			return func() tea.Msg { return doneMsg{} }
		}
	}
	return nil
}

func (s *maintSummary) view(width int) string {
	st := s.st
	var b strings.Builder
	b.WriteString(styleTitle.Render(st.mnt.describe()) + "\n")
	for i, c := range st.active() {
		rep := c.Report()
		done := 0
		for _, step := range rep.Steps {
			if step.Status == flows.Done {
				done++
			}
		}
		b.WriteString(ok(fmt.Sprintf("%s: %d of %d steps done", rep.GUN, done, len(rep.Steps))) + "\n")
		for _, step := range rep.Steps {
			if step.Status == flows.Done && step.Note != "" && step.Step != flows.StepReadConsumer {
				b.WriteString("  " + styleDim.Render(step.Note) + "\n")
			}
		}
		if i < len(s.inspections) {
			b.WriteString(indent(hierarchyNow(s.inspections[i]), "  "))
			if first := flows.SoonestExpiries(s.inspections[i], 2); len(first) > 0 {
				b.WriteString("  expires first: " + strings.Join(first, "; ") + "\n")
			}
		}
	}
	for _, sk := range st.mnt.skipped {
		b.WriteString(styleDim.Render(markLater+" "+sk) + "\n")
	}
	switch {
	case s.writing:
		b.WriteString("{spinner} reading the repositories and writing the ceremony record ...\n")
	case s.err != nil:
		b.WriteString(fail("The ceremony record was not written: "+errorText(s.err)) + "\n  press r to try again\n")
	case s.written:
		fmt.Fprintf(&b, "Ceremony record (and its .json beside it):\n  %s\n", st.recordMD)
		if st.cfg.Sandbox {
			b.WriteString(styleDim.Render("  (SANDBOX: removed with the sandbox when you leave)") + "\n")
		}
	}
	if st.root.fileKey {
		b.WriteString("\n" + styleBox.Render("Move the root key file and its passphrase offline now.") + "\n")
	} else {
		b.WriteString("\n" + styleBox.Render("Lock the YubiKey in the safe.") + "\n")
	}
	return b.String()
}
