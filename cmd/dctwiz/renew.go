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

// renewOptions are what `dctwiz renew` runs with.
type renewOptions struct {
	GUNs      []string
	RootKey   rootKeyFlags
	Within    string
	RecordDir string
	DeleteKey bool
	Repos     reposFlag
}

func (a *app) renewCmd() *cobra.Command {
	var opts renewOptions
	cmd := &cobra.Command{
		Use:         "renew [GUN...] [--repos FILE]",
		Annotations: locksTrustDir,
		Short:       "Re-sign the metadata that expires within a window (default 180d)",
		Long: `renew checks each repository (as dctwiz check does) and re-signs what the root
key can renew that expires within --within (default 180d) or has expired:
targets.json and root.json, the latter also inside notary's 6-month re-sign
window. When only root.json is due, the root key re-signs it with the same
keys (as rotate root publishes, with nothing rotated): the next version, ten
years ahead, and pins to the root certificate keep working. When targets.json
is due, notary can re-sign it only with the targets key, which setup deleted:
renew rotates the targets key (see rotate targets), which re-signs both with
fresh expiries, the signers and the tags signed before kept. If the trust dir
did not hold the targets key before, the new one is deleted again at the end.
What needs someone else's key (a signer's renewed certificate) is listed with
the command for it. Every repository is checked before any changes.
Publishing needs --yes, or confirming on a terminal.`,
		Example: `  dctwiz renew docker.io/acme/app docker.io/acme/api --root-key yubikey --yes

  # What check flagged across the fleet:
  dctwiz renew --repos repos.txt --root-key yubikey:12345678 --yes`,
		Args: cobra.ArbitraryArgs,
		RunE: a.fleet(&opts.Repos, func(ctx context.Context, guns []string) error {
			opts.GUNs = guns
			return a.runRenew(ctx, opts)
		}),
	}
	opts.Repos.register(cmd.Flags())
	a.registerParallel(cmd.Flags())
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
	if len(due) == 0 {
		return a.printRenewals(results, opts.Within)
	}
	if err := opts.RootKey.check(); err != nil {
		return err
	}
	// Two ways to re-sign: the root key alone re-signs root.json when only
	// it is due; a targets-key rotation when targets.json is due too.
	var rootOnly, rotated []trust.GUN
	byGUN := map[string]*renewResult{}
	for i := range results {
		byGUN[results[i].GUN] = &results[i]
	}
	for _, gun := range due {
		if byGUN[gun.String()].Renewal.RootOnly {
			rootOnly = append(rootOnly, gun)
		} else {
			rotated = append(rotated, gun)
		}
	}
	consumers := "nothing to do: clients follow the re-signed root.json; tags signed before stay valid"
	var what []string
	if len(rootOnly) > 0 {
		a.showPlan(rootOnly, (&flows.RootRenew{}).Plan(), rootNeeds(opts.RootKey)+touchNote(opts.RootKey, len(rootOnly), 1), consumers+"; pins to the root certificate keep working")
		what = append(what, "re-signing root.json of "+joinGUNs(rootOnly)+" with the same root keys")
	}
	if len(rotated) > 0 {
		a.showPlan(rotated, (&flows.Rotate{Role: flows.RoleTargets}).Plan(), rootNeeds(opts.RootKey)+touchNote(opts.RootKey, len(rotated), 1)+", and a passphrase for the new targets key", consumers)
		what = append(what, "re-signing root.json and targets.json of "+joinGUNs(rotated)+" (a targets-key rotation)")
	}
	text := strings.Join(what, "; ")
	if err := a.confirm(strings.ToUpper(text[:1])+text[1:], due[0].String()); err != nil {
		return err
	}
	root, err := a.rootKey(opts.RootKey)
	if err != nil {
		return err
	}
	var reports []*flows.Report
	began := time.Now()
	// A targets key the trust dir did not hold before is deleted again.
	held := map[string]bool{}
	for _, gun := range rotated {
		if held[gun.String()], err = c.HoldsTargetsKey(ctx, gun); err != nil {
			return err
		}
	}
	err = a.runEach(ctx, due, &reports, false, func(gun trust.GUN) (ceremony, error) {
		if byGUN[gun.String()].Renewal.RootOnly {
			r := &flows.RootRenew{GUN: gun, Root: root}
			return flows.NewRootRenew(c, r, a.progressOf(gun, r.Plan()))
		}
		r := &flows.Rotate{GUN: gun, Root: root, Role: flows.RoleTargets, DeleteTargetsKey: opts.DeleteKey || !held[gun.String()]}
		return flows.NewRotate(c, r, a.progressOf(gun, r.Plan()))
	})
	// The record is written however the ceremony ended, before the output:
	// failing to write it fails the command, and --json prints one document.
	err = a.recorded(err, "renew", opts.RecordDir, began, c, root, reports)
	for _, rep := range reports {
		if rep != nil && byGUN[rep.GUN] != nil {
			byGUN[rep.GUN].Report = rep
		}
	}
	if err != nil {
		a.failureReport = results
		return err
	}
	return a.printRenewals(results, opts.Within)
}

// printRenewals prints what renew did and left, or its --json document.
func (a *app) printRenewals(results []renewResult, within string) error {
	return a.output(results, func() {
		for _, r := range results {
			switch {
			case r.Report != nil && r.Report.RootRotation != nil:
				rot := r.Report.RootRotation
				fmt.Fprintf(a.stdout, "%s: root.json re-signed with the same root keys (version %d, expires %s).\n", r.GUN, rot.Version, rot.Expires.Format("2006-01-02"))
			case r.Report != nil && r.Report.Rotation != nil:
				fmt.Fprintf(a.stdout, "%s: root.json and targets.json re-signed (a new targets key %s).\n", r.GUN, trust.ShortID(r.Report.Rotation.NewKeyID))
			case len(r.Renewal.Left) == 0:
				fmt.Fprintf(a.stdout, "%s: nothing to renew within %s.\n", r.GUN, within)
			default:
				fmt.Fprintf(a.stdout, "%s: nothing the root key renews is due.\n", r.GUN)
			}
			for _, f := range r.Renewal.Left {
				fmt.Fprintf(a.stdout, "  still due: %s: %s\n    fix: %s\n", f.What, f.Problem, remedyCommand(r.GUN, f))
			}
		}
	})
}
