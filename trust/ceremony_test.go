package trust_test

import (
	"context"
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/internal/testbed"
	"github.com/dctwiz/dctwiz/trust"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

func signerCert(t *testing.T, spec testbed.CertSpec) (*trust.Certificate, crypto.Signer) {
	t.Helper()
	path, key, err := testbed.WriteCert(t.TempDir(), "signer.crt", spec)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := trust.LoadCertificate(path, time.Now())
	if err != nil {
		t.Fatalf("LoadCertificate: %v", err)
	}
	return cert, key
}

// TestSetupCeremonyEngine runs the whole ceremony through the engine
// against the real notary server and registry.
func TestSetupCeremonyEngine(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	gun := newGUN(t)
	initRes, err := c.Init(ctx, gun, trust.FileRootKey(""))
	if err != nil {
		t.Fatal(err)
	}

	cert, _ := signerCert(t, testbed.CertSpec{CommonName: "signpath"})
	add, err := c.AddDelegation(ctx, gun, "signpath", cert)
	if err != nil {
		t.Fatalf("AddDelegation: %v", err)
	}
	if !add.Changed || len(add.Roles) != 2 {
		t.Errorf("AddDelegation result %+v, want both roles changed", add)
	}
	dels, err := c.Delegations(ctx, gun)
	if err != nil {
		t.Fatal(err)
	}
	if len(dels) != 2 || dels[0].Role != "targets/releases" || dels[1].Role != "targets/signpath" {
		t.Fatalf("delegations %+v, want releases then signpath", dels)
	}
	for _, d := range dels {
		if len(d.KeyIDs) != 1 || d.KeyIDs[0] != cert.KeyID || len(d.Paths) != 1 || d.Paths[0] != "" {
			t.Errorf("delegation %+v, want key %s for all paths", d, cert.KeyID)
		}
	}
	again, err := c.AddDelegation(ctx, gun, "signpath", cert)
	if err != nil || again.Changed {
		t.Errorf("adding the same signer again: %+v, %v; want no change", again, err)
	}

	certs, err := c.RootCertificates(ctx, gun)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 1 || certs[0].KeyID != initRes.Root.ID || !strings.Contains(certs[0].Subject, gun.String()) {
		t.Fatalf("root certificates %+v, want one for %s with key %s", certs, gun, initRes.Root.ID)
	}
	if years := time.Until(certs[0].NotAfter).Hours() / 24 / 365; years < 9.9 {
		t.Errorf("root certificate valid for %.1f years, want 10", years)
	}

	img, err := reg.PushRandomImage(ctx, gun.Path(), "1.0")
	if err != nil {
		t.Fatal(err)
	}
	// The wizard offers the tags the registry has.
	if tags, err := c.ListTags(ctx, gun); err != nil || len(tags) != 1 || tags[0] != "1.0" {
		t.Errorf("ListTags: %v, %v; want [1.0]", tags, err)
	}
	ts, err := c.TestSign(ctx, gun, "1.0", trust.TestSignOptions{})
	if err != nil {
		t.Fatalf("TestSign: %v", err)
	}
	if ts.Role != "targets" || ts.Verified.Digest != img.Digest.String() || ts.Verified.Size != img.Size {
		t.Errorf("TestSign %+v, want targets role resolving to %s (%d bytes)", ts, img.Digest, img.Size)
	}
	if in, err := c.Inspect(ctx, gun); err != nil || len(in.SignedTags) != 0 {
		t.Errorf("after test signing without --keep: tags %+v, %v; want none", in, err)
	}

	if _, err := c.TestSign(ctx, gun, "1.0", trust.TestSignOptions{Keep: true}); err != nil {
		t.Fatalf("TestSign --keep: %v", err)
	}
	in, err := c.Inspect(ctx, gun)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.SignedTags) != 1 || in.SignedTags[0].Digest != img.Digest.String() || in.SignedTags[0].Signers[0] != "Repo Admin" {
		t.Errorf("inspect tags %+v, want 1.0 -> %s by Repo Admin", in.SignedTags, img.Digest)
	}
	if len(in.Signers) != 1 || in.Signers[0].Name != "signpath" {
		t.Errorf("inspect signers %+v", in.Signers)
	}
	seen := map[string]bool{}
	for _, r := range in.Roles {
		if r.Expires.Before(time.Now()) {
			t.Errorf("role %s expires %v, in the past", r.Role, r.Expires)
		}
		seen[r.Role] = true
	}
	for _, want := range []string{"root", "targets", "snapshot", "timestamp"} {
		if !seen[want] {
			t.Errorf("inspect has no expiry for %s: %+v", want, in.Roles)
		}
	}
	if len(in.Certificates) != 3 {
		t.Errorf("inspect certificates %+v; want root + 2 delegation certs", in.Certificates)
	}

	del, err := c.DeleteTargetsKey(ctx, gun)
	if err != nil {
		t.Fatalf("DeleteTargetsKey: %v", err)
	}
	if !del.Gone || !del.Verified || len(del.KeyIDs) != 1 || del.KeyIDs[0] != initRes.Targets.ID {
		t.Errorf("DeleteTargetsKey %+v, want targets key %s gone", del, initRes.Targets.ID)
	}
	if _, err := os.Stat(filepath.Join(c.TrustDir(), "private", initRes.Targets.ID+".key")); !os.IsNotExist(err) {
		t.Errorf("targets key file still there: %v", err)
	}
	other, _ := signerCert(t, testbed.CertSpec{CommonName: "bob"})
	if _, err := c.AddDelegation(ctx, gun, "bob", other); !errors.Is(err, trust.ErrNoTargetsKey) {
		t.Errorf("AddDelegation without targets key: %v, want ErrNoTargetsKey", err)
	}
	if del2, err := c.DeleteTargetsKey(ctx, gun); err != nil || len(del2.KeyIDs) != 0 || !del2.Gone {
		t.Errorf("deleting again: %+v, %v; want nothing to remove", del2, err)
	}
}

