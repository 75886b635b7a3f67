package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
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
}

func newTerminalPrompter(in *os.File, out io.Writer) *terminalPrompter {
	return &terminalPrompter{in: in, out: out, lines: bufio.NewReader(in)}
}

func (p *terminalPrompter) Secret(prompt string) (string, error) {
	fmt.Fprint(p.out, prompt)
	b, err := term.ReadPassword(int(p.in.Fd()))
	fmt.Fprintln(p.out)
	if err != nil {
		return "", fmt.Errorf("reading from the terminal: %w", err)
	}
	return string(b), nil
}

func (p *terminalPrompter) Line(prompt string) (string, error) {
	fmt.Fprint(p.out, prompt)
	line, err := p.lines.ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading from the terminal: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
