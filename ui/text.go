package ui

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/dctwiz/dctwiz/trust"
)

// wrap fits text to width columns. Words wrap at spaces; a word longer
// than a line (a path, a command, a URL) breaks after a '/' where it can,
// so a path reads as path parts, cut inside a name only where no '/' fits.
func wrap(s string, width int) string {
	if width < 10 {
		width = 10
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if ansi.StringWidth(l) > width {
			lines[i] = wrapLine(l, width)
		}
	}
	return strings.Join(lines, "\n")
}

// wrapLine wraps one line, keeping its leading indent on the lines it
// continues on.
func wrapLine(l string, width int) string {
	plain := ansi.Strip(l)
	indent := len(plain) - len(strings.TrimLeft(plain, " "))
	if indent > width/2 {
		indent = 0
	}
	pad := strings.Repeat(" ", indent)
	out := breakAtSlashes(l, width)
	parts := strings.Split(out, "\n")
	for i := 1; i < len(parts); i++ {
		if ansi.StringWidth(pad+parts[i]) <= width {
			parts[i] = pad + parts[i]
		}
	}
	joined := strings.Join(parts, "\n")
	if indent > 0 && strings.Contains(joined, "\n") {
		// The indent may have pushed a continued line over: wrap again.
		for _, p := range strings.Split(joined, "\n") {
			if ansi.StringWidth(p) > width {
				return breakAtSlashes(l, width)
			}
		}
	}
	return joined
}

// breakAtSlashes wraps at spaces, then after a '/', and only where
// neither fits, anywhere. ansi.Wrap would also break after every '-',
// inside names such as registry.example.com-acme-app-root.crt: hyphens are
// hidden from it as non-breaking ones while it wraps.
func breakAtSlashes(l string, width int) string {
	// Stand-ins of the same width that are no breakpoints: a hyphen that
	// does not break, and a URL's "://" that stays whole.
	const nbHyphen, slash = "\u2011", "\u2215"
	hidden := strings.ReplaceAll(strings.ReplaceAll(l, "-", nbHyphen), "://", ":"+slash+slash)
	out := ansi.Wrap(hidden, width, "/")
	// Put each stand-in back, even where a forced break split "://".
	out = strings.ReplaceAll(strings.ReplaceAll(out, nbHyphen, "-"), slash, "/")
	// ansi.Wrap can leave a word that ends in '/' one column over.
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		if ansi.StringWidth(line) > width {
			lines[i] = ansi.Hardwrap(line, width, true)
		}
	}
	return strings.Join(lines, "\n")
}

// internalChain matches what Go's HTTP client puts before its cause
// (`Get "https://...": `) and the reasons dctwiz's transport adds after
// it: machinery, not what happened.
var (
	httpPrefix   = regexp.MustCompile(`(Get|Post|Put|Delete|Head|Patch) "[^"]*": `)
	refusingTail = regexp.MustCompile(`; refused to go to [^ ]+ \(a redirect away from TLS, or plain http\)`)
)

// describeError turns an error into the line an admin reads, and its fix:
// what went wrong with which input, without Go's internal error chain.
func describeError(err error) (msg, fix string) {
	fix = wizardFix(err)
	switch {
	case errors.Is(err, context.Canceled):
		return "the step was cut off before it finished: what it did is not known yet", "run the same step again: it finds out what reached the server and goes on"
	case errors.Is(err, context.DeadlineExceeded):
		var tout *trust.TimeoutError
		var te *trust.Error
		if errors.As(err, &tout) && errors.As(err, &te) {
			break // the engine's words name the server and the limit: "no answer within 30s"
		}
		msg = "no answer in time"
		if errors.As(err, &te) && te.Input != "" {
			msg = te.Input + ": " + msg
		}
		if fix == "" {
			fix = "check that the server is up and reachable, then try again"
		}
		return msg, fix
	}
	return plainText(err.Error()), fix
}

// errorText is describeError's message alone, for a line on a screen.
func errorText(err error) string {
	msg, _ := describeError(err)
	return msg
}

// plainText removes Go's HTTP request prefixes and transport reasons
// from an error text.
func plainText(s string) string {
	s = httpPrefix.ReplaceAllString(s, "")
	s = refusingTail.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "context canceled", "cut off before it finished, so whether it reached the server is not known")
	return strings.TrimSpace(s)
}