// TestTestSignIntoReleases: with a releases key in the key store, the test
// signature goes into targets/releases, as docker signs.
func TestTestSignIntoReleases(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	gun := newGUN(t)
	if _, err := c.Init(ctx, gun, trust.FileRootKey("")); err != nil {
		t.Fatal(err)
	}
	cert, key := signerCert(t, testbed.CertSpec{CommonName: "ci"})
	if _, err := c.AddDelegation(ctx, gun, "ci", cert); err != nil {
		t.Fatal(err)
	}
	importSignerKey(t, c.TrustDir(), key)
	if _, err := reg.PushRandomImage(ctx, gun.Path(), "v2"); err != nil {
		t.Fatal(err)
	}
	res, err := c.TestSign(ctx, gun, "v2", trust.TestSignOptions{Keep: true})
	if err != nil {
		t.Fatalf("TestSign: %v", err)
	}
	if res.Role != "targets/releases" || res.Verified.Role != "targets/releases" {
		t.Errorf("signed into %s, resolved from %s; want targets/releases", res.Role, res.Verified.Role)
	}
	// Signing the same tag again is recognised and left alone.
	res2, err := c.TestSign(ctx, gun, "v2", trust.TestSignOptions{})
	if err != nil || !res2.Existing || !res2.Kept {
		t.Errorf("test-signing a signed tag: %+v, %v; want Existing and Kept", res2, err)
	}
	// A tag signed for another digest is never overwritten.
	if _, err := reg.PushRandomImage(ctx, gun.Path(), "v2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TestSign(ctx, gun, "v2", trust.TestSignOptions{}); !errors.Is(err, trust.ErrTagAlreadySigned) {
		t.Errorf("test-signing a tag signed for another digest: %v, want ErrTagAlreadySigned", err)
	}
}

// importSignerKey stores a signer's private key in the trust dir as docker
// `trust key load` does, encrypted with the delegation passphrase.
func importSignerKey(t *testing.T, trustDir string, key crypto.Signer) {
	t.Helper()
	der, err := x509MarshalPKCS8(key)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := utils.ParsePKCS8ToTufKey(der, nil)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := trustmanager.NewKeyFileStore(trustDir, func(string, string, bool, int) (string, bool, error) {
		return delegPass, false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.AddKey(trustmanager.KeyInfo{Role: data.RoleName("ci")}, priv); err != nil {
		t.Fatal(err)
	}
}
