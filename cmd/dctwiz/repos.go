package main

import (
	"slices"

	"github.com/spf13/pflag"

	"github.com/dctwiz/dctwiz/trust"
)

// reposFlag is --repos FILE: more repositories to work on, one GUN per
// line, after those given as arguments: a fleet's list, kept in a file
// (or piped in with -).
type reposFlag struct{ path string }

func (r *reposFlag) register(fs *pflag.FlagSet) {
	fs.StringVar(&r.path, "repos", "", "also work on the repositories listed in FILE, one GUN per line (# starts a comment; - reads standard input)")
}

// guns are the GUN arguments, then the list's: at least one, each once.
// A bad line in the list is a usage error naming the line, before
// anything is asked or published.
func (r reposFlag) guns(a *app, args []string) ([]string, error) {
	a.gunArgs = args
	out := slices.Clone(args)
	if r.path != "" {
		list, err := trust.ReadRepoList(r.path, a.stdin)
		if err != nil {
			return nil, usageError{err}
		}
		for _, g := range list {
			out = append(out, g.String())
		}
	}
	if len(out) == 0 {
		return nil, usagef("no repository given: name one or more GUNs, or --repos FILE")
	}
	seen := map[string]bool{}
	for _, s := range out {
		g, err := trust.ParseGUN(s)
		if err != nil {
			continue // reported with its fix when the GUNs are parsed
		}
		if seen[g.String()] {
			return nil, usagef("%s is given twice (as an argument and in --repos, or twice as an argument)", g)
		}
		seen[g.String()] = true
	}
	return out, nil
}
