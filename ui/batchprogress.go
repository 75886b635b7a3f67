package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
)

// BatchProgress is the live view of one ceremony over many repositories:
// a progress bar, then a status line per repository, those at work first.
// It is the headless CLI's display on a terminal (the lines it replaces
// would scroll hundreds of repositories past) and the wizard's table
// while a batch publishes. It takes no keys: the command's own signal
// handling stops the batch.
type BatchProgress struct {
	title  string
	repos  []string
	state  map[string]repoState
	line   map[string]string // what each repository is doing, or why it failed
	recent []string          // the repositories that finished, latest first
	done   int
	failed int
	note   string // a line that must be seen now: "Touch YubiKey 8102 now"
	bar    progress.Model
	width  int
	height int
}

type repoState int

const (
	repoWaiting repoState = iota
	repoWorking
	repoDone
	repoFailed
)

// BatchStepMsg says what a repository is doing now.
type BatchStepMsg struct{ Repo, Line string }

// BatchRepoDoneMsg says that a repository's ceremony ended; Err is why it failed.
type BatchRepoDoneMsg struct {
	Repo string
	Err  error
}

// BatchNoteMsg shows a line above the table until the next note ("" clears it).
type BatchNoteMsg struct{ Text string }

// NewBatchProgress is the display of title over repos, none started.
func NewBatchProgress(title string, repos []string) BatchProgress {
	m := BatchProgress{title: title, repos: repos, state: map[string]repoState{}, line: map[string]string{},
		bar: progress.New(progress.WithDefaultGradient(), progress.WithoutPercentage()), width: 80, height: 24}
	return m
}

func (m BatchProgress) Init() tea.Cmd { return nil }

func (m BatchProgress) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case BatchStepMsg:
		if st := m.state[msg.Repo]; st == repoWaiting || st == repoWorking {
			m.state[msg.Repo] = repoWorking
			m.line[msg.Repo] = msg.Line
		}
	case BatchRepoDoneMsg:
		if st := m.state[msg.Repo]; st == repoDone || st == repoFailed {
			break
		}
		m.state[msg.Repo] = repoDone
		m.line[msg.Repo] = "done"
		m.done++
		if msg.Err != nil {
			m.state[msg.Repo] = repoFailed
			m.line[msg.Repo] = "failed: " + msg.Err.Error()
			m.failed++
		}
		m.recent = append([]string{msg.Repo}, m.recent...)
	case BatchNoteMsg:
		m.note = msg.Text
	}
	return m, nil
}

// Finished says how many repositories ended, and how many of those failed.
func (m BatchProgress) Finished() (done, failed int) { return m.done, m.failed }

func (m BatchProgress) View() string {
	var b strings.Builder
	b.WriteString(styleTitle.Render(m.title) + "\n")
	m.bar.Width = max(10, min(m.width-30, 50))
	count := fmt.Sprintf(" %d/%d", m.done, len(m.repos))
	if m.failed > 0 {
		count += styleFail.Render(fmt.Sprintf(", %d failed", m.failed))
	}
	b.WriteString(m.bar.ViewAs(float64(m.done)/float64(max(len(m.repos), 1))) + count + "\n")
	if m.note != "" {
		b.WriteString(warn(m.note) + "\n")
	}
	// Those at work, then the failed, then the latest done; the rest are
	// counted in one line, so the display never outgrows the terminal.
	var rows []string
	for _, r := range m.repos {
		if m.state[r] == repoWorking {
			rows = append(rows, m.row(r))
		}
	}
	for _, r := range m.recent {
		if m.state[r] == repoFailed {
			rows = append(rows, m.row(r))
		}
	}
	for _, r := range m.recent {
		if m.state[r] == repoDone {
			rows = append(rows, m.row(r))
		}
	}
	room := max(m.height-5, 3)
	if len(rows) > room {
		rows = append(rows[:room-1], styleDim.Render(fmt.Sprintf("  … %d more", len(rows)-room+1)))
	}
	if waiting := len(m.repos) - m.done - m.working(); waiting > 0 {
		rows = append(rows, styleDim.Render(fmt.Sprintf("  %s %d waiting", markPending, waiting)))
	}
	b.WriteString(strings.Join(rows, "\n"))
	return b.String() + "\n"
}

func (m BatchProgress) working() int {
	n := 0
	for _, st := range m.state {
		if st == repoWorking {
			n++
		}
	}
	return n
}

// row is one repository's status line, cut to the terminal's width.
func (m BatchProgress) row(r string) string {
	line := r + "  " + m.line[r]
	if w := m.width - 4; w > 10 && len([]rune(line)) > w {
		line = string([]rune(line)[:w-1]) + "…"
	}
	switch m.state[r] {
	case repoDone:
		return "  " + ok(line)
	case repoFailed:
		return "  " + fail(line)
	default:
		return "  " + styleCursor.Render(markCursor) + " " + line
	}
}

// batchTable is the table for the wizard's phase screen when it runs
// over many repositories: each ceremony's state as its report has it.
func batchTable(title string, cs []ceremony, phase flows.Phase, width, height int) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Report().GUN
	}
	var m tea.Model = NewBatchProgress(title, names)
	m, _ = m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	for i, c := range cs {
		status := map[flows.StepID]flows.StepStatus{}
		for _, s := range c.Report().Steps {
			status[s.Step] = s
		}
		var steps, finished int
		var line string
		var failed error
		for _, step := range c.Plan() {
			if step.Phase != phase {
				continue
			}
			steps++
			switch s, seen := status[step.ID]; {
			case !seen:
			case s.Status == flows.Failed:
				failed = fmt.Errorf("%s: %s", step.Title, s.Error)
			case s.Status == flows.Started:
				line = step.Title + " ..."
			default:
				finished++
			}
		}
		switch {
		case failed != nil:
			m, _ = m.Update(BatchRepoDoneMsg{Repo: names[i], Err: failed})
		case finished == steps:
			m, _ = m.Update(BatchRepoDoneMsg{Repo: names[i]})
		case line != "" || finished > 0:
			if line == "" {
				line = fmt.Sprintf("%d of %d steps done", finished, steps)
			}
			m, _ = m.Update(BatchStepMsg{Repo: names[i], Line: line})
		}
	}
	return m.View()
}
