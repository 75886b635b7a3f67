package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

func (a *app) delegationCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "delegation",
		Aliases: []string{"signer"},
		Short:   "Add, list, remove and replace signers (delegations)",
	}
	cmd.AddCommand(a.delegationAddCmd(), a.delegationListCmd(), a.delegationRemoveCmd(), a.delegationReplaceCmd())
	return cmd
}

// loadCert reads and checks a signer certificate, printing its warnings.
func (a *app) loadCert(path string) (*trust.Certificate, error) {
	cert, err := trust.LoadCertificate(path, time.Now())
	if err != nil {
		return nil, err
	}
	for _, w := range cert.Warnings {
		fmt.Fprintf(a.stderr, "warning: %s\n", w)
	}
	return cert, nil
}

func (a *app) delegationAddCmd() *cobra.Command {
	var rootKey rootKeyFlags
	var deleteKey bool
	var recordDir string
	var repos reposFlag
	cmd := &cobra.Command{
		Use:         "add GUN... NAME CERT",
		Annotations: locksTrustDir,
		Short:       "Add a signer from its X.509 certificate (PEM or DER)",
		Long: `delegation add adds a signer the way 'docker trust signer add' does: the
certificate's key goes into targets/releases and targets/NAME for all paths,
then the change is published. It needs the targets key (and its passphrase).
The certificate must be valid now, with an ECDSA P-256/P-384 or RSA >= 2048 key
and no SHA-1 signature.

When the targets key was deleted after setup, --root-key runs the change as a
ceremony (see delegation replace): a targets key is signed in with the root
key, the signer added, both kinds of consumer checked, and the targets key
deleted again. That needs --yes, or confirming on a terminal.

With several GUNs the signer is added to each, as one ceremony (a plan, one
confirmation, the root key's PIN once); --json then prints a list.`,
		Example: `  NOTARY_TARGETS_PASSPHRASE=... dctwiz delegation add docker.io/acme/app signpath signpath.cer

  # The targets key was deleted after setup; the root key is on a YubiKey:
  dctwiz delegation add docker.io/acme/app ci ci.crt --root-key yubikey --yes

  # One signer for several repositories, or for a fleet's list (GUNs, then NAME CERT):
  dctwiz delegation add docker.io/acme/app docker.io/acme/api ci ci.crt --root-key yubikey --yes
  dctwiz delegation add --repos repos.txt ci ci.crt --root-key yubikey --yes`,
		Args: trailingArgs("NAME", "CERT"),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			name, cert := args[len(args)-2], args[len(args)-1]
			guns, err := repos.guns(a, args[:len(args)-2])
			if err != nil {
				return err
			}
			if rootKey.source != "" || deleteKey || recordDir != "" || len(guns) > 1 {
				return a.runSignerCeremony(cmd.Context(), flows.SignerAdd, guns, name, cert, rootKey, deleteKey, recordDir)
			}
			return a.runDelegationAdd(cmd.Context(), guns[0], name, cert)
		}),
	}
	rootKey.registerOptional(cmd.Flags())
	repos.register(cmd.Flags())
	a.registerParallel(cmd.Flags())
	cmd.Flags().BoolVar(&deleteKey, "delete-targets-key", false, "with --root-key: delete the targets key at the end even if the trust dir held one (a rerun of an interrupted ceremony)")
	cmd.Flags().StringVar(&recordDir, "record", "", "write the ceremony record (Markdown and JSON, no secrets) into this directory")
	return cmd
}

