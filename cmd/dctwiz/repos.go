package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"

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

// fleet is the RunE of a command over [GUN...] [--repos FILE]: run gets
// the GUN arguments, then the list's.
func (a *app) fleet(repos *reposFlag, run func(ctx context.Context, guns []string) error) func(*cobra.Command, []string) error {
	return a.action(func(cmd *cobra.Command, args []string) error {
		guns, err := repos.guns(a, args)
		if err != nil {
			return err
		}
		return run(cmd.Context(), guns)
	})
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

// eachRepo runs do for every repository in turn. With one, its failure is
// the command's; with several, a failure does not stop the others (an
// interrupt does), and the failed ones end as partialFailure.
func (a *app) eachRepo(ctx context.Context, guns []trust.GUN, do func(trust.GUN) error) error {
	var failed []failedRepo
	for _, g := range guns {
		err := do(g)
		switch {
		case err == nil:
			continue
		case len(guns) == 1 || ctx.Err() != nil:
			return err
		}
		if !a.json {
			fmt.Fprintf(a.stderr, "%s failed: %v; carrying on with the others.\n", g, err)
		}
		failed = append(failed, failedRepo{g, err})
	}
	if len(failed) > 0 {
		return a.partialFailure(failed, len(guns))
	}
	return nil
}

// trailingArgs checks a command that takes GUNs (or --repos) then the
// named arguments what: at least len(what) arguments.
func trailingArgs(what ...string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		need := len(what)
		if !cmd.Flags().Changed("repos") {
			need++ // a GUN too
		}
		if len(args) >= need {
			return nil
		}
		return usagef("%s needs the repositories (or --repos FILE), then %s: %d argument(s) given",
			cmd.CommandPath(), strings.Join(what, " and "), len(args))
	}
}

// inParallel runs do(0) ... do(n-1), at most limit at a time, and returns
// once all have returned.
func inParallel(n, limit int, do func(i int)) {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			do(i)
		}()
	}
	wg.Wait()
}
