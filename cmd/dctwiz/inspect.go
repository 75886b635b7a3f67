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
	var repos reposFlag
	cmd := &cobra.Command{
		Use:   "inspect [GUN...] [--repos FILE]",
		Short: "Show signed tags, signers, keys and every expiry",
		Long: `inspect shows what 'docker trust inspect' shows (signed tags and who signed
them, signers and their keys, the root and repository keys) plus the expiry of
every role's metadata and every certificate. With several repositories, each in
turn (--json: a list); one that cannot be read does not stop the others.`,
		Example: `  dctwiz inspect docker.io/acme/app
  dctwiz inspect docker.io/acme/app --json | jq '.roles[] | select(.role=="timestamp")'`,
		Args: cobra.ArbitraryArgs,
		RunE: a.fleet(&repos, a.runInspect),
	}
	repos.register(cmd.Flags())
	return cmd
}

// runInspect shows what each repository's trust data says.
func (a *app) runInspect(ctx context.Context, gunArgs []string) error {
	guns, err := parseGUNArgs(gunArgs)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	var ins []*trust.Inspection
	err = a.eachRepo(ctx, guns, func(gun trust.GUN) error {
		in, err := c.Inspect(ctx, gun)
		if err != nil {
			return err
		}
		if len(guns) > 1 && !a.json {
			if len(ins) > 0 {
				fmt.Fprintln(a.stdout)
			}
			printInspection(a, in)
		}
		ins = append(ins, in)
		return nil
	})
	switch {
	case err != nil:
		if len(guns) > 1 {
			a.failureReport = ins
		}
		return err
	case len(guns) == 1:
		return a.output(ins[0], func() { printInspection(a, ins[0]) })
	}
	return a.output(ins, func() {})
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
