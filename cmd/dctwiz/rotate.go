package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

func (a *app) rotateCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rotate", Short: "Rotate a repository's keys (a key ceremony)"}
	cmd.AddCommand(a.rotateTargetsCmd(), a.rotateServerKeyCmd(flows.RoleSnapshot), a.rotateServerKeyCmd(flows.RoleTimestamp), a.rotateRootCmd())
	return cmd
}

// rotateServerKeyCmd is `rotate snapshot` or `rotate timestamp`.
func (a *app) rotateServerKeyCmd(role string) *cobra.Command {
	opts := rotateOptions{Role: role}
	cmd := &cobra.Command{
		Use:         role + " [GUN...] [--repos FILE]",
		Annotations: locksTrustDir,
		Short:       "Have the notary server make a new " + role + " key, signed in by the root key",
		Long: "rotate " + role + ` asks the notary server for a new ` + role + ` key, which it makes and
keeps (the key stays server-managed), and signs it into root.json with the root
key; the server signs ` + role + `.json with it from then on. Use it when the
server's key may be compromised, or as a policy. As with rotate targets, the
repository is read first as a consumer, and afterwards verified as a new
consumer and as that earlier one. Publishing needs --yes, or typing the GUN on a
terminal.`,
		Example: "  dctwiz rotate " + role + " docker.io/acme/app --root-key yubikey --yes",
		Args:    cobra.ArbitraryArgs,
		RunE: a.fleet(&opts.Repos, func(ctx context.Context, guns []string) error {
			opts.GUNs = guns
			return a.runRotate(ctx, opts)
		}),
	}
	opts.RootKey.register(cmd.Flags())
	opts.Repos.register(cmd.Flags())
	a.registerParallel(cmd.Flags())
	cmd.Flags().StringVar(&opts.RecordDir, "record", "", "write the ceremony record (Markdown and JSON, no secrets) into this directory")
	if role == flows.RoleSnapshot {
		cmd.Flags().BoolVar(&opts.Local, "local", false, "make the new snapshot key in the trust dir (its passphrase is the targets key's); every publish then needs it")
	}
	return cmd
}

// rotateOptions are what `dctwiz rotate targets|snapshot|timestamp` runs with.
type rotateOptions struct {
	Role      string // flows.RoleTargets, RoleSnapshot or RoleTimestamp
	GUNs      []string
	RootKey   rootKeyFlags
	DeleteKey bool
	Local     bool // rotate snapshot: keep the new key in the trust dir
	RecordDir string
	Repos     reposFlag
}

func (a *app) rotateTargetsCmd() *cobra.Command {
	opts := rotateOptions{Role: flows.RoleTargets}
	cmd := &cobra.Command{
		Use:         "targets [GUN...] [--repos FILE]",
		Annotations: locksTrustDir,
		Short:       "Give repositories a new targets key, signed in by the root key",
		Long: `rotate targets makes a new targets (repository) key in the trust dir, signs it
into root.json with the root key and re-signs targets.json with it: the
signers (delegations) and the tags signed before stay as they are, and
targets.json's expiry starts again. It needs the root key, not the old targets
key, so it is the way to maintain a repository whose targets key was deleted
after setup (adding or removing a signer, renewing targets.json).

First it reads each repository as a consumer who trusted it before; after the
publish it verifies as a new consumer pinned to the root certificate and as
that earlier consumer. No key is lost: an old targets key in the trust dir is
removed only after the new trust data is published and verifies; a rerun after
any failure makes a new key and retires what the failed run left. --delete-targets-key deletes
the new key at the end, as setup does. Publishing needs --yes, or typing the
GUN on a terminal.`,
		Example: `  # After setup with --delete-targets-key, the root key on a YubiKey:
  dctwiz rotate targets docker.io/acme/app --root-key yubikey --delete-targets-key --yes

  # Several repositories, one PIN:
  dctwiz rotate targets docker.io/acme/app docker.io/acme/api --root-key yubikey:12345678 --yes --json`,
		Args: cobra.ArbitraryArgs,
		RunE: a.fleet(&opts.Repos, func(ctx context.Context, guns []string) error {
			opts.GUNs = guns
			return a.runRotate(ctx, opts)
		}),
	}
	opts.RootKey.register(cmd.Flags())
	opts.Repos.register(cmd.Flags())
	a.registerParallel(cmd.Flags())
	cmd.Flags().BoolVar(&opts.DeleteKey, "delete-targets-key", false, "delete the new targets private key at the end (the repository keeps its signers)")
	cmd.Flags().StringVar(&opts.RecordDir, "record", "", "write the ceremony record (Markdown and JSON, no secrets) into this directory")
	return cmd
}

