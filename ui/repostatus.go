package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// repoStatus reads each repository as a consumer would and shows what it
// holds and what expires when: the same data as `dctwiz check`.
type repoStatus struct {
	st      *state
	reading bool
	errs    []string // repositories that could not be read, with why
	// seq numbers the reads: only the latest one's answer counts (one
	// left running behind an esc answers for repositories since changed).
	seq int
}

type readMsg struct {
	inspections []*trust.Inspection
	checks      []flows.CheckResult
	errs        []string
	at          time.Time
	seq         int
}

func newStatus(st *state) *repoStatus { return &repoStatus{st: st} }

func (s *repoStatus) title() string { return "Repository status" }
func (s *repoStatus) typing() bool  { return false }
func (s *repoStatus) explain() string {
	return `This is each repository's trust data as a consumer reads it from the Notary
server: its signers and every expiry, soonest first, with what needs a
ceremony within 90 days marked (the same as 'dctwiz check'). Metadata the
server signs (snapshot, timestamp) renews itself. root.json in its last
6 months makes every publish without the root key fail. An expired signer
certificate is renewed by the signer's renewed certificate; targets.json
and root.json by renewing the metadata (a targets key rotation). The next
screen proposes the ceremony for the most urgent finding.`
}
func (s *repoStatus) keys() keyMap {
	if s.reading {
		return bindings(false, keyBack)
	}
	return bindings(false, keyNext, keyRereadStatus, keyBack)
}

var keyRereadStatus = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "read again"))

func (s *repoStatus) enter() tea.Cmd { return s.read() }

// read inspects every repository, in a command that only reads.
func (s *repoStatus) read() tea.Cmd {
	s.reading = true
	s.seq++
	st := s.st
	guns, server, ca, seq := st.guns, st.server, st.caCert, s.seq
	return st.look(func() tea.Msg {
		ctx, cancel := context.WithTimeout(st.ctx, 60*time.Second)
		defer cancel()
		msg := readMsg{at: st.now(), seq: seq}
		eng, err := st.backend.Engine(server, ca, trust.Passphrases{})
		if err != nil {
			msg.errs = append(msg.errs, errorText(err))
			return msg
		}
		for _, g := range guns {
			in, err := eng.Inspect(ctx, g)
			if err != nil {
				msg.errs = append(msg.errs, g.String()+": "+errorText(err))
				msg.inspections = append(msg.inspections, nil)
				msg.checks = append(msg.checks, flows.CheckResult{GUN: g.String(), Error: err.Error()})
				continue
			}
			msg.inspections = append(msg.inspections, in)
			msg.checks = append(msg.checks, flows.Check(in, msg.at, checkWithin))
		}
		return msg
	})
}

func (s *repoStatus) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case readMsg:
		if msg.seq != s.seq {
			return nil
		}
		s.reading, s.errs = false, msg.errs
		m := &s.st.mnt
		m.inspections, m.checks, m.readAt = msg.inspections, msg.checks, msg.at
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, keyBack):
			return back // a read still running answers later, to this screen
		case s.reading:
		case key.Matches(msg, keyRereadStatus):
			return s.read()
		case key.Matches(msg, keyNext):
			if len(s.errs) > 0 {
				return showError(fmt.Errorf("a repository could not be read: fix it and press r, or press esc to choose other repositories"))
			}
			return next
		}
	}
	return nil
}

func (s *repoStatus) view(width int) string {
	var b strings.Builder
	if s.reading {
		b.WriteString("{spinner} reading the repositories as a consumer ...\n")
		return b.String()
	}
	m := s.st.mnt
	if len(m.checks) == 0 {
		for _, e := range s.errs {
			b.WriteString(fail(e) + "\n")
		}
	}
	for i, c := range m.checks {
		b.WriteString(styleTitle.Render(c.GUN) + "\n")
		if c.Error != "" {
			b.WriteString("  " + fail(plainText(c.Error)) + "\n")
			b.WriteString("    fix: a repository not set up yet is set up from the first screen; else check the server and press r\n")
			continue
		}
		in := m.inspections[i]
		names := []string{}
		for _, sg := range in.Signers {
			names = append(names, sg.Name)
		}
		signers := strings.Join(names, ", ")
		if signers == "" {
			signers = "none"
		}
		fmt.Fprintf(&b, "  signers: %s; signed tags: %d\n", signers, len(in.SignedTags))
		b.WriteString(expiryTable(c, m.readAt, width))
	}
	if kind, signer, why := m.proposal(); kind != "" {
		title := kind.choice().title
		if signer != "" {
			title += ": " + signer
		}
		b.WriteString("\n" + warn("Proposed: "+title) + "\n  " + styleDim.Render("because "+why) + "\n")
	} else if len(m.checks) > 0 && len(s.errs) == 0 {
		b.WriteString("\n" + ok("Nothing needs a ceremony within 90 days.") + " Press enter to choose one anyway.\n")
	}
	return b.String()
}

// expiryTable lists a check's expiries, soonest first; findings are marked.
func expiryTable(c flows.CheckResult, now time.Time, width int) string {
	problem := map[string]string{}
	for _, f := range c.Findings {
		problem[f.What] = f.Problem
	}
	var b strings.Builder
	whatW := max(width-4-12-10, 20) // the mark, the date, the days left
	for _, e := range c.Expiries {
		left := e.Expires.Sub(now)
		what := e.What
		if e.Remedy == flows.RemedyServer {
			what += " (the server renews it)"
		}
		line := padRight(ansi.Truncate(what, whatW-2, "…"), whatW) + e.Expires.Format("2006-01-02") + "  " + flows.Days(left)
		switch p := problem[e.What]; {
		case p == "expired":
			b.WriteString("  " + fail(line) + "\n")
		case p != "":
			b.WriteString("  " + warn(line) + "\n")
		default:
			b.WriteString("  " + styleDim.Render(markLater+" "+line) + "\n")
		}
	}
	for _, f := range c.Findings {
		if f.Expires.IsZero() {
			b.WriteString("  " + warn(f.What+": "+f.Problem) + "\n")
		}
	}
	return b.String()
}
