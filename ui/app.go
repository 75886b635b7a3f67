// Package ui is dctwiz's terminal wizard: the setup ceremony as Bubble
// Tea screens, one per file. The root model (this file) routes messages to
// the active screen and owns navigation, quitting, help, errors and the
// footer. Engine and token work runs in tea.Cmds that return typed
// messages; nothing prompts from inside a command, and the ceremony itself
// is flows.SetupCeremony, the one the headless `dctwiz setup` runs.
package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
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
	// explain says what the screen is for and the words it uses, one
	// sentence each: the top of its help page (?).
	explain() string
}

// screenID indexes a route's screens, in the ceremony's order.
type screenID int

// The maintenance route's screens (the welcome screen is both routes' first).
const (
	mntWelcome screenID = iota
	mntRepository
	mntStatus
	mntCeremony
	mntRootKey
	mntReview
	mntPublish
	mntVerify
	mntDeleteKey
	mntSummary
)

// route is one ceremony as screens: setting up, or maintaining.
type route struct {
	screens []screen
	// review is where nothing is published yet and earlier screens can be
	// revisited; summary is the last screen.
	review, summary screenID
}

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
	// routeMsg is the welcome screen's choice: set up, or maintain.
	routeMsg struct{ maintain bool }
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
	screens []screen // the route's screens
	setup   route
	maint   route
	// The screens both routes start with.
	welcome *welcome
	repo    *repository
	active  screenID
	// reviewing: a screen was revisited from the review; "continue" returns there.
	reviewing bool

	width, height int
	scroll        int
	fullHelp      bool
	spin          spinner.Model
	err           error

	confirmQuit bool
	quitAfter   bool // quit once the running step has finished
	cut         bool // the running step was cut off (its context cancelled)
	quitting    bool
	finished    bool // the ceremony ended on the summary
	outcome     string

	// A quit waits cutOffAfter for a running step, then cuts it off, and
	// quits giveUpAfter later even if it has not returned: quitting always ends.
	cutOffAfter, giveUpAfter time.Duration
}

// How long a quit waits for a running step before cutting it off, and
// then for the cut-off step to return. A publish takes seconds; a step
// still running after this waits on a server or a token that does not answer.
const (
	QuitCutOffAfter = 30 * time.Second
	QuitGiveUpAfter = 5 * time.Second
)

// MinWidth and MinHeight are the smallest terminal the screens are laid out for.
const (
	MinWidth  = 80
	MinHeight = 24
)

// New makes the wizard for cfg on backend b.
func New(cfg Config, b Backend) *Model {
	st := newState(cfg, b)
	sp := spinner.New(spinner.WithSpinner(spinner.MiniDot))
	m := &Model{st: st, width: MinWidth, height: MinHeight, spin: sp,
		cutOffAfter: QuitCutOffAfter, giveUpAfter: QuitGiveUpAfter}
	m.welcome, m.repo = newWelcome(st), newRepository(st)
	m.setup, m.maint = m.setupRoute(), m.maintRoute()
	m.screens = m.setup.screens
	if cfg.Maintain {
		m.screens = m.maint.screens
		st.maintaining = true
	}
	return m
}

// setupRoute is the setup ceremony's screens, new.
func (m *Model) setupRoute() route {
	st := m.st
	return route{review: scrReview, summary: scrSummary, screens: []screen{
		m.welcome,
		m.repo,
		newYubiKey(st),
		newTargetsKey(st),
		newDelegations(st),
		newReview(st),
		newSetupPublish(st),
		newRootCert(st),
		newTestSign(st),
		newDeleteKey(st),
		newSummary(st),
	}}
}

// maintRoute is the maintenance path's screens, new.
func (m *Model) maintRoute() route {
	st := m.st
	return route{review: mntReview, summary: mntSummary, screens: []screen{
		m.welcome,
		m.repo,
		newStatus(st),
		newCeremonyPicker(st),
		newMaintRoot(st),
		newMaintReview(st),
		newMaintPublish(st),
		newMaintVerify(st),
		newMaintDelete(st),
		newMaintSummary(st),
	}}
}