// runRotate rotates each repository's key in turn, with one root key
// (one PIN), and stops at the first failure.
func (a *app) runRotate(ctx context.Context, opts rotateOptions) (err error) {
	guns, err := parseGUNArgs(opts.GUNs)
	if err != nil {
		return err
	}
	if opts.RecordDir != "" {
		if err := checkDir(opts.RecordDir); err != nil {
			return err
		}
	}
	what := "Publishing a new " + opts.Role + " key for " + joinGUNs(guns)
	if opts.DeleteKey {
		what += ", and deleting it from the trust dir at the end"
	}
	if err := opts.RootKey.check(); err != nil {
		return err
	}
	needs := rootNeeds(opts.RootKey) + touchNote(opts.RootKey, len(guns), 1)
	if opts.Role == flows.RoleTargets || opts.Local {
		needs += ", and a passphrase for the new key (the targets key's)"
	}
	a.showPlan(guns, (&flows.Rotate{Role: opts.Role, DeleteTargetsKey: opts.DeleteKey}).Plan(), needs,
		"nothing to do: docker and notary clients follow the re-signed root.json; tags signed before stay valid")
	if err := a.confirm(what, guns[0].String()); err != nil {
		return err
	}
	root, err := a.rootKey(opts.RootKey)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	var reports []*flows.Report
	began := time.Now()
	err = a.runEach(ctx, guns, &reports, true, func(gun trust.GUN) (ceremony, error) {
		r := &flows.Rotate{GUN: gun, Root: root, Role: opts.Role, Local: opts.Local, DeleteTargetsKey: opts.DeleteKey}
		return flows.NewRotate(c, r, a.progressOf(gun, r.Plan()))
	})
	// The record is written however the ceremony ended, before the output:
	// failing to write it fails the command, and --json prints one document.
	err = a.recorded(err, "rotate "+opts.Role, opts.RecordDir, began, c, root, reports)
	if err != nil {
		return err
	}
	return a.output(reports, func() {
		for _, rep := range reports {
			printRotation(a, rep)
		}
	})
}

// ceremony is a maintenance ceremony of one repository, made and not run.
type ceremony interface {
	Check(ctx context.Context) error
	RunAll(ctx context.Context) error
	Report() *flows.Report
}

// runEach makes one ceremony per repository and checks them all before
// any runs, so that a repository that would be refused stops the command
// before the others are changed (the checks only read: they run side by
// side). Then the first repository runs alone: it opens the root key and
// asks for what must be asked, once. The others follow, --parallel at a
// time (the token signs one request at a time). With one repository a
// failure stops it, with what the ceremony did said. With several, the
// others carry on (an interrupt still stops everything); at the end the
// failed ones are named with why, their GUNs written to a file, and the
// command that reruns only those printed (every step converges). Reports
// keep the repositories' order. For --json the reports go into the error
// document, as a list when the command's document is one.
func (a *app) runEach(ctx context.Context, guns []trust.GUN, reports *[]*flows.Report, list bool, newCeremony func(trust.GUN) (ceremony, error)) error {
	if err := a.checkParallel(); err != nil {
		return err
	}
	stop := func(rep *flows.Report, err error) error {
		*reports = append(*reports, rep)
		a.explainStop(rep, err)
		if a.json && list {
			a.failureReport = *reports
		}
		return err
	}
	n := len(guns)
	a.batch = n > 1
	cers := make([]ceremony, n)
	errs := make([]error, n)
	inParallel(n, a.parallel, func(i int) {
		c, err := newCeremony(guns[i])
		if err == nil {
			err = c.Check(ctx)
		}
		cers[i], errs[i] = c, err
	})
	for i, err := range errs {
		if err != nil {
			if n > 1 {
				err = fmt.Errorf("%s: %w (nothing was published to any of the repositories)", guns[i], err)
			}
			return stop(cers[i].Report(), err)
		}
	}
	started := make([]bool, n)
	run := func(i int) {
		if ctx.Err() != nil {
			return // interrupted: the rest do not start
		}
		started[i] = true
		errs[i] = cers[i].RunAll(ctx)
		a.repoDone(guns[i], errs[i])
	}
	run(0)
	if errs[0] != nil && n == 1 {
		return stop(cers[0].Report(), errs[0])
	}
	if n > 1 {
		a.startLive(guns[1:])
		inParallel(n-1, a.parallel, func(j int) { run(j + 1) })
		a.stopLive()
	}
	if ctx.Err() != nil {
		// Interrupted: every repository that started is reported (several
		// were in flight), each failed one with what it left.
		var first error
		for i, c := range cers {
			if !started[i] {
				continue
			}
			*reports = append(*reports, c.Report())
			if errs[i] != nil {
				a.explainStop(c.Report(), errs[i])
				first = cmp.Or(first, errs[i])
			}
		}
		if a.json && list {
			a.failureReport = *reports
		}
		return cmp.Or(first, error(&trust.Error{Kind: trust.ErrInterrupted, Input: guns[0].String(),
			Msg: "interrupted between repositories", Fix: "run the same command again: the repositories done are recognised", Action: trust.ActionRerun}))
	}
	var failed []failedRepo
	for i, c := range cers {
		if !started[i] {
			continue
		}
		*reports = append(*reports, c.Report())
		if errs[i] != nil {
			if !a.json {
				a.explainStop(c.Report(), errs[i]) // its failure line came when it failed (repoDone)
			}
			failed = append(failed, failedRepo{guns[i], errs[i]})
		}
	}
	if len(failed) > 0 {
		if a.json && list {
			a.failureReport = *reports
		}
		return a.partialFailure(failed, len(guns))
	}
	return nil
}

