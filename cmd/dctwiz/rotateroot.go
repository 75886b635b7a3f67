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

// rotateRootOptions are what `dctwiz rotate root` runs with.
type rotateRootOptions struct {
	GUNs        []string
	RootKey     rootKeyFlags
	NewRootKey  string // a root key spec
	BackupKey   string // a root key spec, "" for none
	AddBackup   string // a root key spec: a backup added, the current keys kept
	RemoveKeys  []string
	RootCertOut string
	RecordDir   string
	Repos       reposFlag
}

func (a *app) rotateRootCmd() *cobra.Command {
	var opts rotateRootOptions
	cmd := &cobra.Command{
		Use:         "root [GUN...] [--repos FILE]",
		Annotations: locksTrustDir,
		Short:       "Move the repositories' root to a new key (a new YubiKey), or add a backup root key",
		Long: `rotate root gives each repository a root role that names new keys:
--new-root-key, and --backup-root-key if given (the root role then holds both,
threshold 1: either token alone can sign later). root.json is signed by the
current root key (--root-key; either token of a two-key root is enough) and
by every new key, in one publish, so consumers who trust the old root follow
without being told. A key the root role names already keeps its published
certificate. The same ceremony with other key lists:
  --add-backup-root-key SPEC  keeps every current root key and adds a backup;
  --remove-root-key KEYID     drops a key (a lost token) and keeps the others:
                              the remaining token alone signs it.
Exactly one of --new-root-key, --add-backup-root-key and --remove-root-key.

Which consumers notice: docker and notary clients that trusted the repository
before follow (trust on first use, then the cross-signed root.json). A client
pinned to the old root certificate's key ID, starting from an empty cache,
fails until it is given the new key ID: the command prints the IDs to pin and
--root-cert-out writes the new root certificates (PEM). Publishing needs --yes,
or typing the GUN on a terminal.

New YubiKey keys are made on the token (its PIN once; the same --slot,
--curve and policies as for --root-key); file:PATH makes a new
passphrase-protected key file at PATH (for rehearsals), with the root
passphrase.`,
		Example: `  # Move the root onto a new YubiKey, keeping a backup token:
  dctwiz rotate root docker.io/acme/app --root-key yubikey:11111111 \
      --new-root-key yubikey:22222222 --backup-root-key yubikey:33333333 \
      --root-cert-out acme-app-root.crt --yes

  # Add a backup to a single-key root:
  dctwiz rotate root docker.io/acme/app --root-key yubikey:11111111 \
      --add-backup-root-key yubikey:22222222 --yes

  # The primary token is lost: the backup drops its key (then add a new backup):
  dctwiz rotate root docker.io/acme/app --root-key yubikey:22222222 \
      --remove-root-key ROOT-KEY-ID --yes`,
		Args: cobra.ArbitraryArgs,
		RunE: a.fleet(&opts.Repos, func(ctx context.Context, guns []string) error {
			opts.GUNs = guns
			return a.runRotateRoot(ctx, opts)
		}),
	}
	opts.RootKey.register(cmd.Flags())
	opts.Repos.register(cmd.Flags())
	a.registerParallel(cmd.Flags())
	cmd.Flags().StringVar(&opts.NewRootKey, "new-root-key", "", "the new root key: yubikey[:SERIAL] (made on the token) or file:PATH (required)")
	cmd.Flags().StringVar(&opts.BackupKey, "backup-root-key", "", "with --new-root-key: a second new root key the root role names too (threshold 1): yubikey[:SERIAL] or file:PATH")
	cmd.Flags().StringVar(&opts.AddBackup, "add-backup-root-key", "", "keep the current root keys and add this backup: yubikey[:SERIAL] or file:PATH")
	cmd.Flags().StringArrayVar(&opts.RemoveKeys, "remove-root-key", nil, "drop this root key (its certificate or canonical key ID: a lost token), keeping the others; repeatable")
	cmd.Flags().StringVar(&opts.RootCertOut, "root-cert-out", "", "write the new root certificates (PEM) to this file; with several GUNs, into this directory, one file per repository")
	cmd.Flags().StringVar(&opts.RecordDir, "record", "", "write the ceremony record (Markdown and JSON, no secrets) into this directory")
	return cmd
}

