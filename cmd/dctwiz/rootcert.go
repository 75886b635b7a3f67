package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/trust"
)

func (a *app) rootCertCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "root-cert", Short: "Export a repository's root certificate"}
	var out string
	export := &cobra.Command{
		Use:   "export GUN",
		Short: "Export the root certificate from the repository's trust data",
		Long: `root-cert export reads the repository's published root.json (verified
against the trust dir's cached root, as docker does) and exports its root
certificate as PEM, with its SHA-256 fingerprint, the root key ID that clients
pin, and its expiry. It works for repositories set up by any tool. Without -o
the PEM goes to stdout.`,
		Example: `  dctwiz root-cert export docker.io/acme/app -o acme-app-root.crt`,
		Args:    cobra.ExactArgs(1),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.runRootCertExport(cmd.Context(), args[0], out)
		}),
	}
	export.Flags().StringVarP(&out, "output", "o", "", "write the PEM to this file")
	cmd.AddCommand(export)
	return cmd
}

// runRootCertExport exports the root certificate to out, or to stdout.
func (a *app) runRootCertExport(ctx context.Context, gunArg, out string) error {
	gun, c, err := a.gunAndClient(gunArg)
	if err != nil {
		return err
	}
	certs, err := c.RootCertificates(ctx, gun)
	if err != nil {
		return err
	}
	if out != "" {
		if err := trust.WriteRootCertificates(out, certs); err != nil {
			return err
		}
	}
	return a.output(map[string]any{"gun": gun.String(), "file": out, "certificates": certs}, func() {
		w := a.stdout
		if out == "" {
			for _, rc := range certs {
				fmt.Fprint(a.stdout, rc.PEM)
			}
			w = a.stderr // the PEM is the output; the facts go beside it
		} else {
			fmt.Fprintf(w, "Wrote the root certificate of %s to %s.\n", gun, out)
		}
		for _, rc := range certs {
			table(w, [][]string{
				{"  subject", rc.Subject},
				{"  fingerprint (SHA-256)", rc.Fingerprint},
				{"  root key ID (pin this)", rc.KeyID},
				{"  expires", date(rc.NotAfter)},
			})
		}
	})
}
