package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// errFindings: check found something to act on. Its report is printed;
// it adds no error line, only exit code 1.
var errFindings = errors.New("something needs a ceremony")

// checkOptions are what `dctwiz check` runs with.
type checkOptions struct {
	GUNs     []string
	Within   string
	Repos    reposFlag
	Parallel int
}

func (a *app) checkCmd() *cobra.Command {
	var opts checkOptions
	cmd := &cobra.Command{
		Use:   "check [GUN...] [--repos FILE]",
		Short: "List every expiry and what needs a ceremony soon (for cron and CI)",
		Long: `check reads each repository's trust data, as a consumer would, and lists every
dated item: root, targets, snapshot and timestamp metadata, signers' metadata,
the root certificate and every signer's certificate. It flags what expires
within --within (default 90d; also 12w, 2160h), what has expired, root.json
inside notary's 6-month re-sign window (after which every publish without the
root key fails, signers' too), and signers whose keys are not in
targets/releases. Each finding comes with the command that fixes it. The server
renews snapshot and timestamp metadata itself: they are listed, not flagged.

Exit status: 0 nothing to do within the window; 1 something is (or a
repository could not be read); 2 bad usage.`,
		Example: `  # Weekly, from cron:
  dctwiz check docker.io/acme/app docker.io/acme/api --within 90d || mail -s "DCT: a ceremony is due" admin@acme.example

  # The whole fleet, one GUN per line:
  dctwiz check --repos repos.txt

  # For a dashboard:
  dctwiz check docker.io/acme/app --json | jq '.repositories[].findings'`,
		Args: cobra.ArbitraryArgs,
		RunE: a.fleet(&opts.Repos, func(ctx context.Context, guns []string) error {
			opts.GUNs = guns
			return a.runCheck(ctx, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.Within, "within", "90d", "flag what expires within this window: 90d, 12w, 2160h")
	cmd.Flags().IntVar(&opts.Parallel, "parallel", 8, "read this many repositories at a time (the report keeps their order)")
	opts.Repos.register(cmd.Flags())
	return cmd
}

// checkDocument is check's --json document.
type checkDocument struct {
	Within       string              `json:"within"`
	Date         time.Time           `json:"date"`
	OK           bool                `json:"ok"`
	Repositories []flows.CheckResult `json:"repositories"`
}

// runCheck checks each repository; a repository that cannot be read is
// reported with its error and counts as a finding.
func (a *app) runCheck(ctx context.Context, opts checkOptions) error {
	within, err := flows.ParseWithin(opts.Within)
	if err != nil {
		return usageError{err}
	}
	guns, err := parseGUNArgs(opts.GUNs)
	if err != nil {
		return err
	}
	if opts.Parallel < 1 {
		return usagef("--parallel %d: give 1 or more", opts.Parallel)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	now := time.Now()
	doc := checkDocument{Within: opts.Within, Date: now.UTC().Truncate(time.Second), OK: true,
		Repositories: make([]flows.CheckResult, len(guns))}
	// Reading is network-bound and touches each repository's own cache:
	// several at a time, each result in its repository's place.
	inParallel(len(guns), opts.Parallel, func(i int) {
		doc.Repositories[i] = checkOne(ctx, c, guns[i], now, within)
	})
	for _, r := range doc.Repositories {
		doc.OK = doc.OK && r.Error == "" && len(r.Findings) == 0
	}
	if err := a.output(doc, func() { printCheck(a, doc, now) }); err != nil {
		return err
	}
	if !doc.OK {
		return errFindings
	}
	return nil
}

// checkOne is one repository's check; a repository that cannot be read
// is a result with its error (and, when its metadata expired, the finding
// that renews it).
func checkOne(ctx context.Context, c *trust.Client, gun trust.GUN, now time.Time, within time.Duration) flows.CheckResult {
	in, err := c.Inspect(ctx, gun)
	switch {
	case errors.Is(err, trust.ErrExpired):
		// No client can read it: say what renews it.
		return flows.CheckResult{GUN: gun.String(), Expiries: []flows.Expiry{}, Error: err.Error(),
			Findings: []flows.Finding{expiredFinding(trust.ExpiredRole(err))}}
	case err != nil:
		return flows.CheckResult{GUN: gun.String(), Expiries: []flows.Expiry{}, Findings: []flows.Finding{}, Error: err.Error()}
	}
	return flows.Check(in, now, within)
}

func printCheck(a *app, doc checkDocument, now time.Time) {
	w := a.stdout
	for _, r := range doc.Repositories {
		fmt.Fprintf(w, "%s\n", r.GUN)
		if r.Error != "" {
			fmt.Fprintf(w, "  ✗ cannot be read: %s\n", r.Error)
			for _, f := range r.Findings {
				fmt.Fprintf(w, "    fix: %s\n", remedyCommand(r.GUN, f))
			}
			fmt.Fprintln(w)
			continue
		}
		rows := [][]string{{"  EXPIRES", "IN", "WHAT"}}
		for _, e := range r.Expiries {
			what := e.What
			if e.Remedy == flows.RemedyServer {
				what += " (renewed by the server)"
			}
			rows = append(rows, []string{"  " + date(e.Expires), flows.Days(e.Expires.Sub(now)), what})
		}
		table(w, rows)
		if len(r.Findings) == 0 {
			fmt.Fprintf(w, "  ✓ nothing expires within %s\n\n", doc.Within)
			continue
		}
		for _, f := range r.Findings {
			fmt.Fprintf(w, "  ✗ %s: %s\n    fix: %s\n", f.What, f.Problem, remedyCommand(r.GUN, f))
		}
		fmt.Fprintln(w)
	}
}

// remedyCommand is the command that fixes a finding.
func remedyCommand(gun string, f flows.Finding) string {
	signer := f.Signer
	if signer == "" {
		signer = "NAME"
	}
	switch f.Remedy {
	case flows.RemedyRotateTargets:
		return "dctwiz renew " + gun + " --root-key SPEC --yes (a targets-key rotation re-signs targets.json and root.json)"
	case flows.RemedyReplaceSigner:
		return "dctwiz delegation replace " + gun + " " + signer + " RENEWED-CERT --root-key SPEC --yes"
	case flows.RemedySignerSigns:
		return "the signer " + signer + " signs a tag again (its own metadata, with its own key)"
	case flows.RemedyRotateRoot:
		return "dctwiz rotate root " + gun + " --root-key SPEC --new-root-key yubikey:SERIAL --yes (a new root key and certificate; give clients that pin the old root key ID the new one)"
	}
	return "the notary server renews it: if it has not, its operator must look at it"
}

// expiredFinding is the finding for trust data that no client can read
// because role's metadata has expired.
func expiredFinding(role string) flows.Finding {
	remedy := flows.RemedyRotateTargets // targets and root: renew re-signs both
	if role == "snapshot" || role == "timestamp" {
		remedy = flows.RemedyServer
	}
	if role == "" {
		role = "some"
	}
	return flows.Finding{Expiry: flows.Expiry{What: role + " metadata", Role: role, Remedy: remedy},
		Problem: "expired: no client can read the repository"}
}
