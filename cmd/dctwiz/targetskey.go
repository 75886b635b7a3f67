package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/trust"
)

func (a *app) targetsKeyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "targets-key", Short: "Manage the repository's targets key"}
	var repos reposFlag
	del := &cobra.Command{
		Use:         "delete [GUN...] [--repos FILE]",
		Annotations: locksTrustDir,
		Short:       "Delete the local targets private key after verifying the repository",
		Long: `targets-key delete removes every copy of the repository's targets private
key from the trust dir, but only after the published trust data verifies from
an empty cache pinned to the root certificate, and proves that the key is
gone. Signers keep signing; adding or removing a signer later needs a
targets-key rotation with the root key. Destructive: needs --yes, or typing
the GUN on a terminal.`,
		Example: `  dctwiz targets-key delete docker.io/acme/app --yes`,
		Args:    cobra.ArbitraryArgs,
		RunE:    a.fleet(&repos, a.runDeleteTargetsKeys),
	}
	repos.register(del.Flags())
	cmd.AddCommand(del)
	return cmd
}

// runDeleteTargetsKeys deletes each repository's targets key, once
// confirmed for all of them.
func (a *app) runDeleteTargetsKeys(ctx context.Context, gunArgs []string) error {
	guns, err := parseGUNArgs(gunArgs)
	if err != nil {
		return err
	}
	if err := a.confirm("Deleting the targets private key of "+joinGUNs(guns), guns[0].String()); err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	var done []*trust.TargetsKeyDeletion
	err = a.eachRepo(ctx, guns, func(gun trust.GUN) error {
		res, err := c.DeleteTargetsKey(ctx, gun)
		if err != nil {
			return err
		}
		if !a.json {
			printDeletion(a, res)
		}
		done = append(done, res)
		return nil
	})
	switch {
	case err != nil:
		if len(guns) > 1 {
			a.failureReport = done
		}
		return err
	case len(guns) == 1:
		return a.output(done[0], func() {})
	}
	return a.output(done, func() {})
}

func printDeletion(a *app, res *trust.TargetsKeyDeletion) {
	if len(res.KeyIDs) == 0 {
		fmt.Fprintf(a.stdout, "The trust dir holds no targets key of %s: nothing to delete.\n", res.GUN)
		return
	}
	for i, id := range res.KeyIDs {
		fmt.Fprintf(a.stdout, "Deleted targets key %s of %s", trust.ShortID(id), res.GUN)
		if i < len(res.Files) {
			fmt.Fprintf(a.stdout, " (%s)", res.Files[i])
		}
		fmt.Fprintln(a.stdout, "; verified gone.")
	}
	fmt.Fprintf(a.stdout, "Note: %s.\n", res.Consequence)
}
