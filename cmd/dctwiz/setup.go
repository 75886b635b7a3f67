package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/ui"
)

// setupOptions are what `dctwiz setup` runs with.
type setupOptions struct {
	GUNs        []string
	Repos       reposFlag
	RootKey     rootKeyFlags
	BackupKey   string   // a second root key spec, "" for none
	Signers     []string // NAME=CERT
	RootCertOut string
	TestTag     string
	Keep        bool
	DeleteKey   bool
	RecordDir   string
}

func (a *app) setupCmd() *cobra.Command {
	var opts setupOptions
	cmd := &cobra.Command{
		Use:         "setup [GUN...] [--repos FILE]",
		Annotations: locksTrustDir,
		Short:       "Run the whole setup ceremony for a repository",
		Long: `setup runs the ceremony in order: create the root and targets keys and
publish with a server-managed snapshot key; add each --delegation signer;
export the root certificate; test-sign --test-tag and verify it as a consumer
would; delete the local targets private key (--delete-targets-key, which needs
--yes or typing the GUN on a terminal). Every step is checked before anything is
published, and every step converges: after a failure, fix the cause and run
the same command again. With --record DIR, the ceremony record (Markdown for the
people who sign it off, JSON for tools; no secret) is written to DIR as the
wizard writes it, also when a step fails.

--backup-root-key yubikey:SERIAL makes a second root key on another YubiKey
(file:PATH, a key file, for rehearsals): the root role names both, threshold
1, so that either token alone can maintain the repository if the other is lost
(keep it in another safe). The root certificate file then holds both
certificates.

With several GUNs (or --repos FILE) each repository is set up with the same
root key (its PIN once), signers and options, as one ceremony: every
repository is checked before anything is published; --root-cert-out is then a
directory, one certificate file per repository (named from the GUN); --json
prints a list; a repository that fails does not stop the others (see the
README's fleets).`,
		Example: `  export NOTARY_ROOT_PASSPHRASE=... NOTARY_TARGETS_PASSPHRASE=...
  dctwiz setup docker.io/acme/app \
      --delegation signpath=signpath.cer \
      --root-cert-out acme-app-root.crt \
      --test-tag latest \
      --delete-targets-key --yes \
      --record ceremonies/

  # The root key on a YubiKey, with a backup on a second one:
  dctwiz setup docker.io/acme/app --root-key yubikey:11111111 --backup-root-key yubikey:22222222 \
      --delegation signpath=signpath.cer --root-cert-out acme-app-root.crt --delete-targets-key --yes

  # A fleet, one root key for all, one certificate file each in certs/:
  dctwiz setup --repos repos.txt --root-key yubikey:11111111 --delegation signpath=signpath.cer \
      --root-cert-out certs/ --delete-targets-key --yes --record ceremonies/`,
		Args: cobra.ArbitraryArgs,
		RunE: a.fleet(&opts.Repos, func(ctx context.Context, guns []string) error {
			opts.GUNs = guns
			return a.runSetup(ctx, opts)
		}),
	}
	f := cmd.Flags()
	opts.Repos.register(f)
	a.registerParallel(f)
	opts.RootKey.register(f)
	f.StringVar(&opts.BackupKey, "backup-root-key", "", "a backup root key the root role names too (threshold 1): yubikey[:SERIAL] (made on that token) or file:PATH")
	f.StringArrayVar(&opts.Signers, "delegation", nil, "add a signer: NAME=CERTFILE (PEM or DER X.509 certificate); repeatable")
	f.StringVar(&opts.RootCertOut, "root-cert-out", "", "write the root certificate (PEM) to this file; with several GUNs, into this directory, one file per repository")
	f.StringVar(&opts.TestTag, "test-tag", "", "test-sign this existing tag and verify it as a consumer would")
	f.BoolVar(&opts.Keep, "keep", false, "keep the test signature published")
	f.BoolVar(&opts.DeleteKey, "delete-targets-key", false, "delete the local targets private key at the end (needs --yes or a terminal)")
	f.StringVar(&opts.RecordDir, "record", "", "write the ceremony record (Markdown and JSON, no secrets) into this directory")
	return cmd
}

