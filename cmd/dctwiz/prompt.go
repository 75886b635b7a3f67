package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/dctwiz/dctwiz/trust"
)

// prompter asks the person at the terminal. Commands never read the
// terminal themselves: main gives the real one when stdin and stderr are
// a terminal, tests give a scripted one, and scripts have none (nil), so
// that what a prompt would ask must come from flags or the environment.
type prompter interface {
	// Secret reads a line without echo: a passphrase, a PIN.
	Secret(prompt string) (string, error)
	// Line reads a line with echo: a confirmation.
	Line(prompt string) (string, error)
}

// terminalPrompter prompts on out and reads the terminal in.
type terminalPrompter struct {
	in    *os.File
	out   io.Writer
	lines *bufio.Reader
	// interrupted, when set, ends a prompt that is waiting (ctrl+c): the
	// command catches SIGINT itself, so the read alone would wait for Enter.
	interrupted <-chan struct{}
}

// errPromptInterrupted is a prompt left with ctrl+c.
var errPromptInterrupted = &trust.Error{Kind: trust.ErrInterrupted, Msg: "interrupted at a prompt: nothing was done after it"}

func newTerminalPrompter(in *os.File, out io.Writer) *terminalPrompter {
	return &terminalPrompter{in: in, out: out, lines: bufio.NewReader(in)}
}

func (p *terminalPrompter) Secret(prompt string) (string, error) {
	fmt.Fprint(p.out, prompt)
	fd := int(p.in.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("reading from the terminal: %w", err)
	}
	type read struct {
		b   []byte
		err error
	}
	got := make(chan read, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		got <- read{b, err}
	}()
	select {
	case r := <-got:
		fmt.Fprintln(p.out)
		if r.err != nil {
			return "", fmt.Errorf("reading from the terminal: %w", r.err)
		}
		return string(r.b), nil
	case <-p.interrupted:
		// The read is abandoned: the terminal gets its echo back now.
		term.Restore(fd, state)
		fmt.Fprintln(p.out)
		return "", errPromptInterrupted
	}
}

func (p *terminalPrompter) Line(prompt string) (string, error) {
	fmt.Fprint(p.out, prompt)
	type read struct {
		line string
		err  error
	}
	got := make(chan read, 1)
	go func() {
		line, err := p.lines.ReadString('\n')
		got <- read{line, err}
	}()
	select {
	case r := <-got:
		if r.err != nil && r.line == "" {
			return "", fmt.Errorf("reading from the terminal: %w", r.err)
		}
		return strings.TrimRight(r.line, "\r\n"), nil
	case <-p.interrupted:
		fmt.Fprintln(p.out)
		return "", errPromptInterrupted
	}
}