// failedRepo is a repository whose ceremony failed while others ran.
type failedRepo struct {
	gun trust.GUN
	err error
}

// partialFailure is the error of a batch in which some repositories
// failed: which, and why; their GUNs go to a file, and the fix is the
// same command over that file alone.
func (a *app) partialFailure(failed []failedRepo, total int) error {
	var why []string
	var list strings.Builder
	list.WriteString("# the repositories that failed; rerun the command with --repos on this file\n")
	for _, f := range failed {
		why = append(why, fmt.Sprintf("%s (%v)", f.gun, f.err))
		list.WriteString(f.gun.String() + "\n")
	}
	msg := fmt.Sprintf("%d of %d repositories failed: %s", len(failed), total, strings.Join(why, "; "))
	path, err := writeFailedList(list.String())
	if err != nil {
		return &trust.Error{Kind: trust.ErrPublish, Msg: msg + "; their list could not be written: " + err.Error(),
			Fix: "rerun the same command for those repositories: every step converges"}
	}
	if len(failed) < total {
		msg += "; the others are done"
	}
	return &trust.Error{Kind: trust.ErrPublish, Msg: msg + ". Their GUNs are in " + path,
		Fix: "rerun only those (every step converges): " + a.rerunCommand(path)}
}

// writeFailedList writes the failed GUNs to a new file in the working
// directory (or the temporary one if that is not writable); a new name
// each time, so that no earlier list is overwritten.
func writeFailedList(text string) (string, error) {
	pattern := "dctwiz-failed-" + time.Now().Format("20060102-150405") + "-*.txt"
	var err error
	for _, dir := range []string{".", os.TempDir()} {
		var f *os.File
		if f, err = os.CreateTemp(dir, pattern); err != nil {
			continue
		}
		_, err = f.WriteString(text)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
			continue
		}
		return filepath.Abs(f.Name())
	}
	return "", err
}

// rerunCommand is this command again: its flags as set (but --repos), the
// positional arguments after the GUNs, and --repos path.
func (a *app) rerunCommand(path string) string {
	if a.cmd == nil {
		return "the same command with --repos " + shellQuote(path)
	}
	words := strings.Fields(a.cmd.CommandPath())
	add := func(f *pflag.Flag) {
		switch v := f.Value.(type) {
		case pflag.SliceValue:
			for _, s := range v.GetSlice() {
				words = append(words, "--"+f.Name, shellQuote(s))
			}
		default:
			if f.Value.Type() == "bool" {
				words = append(words, "--"+f.Name+"="+f.Value.String())
				break
			}
			words = append(words, "--"+f.Name, shellQuote(f.Value.String()))
		}
	}
	// Flags() holds the inherited flags too once parsed; Changed marks those given.
	a.cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed && f.Name != "repos" {
			add(f)
		}
	})
	for _, arg := range a.posArgs[min(len(a.gunArgs), len(a.posArgs)):] {
		words = append(words, shellQuote(arg))
	}
	return strings.Join(append(words, "--repos", shellQuote(path)), " ")
}

func joinGUNs(guns []trust.GUN) string {
	names := make([]string, len(guns))
	for i, g := range guns {
		names[i] = g.String()
	}
	return strings.Join(names, ", ")
}

func printRotation(a *app, rep *flows.Report) {
	w := a.stdout
	rot := rep.Rotation
	if rot == nil {
		return
	}
	fmt.Fprintf(w, "Rotated the %s key of %s.\n", rot.Role, rep.GUN)
	fmt.Fprintf(w, "  old %s key: %s\n  new %s key: %s", rot.Role, shortIDs(rot.OldKeyIDs), rot.Role, rot.NewKeyID)
	switch {
	case rep.TargetsKey != nil && rep.TargetsKey.Gone:
		fmt.Fprintln(w, " (deleted from the trust dir again, as after setup)")
	default:
		fmt.Fprintf(w, " (%s)\n", rot.Location)
	}
	if len(rot.Retired) > 0 {
		fmt.Fprintf(w, "  the old key was removed from the trust dir after the new one verified\n")
	}
	fmt.Fprintln(w, "  consumers: a new one pinned to the root certificate and one that trusted the repository before both verify")
}