// runSetup checks every input, then runs the ceremony with one line of
// progress per step, and the record if asked.
func (a *app) runSetup(ctx context.Context, opts setupOptions) error {
	guns, err := parseGUNArgs(opts.GUNs)
	if err != nil {
		return err
	}
	plan, err := a.setupPlan(opts, guns)
	if err != nil {
		return err
	}
	if len(guns) > 1 {
		return a.runSetups(ctx, opts, plan, guns)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	if err := a.openSetupRoots(opts, &plan); err != nil {
		return err
	}
	began := time.Now()
	rep, err := flows.RunSetup(ctx, c, plan, a.progress(plan.Plan()))
	if opts.RecordDir != "" {
		md, werr := a.writeRecord(ctx, c, opts.RecordDir, began, plan, []*flows.Report{rep})
		switch {
		case werr != nil && err == nil:
			err = recordFailure(werr, []*flows.Report{rep})
		case werr == nil && !a.json:
			fmt.Fprintf(a.stderr, "Ceremony record: %s\n", md)
		}
	}
	if err != nil {
		a.explainStop(rep, err)
		return err
	}
	return a.output(rep, func() {
		a.printSetup(rep)
	})
}

// setupPlan reads and checks every input that can be checked before
// anything is created or published, and has the deletion confirmed.
// With several repositories it is the plan of the first; the others
// differ in their GUN and root certificate file.
func (a *app) setupPlan(opts setupOptions, guns []trust.GUN) (flows.Setup, error) {
	gun := guns[0]
	if err := checkCertOut(opts.RootCertOut); err != nil {
		return flows.Setup{}, err
	}
	if opts.RootCertOut != "" && len(guns) > 1 {
		if err := checkDir(opts.RootCertOut); err != nil {
			return flows.Setup{}, err
		}
	}
	plan := flows.Setup{GUN: gun, RootCertOut: certOutFor(opts.RootCertOut, gun, len(guns)), TestTag: opts.TestTag, KeepTestSig: opts.Keep, DeleteTargetsKey: opts.DeleteKey}
	specs, err := parseDelegations(opts.Signers)
	if err != nil {
		return plan, err
	}
	for _, d := range specs {
		cert, err := a.loadCert(d.path)
		if err != nil {
			return plan, err
		}
		plan.Signers = append(plan.Signers, flows.Signer{Name: d.name, Cert: cert})
	}
	if opts.RootKey.attestCA != "" {
		if plan.AttestationRoots, err = loadCAPool(opts.RootKey.attestCA); err != nil {
			return plan, err
		}
	}
	if opts.TestTag != "" {
		if _, _, err := trust.ParseGUNTag(gun.String() + ":" + opts.TestTag); err != nil {
			return plan, usageError{err}
		}
	}
	if opts.RecordDir != "" {
		if err := checkDir(opts.RecordDir); err != nil {
			return plan, err
		}
	}
	if b := opts.BackupKey; b != "" {
		bf := opts.RootKey
		bf.source = b
		spec, err := bf.parse()
		if err != nil {
			return plan, err
		}
		if b == opts.RootKey.source || (spec.file && spec.path == "") || sameToken(opts.RootKey, opts.RootKey.source, b) {
			return plan, usagef("--backup-root-key %q: give another YubiKey (yubikey:SERIAL) or a new key file (file:PATH) than --root-key", b)
		}
	}
	if opts.DeleteKey {
		if err := a.confirm("Deleting the targets private key of "+joinGUNs(guns)+" at the end of the ceremony", gun.String()); err != nil {
			return plan, err
		}
	}
	return plan, nil
}

// openSetupRoots opens setup's root key (a YubiKey's PIN is asked here,
// once for every repository) and the backup root key, if any.
func (a *app) openSetupRoots(opts setupOptions, plan *flows.Setup) (err error) {
	if plan.Root, err = a.rootKey(opts.RootKey); err != nil {
		return err
	}
	if opts.BackupKey != "" {
		bf := opts.RootKey
		bf.source = opts.BackupKey
		if plan.BackupRoot, err = a.newRootKey(bf); err != nil {
			return err
		}
	}
	return nil
}

// certOutFor is where gun's root certificate goes: the file given, or
// with several repositories a file per repository in the directory given.
// An existing directory is taken as one whatever the count, so that the
// command printed to rerun the repositories that failed (perhaps one)
// writes where the first run did.
func certOutFor(out string, gun trust.GUN, repositories int) string {
	if st, err := os.Stat(out); out == "" || (repositories == 1 && (err != nil || !st.IsDir())) {
		return out
	}
	return filepath.Join(out, strings.NewReplacer("/", "-", ":", "-").Replace(gun.String())+"-root.crt")
}

// runSetups sets several repositories up as one ceremony: the same root
// key (opened once), signers and options; every repository checked before
// any is published; one that fails does not stop the others.
func (a *app) runSetups(ctx context.Context, opts setupOptions, plan flows.Setup, guns []trust.GUN) (err error) {
	c, err := a.client()
	if err != nil {
		return err
	}
	signatures := 1 // root.json, by each root key
	if opts.BackupKey != "" {
		signatures = 2
	}
	a.showPlan(guns, plan.Plan(), rootNeeds(opts.RootKey)+touchNote(opts.RootKey, len(guns), signatures),
		"new repositories: give each one's root certificate to whoever pins it")
	if err := a.openSetupRoots(opts, &plan); err != nil {
		return err
	}
	var reports []*flows.Report
	began := time.Now()
	err = a.runEach(ctx, guns, &reports, true, func(gun trust.GUN) (ceremony, error) {
		s := plan
		s.GUN, s.RootCertOut = gun, certOutFor(opts.RootCertOut, gun, len(guns))
		return flows.NewSetup(c, s, a.progressOf(gun, s.Plan()))
	})
	// The record, however the ceremony ended, before the output (--json
	// prints one document, the error's if the record cannot be written).
	if opts.RecordDir != "" && len(reports) > 0 {
		md, werr := a.writeRecord(ctx, c, opts.RecordDir, began, plan, reports)
		switch {
		case werr != nil && err == nil:
			err = recordFailure(werr, reports)
		case werr == nil && !a.json:
			fmt.Fprintf(a.stderr, "Ceremony record: %s\n", md)
		}
	}
	if err != nil {
		return err
	}
	return a.output(reports, func() { a.printSetups(reports) })
}

// writeRecord writes the ceremony record of a setup of one or more
// repositories, with what expires when for those published; it returns
// the Markdown's path.
func (a *app) writeRecord(ctx context.Context, c *trust.Client, dir string, began time.Time, s flows.Setup, reps []*flows.Report) (string, error) {
	var inspections []*trust.Inspection
	for _, rep := range reps {
		gun, err := trust.ParseGUN(rep.GUN)
		if err != nil || !rep.Published() {
			continue
		}
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		if in, err := c.Inspect(ictx, gun); err == nil {
			inspections = append(inspections, in)
		}
		cancel()
	}
	rec := flows.NewRecord("setup", began, c.ServerURL(s.GUN), flows.RootKeyRecord(s.Root), s.Signers, reps, inspections)
	md, _, err := rec.Write(dir)
	return md, err
}

// recordReports writes the record of a ceremony over several repositories
// (no inspection: the reports say what was done); it says where, unless --json.
func (a *app) recordReports(ceremony, dir string, began time.Time, c *trust.Client, root trust.RootKey, reports []*flows.Report) error {
	if dir == "" || len(reports) == 0 {
		return nil
	}
	gun, _ := trust.ParseGUN(reports[0].GUN)
	rec := flows.NewRecord(ceremony, began, c.ServerURL(gun), flows.RootKeyRecord(root), nil, reports, nil)
	md, _, err := rec.Write(dir)
	if err == nil && !a.json {
		fmt.Fprintf(a.stderr, "Ceremony record: %s\n", md)
	}
	return err
}

// recorded writes the ceremony record of reports (see recordReports) and
// returns the ceremony's error, or the record's if the ceremony succeeded.
// A record that cannot be written after a ceremony that published says
// so: the repository has the change, only its record is missing, and the
// rerun (which converges) writes it.
func (a *app) recorded(err error, ceremony, dir string, began time.Time, c *trust.Client, root trust.RootKey, reports []*flows.Report) error {
	werr := a.recordReports(ceremony, dir, began, c, root, reports)
	if werr == nil || err != nil {
		return err
	}
	return recordFailure(werr, reports)
}

// recordFailure is the error of a record that could not be written after
// a ceremony that succeeded: when it published, the error says so.
func recordFailure(werr error, reports []*flows.Report) error {
	var te *trust.Error
	if slices.ContainsFunc(reports, (*flows.Report).Published) && errors.As(werr, &te) {
		changed := *te
		changed.Msg = "the ceremony is done and published; " + te.Msg
		changed.Fix = "free some space or choose another --record directory, then run the same command again: it finds the change published and writes the record"
		return &changed
	}
	return werr
}

// checkCertOut refuses "-" for --root-cert-out before anything runs: the
// ceremony's report has stdout, and a file named "-" is nobody's wish.
func checkCertOut(path string) error {
	if path == "-" {
		return usagef("--root-cert-out -: the ceremony's report is on stdout; give a file, or print the certificate afterwards with dctwiz root-cert export GUN -o -")
	}
	return nil
}

// checkDir refuses a directory that cannot take the ceremony record, before anything runs.
func checkDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return usageError{&trust.Error{Kind: trust.ErrBadInput, Input: dir, Cause: err, Msg: "not a directory",
			Fix: "give an existing directory for the ceremony record"}}
	}
	return nil
}