// runRotateRoot moves each repository's root, with one current root key
// and one set of new keys (one PIN per token), and stops at the first failure.
func (a *app) runRotateRoot(ctx context.Context, opts rotateRootOptions) (err error) {
	guns, err := parseGUNArgs(opts.GUNs)
	if err != nil {
		return err
	}
	modes := 0
	for _, set := range []bool{opts.NewRootKey != "", opts.AddBackup != "", len(opts.RemoveKeys) > 0} {
		if set {
			modes++
		}
	}
	switch {
	case modes == 0:
		return usagef("--new-root-key is required (the key the root moves to), or --add-backup-root-key or --remove-root-key")
	case modes > 1:
		return usagef("give one of --new-root-key, --add-backup-root-key and --remove-root-key")
	case opts.BackupKey != "" && opts.NewRootKey == "":
		return usagef("--backup-root-key goes with --new-root-key; to add a backup to the current root, give --add-backup-root-key")
	}
	if err := opts.RootKey.check(); err != nil {
		return err
	}
	var specs []string
	change := trust.RootChange{Remove: opts.RemoveKeys}
	switch {
	case opts.NewRootKey != "":
		specs = []string{opts.NewRootKey}
	case opts.AddBackup != "":
		if opts.AddBackup == opts.RootKey.source {
			return usagef("--add-backup-root-key is --root-key: a backup is another token")
		}
		specs, change.Keep = []string{opts.AddBackup}, []string{trust.KeepAll}
	}
	if opts.BackupKey != "" {
		if opts.BackupKey == opts.NewRootKey || sameToken(opts.RootKey, opts.NewRootKey, opts.BackupKey) {
			return usagef("--backup-root-key names the same YubiKey as --new-root-key: a backup is another token")
		}
		specs = append(specs, opts.BackupKey)
	}
	newFlags := make([]rootKeyFlags, len(specs))
	for i, s := range specs {
		newFlags[i] = opts.RootKey
		newFlags[i].source = s
		if spec, err := newFlags[i].parse(); err != nil {
			return err
		} else if spec.file && spec.path == "" {
			return usagef("%q: a new root key file needs its path: file:PATH", s)
		}
		if s != opts.RootKey.source && sameToken(opts.RootKey, s, opts.RootKey.source) {
			// Another slot of the current token is no new token.
			return usagef("%q is the YubiKey of --root-key: to keep its key give --new-root-key %s; else give another token", s, opts.RootKey.source)
		}
	}
	if opts.RecordDir != "" {
		if err := checkDir(opts.RecordDir); err != nil {
			return err
		}
	}
	certOut := func(gun trust.GUN) string { return certOutFor(opts.RootCertOut, gun, len(guns)) }
	if err := checkCertOut(opts.RootCertOut); err != nil {
		return err
	}
	if opts.RootCertOut != "" && len(guns) > 1 {
		if err := checkDir(opts.RootCertOut); err != nil {
			return err
		}
	}
	needs := rootNeeds(opts.RootKey) + touchNote(opts.RootKey, len(guns), 2)
	what := "Moving the root of " + joinGUNs(guns) + " to " + strings.Join(specs, " and ")
	switch {
	case opts.AddBackup != "":
		needs += "; the backup: " + opts.AddBackup
		what = "Adding the backup root key " + opts.AddBackup + " to " + joinGUNs(guns)
	case len(opts.RemoveKeys) > 0:
		what = "Dropping the root key(s) " + strings.Join(opts.RemoveKeys, ", ") + " from " + joinGUNs(guns)
	default:
		needs += "; the new keys: " + strings.Join(specs, " and ")
	}
	a.showPlan(guns, (&flows.RootRotate{RootCertOut: opts.RootCertOut}).Plan(), needs,
		"docker and notary clients that trusted the repository before follow; a client pinned to the old root key ID from an empty cache must be given the new one (printed at the end)")
	if err := a.confirm(what, guns[0].String()); err != nil {
		return err
	}
	root, err := a.rootKey(opts.RootKey)
	if err != nil {
		return err
	}
	for i, f := range newFlags {
		if specs[i] == opts.RootKey.source {
			change.Add = append(change.Add, root) // the current key stays: the same token, opened once
			continue
		}
		k, err := a.newRootKey(f)
		if err != nil {
			return err
		}
		change.Add = append(change.Add, k)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	var reports []*flows.Report
	began := time.Now()
	err = a.runEach(ctx, guns, &reports, true, func(gun trust.GUN) (ceremony, error) {
		r := &flows.RootRotate{GUN: gun, Root: root, Change: change, RootCertOut: certOut(gun)}
		return flows.NewRootRotate(c, r, a.progressOf(gun, r.Plan()))
	})
	// The record is written however the ceremony ended, before the output:
	// failing to write it fails the command, and --json prints one document.
	err = a.recorded(err, "rotate root", opts.RecordDir, began, c, root, reports)
	if err != nil {
		return err
	}
	return a.output(reports, func() {
		for _, rep := range reports {
			rot := rep.RootRotation
			if rot == nil {
				continue
			}
			if rot.AlreadyDone {
				fmt.Fprintf(a.stdout, "The root role of %s names these keys already: nothing to do.\n", rep.GUN)
			} else {
				fmt.Fprintf(a.stdout, "Moved the root of %s (root.json version %d).\n", rep.GUN, rot.Version)
			}
			fmt.Fprintln(a.stdout, "  root key IDs to pin now:")
			for i, id := range rot.NewKeyIDs {
				where := ""
				if i < len(rot.NewLocations) {
					where = "  " + rot.NewLocations[i]
				}
				fmt.Fprintf(a.stdout, "    %s%s\n", id, where)
			}
			if rep.RootCertFile != "" {
				fmt.Fprintf(a.stdout, "  new root certificates: %s\n", rep.RootCertFile)
			}
		}
		fmt.Fprintln(a.stdout, "  consumers: those that trusted the repository before follow; give clients pinned to the old root key ID the new one")
	})
}

// newRootKey is a root key the rotation moves to: made on its YubiKey
// (the PIN asked once, naming the token), or a new key file.
func (a *app) newRootKey(f rootKeyFlags) (trust.RootKey, error) {
	spec, err := f.parse()
	if err != nil {
		return nil, err
	}
	if spec.file {
		return trust.NewFileRootKey(spec.path), nil
	}
	return a.rootKey(f)
}
