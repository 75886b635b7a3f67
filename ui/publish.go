package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/dctwiz/dctwiz/flows"
)

// publish runs each repository's ceremony through the root certificate,
// showing every step's live status.
type publish struct {
	st       *state
	running  bool
	err      error
	done     bool
	touching bool
}

type (
	// stepMsg says that a ceremony made progress: the screen draws its
	// report again (the report, not the event, is what it shows).
	stepMsg struct{}
	// ranMsg says that a run of ceremony steps has ended.
	ranMsg struct{ err error }
)

func newPublish(st *state) *publish { return &publish{st: st} }

func (p *publish) title() string { return "Publish" }
func (p *publish) typing() bool  { return false }
func (p *publish) explain() string {
	return `Publishing sends each repository's signed metadata to the Notary server:
root.json (signed on the YubiKey), targets.json, and the delegations
targets/releases and targets/<signer>. The server signs snapshot and
timestamp itself. Each publish is all or nothing on the server; a failed
step is run again with r, and what it already published is recognised.
The root certificate is then read back from the published root.json.`
}
func (p *publish) keys() keyMap {
	switch {
	case p.running:
		return bindings(false)
	case p.err != nil:
		return bindings(false, keyRetry)
	}
	return bindings(false, keyNext)
}

func (p *publish) enter() tea.Cmd {
	if p.done || p.running {
		return nil
	}
	return p.run()
}

// run publishes every repository in turn, one step per command, so that
// a quit takes effect between two steps, never inside one. Each step
// converges, so a rerun after a failure continues where it stopped.
func (p *publish) run() tea.Cmd {
	for _, c := range p.st.ceremonies {
		if step, ok := c.Next(); ok && step.Phase == flows.PhasePublish {
			p.running, p.err = true, nil
			st := p.st
			return st.work(func() tea.Msg { return ranMsg{c.RunThrough(st.ctx, step.ID)} })
		}
	}
	p.running, p.done = false, true
	return nil
}

func (p *publish) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case stepMsg:
		p.touching = false // the signature is done
	case touchMsg:
		p.touching = true
	case ranMsg:
		p.running, p.touching, p.err = false, false, msg.err
		if msg.err != nil {
			return showError(msg.err)
		}
		if p.st.stopping {
			return nil // the wizard is quitting: no further step
		}
		return p.run()
	case tea.KeyMsg:
		switch {
		case p.err != nil && key.Matches(msg, keyRetry):
			return p.run()
		case p.done && key.Matches(msg, keyNext):
			return next
		}
	}
	return nil
}

func (p *publish) view(width int) string {
	var b strings.Builder
	for _, c := range p.st.ceremonies {
		rep := c.Report()
		b.WriteString(styleTitle.Render(rep.GUN) + "\n")
		b.WriteString(stepLines(c, flows.PhasePublish, true))
	}
	switch {
	case p.touching:
		b.WriteString("\n" + styleBox.Render("Touch your YubiKey now: the root key is signing.") + "\n")
	case p.running:
		b.WriteString("\n{spinner} publishing ...\n")
	case p.err != nil:
		b.WriteString("\n" + fail("The ceremony stopped: "+errorText(p.err)) + "\n")
		b.WriteString("Each publish is all or nothing: what is marked done is published. Press r\nto run the failed step again (what it already published is recognised), or\nq to quit.\n")
	case p.done:
		b.WriteString("\n" + ok("Published. The root certificate is exported.") + " Press enter.\n")
	}
	return b.String()
}

// stepLines shows the status of a phase's steps as the ceremony's report
// has them (its events only make the screen draw again), with their notes
// if asked. The titles are the step table's, as the CLI prints them.
func stepLines(c ceremony, phase flows.Phase, notes bool) string {
	rep := c.Report()
	status := map[flows.StepID]flows.StepStatus{}
	for _, s := range rep.Steps {
		status[s.Step] = s
	}
	var b strings.Builder
	for _, step := range c.Plan() {
		if step.Phase != phase {
			continue
		}
		s, seen := status[step.ID]
		line := step.Title
		switch {
		case !seen:
			b.WriteString(styleDim.Render(fmt.Sprintf("  %s %s", markPending, line)) + "\n")
		case s.Status == flows.Started:
			b.WriteString("  {spinner} " + line + "\n")
		case s.Status == flows.Done:
			b.WriteString("  " + ok(line) + "\n")
			if notes && s.Note != "" {
				b.WriteString("    " + styleDim.Render(ansi.Truncate(s.Note, 74, "…")) + "\n")
			}
		case s.Status == flows.Skipped:
			b.WriteString(fmt.Sprintf("  %s %s: skipped, %s\n", markLater, line, s.Note))
		case s.Status == flows.Failed:
			b.WriteString("  " + fail(line) + "\n")
		}
	}
	return b.String()
}