// progress prints one line per step on stderr (not with --json: stdout
// is the document, stderr stays quiet for scripts).
func (a *app) progress(steps []flows.PlannedStep) func(flows.Event) {
	return a.progressOf(trust.GUN{}, steps)
}

// progressOf is progress for one repository of a batch: its lines name it,
// and on a terminal they go to the live display.
func (a *app) progressOf(gun trust.GUN, steps []flows.PlannedStep) func(flows.Event) {
	index := map[flows.StepID]int{}
	for i, s := range steps {
		index[s.ID] = i + 1
	}
	return func(e flows.Event) {
		if a.json {
			return
		}
		n := fmt.Sprintf("[%d/%d]", index[e.Step], len(steps))
		var line string
		switch e.Kind {
		case flows.Started:
			line = fmt.Sprintf("%s %s ...", n, e.Note)
		case flows.Done:
			line = fmt.Sprintf("%s done in %s: %s", n, took(e.Taken), e.Note)
		case flows.Skipped:
			line = fmt.Sprintf("%s %s: skipped (%s)", n, e.Title, e.Note)
		case flows.Failed:
			line = fmt.Sprintf("%s %s: failed", n, e.Title)
		default:
			return
		}
		if !gun.IsZero() && a.send(ui.BatchStepMsg{Repo: gun.String(), Line: line}) {
			return
		}
		a.outMu.Lock()
		defer a.outMu.Unlock()
		if !gun.IsZero() && a.batch {
			line = gun.String() + " " + line
		}
		fmt.Fprintln(a.stderr, line)
	}
}

