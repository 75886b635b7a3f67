package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// renewOptions are what `dctwiz renew` runs with.
type renewOptions struct {
	GUNs      []string
	RootKey   rootKeyFlags
	Within    string
	RecordDir string
	DeleteKey bool
}

func (a *app) renewCmd() *cobra.Command {
	var opts renewOptions
	cmd := &cobra.Command{
		Use:   "renew GUN...",
		Short: "Re-sign the metadata that expires within a window (default 180d)",
		Long: `renew checks each repository (as dctwiz check does) and re-signs what the root
key can renew that expires within --within (default 180d) or has expired:
targets.json and root.json, the latter also inside notary's 6-month re-sign
window. notary offers no way to re-sign them without a key change, so renew
rotates the targets key (see rotate targets): both are re-signed with fresh
expiries, the signers and the tags signed before kept. If the trust dir did not
hold the targets key before, the new one is deleted again at the end. What
needs someone else's key (a signer's renewed certificate) is listed with the
command for it. Publishing needs --yes, or confirming on a terminal.`,
		Example: `  dctwiz renew docker.io/acme/app docker.io/acme/api --root-key yubikey --yes`,
		Args:    cobra.MinimumNArgs(1),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			opts.GUNs = args
			return a.runRenew(cmd.Context(), opts)
		}),
	}
	opts.RootKey.register(cmd.Flags())
	cmd.Flags().StringVar(&opts.Within, "within", "180d", "renew what expires within this window: 180d, 26w, 4320h")
	cmd.Flags().BoolVar(&opts.DeleteKey, "delete-targets-key", false, "delete the new targets key at the end even if the trust dir held one before (e.g. left by an interrupted renew)")
	cmd.Flags().StringVar(&opts.RecordDir, "record", "", "write the ceremony record (Markdown and JSON, no secrets) into this directory")
	return cmd
}

// renewResult is one repository's renewal, for --json.
type renewResult struct {
	GUN     string        `json:"gun"`
	Renewal flows.Renewal `json:"renewal"`
	Report  *flows.Report `json:"report,omitempty"` // the rotation that re-signed, if one ran
}

func (a *app) runRenew(ctx context.Context, opts renewOptions) (err error) {
	within, err := flows.ParseWithin(opts.Within)
	if err != nil {
		return usageError{err}
	}
	guns, err := parseGUNArgs(opts.GUNs)
	if err != nil {
		return err
	}
	if opts.RecordDir != "" {
		if err := checkDir(opts.RecordDir); err != nil {
			return err
		}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	// What is due, for every repository, before anything is asked or published.
	now := time.Now()
	var results []renewResult
	var due []trust.GUN
	for _, gun := range guns {
		in, err := c.Inspect(ctx, gun)
		var r renewResult
		switch role := trust.ExpiredRole(err); {
		case role == "targets" || role == "root":
			// Expired already: the rotation recovers it.
			f := expiredFinding(role)
			r = renewResult{GUN: gun.String(), Renewal: flows.Renewal{Resign: true, Due: []flows.Finding{f}, Left: []flows.Finding{}}}
		case err != nil:
			return err
		default:
			r = renewResult{GUN: gun.String(), Renewal: flows.PlanRenewal(flows.Check(in, now, within))}
		}
		results = append(results, r)
		if r.Renewal.Resign {
			due = append(due, gun)
		}
	}
	var reports []*flows.Report
	var root trust.RootKey
	if len(due) > 0 {
		if err := opts.RootKey.check(); err != nil {
			return err
		}
		a.showPlan(due, (&flows.Rotate{Role: flows.RoleTargets}).Plan(), rootNeeds(opts.RootKey)+", and a passphrase for the new targets key",
			"nothing to do: clients follow the re-signed root.json; tags signed before stay valid")
		if err := a.confirm("Re-signing root.json and targets.json of "+joinGUNs(due)+" (a targets-key rotation)", due[0].String()); err != nil {
			return err
		}
		if root, err = a.rootKey(opts.RootKey); err != nil {
			return err
		}
		began := time.Now()
		defer func() {
			if werr := a.recordReports("renew", opts.RecordDir, began, c, root, reports); werr != nil && err == nil {
				err = werr
			}
		}()
	}
	for i := range results {
		if !results[i].Renewal.Resign {
			continue
		}
		gun, _ := trust.ParseGUN(results[i].GUN)
		held, err := c.HoldsTargetsKey(ctx, gun)
		if err != nil {
			return err
		}
		r := &flows.Rotate{GUN: gun, Root: root, Role: flows.RoleTargets, DeleteTargetsKey: opts.DeleteKey || !held}
		if !a.json {
			fmt.Fprintf(a.stderr, "%s\n", gun)
		}
		rep, err := flows.RunRotate(ctx, c, r, a.progress(r.Plan()))
		results[i].Report = rep
		reports = append(reports, rep)
		if err != nil {
			a.explainStop(rep)
			a.failureReport = results
			return err
		}
	}
	return a.output(results, func() {
		for _, r := range results {
			switch {
			case r.Report != nil:
				fmt.Fprintf(a.stdout, "%s: root.json and targets.json re-signed (a new targets key %s).\n", r.GUN, trust.ShortID(r.Report.Rotation.NewKeyID))
			case len(r.Renewal.Left) == 0:
				fmt.Fprintf(a.stdout, "%s: nothing to renew within %s.\n", r.GUN, opts.Within)
			default:
				fmt.Fprintf(a.stdout, "%s: nothing the root key renews is due.\n", r.GUN)
			}
			for _, f := range r.Renewal.Left {
				fmt.Fprintf(a.stdout, "  still due: %s: %s\n    fix: %s\n", f.What, f.Problem, remedyCommand(r.GUN, f))
			}
		}
	})
}
