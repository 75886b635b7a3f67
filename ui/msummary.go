package ui

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// maintSummary shows what the maintenance ceremony changed, each
// repository's keys as published now, and writes the ceremony record.
type maintSummary struct {
	st *state
	recorder
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
func (s *maintSummary) keys() keyMap { return s.recorder.keys() }

func (s *maintSummary) enter() tea.Cmd {
	var guns []trust.GUN
	for _, c := range s.st.active() {
		if g, err := trust.ParseGUN(c.Report().GUN); err == nil {
			guns = append(guns, g)
		}
	}
	return s.start(s.st, guns, func(in []*trust.Inspection) *flows.Record { return maintRecord(s.st, in) })
}

// maintRecord is the record of the maintenance ceremony.
func maintRecord(st *state, inspections []*trust.Inspection) *flows.Record {
	var reports []*flows.Report
	for _, c := range st.active() {
		reports = append(reports, c.Report())
	}
	var signers []flows.Signer
	if m := st.mnt; m.cert != nil {
		signers = []flows.Signer{{Name: m.signer, Cert: m.cert}}
	}
	rec := flows.NewRecord(st.mnt.ceremonyName(), st.now(), recordServer(st), recordRoot(st), signers, reports, inspections)
	rec.Sandbox = st.cfg.Sandbox
	return rec
}

func (s *maintSummary) update(msg tea.Msg) tea.Cmd { return s.handle(s.st, msg, s.enter) }

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
	b.WriteString(s.status(st))
	return b.String()
}