// explainStop says what state the repository is in after a failed step.
func (a *app) explainStop(rep *flows.Report, err error) {
	if rep == nil {
		return
	}
	if a.json {
		a.failureReport = rep
		return
	}
	var done, changed []string
	for _, s := range rep.Steps {
		if s.Status == flows.Done {
			done = append(done, string(s.Step))
			// What the report says the step did: a change an earlier run
			// made, or a test signature removed again, is not this run's.
			if rep.Changed(s.Step) {
				changed = append(changed, string(s.Step))
			}
		}
	}
	if rep.Init != nil && !rep.Init.AlreadyDone && !slices.Contains(done, string(flows.StepInit)) {
		// Published; what failed came after, in the trust dir.
		changed = append(changed, string(flows.StepInit)+" (the server has it)")
	}
	if r := rep.Rotation; r != nil && !slices.Contains(changed, string(flows.StepRotateKey)) && !slices.Contains(changed, string(flows.StepTargetsKeyForChange)) {
		// The publish landed; a later part of its step failed.
		changed = append(changed, "the new "+r.Role+" key "+trust.ShortID(r.NewKeyID))
	}
	unknown := trust.OutcomeUnknown(err)
	if len(done) == 0 && len(changed) == 0 && !unknown {
		fmt.Fprintln(a.stderr, "Nothing was done: the repository is as it was.")
		return
	}
	if unknown {
		// Said before anything else: the one thing not known.
		fmt.Fprintln(a.stderr, "The outcome of the last publish is unknown: the server could not be asked whether it landed.")
		if len(done) == 0 {
			fmt.Fprintln(a.stderr, "Run the same command again: it finds out what the server has and converges.")
			return
		}
	}
	fmt.Fprintf(a.stderr, "Completed: %s", strings.Join(append([]string{}, done...), ", "))
	if len(done) == 0 {
		fmt.Fprint(a.stderr, "no step")
	}
	if len(changed) > 0 {
		fmt.Fprintf(a.stderr, " (published: %s)", strings.Join(changed, ", "))
	}
	fmt.Fprintln(a.stderr, ". Fix the problem and run the same command again: completed steps are recognised and skipped.")
}

