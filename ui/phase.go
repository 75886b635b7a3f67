package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
)

// phaseScreen runs one phase of the ceremonies (publish, or the
// consumers' verification) for every repository, one step per command so
// that a quit takes effect between two steps, never inside one, and shows
// each step's live status. Each step converges, so a rerun after a
// failure continues where it stopped.
type phaseScreen struct {
	st          *state
	phase       flows.Phase
	name        string // the screen's title
	help        string // its help page's text
	doneText    string // what it says once the phase has run
	running     bool
	err         error
	done        bool
	touching    bool
	touchSerial uint32 // the token that waits: a root rotation signs with two
}

// newSetupPublish publishes each repository's setup through the root certificate.
func newSetupPublish(st *state) *phaseScreen {
	return &phaseScreen{st: st, phase: flows.PhasePublish, name: "Publish", doneText: "Published. The root certificate is exported. Press enter.",
		help: `Publishing sends each repository's signed metadata to the Notary server:
root.json (signed on the YubiKey), targets.json, and the delegations
targets/releases and targets/<signer>. The server signs snapshot and
timestamp itself. Each publish is all or nothing on the server; a failed
step is run again with r, and what it already published is recognised.
The root certificate is then read back from the published root.json.`}
}

// newMaintPublish publishes a maintenance ceremony's change.
func newMaintPublish(st *state) *phaseScreen {
	return &phaseScreen{st: st, phase: flows.PhasePublish, name: "Publish", doneText: "Published. Press enter to verify it as consumers.",
		help: `Publishing first reads each repository as a consumer who trusted it
before, then signs the change with the root key (touch the YubiKey when
it blinks) and sends it to the Notary server. Each publish is all or
nothing on the server; a failed step is run again with r, and what it
already published is recognised. No key is lost: an old key leaves the
trust dir only after the new trust data is published and verifies.`}
}

// newMaintVerify reads the changed repositories as consumers.
func newMaintVerify(st *state) *phaseScreen {
	return &phaseScreen{st: st, phase: flows.PhaseVerify, name: "Verify as consumers",
		doneText: "Verified: new consumers and those that trusted the repositories before read the new trust data. Press enter.",
		help: `Each repository is read as a consumer who has never seen it (an empty
cache, pinned to the root certificate) and as the consumer who read it
before the ceremony (its cache as it was), the way the notary CLI and
docker read it. Both must accept the new trust data, and the tags signed
before must still verify: otherwise your consumers would be stranded.`}
}

func (p *phaseScreen) title() string   { return p.name }
func (p *phaseScreen) typing() bool    { return false }
func (p *phaseScreen) explain() string { return p.help }
func (p *phaseScreen) keys() keyMap {
	switch {
	case p.running:
		return bindings(false)
	case p.err != nil:
		return bindings(false, keyRetryStep)
	}
	return bindings(false, keyNext)
}

var keyRetryStep = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "run the failed step again"))

func (p *phaseScreen) enter() tea.Cmd {
	if p.done || p.running {
		return nil
	}
	return p.run()
}

// run starts the next step of this phase, repository by repository.
func (p *phaseScreen) run() tea.Cmd {
	cmd := runNextStep(p.st, p.phase)
	p.running, p.done, p.err = cmd != nil, cmd == nil, nil
	return cmd
}

// runNextStep runs the next step of phase in the first ceremony that has
// one left, as work; nil when the phase has run in every ceremony.
func runNextStep(st *state, phase flows.Phase) tea.Cmd {
	for _, c := range st.active() {
		if step, ok := c.Next(); ok && step.Phase == phase {
			return st.work(func() tea.Msg { return ranMsg{c.RunThrough(st.ctx, step.ID)} })
		}
	}
	return nil
}

func (p *phaseScreen) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case stepMsg:
		p.touching = false
	case touchMsg:
		p.touching, p.touchSerial = true, msg.serial
	case ranMsg:
		p.running, p.touching, p.err = false, false, msg.err
		if msg.err != nil {
			return showError(msg.err)
		}
		if p.st.stopping {
			return nil
		}
		return p.run()
	case tea.KeyMsg:
		switch {
		case p.err != nil && key.Matches(msg, keyRetryStep):
			return p.run()
		case p.done && key.Matches(msg, keyNext):
			return next
		}
	}
	return nil
}

// batchTableFrom replaces the step lists from this many repositories on:
// the table does not scroll them off the screen.
const batchTableFrom = 4

func (p *phaseScreen) view(width int) string {
	var b strings.Builder
	if active := p.st.active(); len(active) >= batchTableFrom {
		b.WriteString(batchTable(fmt.Sprintf("%s: %d repositories", p.name, len(active)), active, p.phase, width, 18))
	} else {
		for _, c := range active {
			b.WriteString(styleTitle.Render(c.Report().GUN) + "\n")
			b.WriteString(stepLines(c, p.phase, true))
		}
	}
	for _, s := range p.st.mnt.skipped {
		b.WriteString(styleDim.Render(markLater+" "+s) + "\n")
	}
	switch {
	case p.touching:
		b.WriteString("\n" + styleBox.Render(touchPrompt(p.touchSerial, "its root key is signing")) + "\n")
	case p.running && p.phase == flows.PhaseVerify:
		b.WriteString("\n{spinner} reading as consumers ...\n")
	case p.running:
		b.WriteString("\n{spinner} publishing ...\n")
	case p.err != nil:
		b.WriteString("\n" + fail("The ceremony stopped: "+errorText(p.err)) + "\n")
		b.WriteString("Each publish is all or nothing: what is marked done is published. Press r\nto run the failed step again (what it already published is recognised), or\nq to quit.\n")
	case p.done:
		b.WriteString("\n" + ok(p.doneText) + "\n")
	}
	return b.String()
}
