package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/trust"
)

func (a *app) testSignCmd() *cobra.Command {
	var keep bool
	var rootCert string
	cmd := &cobra.Command{
		Use:   "test-sign GUN:TAG",
		Short: "Sign a tag, verify it as a consumer would, then remove the signature",
		Long: `test-sign resolves GUN:TAG's manifest digest and size from the registry
(no Docker daemon; credentials from the docker config or REGISTRY_AUTH), signs
it into targets/releases when the trust dir holds a releases key, else into
targets with the targets key, publishes, and resolves the tag from an empty
trust cache pinned to the root certificate (--root-cert, else the trust dir's
copy of the root), as a consumer would. Unless --keep,
the test signature is removed again. A tag already signed for another digest
is never overwritten.`,
		Example: `  NOTARY_TARGETS_PASSPHRASE=... dctwiz test-sign docker.io/acme/app:latest`,
		Args:    cobra.ExactArgs(1),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			gun, tag, err := trust.ParseGUNTag(args[0])
			if err != nil {
				return usageError{err}
			}
			c, err := a.client(trust.Passphrases{})
			if err != nil {
				return err
			}
			role, err := c.SigningRole(cmd.Context(), gun)
			if err != nil {
				return err
			}
			var pass trust.Passphrases
			if role == trust.ReleasesRole {
				pass.Delegation, err = a.passphrase(delegationSecret, false)
			} else {
				pass.Targets, err = a.passphrase(targetsSecret, false)
			}
			if err != nil {
				return err
			}
			if c, err = a.client(pass); err != nil {
				return err
			}
			opts := trust.TestSignOptions{Keep: keep}
			if rootCert != "" {
				pemBytes, err := trust.ReadInputFile(rootCert)
				if err != nil {
					return &trust.Error{Kind: trust.ErrBadInput, Input: rootCert, Cause: err, Msg: "cannot read the root certificate: " + err.Error(), Fix: "check the --root-cert path"}
				}
				if opts.PinnedRoot, err = trust.RootCertIDs(rootCert, pemBytes); err != nil {
					return err
				}
			}
			res, err := c.TestSign(cmd.Context(), gun, tag, opts)
			if err != nil {
				return err
			}
			return a.output(res, func() {
				printTestSign(a, res)
			})
		}),
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the test signature published")
	cmd.Flags().StringVar(&rootCert, "root-cert", "", "verify pinned to this exported root certificate (PEM) instead of the trust dir's copy of the root")
	return cmd
}

func printTestSign(a *app, res *trust.TestSignResult) {
	switch {
	case res.Existing:
		fmt.Fprintf(a.stdout, "%s:%s was already signed in %s for this digest; verified it.\n", res.GUN, res.Tag, res.Role)
	case res.Kept:
		fmt.Fprintf(a.stdout, "Signed %s:%s in %s and verified it; the signature stays published.\n", res.GUN, res.Tag, res.Role)
	default:
		fmt.Fprintf(a.stdout, "Signed %s:%s in %s, verified it, and removed the test signature.\n", res.GUN, res.Tag, res.Role)
	}
	table(a.stdout, [][]string{
		{"  registry digest", res.Image.Digest, fmt.Sprintf("%d bytes", res.Image.Size)},
		{"  consumer resolved", res.Verified.Digest, fmt.Sprintf("%d bytes", res.Verified.Size)},
	})
}
