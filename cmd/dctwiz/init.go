package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/trust"
)

// initOptions are what `dctwiz init` runs with.
type initOptions struct {
	GUN     string
	RootKey rootKeyFlags
}

func (a *app) initCmd() *cobra.Command {
	var opts initOptions
	cmd := &cobra.Command{
		Use:         "init GUN",
		Annotations: locksTrustDir,
		Short:       "Create a repository's keys and publish its trust data",
		Long: `init creates the trust data of a new repository and publishes it: the root
key (--root-key), a new targets key encrypted in the trust dir, and snapshot and
timestamp keys managed by the notary server. A repository that already has
trust data is refused; rerunning init after a failed publish converges.`,
		Example: `  NOTARY_ROOT_PASSPHRASE=... NOTARY_TARGETS_PASSPHRASE=... dctwiz init docker.io/acme/app`,
		Args:    cobra.ExactArgs(1),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			opts.GUN = args[0]
			return a.runInit(cmd.Context(), opts)
		}),
	}
	opts.RootKey.register(cmd.Flags())
	return cmd
}

// runInit publishes a new repository's keys.
func (a *app) runInit(ctx context.Context, opts initOptions) error {
	gun, err := parseGUNArg(opts.GUN)
	if err != nil {
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
	res, err := c.Init(ctx, gun, root)
	if err != nil {
		return err
	}
	return a.output(res, func() {
		if res.AlreadyDone {
			fmt.Fprintf(a.stdout, "%s was already published with these keys: nothing to do.\n", res.GUN)
		} else {
			fmt.Fprintf(a.stdout, "Published %s to %s.\n", res.GUN, res.Server)
		}
		printKeys(a, res)
	})
}

func printKeys(a *app, res *trust.InitResult) {
	rows := [][]string{{"  root", res.Root.ID, res.Root.Location}}
	if b := res.BackupRoot; b != nil {
		rows = append(rows, []string{"  backup root", b.ID, b.Location})
	}
	table(a.stdout, append(rows,
		[]string{"  targets", res.Targets.ID, res.Targets.Location},
		[]string{"  snapshot", res.Snapshot.ID, res.Snapshot.Location},
		[]string{"  timestamp", res.Timestamp.ID, res.Timestamp.Location},
	))
}