// switchRoute goes from one path to the other (back on the welcome
// screen, before anything was published): the other path's choices are
// dropped, so that no screen shows a root key or passphrase it never
// checked, and a token opened for them is released.
func (m *Model) switchRoute(maintain bool) {
	st := m.st
	if maintain == st.maintaining {
		return
	}
	st.releaseRoot()
	st.mnt = maintenance{}
	st.maintaining = maintain
	if maintain {
		m.maint = m.maintRoute()
		m.screens = m.maint.screens
	} else {
		m.setup = m.setupRoute()
		m.screens = m.setup.screens
	}
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
		case nil, nextMsg, backMsg, gotoMsg, errorMsg, doneMsg, routeMsg, quitDeadlineMsg, giveUpMsg:
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

// Timers of a quit that waits for a running step.
type (
	quitDeadlineMsg struct{}
	giveUpMsg       struct{}
)

// anyBusy says whether engine or token work is running: only work that
// was started and has not answered, never a screen not yet visited.
func (m *Model) anyBusy() bool { return m.st.inflight > 0 }

// Outcome is what to print once the wizard has ended: the repositories'
// state and, when the ceremony did not finish, how to continue headless.
// After the program ended without quitting (a closed terminal, a kill),
// it is worked out from the ceremonies as they are.
func (m *Model) Outcome() string {
	if m.outcome == "" {
		return outcome(m.st, false)
	}
	return m.outcome
}

// Finished says whether the ceremony ran to its end (the summary, with
// its record written). Anything else is a stop: dctwiz exits non-zero.
func (m *Model) Finished() bool { return m.finished }

// Settle is for after the program has ended: it waits for engine or
// token work still running (a closed terminal ends the program at once),
// cuts it off after the quit's time limit and gives up on it after the
// next, then releases the YubiKey. A quit that already cut the work off
// waits only the give-up time again. It returns whether all work ended.
func (m *Model) Settle() bool {
	done := make(chan struct{})
	go func() { m.st.running.Wait(); close(done) }()
	settled := true
	wait := m.cutOffAfter
	if m.cut {
		wait = 0
	}
	select {
	case <-done:
	case <-time.After(wait):
		m.st.cancel()
		select {
		case <-done:
		case <-time.After(m.giveUpAfter):
			settled = false
		}
	}
	m.st.cancel()
	if settled {
		for _, c := range m.st.tokenClosers() {
			c()
		}
	}
	return settled
}

func (m *Model) cur() screen { return m.screens[m.active] }

// route is the route the wizard is on.
func (m *Model) route() *route {
	if m.st.maintaining {
		return &m.maint
	}
	return &m.setup
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m.quitting {
		// Quit: nothing starts any more (a result arriving now would go on).
		return m, nil
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, m.tagged(m.cur().update(msg))
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case eventMsg:
		cmd := m.tagged(m.cur().update(msg.msg))
		return m, tea.Batch(cmd, listen(m.st.events), m.afterBusy())
	case routed:
		if done, isWork := msg.msg.(workDone); isWork {
			m.st.inflight--
			msg.msg = done.msg
		}
		cmd := tag(msg.id, m.screens[msg.id].update(msg.msg))
		return m, tea.Batch(cmd, m.afterBusy())
	case Stop:
		m.confirmQuit = false
		return m, m.stop()
	case quitDeadlineMsg:
		if !m.anyBusy() {
			return m, nil
		}
		return m, m.cutOff()
	case giveUpMsg:
		if !m.anyBusy() {
			return m, nil
		}
		return m, m.quit()
	case routeMsg:
		// Only before anything ran: the welcome screen is the only one that asks.
		m.switchRoute(msg.maintain)
		return m, m.show(1)
	case nextMsg:
		if m.reviewing && m.active < m.route().review {
			m.reviewing = false // back on the review: esc is its own again
			return m, m.show(m.route().review)
		}
		if int(m.active)+1 < len(m.screens) {
			return m, m.show(m.active + 1)
		}
		return m, nil
	case backMsg:
		if m.reviewing {
			// A screen revisited from the review: back is back there.
			m.reviewing = false
			return m, m.show(m.route().review)
		}
		if m.active > 0 && m.active <= m.route().review {
			return m, m.show(m.active - 1)
		}
		return m, nil
	case gotoMsg:
		m.reviewing = msg.id < m.route().review && m.active == m.route().review
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
// running step has finished. A second stop while waiting, or the
// cut-off time, cancels that step (a server that never answers): its
// outcome is then unknown, and rerunning it converges. A step that does
// not return even then is given up on: quitting always ends.
func (m *Model) stop() tea.Cmd {
	if !m.anyBusy() {
		return m.quit()
	}
	if m.quitAfter {
		return m.cutOff()
	}
	m.quitAfter, m.st.stopping = true, true
	return tea.Tick(m.cutOffAfter, func(time.Time) tea.Msg { return quitDeadlineMsg{} })
}

// cutOff cancels the running step, and gives up on it if it still has
// not returned after giveUpAfter.
func (m *Model) cutOff() tea.Cmd {
	if m.cut {
		return nil
	}
	m.cut = true
	m.st.cancel()
	return tea.Tick(m.giveUpAfter, func(time.Time) tea.Msg { return giveUpMsg{} })
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
	if m.width < MinWidth || m.height < MinHeight {
		// Nothing of the screen shows: no key may act on it but ctrl+c.
		m.confirmQuit = key.Matches(msg, keyQuit)
		return nil
	}
	typing := m.cur().typing() && !m.fullHelp
	switch {
	case key.Matches(msg, keyQuit), !typing && key.Matches(msg, keyQuitQ):
		if m.active == m.route().summary && m.st.recordMD != "" && !m.anyBusy() {
			return m.quit() // the ceremony is done: nothing to confirm
		}
		m.confirmQuit = true
		return nil
	case key.Matches(msg, keyHelpF1), !typing && key.Matches(msg, keyHelp), m.fullHelp && key.Matches(msg, keyBack):
		m.fullHelp = !m.fullHelp
		m.scroll = 0
		return nil
	case key.Matches(msg, keyScrollUp):
		m.scroll = max(0, m.scroll-(m.bodyHeight()-1))
		return nil
	case key.Matches(msg, keyScrollDn):
		m.scroll += m.bodyHeight() - 1
		return nil
	case m.fullHelp:
		return nil // the help page is showing: only its own keys work
	}
	return m.tagged(m.cur().update(msg))
}

func (m *Model) show(id screenID) tea.Cmd {
	m.active, m.scroll, m.err, m.fullHelp = id, 0, nil, false
	return m.tagged(m.cur().enter())
}

// quit ends the wizard, releasing the YubiKey and saying where things stand.
func (m *Model) quit() tea.Cmd {
	m.quitting = true
	m.finished = m.active == m.route().summary && m.st.recordMD != ""
	m.outcome = outcome(m.st, m.finished)
	if !m.anyBusy() {
		// A step given up on may still hold the token: Settle releases it.
		for _, c := range m.st.tokenClosers() {
			c()
		}
	}
	m.st.cancel()
	return tea.Quit
}

// View lays out header, the active screen, and the footer.
func (m *Model) View() string {
	if m.quitting {
		return ""
	}
	if m.width < MinWidth || m.height < MinHeight {
		return m.tooSmall()
	}
	w := m.width
	header := m.header(w)
	footer := m.footer(w)
	var body string
	switch {
	case m.confirmQuit || m.quitAfter:
		body = m.quitDialog(w)
	case m.fullHelp:
		body = m.helpPage()
	default:
		body = m.cur().view(w)
	}
	body = strings.ReplaceAll(body, "{spinner}", m.spin.View())
	lines := strings.Split(wrap(strings.TrimRight(body, "\n"), w), "\n")
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

// tooSmall is all a terminal below 80x24 shows: the screens do not fit,
// and a half-drawn screen could hide what a key does. Quitting still works.
func (m *Model) tooSmall() string {
	w := max(m.width, 20)
	msg := fmt.Sprintf("The terminal is %dx%d: the wizard needs at least %dx%d. Make the window larger.", m.width, m.height, MinWidth, MinHeight)
	switch {
	case m.quitAfter:
		msg += " Quitting: waiting for the running step (ctrl+c cuts it off)."
	case m.confirmQuit:
		msg += " Quit the ceremony? y quit, n stay."
	default:
		msg += " ctrl+c quits."
	}
	lines := strings.Split(wrap(msg, w), "\n")
	return strings.Join(lines[:min(len(lines), max(m.height, 1))], "\n")
}

// bodyHeight is the rows left for the screen between header and footer.
func (m *Model) bodyHeight() int {
	return max(m.height-2-lipgloss.Height(m.footer(max(m.width, MinWidth))), 3)
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

// footer shows the error line and the keys that work now, the screen's
// own first, wrapped rather than cut: a key that is not shown is one the
// admin does not know about.
func (m *Model) footer(w int) string {
	var b strings.Builder
	b.WriteString(styleRule.Render(strings.Repeat("─", w)) + "\n")
	if m.err != nil {
		msg, fix := describeError(m.err)
		b.WriteString(wrap(fail(msg), w) + "\n")
		if fix != "" {
			b.WriteString(wrap("  fix: "+fix, w) + "\n")
		}
	}
	var keys []key.Binding
	switch {
	case m.quitAfter:
		keys = []key.Binding{key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "cut the running step off"))}
	case m.confirmQuit:
		keys = []key.Binding{
			key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "quit")),
			key.NewBinding(key.WithKeys("n"), key.WithHelp("n/esc", "stay"))}
	case m.fullHelp:
		keys = []key.Binding{keyCloseHelp, keyScrollUp, keyQuit}
	default:
		keys = m.cur().keys().short
	}
	b.WriteString(keyLine(keys, w))
	return b.String()
}

// keyLine lays out key bindings as "key what" items, wrapping between items.
func keyLine(keys []key.Binding, w int) string {
	var lines []string
	line := ""
	for _, k := range keys {
		h := k.Help()
		if h.Key == "" {
			continue
		}
		item := styleKey.Render(h.Key) + " " + styleDim.Render(h.Desc)
		switch {
		case line == "":
			line = item
		case lipgloss.Width(line)+3+lipgloss.Width(item) <= w:
			line += styleDim.Render(" • ") + item
		default:
			lines = append(lines, line)
			line = item
		}
	}
	return strings.Join(append(lines, line), "\n")
}

// helpPage is what ? shows: what the screen is for, then every key.
func (m *Model) helpPage() string {
	var b strings.Builder
	b.WriteString(styleTitle.Render("Help: "+m.cur().title()) + "\n\n")
	b.WriteString(strings.TrimSpace(m.cur().explain()) + "\n\n")
	b.WriteString(styleTitle.Render("Keys") + "\n")
	seen := map[string]bool{}
	for _, group := range m.cur().keys().full {
		for _, k := range group {
			h := k.Help()
			if h.Key == "" || seen[h.Key] {
				continue
			}
			seen[h.Key] = true
			fmt.Fprintf(&b, "  %s  %s\n", padRight(h.Key, 14), h.Desc)
		}
	}
	if !seen["ctrl+c"] {
		b.WriteString("  " + padRight("ctrl+c", 14) + "  quit, also in a text field (where q is a letter)\n")
	}
	return b.String()
}

func (m *Model) quitDialog(w int) string {
	var b strings.Builder
	b.WriteString(styleTitle.Render("Quit the ceremony?") + "\n\n")
	// What happens now comes first: the status below may scroll.
	if m.anyBusy() {
		b.WriteString("A step is running: the wizard quits as soon as it has finished, so that\nno publish is cut off in the middle.\n")
		if m.quitAfter {
			b.WriteString(fmt.Sprintf("Waiting for it (at most %s). If it hangs, press ctrl+c again to cut it off.\n", m.cutOffAfter))
		}
		b.WriteString("\n")
	}
	b.WriteString(status(m.st, min(w-2, 78)-4) + "\n")
	return styleBox.Width(min(w-2, 78)).Render(wrap(strings.TrimRight(b.String(), "\n"), min(w-2, 78)-4))
}
