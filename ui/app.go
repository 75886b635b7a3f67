// Package ui is dctwiz's terminal wizard: the setup ceremony as Bubble
// Tea screens, one per file. The root model (this file) routes messages to
// the active screen and owns navigation, quitting, help, errors and the
// footer. Engine and token work runs in tea.Cmds that return typed
// messages; nothing prompts from inside a command, and the ceremony itself
// is flows.Ceremony, the one the headless `dctwiz setup` runs.
package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/dctwiz/dctwiz/trust"
)

// screen is one step of the wizard.
type screen interface {
	title() string
	// enter is called each time the screen becomes the active one.
	enter() tea.Cmd
	update(msg tea.Msg) tea.Cmd
	view(width int) string
	keys() keyMap
	// typing: a text field has the focus, so letters are text, not commands.
	typing() bool
	// busy: engine or token work is running; quitting waits for it.
	busy() bool
}

// screenID indexes Model.screens, in the ceremony's order.
type screenID int

const (
	scrWelcome screenID = iota
	scrRepository
	scrYubiKey
	scrTargetsKey
	scrDelegations
	scrReview
	scrPublish
	scrRootCert
	scrTestSign
	scrDeleteKey
	scrSummary
)

// Navigation messages the screens return (as commands).
type (
	nextMsg struct{}
	backMsg struct{}
	gotoMsg struct{ id screenID }
	// errorMsg shows an error in the footer until the next key.
	errorMsg struct{ err error }
	// doneMsg ends the wizard after the summary.
	doneMsg struct{}
)

func next() tea.Msg { return nextMsg{} }
func back() tea.Msg { return backMsg{} }
func goTo(id screenID) tea.Cmd {
	return func() tea.Msg { return gotoMsg{id} }
}
func showError(err error) tea.Cmd { return func() tea.Msg { return errorMsg{err} } }

// Model is the wizard's root model.
type Model struct {
	st      *state
	screens []screen
	active  screenID
	// reviewing: a screen was revisited from the review; "continue" returns there.
	reviewing bool

	width, height int
	scroll        int
	help          help.Model
	fullHelp      bool
	spin          spinner.Model
	err           error

	confirmQuit bool
	quitAfter   bool // quit once the running step has finished
	quitting    bool
	outcome     string
}

// New makes the wizard for cfg on backend b.
func New(cfg Config, b Backend) *Model {
	st := newState(cfg, b)
	sp := spinner.New(spinner.WithSpinner(spinner.MiniDot))
	m := &Model{st: st, width: 80, height: 24, help: help.New(), spin: sp}
	m.screens = []screen{
		newWelcome(st),
		newRepository(st),
		newYubiKey(st),
		newTargetsKey(st),
		newDelegations(st),
		newReview(st),
		newPublish(st),
		newRootCert(st),
		newTestSign(st),
		newDeleteKey(st),
		newSummary(st),
	}
	return m
}

// Init starts the first screen, the spinner and the event listener.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.tagged(m.cur().enter()), m.spin.Tick, listen(m.st.events))
}

// routed is a command's result on its way back to the screen that ran
// the command, even if another screen is showing by then.
type routed struct {
	id  screenID
	msg tea.Msg
}

// tagged makes cmd's results go back to the active screen.
func (m *Model) tagged(cmd tea.Cmd) tea.Cmd { return tag(m.active, cmd) }

func tag(id screenID, cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg {
		switch msg := cmd().(type) {
		case nil, nextMsg, backMsg, gotoMsg, errorMsg, doneMsg:
			return msg // for the root model
		case tea.BatchMsg:
			out := make(tea.BatchMsg, len(msg))
			for i, c := range msg {
				out[i] = tag(id, c)
			}
			return out
		default:
			return routed{id, msg}
		}
	}
}

// Stop is what a signal asks for (SIGINT, SIGTERM, SIGHUP): a confirmed
// quit, which waits for a running step, releases the YubiKey and says
// where things stand.
type Stop struct{}

// anyBusy says whether any screen's work is still running.
func (m *Model) anyBusy() bool {
	for _, s := range m.screens {
		if s.busy() {
			return true
		}
	}
	return false
}

// Outcome is what to print once the wizard has ended: the repositories'
// state and, when the ceremony did not finish, how to continue headless.
func (m *Model) Outcome() string { return m.outcome }

func (m *Model) cur() screen { return m.screens[m.active] }

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
		return m, m.tagged(m.cur().update(msg))
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case eventMsg:
		cmd := m.tagged(m.cur().update(msg.msg))
		return m, tea.Batch(cmd, listen(m.st.events), m.afterBusy())
	case routed:
		cmd := tag(msg.id, m.screens[msg.id].update(msg.msg))
		return m, tea.Batch(cmd, m.afterBusy())
	case Stop:
		m.confirmQuit = false
		return m, m.stop()
	case nextMsg:
		if m.reviewing && m.active < scrReview {
			return m, m.show(scrReview)
		}
		if int(m.active)+1 < len(m.screens) {
			return m, m.show(m.active + 1)
		}
		return m, nil
	case backMsg:
		m.reviewing = false
		if m.active > 0 && m.active <= scrReview {
			return m, m.show(m.active - 1)
		}
		return m, nil
	case gotoMsg:
		m.reviewing = msg.id < scrReview && m.active == scrReview
		return m, m.show(msg.id)
	case errorMsg:
		m.err = msg.err
		return m, nil
	case doneMsg:
		return m, m.quit()
	case tea.KeyMsg:
		return m, m.key(msg)
	}
	cmd := m.tagged(m.cur().update(msg))
	return m, tea.Batch(cmd, m.afterBusy())
}

