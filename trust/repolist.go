package trust

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxRepoList is the largest repository list dctwiz reads: room for
// tens of thousands of GUNs; anything larger is not a list of them.
const MaxRepoList = 4 << 20

// ReadRepoList reads a repository list (`--repos FILE`): a regular file
// of at most MaxRepoList bytes, or, for "-", stdin (as far as that limit).
func ReadRepoList(path string, stdin io.Reader) ([]GUN, error) {
	name := path
	var b []byte
	var err error
	if path == "-" && stdin == nil {
		return nil, newError(ErrBadInput, "-", "give the list as a file", "standard input is not available here")
	}
	if path == "-" {
		name = "standard input"
		b, err = io.ReadAll(io.LimitReader(stdin, MaxRepoList+1))
	} else {
		b, err = readBounded(path, MaxRepoList)
	}
	if err != nil {
		return nil, newError(ErrBadInput, name, "give a text file with one repository per line, or - for standard input",
			"cannot read the repository list: %s", shortCause(err))
	}
	if len(b) > MaxRepoList {
		return nil, newError(ErrBadInput, name, "give a text file with one repository per line",
			"larger than %d MiB, so not a repository list", MaxRepoList>>20)
	}
	return ParseRepoList(name, b)
}

// ParseRepoList reads one GUN per line. Blank lines are skipped, and so is
// what follows a # (a comment line, or a note after the GUN). A bad line
// or a GUN listed twice is an error naming the line; nothing is returned
// then, so that a ceremony never runs on part of a list.
func ParseRepoList(name string, b []byte) ([]GUN, error) {
	var out []GUN
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		where := fmt.Sprintf("%s line %d", name, n)
		if strings.ContainsAny(line, " \t") {
			return nil, newError(ErrBadGUN, where, "give one repository per line", "%q holds more than one word", line)
		}
		gun, err := ParseGUN(line)
		if err != nil {
			fix := "give the repository as registry/path, e.g. docker.io/acme/app"
			var e *Error
			if errors.As(err, &e) {
				fix, err = e.Fix, errors.New(e.Msg)
			}
			return nil, newError(ErrBadGUN, where, fix, "%s: %v", line, err)
		}
		if first, dup := seen[gun.String()]; dup {
			return nil, newError(ErrBadInput, where, "list each repository once", "%s is listed on line %d already", gun, first)
		}
		seen[gun.String()] = n
		out = append(out, gun)
	}
	if err := sc.Err(); err != nil {
		return nil, newError(ErrBadInput, name, "give a text file with one repository per line", "cannot read the repository list: %s", shortCause(err))
	}
	if len(out) == 0 {
		return nil, newError(ErrBadInput, name, "list one repository per line, e.g. docker.io/acme/app", "the repository list names no repository")
	}
	return out, nil
}
