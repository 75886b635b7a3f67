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
	var repos reposFlag
	export := &cobra.Command{
		Use:   "export [GUN...] [--repos FILE]",
		Short: "Export the root certificate from the repository's trust data",
		Long: `root-cert export reads the repository's published root.json (verified
against the trust dir's cached root, as docker does) and exports its root
certificate as PEM, with its SHA-256 fingerprint, the root key ID that clients
pin, and its expiry. It works for repositories set up by any tool. Without -o,
or with -o -, the PEM goes to stdout (the facts to stderr). With several
repositories -o is a directory: one file per repository, named from the GUN
(REGISTRY-PATH-root.crt).`,
		Example: `  dctwiz root-cert export docker.io/acme/app -o acme-app-root.crt
  dctwiz root-cert export docker.io/acme/app -o - | openssl x509 -noout -text
  dctwiz root-cert export --repos repos.txt -o certs/`,
		Args: cobra.ArbitraryArgs,
		RunE: a.fleet(&repos, func(ctx context.Context, guns []string) error { return a.runRootCertExports(ctx, guns, out) }),
	}
	export.Flags().StringVarP(&out, "output", "o", "", "write the PEM to this file (- for stdout); with several repositories, into this directory")
	repos.register(export.Flags())
	cmd.AddCommand(export)
	return cmd
}

// runRootCertExports exports each repository's root certificate: with
// several, into the directory out, one file each.
func (a *app) runRootCertExports(ctx context.Context, gunArgs []string, out string) error {
	guns, err := parseGUNArgs(gunArgs)
	if err != nil {
		return err
	}
	if out == "-" {
		if a.json {
			return usagef("-o - and --json would both write to stdout: give -o a file, or leave it out (the JSON document carries the PEM)")
		}
		out = "" // stdout, as without -o
	}
	if len(guns) == 1 {
		return a.runRootCertExport(ctx, guns[0], certOutFor(out, guns[0], 1))
	}
	if out != "" {
		if err := checkDir(out); err != nil {
			return err
		}
	}
	var docs []any
	err = a.eachRepo(ctx, guns, func(gun trust.GUN) error {
		doc, err := a.exportRootCert(ctx, gun, certOutFor(out, gun, len(guns)))
		if err == nil {
			docs = append(docs, doc)
		}
		return err
	})
	if err != nil {
		a.failureReport = docs
		return err
	}
	return a.output(docs, func() {})
}

// runRootCertExport exports the root certificate to out, or to stdout.
func (a *app) runRootCertExport(ctx context.Context, gun trust.GUN, out string) error {
	doc, err := a.exportRootCert(ctx, gun, out)
	if err != nil {
		return err
	}
	return a.output(doc, func() {})
}

// exportRootCert writes gun's root certificates to out (or, without it,
// the PEM to stdout), and the facts beside them, unless --json.
func (a *app) exportRootCert(ctx context.Context, gun trust.GUN, out string) (any, error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	certs, err := c.RootCertificates(ctx, gun)
	if err != nil {
		return nil, err
	}
	if out != "" {
		if err := trust.WriteRootCertificates(out, certs); err != nil {
			return nil, err
		}
	}
	doc := map[string]any{"gun": gun.String(), "file": out, "certificates": certs}
	if a.json {
		return doc, nil
	}
	func() {
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
	}()
	return doc, nil
}
