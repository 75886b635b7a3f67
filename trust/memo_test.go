package trust_test

import (
	"context"
	"testing"

	"github.com/dctwiz/dctwiz/trust"
)

// What one process remembers of a repository never hides what another
// admin published since: each engine call reads the server's
// timestamp.json afresh, so a signer another client added shows at once,
// and so does its removal.
func TestMemoSeesOtherPublishers(t *testing.T) {
	ctx := context.Background()
	mine := newClient(t)
	gun := newGUN(t)
	if _, err := mine.Init(ctx, gun, trust.FileRootKey("")); err != nil {
		t.Fatal(err)
	}
	if dels, err := mine.Delegations(ctx, gun); err != nil || len(dels) != 0 {
		t.Fatalf("a new repository's delegations: %v, %v", dels, err)
	}
	// Another admin, with the same keys, in another process.
	other := newClient(t, trust.WithTrustDir(mine.TrustDir()))
	cert, _ := signerCert(t, testbedSpec("ci"))
	if _, err := other.AddDelegation(ctx, gun, "ci", cert); err != nil {
		t.Fatal(err)
	}
	dels, err := mine.Delegations(ctx, gun)
	if err != nil || len(dels) == 0 {
		t.Fatalf("after another client added a signer: %+v, %v; want it seen", dels, err)
	}
	if _, err := other.RemoveDelegation(ctx, gun, "ci", true); err != nil {
		t.Fatal(err)
	}
	dels, err = mine.Delegations(ctx, gun)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dels {
		if len(d.KeyIDs) > 0 {
			t.Errorf("after another client removed the signer: %s still has keys %v", d.Role, d.KeyIDs)
		}
	}
}