func (a *app) printSetup(rep *flows.Report) {
	w := a.stdout
	fmt.Fprintf(w, "Set up %s.\n", rep.GUN)
	if rep.Init != nil {
		printKeys(a, rep.Init)
	}
	for _, d := range rep.Delegations {
		fmt.Fprintf(w, "  signer %s: key %s in %s\n", d.Signer, shortIDs(d.KeyIDs), "targets/releases, targets/"+d.Signer)
	}
	for _, rc := range rep.RootCerts {
		fmt.Fprintf(w, "  root certificate: SHA-256 %s, expires %s", rc.Fingerprint, date(rc.NotAfter))
		if rep.RootCertFile != "" {
			fmt.Fprintf(w, ", written to %s", rep.RootCertFile)
		}
		fmt.Fprintln(w)
	}
	if rep.TestSign != nil {
		fmt.Fprintf(w, "  test signature: %s verified as %s\n", rep.TestSign.Tag, rep.TestSign.Verified.Digest)
	}
	for i, ar := range []*trust.AttestationReport{rep.Attestation, rep.BackupAttestation} {
		if ar == nil {
			continue
		}
		what := []string{"root key", "backup root key"}[i]
		fmt.Fprintf(w, "  %s attestation: YubiKey %d slot %s, verified %v against %s", what, ar.Serial, ar.Slot, ar.Verified, ar.Roots)
		if ar.File != "" {
			fmt.Fprintf(w, ", written to %s", ar.File)
		}
		fmt.Fprintln(w)
	}
	if rep.TargetsKey != nil {
		fmt.Fprintf(w, "  targets key: deleted from the trust dir and verified gone\n")
	}
	fmt.Fprintln(w, "Next: give the root certificate to your signing service and pin its key ID in clients; lock the root key away.")
}

// printSetups is a batch's result: a line per repository (its report has
// the rest), the root key once, the advice once.
func (a *app) printSetups(reports []*flows.Report) {
	w := a.stdout
	fmt.Fprintf(w, "Set up %d repositories:\n", len(reports))
	rootKeys := map[string]bool{}
	for _, rep := range reports {
		var parts []string
		if rep.Init != nil {
			what := "published"
			if rep.Init.AlreadyDone {
				what = "already set up"
			}
			parts = append(parts, what+", targets key "+trust.ShortID(rep.Init.Targets.ID))
		}
		if n := len(rep.Delegations); n > 0 {
			parts = append(parts, fmt.Sprintf("%d signer(s)", n))
		}
		for _, rc := range rep.RootCerts {
			rootKeys[rc.CanonicalID] = true
			if rep.RootCertFile != "" {
				parts = append(parts, "root certificate "+rep.RootCertFile)
			}
		}
		if rep.TestSign != nil && rep.TestSign.Verified != nil {
			parts = append(parts, "test signature verified")
		}
		if rep.TargetsKey != nil {
			parts = append(parts, "targets key deleted")
		}
		fmt.Fprintf(w, "  %s: %s\n", rep.GUN, strings.Join(parts, "; "))
	}
	ids := slices.Sorted(maps.Keys(rootKeys))
	for i := range ids {
		ids[i] = trust.ShortID(ids[i])
	}
	fmt.Fprintf(w, "Root key (canonical ID): %s. The --json document and the ceremony record (--record) have every key ID and fingerprint.\n", strings.Join(ids, ", "))
	fmt.Fprintln(w, "Next: give the root certificates to your signing service and pin their key IDs in clients; lock the root key away.")
}

// loadCAPool reads PEM CA certificates.
func loadCAPool(path string) (*x509.CertPool, error) {
	b, err := trust.ReadInputFile(path)
	if err != nil {
		return nil, &trust.Error{Kind: trust.ErrBadInput, Input: path, Cause: err, Msg: "cannot read the attestation CA: " + err.Error(), Fix: "check the --attestation-ca path"}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, &trust.Error{Kind: trust.ErrBadInput, Input: path, Msg: "no PEM certificate in the attestation CA file"}
	}
	return pool, nil
}

// took says how long a step took, to a precision that reads: "12ms",
// "1.4s"; a fast step is not "0.0s".
func took(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "under 1ms"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
