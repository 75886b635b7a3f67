package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/trust"
)

// testSignOptions are what `dctwiz test-sign` runs with.
type testSignOptions struct {
	Ref      string   // GUN:TAG
	MoreRefs []string // more GUN:TAG, one test signature each
	Keep     bool
	RootCert string
}

func (a *app) testSignCmd() *cobra.Command {
	var opts testSignOptions
	cmd := &cobra.Command{
		Use:         "test-sign GUN:TAG...",
		Annotations: locksTrustDir,
		Short:       "Sign a tag, verify it as a consumer would, then remove the signature",
		Long: `test-sign resolves GUN:TAG's manifest digest and size from the registry
(no Docker daemon; credentials from the docker config or REGISTRY_AUTH), signs
it into targets/releases when the trust dir holds a releases key, else into
targets with the targets key, publishes, and resolves the tag from an empty
trust cache pinned to the root certificate (--root-cert, else the trust dir's
copy of the root), as a consumer would. Unless --keep,
the test signature is removed again. A tag already signed for another digest
is never overwritten. With several GUN:TAG each is test-signed in turn (--json:
a list); one that fails does not stop the others, and the command then exits 1
naming each that failed.`,
		Example: `  NOTARY_TARGETS_PASSPHRASE=... dctwiz test-sign docker.io/acme/app:latest
  NOTARY_TARGETS_PASSPHRASE=... dctwiz test-sign docker.io/acme/app:1.0 docker.io/acme/api:1.0`,
		Args: cobra.MinimumNArgs(1),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			opts.Ref, opts.MoreRefs = args[0], args[1:]
			if len(opts.MoreRefs) > 0 {
				return a.runTestSigns(cmd.Context(), opts)
			}
			return a.runTestSign(cmd.Context(), opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "keep the test signature published")
	cmd.Flags().StringVar(&opts.RootCert, "root-cert", "", "verify pinned to this exported root certificate (PEM) instead of the trust dir's copy of the root")
	return cmd
}

// runTestSign signs a tag, verifies it as a consumer would, and removes
// the signature unless asked to keep it. The key that signs (a releases
// key, else the targets key) asks for its passphrase when it is opened.
func (a *app) runTestSign(ctx context.Context, opts testSignOptions) error {
	gun, tag, err := trust.ParseGUNTag(opts.Ref)
	if err != nil {
		return usageError{err}
	}
	signOpts := trust.TestSignOptions{Keep: opts.Keep}
	if opts.RootCert != "" {
		pemBytes, err := trust.ReadInputFile(opts.RootCert)
		if err != nil {
			return &trust.Error{Kind: trust.ErrBadInput, Input: opts.RootCert, Cause: err, Msg: "cannot read the root certificate: " + err.Error(), Fix: "check the --root-cert path"}
		}
		if signOpts.PinnedRoot, err = trust.RootCertIDs(opts.RootCert, pemBytes); err != nil {
			return err
		}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	res, err := c.TestSign(ctx, gun, tag, signOpts)
	if err != nil {
		return err
	}
	return a.output(res, func() {
		printTestSign(a, res)
	})
}

// runTestSigns test-signs several tags, each in turn; a failure does not
// stop the others.
func (a *app) runTestSigns(ctx context.Context, opts testSignOptions) error {
	refs := append([]string{opts.Ref}, opts.MoreRefs...)
	type target struct {
		gun trust.GUN
		tag string
	}
	var targets []target
	for _, ref := range refs {
		gun, tag, err := trust.ParseGUNTag(ref)
		if err != nil {
			return usageError{err}
		}
		targets = append(targets, target{gun, tag})
	}
	if opts.RootCert != "" {
		return usagef("--root-cert pins one repository's root certificate: give one GUN:TAG with it")
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	var done []*trust.TestSignResult
	var failed []string
	for _, t := range targets {
		res, err := c.TestSign(ctx, t.gun, t.tag, trust.TestSignOptions{Keep: opts.Keep})
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			if !a.json {
				fmt.Fprintf(a.stderr, "%s:%s failed: %v; carrying on with the others.\n", t.gun, t.tag, err)
			}
			failed = append(failed, fmt.Sprintf("%s:%s (%v)", t.gun, t.tag, err))
			continue
		}
		if !a.json {
			printTestSign(a, res)
		}
		done = append(done, res)
	}
	if len(failed) > 0 {
		a.failureReport = done
		return &trust.Error{Kind: trust.ErrPublish, Msg: fmt.Sprintf("%d of %d test signatures failed: %s", len(failed), len(targets), strings.Join(failed, "; ")),
			Fix: "fix the cause, then test-sign those tags again (a test signature already in place is verified, not made twice)"}
	}
	return a.output(done, func() {})
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