func (a *app) delegationReplaceCmd() *cobra.Command {
	var rootKey rootKeyFlags
	var deleteKey bool
	var recordDir string
	var repos reposFlag
	cmd := &cobra.Command{
		Use:         "replace GUN... NAME CERT",
		Annotations: locksTrustDir,
		Short:       "Renew a signer's certificate: its new key in, its old keys out",
		Long: `delegation replace is the yearly ceremony when a signing service renews its
certificate: the new certificate's key goes into targets/releases and
targets/NAME, and the signer's old keys leave both (from targets/releases only
where no other signer shares them), in one publish. TUF checks
targets/releases against the keys listed now: if the old key alone signed it,
consumers lose its tags until the signer signs again with its new key. The
plan says when this is so.

It runs as a ceremony: the repository is read as a consumer first; when the
trust dir lacks the targets key (deleted after setup), --root-key signs a new
targets key in first and it is deleted again at the end, leaving the
repository as it was found; afterwards the result is verified as a new
consumer and as one that trusted the repository before. It needs --yes, or
confirming on a terminal. With several GUNs the signer is renewed in each, as
one ceremony (one plan, one confirmation, the root key's PIN once); --json
then prints a list.`,
		Example: `  dctwiz delegation replace docker.io/acme/app signpath signpath-2027.cer --root-key yubikey --yes --record ceremonies/
  dctwiz delegation replace docker.io/acme/app docker.io/acme/api signpath signpath-2027.cer --root-key yubikey --yes
  dctwiz delegation replace --repos repos.txt signpath signpath-2027.cer --root-key yubikey --yes`,
		Args: trailingArgs("NAME", "CERT"),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			name, cert := args[len(args)-2], args[len(args)-1]
			guns, err := repos.guns(a, args[:len(args)-2])
			if err != nil {
				return err
			}
			return a.runSignerCeremony(cmd.Context(), flows.SignerReplace, guns, name, cert, rootKey, deleteKey, recordDir)
		}),
	}
	rootKey.registerOptional(cmd.Flags())
	repos.register(cmd.Flags())
	a.registerParallel(cmd.Flags())
	cmd.Flags().BoolVar(&deleteKey, "delete-targets-key", false, "with --root-key: delete the targets key at the end even if the trust dir held one (a rerun of an interrupted ceremony)")
	cmd.Flags().StringVar(&recordDir, "record", "", "write the ceremony record (Markdown and JSON, no secrets) into this directory")
	return cmd
}

// runSignerCeremony adds, removes or replaces a signer in each
// repository as one ceremony, with the root key when the targets key must
// be rotated in: one plan, one confirmation, one PIN.
func (a *app) runSignerCeremony(ctx context.Context, change string, gunArgs []string, name, certPath string, rootKey rootKeyFlags, deleteKey bool, recordDir string) (err error) {
	guns, err := parseGUNArgs(gunArgs)
	if err != nil {
		return err
	}
	if err := trust.ValidSignerName(name); err != nil {
		return usageError{err}
	}
	if recordDir != "" {
		if err := checkDir(recordDir); err != nil {
			return err
		}
	}
	var cert *trust.Certificate
	if change != flows.SignerRemove {
		if cert, err = a.loadCert(certPath); err != nil {
			return err
		}
	}
	newChange := func(gun trust.GUN) *flows.SignerChange {
		return &flows.SignerChange{GUN: gun, Change: change, Name: name, Cert: cert, RemoveLast: true, DeleteTargetsKey: deleteKey}
	}
	what := map[string]string{flows.SignerAdd: "Adding signer ", flows.SignerRemove: "Removing signer ", flows.SignerReplace: "Replacing the key of signer "}[change] + name + " of " + joinGUNs(guns)
	if change == flows.SignerRemove {
		what += " (if it holds the last key of targets/releases, tags signed there become unverifiable)"
	}
	needs := "the targets key in the trust dir (its passphrase)"
	if rootKey.source != "" {
		if err := rootKey.check(); err != nil {
			return err
		}
		needs += ", or, if it is not there, " + rootNeeds(rootKey) + " and a passphrase for a targets key that is deleted again"
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	consumers := "nothing to do; tags signed before stay valid"
	if change != flows.SignerAdd {
		var notes []string
		for _, gun := range guns {
			note, err := a.releasesWarning(ctx, c, gun, name)
			if err != nil {
				return err
			}
			if len(guns) > 1 {
				note = gun.String() + ": " + note
			}
			notes = append(notes, note)
		}
		consumers = strings.Join(notes, "; ")
	}
	a.showPlan(guns, newChange(guns[0]).Plan(), needs, consumers)
	if err := a.confirm(what, name); err != nil {
		return err
	}
	var root trust.RootKey
	if rootKey.source != "" {
		if root, err = a.rootKey(rootKey); err != nil {
			return err
		}
	}
	began := time.Now()
	var reports []*flows.Report
	err = a.runEach(ctx, guns, &reports, len(guns) > 1, func(gun trust.GUN) (ceremony, error) {
		sc := newChange(gun)
		sc.Root = root
		return flows.NewSignerChange(c, sc, a.progressOf(gun, sc.Plan()))
	})
	// The record is written however the ceremony ended, before the output:
	// failing to write it fails the command, and --json prints one document.
	err = a.recorded(err, "delegation "+change, recordDir, began, c, root, reports)
	if err != nil {
		return err
	}
	var doc any = reports
	if len(reports) == 1 {
		doc = reports[0] // one repository: one report, as before several were taken
	}
	return a.output(doc, func() {
		for _, rep := range reports {
			printSignerChange(a, change, name, rep)
		}
	})
}

// printSignerChange says what a signer ceremony did to one repository.
func printSignerChange(a *app, change, name string, rep *flows.Report) {
	for _, d := range rep.Delegations {
		verb := map[string]string{flows.SignerAdd: "Added", flows.SignerRemove: "Removed", flows.SignerReplace: "Replaced the key of"}[change]
		if !d.Changed {
			fmt.Fprintf(a.stdout, "Signer %s of %s is already so: nothing to do.\n", name, rep.GUN)
			continue
		}
		fmt.Fprintf(a.stdout, "%s signer %s of %s: %s.\n", verb, name, rep.GUN, strings.Join(d.Roles, ", "))
	}
	if rep.Rotation != nil {
		fmt.Fprintf(a.stdout, "  a targets key was signed in with the root key for the change and deleted again: %v\n", rep.TargetsKey != nil && rep.TargetsKey.Gone)
	}
	fmt.Fprintln(a.stdout, "  consumers: a new one pinned to the root certificate and one that trusted the repository before both verify")
}

// runDelegationAdd adds a signer; the targets key asks for its passphrase.
func (a *app) runDelegationAdd(ctx context.Context, gunArg, name, certPath string) error {
	gun, err := gunAndSigner(gunArg, name)
	if err != nil {
		return err
	}
	cert, err := a.loadCert(certPath)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	res, err := c.AddDelegation(ctx, gun, name, cert)
	if err != nil {
		return err
	}
	return a.output(res, func() {
		if !res.Changed {
			fmt.Fprintf(a.stdout, "Signer %s (key %s) is already in %s: nothing to do.\n", res.Signer, shortIDs(res.KeyIDs), res.GUN)
			return
		}
		fmt.Fprintf(a.stdout, "Added signer %s (key %s) to %s: %s.\n", res.Signer, shortIDs(res.KeyIDs), res.GUN, strings.Join(res.Roles, ", "))
	})
}

func (a *app) delegationListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list GUN",
		Short:   "List a repository's delegations",
		Example: `  dctwiz delegation list docker.io/acme/app`,
		Args:    cobra.ExactArgs(1),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.runDelegationList(cmd.Context(), args[0])
		}),
	}
}

