package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

func (a *app) setupCmd() *cobra.Command {
	var (
		rootKey     rootKeyFlags
		signers     []string
		rootCertOut string
		testTag     string
		keep        bool
		deleteKey   bool
		recordDir   string
	)
	cmd := &cobra.Command{
		Use:   "setup GUN",
		Short: "Run the whole setup ceremony for a repository",
		Long: `setup runs the ceremony in order: create the root and targets keys and
publish with a server-managed snapshot key; add each --delegation signer;
export the root certificate; test-sign --test-tag and verify it as a consumer
would; delete the local targets private key (--delete-targets-key, which needs
--yes or typing the GUN on a terminal). Every step is checked before anything is
published, and every step converges: after a failure, fix the cause and run
the same command again. With --record DIR, the ceremony record (Markdown for the
people who sign it off, JSON for tools; no secret) is written to DIR as the
wizard writes it, also when a step fails.`,
		Example: `  export NOTARY_ROOT_PASSPHRASE=... NOTARY_TARGETS_PASSPHRASE=...
  dctwiz setup docker.io/acme/app \
      --delegation signpath=signpath.cer \
      --root-cert-out acme-app-root.crt \
      --test-tag latest \
      --delete-targets-key --yes \
      --record ceremonies/`,
		Args: cobra.ExactArgs(1),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			gun, err := parseGUNArg(args[0])
			if err != nil {
				return err
			}
			plan := flows.Setup{GUN: gun, RootCertOut: rootCertOut, TestTag: testTag, KeepTestSig: keep, DeleteTargetsKey: deleteKey}
			// Check every input before anything is created or published.
			specs, err := parseDelegations(signers)
			if err != nil {
				return err
			}
			for _, d := range specs {
				cert, err := a.loadCert(d.path)
				if err != nil {
					return err
				}
				plan.Signers = append(plan.Signers, flows.Signer{Name: d.name, Cert: cert})
			}
			if rootKey.attestCA != "" {
				pool, err := loadCAPool(rootKey.attestCA)
				if err != nil {
					return err
				}
				plan.AttestationRoots = pool
			}
			if testTag != "" {
				if _, _, err := trust.ParseGUNTag(gun.String() + ":" + testTag); err != nil {
					return usageError{err}
				}
			}
			if recordDir != "" {
				if err := checkDir(recordDir); err != nil {
					return err
				}
			}
			if deleteKey {
				if err := a.confirm("Deleting the targets private key of "+gun.String()+" at the end of the ceremony", gun.String()); err != nil {
					return err
				}
			}
			c, err := a.client(trust.Passphrases{})
			if err != nil {
				return err
			}
			root, rootPass, err := a.rootKey(c, rootKey)
			if err != nil {
				return err
			}
			plan.Root = root
			targetsPass, err := a.passphrase(targetsSecret, true)
			if err != nil {
				return err
			}
			// A signer key in the trust dir would sign the test tag; it is optional.
			delegationPass := a.fromEnv(delegationSecret)
			if c, err = a.client(trust.Passphrases{Root: rootPass, Targets: targetsPass, Delegation: delegationPass}); err != nil {
				return err
			}

			began := time.Now()
			rep, err := flows.RunSetup(cmd.Context(), c, plan, a.progress(plan.Plan()))
			if recordDir != "" {
				md, werr := a.writeRecord(cmd.Context(), c, recordDir, began, plan, rep)
				switch {
				case werr != nil && err == nil:
					err = werr
				case werr == nil && !a.json:
					fmt.Fprintf(a.stderr, "Ceremony record: %s\n", md)
				}
			}
			if err != nil {
				a.explainStop(rep)
				return err
			}
			return a.output(rep, func() {
				a.printSetup(rep)
			})
		}),
	}
	f := cmd.Flags()
	rootKey.register(f)
	f.StringArrayVar(&signers, "delegation", nil, "add a signer: NAME=CERTFILE (PEM or DER X.509 certificate); repeatable")
	f.StringVar(&rootCertOut, "root-cert-out", "", "write the root certificate (PEM) to this file")
	f.StringVar(&testTag, "test-tag", "", "test-sign this existing tag and verify it as a consumer would")
	f.BoolVar(&keep, "keep", false, "keep the test signature published")
	f.BoolVar(&deleteKey, "delete-targets-key", false, "delete the local targets private key at the end (needs --yes or a terminal)")
	f.StringVar(&recordDir, "record", "", "write the ceremony record (Markdown and JSON, no secrets) into this directory")
	return cmd
}

// writeRecord writes the ceremony record of a setup, with what expires
// when if the repository was published; it returns the Markdown's path.
func (a *app) writeRecord(ctx context.Context, c *trust.Client, dir string, began time.Time, s flows.Setup, rep *flows.Report) (string, error) {
	var inspections []*trust.Inspection
	if rep.Published() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if in, err := c.Inspect(ctx, s.GUN); err == nil {
			inspections = append(inspections, in)
		}
	}
	rec := flows.NewRecord(began, c.ServerURL(s.GUN), flows.RootKeyRecord(s.Root), s.Signers, []*flows.Report{rep}, inspections)
	md, _, err := rec.Write(dir)
	return md, err
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
	index := map[flows.StepID]int{}
	for i, s := range steps {
		index[s.ID] = i + 1
	}
	return func(e flows.Event) {
		if a.json {
			return
		}
		n := fmt.Sprintf("[%d/%d]", index[e.Step], len(steps))
		switch e.Kind {
		case flows.Started:
			fmt.Fprintf(a.stderr, "%s %s ...\n", n, e.Note)
		case flows.Done:
			fmt.Fprintf(a.stderr, "%s done in %s: %s\n", n, took(e.Taken), e.Note)
		case flows.Skipped:
			fmt.Fprintf(a.stderr, "%s %s: skipped (%s)\n", n, e.Title, e.Note)
		case flows.Failed:
			fmt.Fprintf(a.stderr, "%s %s: failed\n", n, e.Title)
		}
	}
}

// explainStop says what state the repository is in after a failed step.
func (a *app) explainStop(rep *flows.Report) {
	if rep == nil {
		return
	}
	if a.json {
		a.failureReport = rep
		return
	}
	var done, published []string
	for _, s := range rep.Steps {
		if s.Status == flows.Done {
			done = append(done, string(s.Step))
			if s.Step == flows.StepInit || s.Step == flows.StepDelegations {
				published = append(published, string(s.Step))
			}
		}
	}
	if len(done) == 0 {
		fmt.Fprintln(a.stderr, "Nothing was done: the repository is as it was.")
		return
	}
	fmt.Fprintf(a.stderr, "Completed: %s", strings.Join(done, ", "))
	if len(published) > 0 {
		fmt.Fprintf(a.stderr, " (published: %s)", strings.Join(published, ", "))
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
	if rep.Attestation != nil {
		fmt.Fprintf(w, "  root key attestation: YubiKey %d slot %s, verified %v against %s", rep.Attestation.Serial, rep.Attestation.Slot, rep.Attestation.Verified, rep.Attestation.Roots)
		if rep.Attestation.File != "" {
			fmt.Fprintf(w, ", written to %s", rep.Attestation.File)
		}
		fmt.Fprintln(w)
	}
	if rep.TargetsKey != nil {
		fmt.Fprintf(w, "  targets key: deleted from the trust dir and verified gone\n")
	}
	fmt.Fprintln(w, "Next: give the root certificate to your signing service and pin its key ID in clients; lock the root key away.")
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
