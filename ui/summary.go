package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// summary shows what was done and where every key lives now, and writes
// the ceremony record.
type summary struct {
	st      *state
	writing bool
	written bool
	err     error
	expiry  []string
}

type recordMsg struct {
	md, json string
	expiry   []string
	err      error
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
func (s *summary) keys() keyMap {
	if s.err != nil {
		return bindings(false, keyRetry, keyFinish)
	}
	return bindings(false, keyFinish)
}

func (s *summary) enter() tea.Cmd {
	if s.written || s.writing {
		return nil
	}
	s.writing = true
	st := s.st
	return st.work(func() tea.Msg {
		ctx, cancel := context.WithTimeout(st.ctx, 30*time.Second)
		defer cancel()
		var inspections []*trust.Inspection
		var expiry []string
		for _, g := range st.guns {
			in, err := st.engine.Inspect(ctx, g)
			if err != nil {
				return recordMsg{err: err}
			}
			inspections = append(inspections, in)
			expiry = append(expiry, flows.SoonestExpiries(in, 3)...)
		}
		md, js, err := record(st, inspections).Write(st.outDir)
		return recordMsg{md: md, json: js, expiry: expiry, err: err}
	})
}

// record is the ceremony record of the wizard's ceremonies.
func record(st *state, inspections []*trust.Inspection) *flows.Record {
	server := st.server
	if server == "" && len(st.guns) > 0 {
		server = trust.DefaultServerURL(st.guns[0])
	}
	root := flows.RecordRootKey{Where: st.root.where()}
	if !st.root.fileKey {
		root = flows.YubiKeyRecord(st.root.where(), st.root.info, st.root.attestation != nil)
	}
	var reports []*flows.Report
	for _, c := range st.ceremonies {
		reports = append(reports, c.Report())
	}
	rec := flows.NewRecord("setup", st.now(), server, root, st.signers, reports, inspections)
	rec.Sandbox = st.cfg.Sandbox
	return rec
}

func (s *summary) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case recordMsg:
		s.writing, s.err = false, msg.err
		if msg.err != nil {
			return showError(msg.err)
		}
		s.written = true
		s.st.recordMD, s.st.recordJSON, s.expiry = msg.md, msg.json, msg.expiry
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
	if len(s.expiry) > 0 {
		b.WriteString("Expires first: " + strings.Join(s.expiry, "; ") + "\n")
	}
	switch {
	case s.writing:
		b.WriteString("{spinner} writing the ceremony record ...\n")
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
