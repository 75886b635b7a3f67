package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/dctwiz/dctwiz/flows"
)

type (
	// stepMsg says that a ceremony made progress: the screen draws its
	// report again (the report, not the event, is what it shows).
	stepMsg struct{}
	// ranMsg says that a run of ceremony steps has ended.
	ranMsg struct{ err error }
)

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
