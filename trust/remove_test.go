package trust_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dctwiz/dctwiz/trust"
)

// TestRemoveDelegation: removing one of two signers keeps the other's key
// in targets/releases; removing the last one needs confirmation and then
// takes targets/releases with it.
func TestRemoveDelegation(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	gun := newGUN(t)
	if _, err := c.Init(ctx, gun, trust.FileRootKey("")); err != nil {
		t.Fatal(err)
	}
	alice, _ := signerCert(t, testbedSpec("alice"))
	bob, _ := signerCert(t, testbedSpec("bob"))
	for name, cert := range map[string]*trust.Certificate{"alice": alice, "bob": bob} {
		if _, err := c.AddDelegation(ctx, gun, name, cert); err != nil {
			t.Fatal(err)
		}
	}
	res, err := c.RemoveDelegation(ctx, gun, "alice", false)
	if err != nil || !res.Changed {
		t.Fatalf("removing alice: %+v, %v", res, err)
	}
	dels, err := c.Delegations(ctx, gun)
	if err != nil {
		t.Fatal(err)
	}
	if len(dels) != 2 || dels[0].Role != trust.ReleasesRole || len(dels[0].KeyIDs) != 1 || dels[0].KeyIDs[0] != bob.KeyID || dels[1].Name != "bob" || len(dels[0].Paths) != 1 || dels[0].Paths[0] != "" {
		t.Fatalf("after removing alice: %+v; want releases with bob's key only, and bob", dels)
	}

	if _, err := c.RemoveDelegation(ctx, gun, "bob", false); !errors.Is(err, trust.ErrNeedsConfirmation) {
		t.Fatalf("removing the last release signer without confirmation: %v", err)
	}
	if dels, _ := c.Delegations(ctx, gun); len(dels) != 2 {
		t.Fatalf("an unconfirmed removal changed the delegations: %+v", dels)
	}
	if _, err := c.RemoveDelegation(ctx, gun, "bob", true); err != nil {
		t.Fatalf("confirmed removal: %v", err)
	}
	if dels, _ := c.Delegations(ctx, gun); len(dels) != 0 {
		t.Errorf("after removing the last signer: %+v; want no delegations", dels)
	}
}
