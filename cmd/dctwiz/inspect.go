package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/trust"
)

func (a *app) inspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect GUN",
		Short: "Show signed tags, signers, keys and every expiry",
		Long: `inspect shows what 'docker trust inspect' shows (signed tags and who signed
them, signers and their keys, the root and repository keys) plus the expiry of
every role's metadata and every certificate.`,
		Example: `  dctwiz inspect docker.io/acme/app
  dctwiz inspect docker.io/acme/app --json | jq '.roles[] | select(.role=="timestamp")'`,
		Args: cobra.ExactArgs(1),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.runInspect(cmd.Context(), args[0])
		}),
	}
}

// runInspect shows what a repository's trust data says.
func (a *app) runInspect(ctx context.Context, gunArg string) error {
	gun, c, err := a.gunAndClient(gunArg)
	if err != nil {
		return err
	}
	in, err := c.Inspect(ctx, gun)
	if err != nil {
		return err
	}
	return a.output(in, func() {
		printInspection(a, in)
	})
}

func printInspection(a *app, in *trust.Inspection) {
	w := a.stdout
	fmt.Fprintf(w, "Signatures for %s\n\n", in.GUN)
	if len(in.SignedTags) == 0 {
		fmt.Fprintln(w, "No signed tags.")
	} else {
		rows := [][]string{{"SIGNED TAG", "DIGEST", "SIGNERS"}}
		for _, t := range in.SignedTags {
			rows = append(rows, []string{t.Tag, strings.TrimPrefix(t.Digest, "sha256:"), strings.Join(t.Signers, ", ")})
		}
		table(w, rows)
	}
	fmt.Fprintf(w, "\nList of signers and their keys for %s\n\n", in.GUN)
	if len(in.Signers) == 0 {
		fmt.Fprintln(w, "No signers.")
	} else {
		rows := [][]string{{"SIGNER", "KEYS"}}
		for _, s := range in.Signers {
			rows = append(rows, []string{s.Name, shortIDs(s.KeyIDs)})
		}
		table(w, rows)
	}
	fmt.Fprintf(w, "\nAdministrative keys for %s\n\n", in.GUN)
	for _, k := range in.AdministrativeKeys {
		fmt.Fprintf(w, "  %s Key:\t%s\n", k.Name, strings.Join(k.KeyIDs, ", "))
	}
	fmt.Fprintln(w, "\nExpiry")
	rows := [][]string{{"  ROLE / CERTIFICATE", "EXPIRES", "IN"}}
	for _, r := range in.Roles {
		left := until(r.Expires)
		if r.Role == "timestamp" && r.Expires.After(time.Now()) {
			// Short-lived by design: the server signs a new one when needed.
			left = fmt.Sprintf("%d days (renewed by the server)", int(time.Until(r.Expires).Hours()/24))
		}
		rows = append(rows, []string{"  " + r.Role + " (v" + fmt.Sprint(r.Version) + ")", date(r.Expires), left})
	}
	for _, c := range in.Certificates {
		rows = append(rows, []string{"  " + c.Role + " certificate " + trust.ShortID(c.KeyID), date(c.NotAfter), until(c.NotAfter)})
	}
	table(w, rows)
}

func shortIDs(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = trust.ShortID(id)
	}
	return strings.Join(out, ", ")
}

func until(t time.Time) string {
	d := time.Until(t)
	if d < 0 {
		return "EXPIRED"
	}
	days := int(d.Hours() / 24)
	if days < 183 {
		return fmt.Sprintf("%d days (renew soon)", days)
	}
	return fmt.Sprintf("%d days", days)
}
