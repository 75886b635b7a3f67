package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

func (a *app) rotateCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rotate", Short: "Rotate a repository's keys (a key ceremony)"}
	cmd.AddCommand(a.rotateTargetsCmd())
	return cmd
}

// rotateTargetsOptions are what `dctwiz rotate targets` runs with.
type rotateTargetsOptions struct {
	GUNs      []string
	RootKey   rootKeyFlags
	DeleteKey bool
	RecordDir string
}

func (a *app) rotateTargetsCmd() *cobra.Command {
	var opts rotateTargetsOptions
	cmd := &cobra.Command{
		Use:   "targets GUN...",
		Short: "Give repositories a new targets key, signed in by the root key",
		Long: `rotate targets makes a new targets (repository) key in the trust dir, signs it
into root.json with the root key and re-signs targets.json with it: the
signers (delegations) and the tags signed before stay as they are, and
targets.json's expiry starts again. It needs the root key, not the old targets
key, so it is the way to maintain a repository whose targets key was deleted
after setup (adding or removing a signer, renewing targets.json).

First it reads each repository as a consumer who trusted it before; after the
publish it verifies as a new consumer pinned to the root certificate and as
that earlier consumer. No key is lost: an old targets key in the trust dir is
removed only after the new trust data is published and verifies, and a new key
whose publish failed is reused by the next run. --delete-targets-key deletes
the new key at the end, as setup does. Publishing needs --yes, or typing the
GUN on a terminal.`,
		Example: `  # After setup with --delete-targets-key, the root key on a YubiKey:
  dctwiz rotate targets docker.io/acme/app --root-key yubikey --delete-targets-key --yes

  # Several repositories, one PIN:
  dctwiz rotate targets docker.io/acme/app docker.io/acme/api --root-key yubikey:12345678 --yes --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			opts.GUNs = args
			return a.runRotateTargets(cmd.Context(), opts)
		}),
	}
	opts.RootKey.register(cmd.Flags())
	cmd.Flags().BoolVar(&opts.DeleteKey, "delete-targets-key", false, "delete the new targets private key at the end (the repository keeps its signers)")
	cmd.Flags().StringVar(&opts.RecordDir, "record", "", "write the ceremony record (Markdown and JSON, no secrets) into this directory")
	return cmd
}

// runRotateTargets rotates each repository's targets key in turn, with
// one root key (one PIN), and stops at the first failure.
func (a *app) runRotateTargets(ctx context.Context, opts rotateTargetsOptions) (err error) {
	var guns []trust.GUN
	for _, arg := range opts.GUNs {
		gun, err := parseGUNArg(arg)
		if err != nil {
			return err
		}
		guns = append(guns, gun)
	}
	if opts.RecordDir != "" {
		if err := checkDir(opts.RecordDir); err != nil {
			return err
		}
	}
	what := "Publishing a new targets key for " + joinGUNs(guns)
	if opts.DeleteKey {
		what += ", and deleting it from the trust dir at the end"
	}
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
	defer func() {
		// The record is written however the ceremony ended; failing to write
		// it fails the command, as for setup.
		if werr := a.recordReports("rotate targets", opts.RecordDir, began, c, root, reports); werr != nil && err == nil {
			err = werr
		}
	}()
	for _, gun := range guns {
		r := &flows.RotateTargets{GUN: gun, Root: root, DeleteTargetsKey: opts.DeleteKey}
		if len(guns) > 1 && !a.json {
			fmt.Fprintf(a.stderr, "%s\n", gun)
		}
		rep, err := flows.RunRotateTargets(ctx, c, r, a.progress(r.Plan()))
		reports = append(reports, rep)
		if err != nil {
			a.explainStop(rep)
			if a.json {
				a.failureReport = reports
			}
			return err
		}
	}
	return a.output(reports, func() {
		for _, rep := range reports {
			printRotation(a, rep)
		}
	})
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
	fmt.Fprintf(w, "Rotated the targets key of %s.\n", rep.GUN)
	fmt.Fprintf(w, "  old targets key: %s\n  new targets key: %s", shortIDs(rot.OldKeyIDs), rot.NewKeyID)
	switch {
	case rep.TargetsKey != nil && rep.TargetsKey.Gone:
		fmt.Fprintln(w, " (deleted from the trust dir again, as after setup)")
	default:
		fmt.Fprintln(w, " (in the trust dir)")
	}
	if len(rot.Retired) > 0 {
		fmt.Fprintf(w, "  the old key was removed from the trust dir after the new one verified\n")
	}
	fmt.Fprintln(w, "  consumers: a new one pinned to the root certificate and one that trusted the repository before both verify")
}