// stop is a confirmed quit: at once when nothing runs, else once the
// running step has finished. A second stop while waiting cancels that
// step (a server that never answers): its outcome is then unknown, and
// rerunning it converges.
func (m *Model) stop() tea.Cmd {
	if !m.anyBusy() {
		return m.quit()
	}
	if m.quitAfter {
		m.st.cancel()
	}
	m.quitAfter, m.st.stopping = true, true
	return nil
}

// afterBusy quits when a quit was asked for while work ran.
func (m *Model) afterBusy() tea.Cmd {
	if m.quitAfter && !m.anyBusy() {
		return m.quit()
	}
	return nil
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	m.err = nil
	if m.quitAfter {
		// Quitting, waiting for a step: only another stop means anything.
		if key.Matches(msg, keyQuit) {
			return m.stop()
		}
		return nil
	}
	if m.confirmQuit {
		switch msg.String() {
		case "y", "Y", "ctrl+c":
			m.confirmQuit = false
			return m.stop()
		case "n", "N", "esc":
			m.confirmQuit = false
		}
		return nil
	}
	typing := m.cur().typing()
	switch {
	case key.Matches(msg, keyQuit), !typing && key.Matches(msg, keyQuitQ):
		if m.active == scrSummary && !m.anyBusy() {
			return m.quit()
		}
		m.confirmQuit = true
		return nil
	case key.Matches(msg, keyHelpF1), !typing && key.Matches(msg, keyHelp):
		m.fullHelp = !m.fullHelp
		return nil
	case key.Matches(msg, keyScrollUp):
		m.scroll = max(0, m.scroll-(m.bodyHeight()-1))
		return nil
	case key.Matches(msg, keyScrollDn):
		m.scroll += m.bodyHeight() - 1
		return nil
	}
	return m.tagged(m.cur().update(msg))
}

func (m *Model) show(id screenID) tea.Cmd {
	m.active, m.scroll, m.err = id, 0, nil
	return m.tagged(m.cur().enter())
}

// quit ends the wizard, releasing the YubiKey and saying where things stand.
func (m *Model) quit() tea.Cmd {
	m.quitting = true
	m.outcome = outcome(m.st, m.active == scrSummary && m.st.recordMD != "")
	if c := m.st.root.closer; c != nil {
		c.Close()
	}
	m.st.cancel()
	return tea.Quit
}

// View lays out header, the active screen, and the footer.
func (m *Model) View() string {
	if m.quitting {
		return ""
	}
	w := max(m.width, 40)
	header := m.header(w)
	footer := m.footer(w)
	body := m.cur().view(w)
	if m.confirmQuit || m.quitAfter {
		body = m.quitDialog(w)
	}
	body = strings.ReplaceAll(body, "{spinner}", m.spin.View())
	lines := strings.Split(lipgloss.NewStyle().Width(w).Render(strings.TrimRight(body, "\n")), "\n")
	avail := m.bodyHeight()
	if len(lines) > avail {
		m.scroll = min(m.scroll, len(lines)-avail+1)
		more := fmt.Sprintf("  ↓ %d more lines (pgdn)", len(lines)-avail+1-m.scroll)
		if m.scroll+avail-1 >= len(lines) {
			more = "  ↑ (pgup)"
		}
		lines = append(lines[m.scroll:m.scroll+avail-1], styleDim.Render(more))
	} else {
		m.scroll = 0
		for len(lines) < avail {
			lines = append(lines, "")
		}
	}
	return header + "\n" + strings.Join(lines, "\n") + "\n" + footer
}

// bodyHeight is the rows left for the screen between header and footer.
func (m *Model) bodyHeight() int {
	return max(m.height-2-lipgloss.Height(m.footer(max(m.width, 40))), 3)
}

func (m *Model) header(w int) string {
	left := styleHeader.Render("dctwiz") + " · " + fmt.Sprintf("step %d of %d: ", m.active+1, len(m.screens)) + styleTitle.Render(m.cur().title())
	right := ""
	if m.st.cfg.Sandbox {
		right = styleSandbox.Render("[SANDBOX]")
	}
	gap := max(w-lipgloss.Width(left)-lipgloss.Width(right), 1)
	return left + strings.Repeat(" ", gap) + right + "\n" + styleRule.Render(strings.Repeat("─", w))
}

func (m *Model) footer(w int) string {
	var b strings.Builder
	b.WriteString(styleRule.Render(strings.Repeat("─", w)) + "\n")
	if m.err != nil {
		b.WriteString(fail(m.err.Error()) + "\n")
		if fix := trust.FixFor(m.err); fix != "" {
			b.WriteString("  fix: " + fix + "\n")
		}
	}
	m.help.ShowAll = m.fullHelp
	if m.quitAfter {
		b.WriteString(m.help.View(keyMap{short: []key.Binding{
			key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "cut the running step off"))}}))
	} else if m.confirmQuit {
		b.WriteString(m.help.View(keyMap{short: []key.Binding{
			key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "quit")),
			key.NewBinding(key.WithKeys("n"), key.WithHelp("n/esc", "stay"))}}))
	} else {
		b.WriteString(m.help.View(m.cur().keys()))
	}
	return lipgloss.NewStyle().Width(w).Render(b.String())
}

func (m *Model) quitDialog(w int) string {
	var b strings.Builder
	b.WriteString(styleTitle.Render("Quit the ceremony?") + "\n\n")
	b.WriteString(status(m.st) + "\n")
	if m.anyBusy() {
		b.WriteString("\nA step is running: the wizard quits as soon as it has finished, so that\nno publish is cut off in the middle.\n")
	}
	if m.quitAfter {
		b.WriteString("Waiting for it. If it hangs, press ctrl+c again to cut it off.\n")
	}
	return styleBox.Width(min(w-2, 78)).Render(strings.TrimRight(b.String(), "\n"))
}
