// Command dctwiz administers Docker Content Trust: the setup ceremony and
// its steps, as a terminal wizard or headless from flags and environment.
// This package only wires flags and environment to the engine and flows;
// it is the only place that exits.
package main

import (
	"os"

	"golang.org/x/term"
)

func main() {
	a := &app{
		stdin:    os.Stdin,
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		getenv:   os.Getenv,
		terminal: term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stderr.Fd())),
	}
	if a.terminal {
		a.prompt = newTerminalPrompter(os.Stdin, os.Stderr)
	}
	os.Exit(a.run(os.Args[1:]))
}
