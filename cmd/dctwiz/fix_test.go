package main

import (
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/trust"
)

// Every fix the engine gives as data is said in this CLI's words.
func TestEveryActionHasACLIFix(t *testing.T) {
	for _, a := range trust.Actions {
		how, ok := cliFixes[a]
		if !ok || how == "" {
			t.Errorf("action %s: no CLI rendering", a)
		}
	}
	if len(cliFixes) != len(trust.Actions) {
		t.Errorf("%d CLI renderings for %d actions", len(cliFixes), len(trust.Actions))
	}
	err := &trust.Error{Kind: trust.ErrTLS, Input: "https://notary.example.com", Msg: "not trusted",
		Fix: "trust the server's CA certificate", Action: trust.ActionTLSCA}
	if got := fixLine(err); got != "trust the server's CA certificate (--tlscacert FILE)" {
		t.Errorf("fixLine = %q", got)
	}
	plain := &trust.Error{Kind: trust.ErrBadInput, Msg: "x", Fix: "choose another name"}
	if got := fixLine(plain); got != "choose another name" {
		t.Errorf("a fix without an action: %q", got)
	}
	if got := renderFix(trust.ActionUnblockPIN, ""); !strings.Contains(got, "dctwiz yubikey unblock") {
		t.Errorf("an action without words: %q", got)
	}
}
