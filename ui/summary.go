package ui

import (
	"fmt"
	"path/filepath"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// summary shows what was done and where every key lives now, and writes
// the ceremony record.
type summary struct {
	st *state
	recorder
}

func newSummary(st *state) *summary { return &summary{st: st} }

func (s *summary) title() string { return "Summary" }
func (s *summary) typing() bool  { return false }
func (s *summary) explain() string {
	return `The ceremony is done. The key hierarchy shows where every key lives now.
The dates that come first are when metadata or certificates expire: put
them in a calendar, since an expired role stops clients from pulling. The
ceremony record (Markdown and JSON, no secrets) is what an auditor reads.
Enter finishes; then lock the YubiKey away.`
}
func (s *summary) keys() keyMap { return s.recorder.keys() }

func (s *summary) enter() tea.Cmd {
	return s.start(s.st, s.st.guns, func(in []*trust.Inspection) *flows.Record { return record(s.st, in) })
}

// record is the ceremony record of the wizard's ceremonies.
func record(st *state, inspections []*trust.Inspection) *flows.Record {
	var reports []*flows.Report
	for _, c := range st.ceremonies {
		reports = append(reports, c.Report())
	}
	rec := flows.NewRecord("setup", st.now(), recordServer(st), recordRoot(st), st.signers, reports, inspections)
	rec.Sandbox = st.cfg.Sandbox
	return rec
}

func (s *summary) update(msg tea.Msg) tea.Cmd { return s.handle(s.st, msg, s.enter) }

func (s *summary) view(width int) string {
	st := s.st
	var b strings.Builder
	for _, c := range st.ceremonies {
		rep := c.Report()
		done := 0
		for _, step := range rep.Steps {
			if step.Status == "done" {
				done++
			}
		}
		b.WriteString(ok(fmt.Sprintf("%s: %d of %d steps done", rep.GUN, done, len(rep.Steps))))
		if rep.TestSign != nil {
			b.WriteString(styleDim.Render(", tag " + rep.TestSign.Tag + " verified"))
		}
		b.WriteString("\n")
		if len(rep.RootCerts) > 0 {
			fp := rep.RootCerts[0].Fingerprint
			fmt.Fprintf(&b, "  root certificate %s", filepath.Base(rep.RootCertFile))
			if a := rep.Attestation; a != nil && a.Verified {
				b.WriteString(", attested")
			}
			fmt.Fprintf(&b, "\n  SHA-256 %s\n          %s\n", groupHex(fp[:32]), groupHex(fp[32:]))
		}
		b.WriteString(keyTree(st, rep))
	}
	var expiry []string
	for _, in := range s.inspections {
		expiry = append(expiry, flows.SoonestExpiries(in, 3)...)
	}
	if len(expiry) > 0 {
		b.WriteString("Expires first: " + strings.Join(expiry, "; ") + "\n")
	}
	b.WriteString(s.status(st))
	return b.String()
}
