package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/trust"
)

func (a *app) targetsKeyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "targets-key", Short: "Manage the repository's targets key"}
	del := &cobra.Command{
		Use:   "delete GUN",
		Short: "Delete the local targets private key after verifying the repository",
		Long: `targets-key delete removes every copy of the repository's targets private
key from the trust dir, but only after the published trust data verifies from
an empty cache pinned to the root certificate, and proves that the key is
gone. Signers keep signing; adding or removing a signer later needs a
targets-key rotation with the root key. Destructive: needs --yes, or typing
the GUN on a terminal.`,
		Example: `  dctwiz targets-key delete docker.io/acme/app --yes`,
		Args:    cobra.ExactArgs(1),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.runDeleteTargetsKey(cmd.Context(), args[0])
		}),
	}
	cmd.AddCommand(del)
	return cmd
}

// runDeleteTargetsKey deletes a repository's targets key, once confirmed.
func (a *app) runDeleteTargetsKey(ctx context.Context, gunArg string) error {
	gun, err := parseGUNArg(gunArg)
	if err != nil {
		return err
	}
	if err := a.confirm("Deleting the targets private key of "+gun.String(), gun.String()); err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	res, err := c.DeleteTargetsKey(ctx, gun)
	if err != nil {
		return err
	}
	return a.output(res, func() {
		printDeletion(a, res)
	})
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