// runDelegationList lists a repository's delegations.
func (a *app) runDelegationList(ctx context.Context, gunArg string) error {
	gun, c, err := a.gunAndClient(gunArg)
	if err != nil {
		return err
	}
	dels, err := c.Delegations(ctx, gun)
	if err != nil {
		return err
	}
	if dels == nil {
		dels = []trust.Delegation{} // [] in JSON, not null
	}
	return a.output(dels, func() {
		if len(dels) == 0 {
			fmt.Fprintf(a.stdout, "%s has no delegations.\n", gun)
			return
		}
		rows := [][]string{{"ROLE", "KEYS", "PATHS", "THRESHOLD"}}
		for _, d := range dels {
			var keys []string
			for _, k := range d.KeyIDs {
				keys = append(keys, trust.ShortID(k))
			}
			paths := strings.Join(d.Paths, ",")
			if paths == "" {
				paths = "<all paths>"
			}
			rows = append(rows, []string{d.Role, strings.Join(keys, ","), paths, fmt.Sprint(d.Threshold)})
		}
		table(a.stdout, rows)
	})
}

func (a *app) delegationRemoveCmd() *cobra.Command {
	var rootKey rootKeyFlags
	var deleteKey bool
	var recordDir string
	var repos reposFlag
	cmd := &cobra.Command{
		Use:         "remove GUN... NAME",
		Annotations: locksTrustDir,
		Short:       "Remove a signer",
		Long: `delegation remove removes targets/NAME and the signer's keys from
targets/releases where no other signer shares them. Removing the last key of
targets/releases leaves tags signed there unverifiable, so it needs --yes
(or typing the signer name on a terminal). It needs the targets key; when it
was deleted after setup, --root-key runs the removal as a ceremony (see
delegation replace), which needs --yes or confirming on a terminal. With
several GUNs the signer is removed from each, as one ceremony.`,
		Example: `  NOTARY_TARGETS_PASSPHRASE=... dctwiz delegation remove docker.io/acme/app alice

  # A compromised signer, the targets key deleted after setup:
  dctwiz delegation remove docker.io/acme/app alice --root-key yubikey --yes
  dctwiz delegation remove docker.io/acme/app docker.io/acme/api alice --root-key yubikey --yes
  dctwiz delegation remove --repos repos.txt alice --root-key yubikey --yes`,
		Args: trailingArgs("NAME"),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			name := args[len(args)-1]
			guns, err := repos.guns(a, args[:len(args)-1])
			if err != nil {
				return err
			}
			if rootKey.source != "" || deleteKey || recordDir != "" || len(guns) > 1 {
				return a.runSignerCeremony(cmd.Context(), flows.SignerRemove, guns, name, "", rootKey, deleteKey, recordDir)
			}
			return a.runDelegationRemove(cmd.Context(), guns[0], name)
		}),
	}
	rootKey.registerOptional(cmd.Flags())
	repos.register(cmd.Flags())
	a.registerParallel(cmd.Flags())
	cmd.Flags().BoolVar(&deleteKey, "delete-targets-key", false, "with --root-key: delete the targets key at the end even if the trust dir held one (a rerun of an interrupted ceremony)")
	cmd.Flags().StringVar(&recordDir, "record", "", "write the ceremony record (Markdown and JSON, no secrets) into this directory")
	return cmd
}

