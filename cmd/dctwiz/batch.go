package main

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/pflag"

	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/ui"
)

// defaultParallel is how many repositories a batch works on at a time:
// enough to hide the round trips, few enough for a notary server that
// others use too.
const defaultParallel = 8

// registerParallel is --parallel N on a ceremony over many repositories.
func (a *app) registerParallel(fs *pflag.FlagSet) {
	fs.IntVar(&a.parallel, "parallel", defaultParallel,
		"work on this many repositories at a time, after the first (which opens the root key and asks what must be asked)")
}

// checkParallel refuses --parallel below 1.
func (a *app) checkParallel() error {
	if a.parallel < 1 {
		return usagef("--parallel %d: give 1 or more", a.parallel)
	}
	return nil
}

// liveDisplay is the batch's progress on a terminal (ui.BatchProgress),
// in place of a line per repository and step.
type liveDisplay struct {
	p    *tea.Program
	done chan struct{}
}

// startLive shows the batch's progress over guns on the terminal, when
// there is one and no --json; otherwise the batch prints lines.
func (a *app) startLive(guns []trust.GUN) {
	if !a.terminal || a.json || a.debug { // --debug writes notary's log to the terminal
		return
	}
	names := make([]string, len(guns))
	for i, g := range guns {
		names[i] = g.String()
	}
	title := fmt.Sprintf("%s: %d more repositories, %d at a time", a.cmd.CommandPath(), len(guns), min(a.parallel, len(guns)))
	p := tea.NewProgram(ui.NewBatchProgress(title, names),
		tea.WithOutput(a.stderr), tea.WithInput(nil), tea.WithoutSignalHandler())
	live := &liveDisplay{p: p, done: make(chan struct{})}
	a.outMu.Lock()
	a.live = live
	if a.prompt != nil {
		a.prompt = pausingPrompter{inner: a.prompt, p: p}
	}
	a.outMu.Unlock()
	go func() {
		defer close(live.done)
		if _, err := p.Run(); err != nil {
			a.outMu.Lock()
			a.live = nil // the lines, then
			a.outMu.Unlock()
		}
	}()
}

// stopLive leaves the display's last frame on the terminal.
func (a *app) stopLive() {
	a.outMu.Lock()
	live := a.live
	a.live = nil
	if pp, ok := a.prompt.(pausingPrompter); ok {
		a.prompt = pp.inner
	}
	a.outMu.Unlock()
	if live == nil {
		return
	}
	live.p.Quit()
	<-live.done
}

// send gives the live display msg; false when there is none.
func (a *app) send(msg tea.Msg) bool {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	if a.live == nil {
		return false
	}
	a.live.p.Send(msg)
	return true
}

// say prints a line that must be seen now (a touch prompt): on the live
// display above its table, else on stderr.
func (a *app) say(line string) {
	if a.send(ui.BatchNoteMsg{Text: line}) {
		return
	}
	a.outMu.Lock()
	defer a.outMu.Unlock()
	fmt.Fprintln(a.stderr, line)
}

// repoDone tells the live display, or the lines, that gun's ceremony ended.
func (a *app) repoDone(gun trust.GUN, err error) {
	if a.send(ui.BatchRepoDoneMsg{Repo: gun.String(), Err: err}) || a.json || !a.batch {
		return
	}
	a.outMu.Lock()
	defer a.outMu.Unlock()
	if err != nil {
		fmt.Fprintf(a.stderr, "%s failed: %v; carrying on with the others.\n", gun, err)
	} else {
		fmt.Fprintf(a.stderr, "%s done\n", gun)
	}
}

// pausingPrompter hands the terminal back while it asks (a passphrase
// needed halfway through a batch), then resumes the live display.
type pausingPrompter struct {
	inner prompter
	p     *tea.Program
}

func (pp pausingPrompter) Secret(prompt string) (string, error) {
	pp.p.ReleaseTerminal()
	defer pp.p.RestoreTerminal()
	return pp.inner.Secret(prompt)
}

func (pp pausingPrompter) Line(prompt string) (string, error) {
	pp.p.ReleaseTerminal()
	defer pp.p.RestoreTerminal()
	return pp.inner.Line(prompt)
}
