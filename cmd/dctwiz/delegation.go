package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/trust"
)

func (a *app) delegationCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "delegation",
		Aliases: []string{"signer"},
		Short:   "Add, list and remove signers (delegations)",
	}
	cmd.AddCommand(a.delegationAddCmd(), a.delegationListCmd(), a.delegationRemoveCmd())
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
	return &cobra.Command{
		Use:   "add GUN NAME CERT",
		Short: "Add a signer from its X.509 certificate (PEM or DER)",
		Long: `delegation add adds a signer the way 'docker trust signer add' does: the
certificate's key goes into targets/releases and targets/NAME for all paths,
then the change is published. It needs the targets key (and its passphrase).
The certificate must be valid now, with an ECDSA P-256/P-384 or RSA >= 2048 key
and no SHA-1 signature.`,
		Example: `  NOTARY_TARGETS_PASSPHRASE=... dctwiz delegation add docker.io/acme/app signpath signpath.cer`,
		Args:    cobra.ExactArgs(3),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.runDelegationAdd(cmd.Context(), args[0], args[1], args[2])
		}),
	}
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
	return &cobra.Command{
		Use:   "remove GUN NAME",
		Short: "Remove a signer",
		Long: `delegation remove removes targets/NAME and the signer's keys from
targets/releases where no other signer shares them. Removing the last key of
targets/releases leaves tags signed there unverifiable, so it needs --yes
(or typing the signer name on a terminal). It needs the targets key.`,
		Example: `  NOTARY_TARGETS_PASSPHRASE=... dctwiz delegation remove docker.io/acme/app alice`,
		Args:    cobra.ExactArgs(2),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.runDelegationRemove(cmd.Context(), args[0], args[1])
		}),
	}
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