// runDelegationRemove removes a signer; removing the last release signer
// needs confirming.
func (a *app) runDelegationRemove(ctx context.Context, gunArg, name string) error {
	gun, err := gunAndSigner(gunArg, name)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	res, err := c.RemoveDelegation(ctx, gun, name, a.yes)
	if errors.Is(err, trust.ErrNeedsConfirmation) && !a.yes {
		fmt.Fprintf(a.stderr, "warning: %s\n", err)
		if cerr := a.confirm("Removing the last release signer of "+gun.String(), name); cerr != nil {
			return cerr
		}
		res, err = c.RemoveDelegation(ctx, gun, name, true)
	}
	if err != nil {
		return err
	}
	return a.output(res, func() {
		fmt.Fprintf(a.stdout, "Removed signer %s from %s: %s.\n", res.Signer, res.GUN, strings.Join(res.Roles, ", "))
	})
}

// gunAndSigner reads the GUN and signer-name arguments.
func gunAndSigner(gunArg, name string) (trust.GUN, error) {
	gun, err := parseGUNArg(gunArg)
	if err != nil {
		return gun, err
	}
	if err := trust.ValidSignerName(name); err != nil {
		return gun, usageError{err}
	}
	return gun, nil
}

// delegationSpec is one --delegation NAME=CERT.
type delegationSpec struct{ name, path string }

// parseDelegations reads --delegation NAME=CERT values (setup's and the
// wizard's), refusing a malformed one, an invalid name or a name given
// twice, before anything is loaded or published.
func parseDelegations(values []string) ([]delegationSpec, error) {
	var specs []delegationSpec
	var names []string
	for _, v := range values {
		name, path, found := strings.Cut(v, "=")
		if !found || name == "" || path == "" {
			return nil, usagef("--delegation %q: give NAME=CERT, e.g. signpath=signpath.cer", v)
		}
		specs = append(specs, delegationSpec{name, path})
		names = append(names, name)
	}
	if err := trust.CheckSignerNames(names...); err != nil {
		return nil, usageError{err}
	}
	return specs, nil
}

// releasesWarning says what consumers notice when signer name's keys leave
// targets/releases: if they alone signed it, its tags are lost to
// consumers until a remaining signer (or the signer's new key) signs again.
// A server that cannot be reached (or heard, or trusted) stops the
// command here: the ceremony would only meet it again, after the same wait.
func (a *app) releasesWarning(ctx context.Context, c *trust.Client, gun trust.GUN, name string) (string, error) {
	signedBy, tags, err := c.ReleasesSigners(ctx, gun)
	if err != nil {
		for _, stop := range []error{trust.ErrServerUnreachable, trust.ErrInterrupted, trust.ErrTLS, trust.ErrNotNotary, trust.ErrUnauthorized} {
			if errors.Is(err, stop) {
				return "", err
			}
		}
		return "not known: the repository cannot be read as it is (" + err.Error() + ")", nil
	}
	var keys []string
	if dels, err := c.Delegations(ctx, gun); err == nil {
		for _, d := range dels {
			if d.Name == name {
				keys = d.KeyIDs
			}
		}
	}
	return releasesNotice(signedBy, tags, keys), nil
}

// releasesNotice is releasesWarning's text, from the keys that signed
// targets/releases, its tag count and the keys that leave.
func releasesNotice(signedBy []string, tags int, leaving []string) string {
	if tags == 0 || len(signedBy) == 0 {
		return "nothing to do: targets/releases holds no tag"
	}
	for _, id := range signedBy {
		if !slices.Contains(leaving, id) {
			return "nothing to do: another signer's key signed targets/releases, whose tags stay valid"
		}
	}
	return fmt.Sprintf("WARNING: the %d tag(s) in targets/releases were signed with this signer's key alone; after this change consumers cannot verify them until a signer signs again (have the signer re-sign its tags with its new key right after)", tags)
}
