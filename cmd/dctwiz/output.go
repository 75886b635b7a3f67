package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// errorKinds are the stable "kind" strings of --json error documents.
var errorKinds = []struct {
	err  error
	kind string
}{
	{trust.ErrWrongPIN, "wrong_pin"},
	{trust.ErrPINBlocked, "pin_blocked"},
	{trust.ErrYubiKey, "yubikey"},
	{trust.ErrBadGUN, "bad_gun"},
	{trust.ErrBadCertificate, "bad_certificate"},
	{trust.ErrBadSignerName, "bad_signer_name"},
	{trust.ErrPassphraseRequired, "passphrase_required"},
	{trust.ErrWeakPassphrase, "weak_passphrase"},
	{trust.ErrWrongPassphrase, "wrong_passphrase"},
	{trust.ErrTLS, "tls"},
	{trust.ErrUnauthorized, "unauthorized"},
	{trust.ErrServerUnreachable, "server_unreachable"},
	{trust.ErrInterrupted, "interrupted"},
	{trust.ErrNotInitialized, "not_initialized"},
	{trust.ErrAlreadyInitialized, "already_initialized"},
	{trust.ErrTagNotFound, "tag_not_found"},
	{trust.ErrTagAlreadySigned, "tag_already_signed"},
	{trust.ErrRegistry, "registry"},
	{trust.ErrNoTargetsKey, "no_targets_key"},
	{trust.ErrNoRootKey, "no_root_key"},
	{trust.ErrVerification, "verification"},
	{trust.ErrExpired, "expired"},
	{trust.ErrNotFound, "not_found"},
	{trust.ErrNeedsConfirmation, "needs_confirmation"},
	{trust.ErrNoSigner, "no_signer"},
	{trust.ErrPublish, "publish"},
	{trust.ErrBadInput, "bad_input"},
}

func kindOf(err error) string {
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	var u usageError
	if errors.As(err, &u) {
		return "usage"
	}
	return "failed"
}

// table prints aligned columns.
func table(w io.Writer, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func date(t interface{ Format(string) string }) string { return t.Format("2006-01-02") }

// output is every command's last step: the result as one JSON document
// with --json, else what human prints for people.
func (a *app) output(v any, human func()) error {
	if a.json {
		return writeJSON(a.stdout, v)
	}
	human()
	return nil
}

// showPlan prints, before anything is asked or published, what a
// ceremony will do for each repository, which keys it needs, and what
// consumers notice (on stderr; not with --json, whose document says it).
func (a *app) showPlan(guns []trust.GUN, steps []flows.PlannedStep, needs, consumers string) {
	if a.json {
		return
	}
	fmt.Fprintf(a.stderr, "Plan for %s:\n", joinGUNs(guns))
	n := 0
	for _, s := range steps {
		if s.Skip != "" {
			continue
		}
		n++
		fmt.Fprintf(a.stderr, "  %d. %s\n", n, s.Title)
	}
	fmt.Fprintf(a.stderr, "  needs: %s\n  consumers: %s\n", needs, consumers)
}
