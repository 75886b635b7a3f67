package ui

import (
	"context"
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
	// events[i] are repository i's step events so far.
	events [][]flows.Event
}

type (
	// stepMsg is a ceremony's progress event, for repository gun (index).
	stepMsg struct {
		gun int
		ev  flows.Event
	}
	// ranMsg says that a run of ceremony steps has ended.
	ranMsg struct{ err error }
)

func newPublish(st *state) *publish { return &publish{st: st} }

func (p *publish) title() string { return "Publish" }
func (p *publish) typing() bool  { return false }
func (p *publish) busy() bool    { return p.running }
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

// run publishes every repository in turn; each step converges, so a
// rerun after a failure continues where it stopped.
func (p *publish) run() tea.Cmd {
	p.running, p.err = true, nil
	if len(p.events) != len(p.st.ceremonies) {
		p.events = make([][]flows.Event, len(p.st.ceremonies))
	}
	ceremonies := p.st.ceremonies
	return func() tea.Msg {
		for _, c := range ceremonies {
			if err := c.RunThrough(context.Background(), flows.StepRootCert); err != nil {
				return ranMsg{err}
			}
		}
		return ranMsg{}
	}
}

func (p *publish) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case stepMsg:
		p.touching = false
		if msg.gun < len(p.events) {
			p.events[msg.gun] = append(p.events[msg.gun], msg.ev)
		}
	case touchMsg:
		p.touching = true
	case ranMsg:
		p.running, p.touching, p.err = false, false, msg.err
		if msg.err != nil {
			return showError(msg.err)
		}
		p.done = true
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
	for i, c := range p.st.ceremonies {
		b.WriteString(styleTitle.Render(c.Report().GUN) + "\n")
		b.WriteString(stepLines(p.events[i], []flows.StepID{flows.StepInit, flows.StepDelegations, flows.StepRootCert}))
	}
	switch {
	case p.touching:
		b.WriteString("\n" + styleBox.Render("Touch your YubiKey now: the root key is signing.") + "\n")
	case p.running:
		b.WriteString("\n{spinner} publishing ...\n")
	case p.err != nil:
		b.WriteString("\n" + fail("The ceremony stopped: "+p.err.Error()) + "\n")
		b.WriteString("Every step that finished is published as it is; nothing is half-done.\nPress r to run the failed step again, or q to quit.\n")
	case p.done:
		b.WriteString("\n" + ok("Published. The root certificate is exported.") + " Press enter.\n")
	}
	return b.String()
}

// stepTitles name the steps in one short line each.
var stepTitles = map[flows.StepID]string{
	flows.StepInit:             "Publish the root, targets and server-managed snapshot keys",
	flows.StepDelegations:      "Add the signers (targets/releases and targets/<name>)",
	flows.StepRootCert:         "Export the root certificate",
	flows.StepTestSign:         "Test-sign a tag and verify it as a consumer would",
	flows.StepDeleteTargetsKey: "Delete the local targets private key",
}

// stepLines shows the status of steps from their events.
func stepLines(events []flows.Event, ids []flows.StepID) string {
	last := map[flows.StepID]flows.Event{}
	for _, e := range events {
		last[e.Step] = e
	}
	var b strings.Builder
	for _, id := range ids {
		e, seen := last[id]
		line := stepTitles[id]
		switch {
		case !seen:
			b.WriteString(styleDim.Render(fmt.Sprintf("  %s %s", markPending, line)) + "\n")
		case e.Kind == flows.Started:
			b.WriteString("  {spinner} " + line + "\n")
		case e.Kind == flows.Done:
			b.WriteString("  " + ok(line) + styleDim.Render(fmt.Sprintf(" (%.1fs)", e.Taken.Seconds())) + "\n")
			if e.Note != "" {
				b.WriteString("    " + styleDim.Render(ansi.Truncate(e.Note, 74, "…")) + "\n")
			}
		case e.Kind == flows.Skipped:
			b.WriteString(fmt.Sprintf("  %s %s: skipped, %s\n", markLater, line, e.Note))
		case e.Kind == flows.Failed:
			b.WriteString("  " + fail(line) + "\n")
		}
	}
	return b.String()
}
