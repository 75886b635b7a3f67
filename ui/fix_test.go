package ui

import (
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/trust"
)

// Every fix the engine gives as data is said in the wizard's words: a
// screen, a field or a key, never a flag the admin has no way to pass.
func TestEveryActionHasAWizardFix(t *testing.T) {
	for _, a := range trust.Actions {
		how, ok := wizardFixes[a]
		if !ok || how == "" {
			t.Errorf("action %s: no wizard rendering", a)
		}
		if got := renderFix(a, "do the thing"); strings.Contains(got, "--") {
			t.Errorf("action %s: the wizard says %q, with a flag", a, got)
		}
	}
	err := &trust.Error{Kind: trust.ErrTLS, Input: "https://notary.example.com", Msg: "not trusted",
		Fix: "trust the server's CA certificate", Action: trust.ActionTLSCA}
	if _, fix := describeError(err); fix != "trust the server's CA certificate (the TLS CA field on the Repository screen)" {
		t.Errorf("describeError's fix = %q", fix)
	}
	if got := renderFix(trust.ActionOverwriteSlot, "choose another slot, or replace that key"); strings.Contains(got, "replace") {
		t.Errorf("the wizard offers what it never does: %q", got)
	}
}
