package trust_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/internal/testbed"
	"github.com/dctwiz/dctwiz/trust"
)

// rotatable sets up a repository as the recommended setup leaves it: a
// signer in targets/releases, a tag signed in targets and kept, and (if
// deleteKey) the targets key deleted.
func rotatable(t *testing.T, deleteKey bool) (*trust.Client, trust.GUN, *trust.InitResult) {
	t.Helper()
	ctx := context.Background()
	c := newClient(t)
	gun := newGUN(t)
	res, err := c.Init(ctx, gun, trust.FileRootKey(""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.PushRandomImage(ctx, gun.Path(), "1.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TestSign(ctx, gun, "1.0", trust.TestSignOptions{Keep: true}); err != nil {
		t.Fatal(err)
	}
	cert, _ := signerCert(t, testbed.CertSpec{CommonName: "signpath"})
	if _, err := c.AddDelegation(ctx, gun, "signpath", cert); err != nil {
		t.Fatal(err)
	}
	if deleteKey {
		if _, err := c.DeleteTargetsKey(ctx, gun); err != nil {
			t.Fatal(err)
		}
	}
	return c, gun, res
}

// checkRotated reads the repository as a consumer who knows only the root
// certificate: the new targets key, the signers kept, the old tag verified.
func checkRotated(t *testing.T, c *trust.Client, gun trust.GUN, init *trust.InitResult, rot *trust.KeyRotation) {
	t.Helper()
	ctx := context.Background()
	in, err := newClient(t).Inspect(ctx, gun)
	if err != nil {
		t.Fatal(err)
	}
	var repoKeys []string
	for _, k := range in.AdministrativeKeys {
		if k.Name == "Repository" {
			repoKeys = k.KeyIDs
		}
	}
	if !slices.Equal(repoKeys, []string{rot.NewKeyID}) || rot.NewKeyID == init.Targets.ID || !slices.Equal(rot.OldKeyIDs, []string{init.Targets.ID}) {
		t.Errorf("repository keys %v; rotation %+v; the key before %s", repoKeys, rot, init.Targets.ID)
	}
	if len(in.Signers) != 1 || in.Signers[0].Name != "signpath" {
		t.Errorf("signers %+v, want signpath kept", in.Signers)
	}
	got, err := c.ResolveAsConsumer(ctx, gun, []string{init.Root.ID}, "1.0")
	if err != nil || got.Role != "targets" {
		t.Errorf("the tag signed before the rotation: %+v, %v", got, err)
	}
}

func TestRotateTargetsKeyAfterItWasDeleted(t *testing.T) {
	c, gun, init := rotatable(t, true)
	rot, err := c.RotateTargetsKey(context.Background(), gun, trust.FileRootKey(""))
	if err != nil {
		t.Fatalf("RotateTargetsKey: %v", err)
	}
	checkRotated(t, c, gun, init, rot)
	if len(rot.Retired) != 0 {
		t.Errorf("rotation %+v: nothing to retire", rot)
	}
	// The new key signs: a signer can be added without the root key again.
	cert, _ := signerCert(t, testbed.CertSpec{CommonName: "ci"})
	if _, err := c.AddDelegation(context.Background(), gun, "ci", cert); err != nil {
		t.Errorf("adding a signer with the new targets key: %v", err)
	}
}

func TestRotateTargetsKeyRetiresTheOldOne(t *testing.T) {
	c, gun, init := rotatable(t, false)
	rot, err := c.RotateTargetsKey(context.Background(), gun, trust.FileRootKey(""))
	if err != nil {
		t.Fatalf("RotateTargetsKey: %v", err)
	}
	checkRotated(t, c, gun, init, rot)
	if !slices.Equal(rot.Retired, []string{init.Targets.ID}) {
		t.Errorf("retired %v, want the old key %s", rot.Retired, init.Targets.ID)
	}
	if role, err := c.SigningRole(context.Background(), gun); err != nil || role != "targets" {
		t.Errorf("signing role after the rotation: %q, %v", role, err)
	}
}

// Without this repository's root key nothing is made or published.
func TestRotateTargetsKeyNeedsTheRootKey(t *testing.T) {
	_, gun, _ := rotatable(t, true)
	other := newClient(t) // another trust dir: another root key
	if _, err := other.Init(context.Background(), newGUN(t), trust.FileRootKey("")); err != nil {
		t.Fatal(err)
	}
	_, err := other.RotateTargetsKey(context.Background(), gun, trust.FileRootKey(""))
	if !errors.Is(err, trust.ErrNoRootKey) {
		t.Fatalf("RotateTargetsKey with another repository's root key: %v", err)
	}
}

// loseAnswer lets the first POST reach the server, then loses its answer,
// as a connection cut after the server committed does.
type loseAnswer struct {
	inner http.RoundTripper
	lost  atomic.Bool
}

func (l *loseAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.inner.RoundTrip(r)
	if r.Method == http.MethodPost && err == nil && !l.lost.Swap(true) {
		resp.Body.Close()
		return nil, errors.New("connection reset by peer")
	}
	return resp, err
}

// No key is lost when the upload is cut: before the server sees it, the
// old key stays, and the rerun publishes a new key and retires both the
// old one and the first run's unpublished one; after
// the server committed, the rotation is recognised as done.
func TestRotateTargetsKeyWhenTheUploadIsCut(t *testing.T) {
	ctx := context.Background()
	t.Run("before the server sees it", func(t *testing.T) {
		c, gun, init := rotatable(t, false)
		faulty := newClient(t, trust.WithTrustDir(c.TrustDir()), trust.WithTransport(&dropNthPublish{inner: tlsTo(t), n: 1}))
		_, err := faulty.RotateTargetsKey(ctx, gun, trust.FileRootKey(""))
		if !errors.Is(err, trust.ErrPublish) || !strings.Contains(err.Error(), "nothing was published") {
			t.Fatalf("a cut upload: %v", err)
		}
		// The old key still signs: it was not removed before the upload.
		if _, err := c.AddDelegation(ctx, gun, "ci", mustCert(t, "ci")); err != nil {
			t.Fatalf("the old targets key after the failed rotation: %v", err)
		}
		rot, err := c.RotateTargetsKey(ctx, gun, trust.FileRootKey(""))
		if err != nil {
			t.Fatalf("rerun: %v", err)
		}
		if len(rot.Retired) != 2 || !slices.Contains(rot.Retired, init.Targets.ID) || slices.Contains(rot.Retired, rot.NewKeyID) {
			t.Errorf("rerun %+v: want a new key published, the old one and the first run's unpublished one retired", rot)
		}
		if n := targetsKeyFiles(t, c.TrustDir()); n != 1 {
			t.Errorf("%d targets key files after the rerun, want 1", n)
		}
	})
	t.Run("after the server committed", func(t *testing.T) {
		c, gun, init := rotatable(t, false)
		faulty := newClient(t, trust.WithTrustDir(c.TrustDir()), trust.WithTransport(&loseAnswer{inner: tlsTo(t)}))
		rot, err := faulty.RotateTargetsKey(ctx, gun, trust.FileRootKey(""))
		if err != nil {
			t.Fatalf("a lost answer after the commit: %v", err)
		}
		checkRotated(t, c, gun, init, rot)
		if n := targetsKeyFiles(t, c.TrustDir()); n != 1 {
			t.Errorf("%d targets key files, want the new one only", n)
		}
	})
}

func mustCert(t *testing.T, cn string) *trust.Certificate {
	t.Helper()
	cert, _ := signerCert(t, testbed.CertSpec{CommonName: cn})
	return cert
}

// targetsKeyFiles counts the trust dir's targets key files.
func targetsKeyFiles(t *testing.T, trustDir string) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(trustDir, "private", "*.key"))
	n := 0
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), "role: targets") {
			n++
		}
	}
	return n
}

// The server makes and keeps the new snapshot and timestamp keys; the
// root key signs them in; the tag signed before still verifies.
func TestRotateServerKeys(t *testing.T) {
	ctx := context.Background()
	c, gun, init := rotatable(t, true)
	for _, role := range []string{"snapshot", "timestamp"} {
		rot, err := c.RotateServerKey(ctx, gun, trust.FileRootKey(""), role)
		if err != nil {
			t.Fatalf("RotateServerKey(%s): %v", role, err)
		}
		if rot.Role != role || rot.Location != "server" || rot.NewKeyID == "" || slices.Contains(rot.OldKeyIDs, rot.NewKeyID) {
			t.Errorf("%s rotation %+v", role, rot)
		}
		if got, err := c.ResolveAsConsumer(ctx, gun, []string{init.Root.ID}, "1.0"); err != nil || got.Role != "targets" {
			t.Errorf("the tag after rotating the %s key: %+v, %v", role, got, err)
		}
	}
	if _, err := c.RotateServerKey(ctx, gun, trust.FileRootKey(""), "targets"); !errors.Is(err, trust.ErrBadInput) {
		t.Errorf("the server rotating the targets key: %v", err)
	}
}

// A signer's renewed certificate replaces its old key in both of its roles
// in one publish; the tag the old key signed stays signed in releases
// until re-signed, and the replacement converges.
func TestReplaceDelegation(t *testing.T) {
	ctx := context.Background()
	c, gun, _ := rotatable(t, false)
	before, err := c.Delegations(ctx, gun)
	if err != nil {
		t.Fatal(err)
	}
	renewed := mustCert(t, "signpath")
	res, err := c.ReplaceDelegation(ctx, gun, "signpath", renewed)
	if err != nil {
		t.Fatalf("ReplaceDelegation: %v", err)
	}
	if !res.Changed || len(res.Roles) != 2 {
		t.Errorf("result %+v, want both roles changed", res)
	}
	after, err := newClient(t).Delegations(ctx, gun)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range after {
		if !slices.Equal(d.KeyIDs, []string{renewed.KeyID}) {
			t.Errorf("%s holds %v after the replacement, want only %s (before: %+v)", d.Role, d.KeyIDs, renewed.KeyID, before)
		}
	}
	again, err := c.ReplaceDelegation(ctx, gun, "signpath", renewed)
	if err != nil || again.Changed {
		t.Errorf("replacing again: %+v, %v; want nothing to do", again, err)
	}
	if _, err := c.ReplaceDelegation(ctx, gun, "nobody", renewed); !errors.Is(err, trust.ErrNotFound) {
		t.Errorf("replacing a signer that is not there: %v", err)
	}
	// Without the targets key the error says how to go on: with the root key.
	c2, gun2, _ := rotatable(t, true)
	_, err = c2.ReplaceDelegation(ctx, gun2, "signpath", renewed)
	if action, _ := trust.FixFor(err); !errors.Is(err, trust.ErrNoTargetsKey) || action != trust.ActionRotateTargets {
		t.Errorf("replacing without the targets key: %v (action %q)", err, action)
	}
	if held, err := c2.HoldsTargetsKey(ctx, gun2); err != nil || held {
		t.Errorf("HoldsTargetsKey after the deletion: %v, %v", held, err)
	}
}

// An expired targets.json stops every notary client, even a rotation;
// RotateTargetsKey recovers it with the root key from the server's
// metadata, that one expiry tolerated.
func TestRotateTargetsKeyRecoversAnExpiredTargetsJSON(t *testing.T) {
	ctx := context.Background()
	c, gun, init := rotatable(t, false)
	if err := trust.ExpireTargetsSoon(ctx, c, gun, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if _, err := newClient(t).Inspect(ctx, gun); !errors.Is(err, trust.ErrExpired) {
		t.Fatalf("a consumer reading the expired repository: %v, want ErrExpired", err)
	}
	if _, err := c.DeleteTargetsKey(ctx, gun); err == nil {
		t.Fatal("deleting the targets key of an expired repository worked")
	}
	rot, err := c.RotateTargetsKey(ctx, gun, trust.FileRootKey(""))
	if err != nil {
		t.Fatalf("RotateTargetsKey on an expired targets.json: %v", err)
	}
	if !rot.Recovered {
		t.Errorf("rotation %+v: not marked recovered", rot)
	}
	checkRotated(t, c, gun, init, rot)
	in, err := newClient(t).Inspect(ctx, gun)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range in.Roles {
		if r.Role == "targets" && r.Expires.Before(time.Now().AddDate(2, 11, 0)) {
			t.Errorf("targets.json expires %v, want about 3 years from now", r.Expires)
		}
	}
}

// The recovery's upload cut before the server sees it loses no key, and
// its rerun converges on one new key.
func TestRecoveryWhenTheUploadIsCut(t *testing.T) {
	ctx := context.Background()
	c, gun, init := rotatable(t, false)
	if err := trust.ExpireTargetsSoon(ctx, c, gun, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	faulty := newClient(t, trust.WithTrustDir(c.TrustDir()), trust.WithTransport(&dropNthPublish{inner: tlsTo(t), n: 1}))
	if _, err := faulty.RotateTargetsKey(ctx, gun, trust.FileRootKey("")); !errors.Is(err, trust.ErrPublish) || !strings.Contains(err.Error(), "nothing was published") {
		t.Fatalf("a cut recovery: %v", err)
	}
	if n := targetsKeyFiles(t, c.TrustDir()); n != 2 {
		t.Errorf("%d targets key files after the cut recovery, want the old and the unpublished new one", n)
	}
	rot, err := c.RotateTargetsKey(ctx, gun, trust.FileRootKey(""))
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if !rot.Recovered || len(rot.Retired) != 2 || !slices.Contains(rot.Retired, init.Targets.ID) {
		t.Errorf("rerun %+v", rot)
	}
	checkRotated(t, c, gun, init, rot)
}

// When the key that signed targets/releases leaves it (replaced or
// removed), consumers lose the tags in it until a remaining signer signs
// again: TUF checks the file's signature against the keys listed now.
// ReleasesSigners says who signed, so that the plan can warn.
func TestReleasesSignersAndWhatAReplacementCosts(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	gun := newGUN(t)
	init, err := c.Init(ctx, gun, trust.FileRootKey(""))
	if err != nil {
		t.Fatal(err)
	}
	cert, key := signerCert(t, testbed.CertSpec{CommonName: "ci"})
	if _, err := c.AddDelegation(ctx, gun, "ci", cert); err != nil {
		t.Fatal(err)
	}
	importSignerKey(t, c.TrustDir(), key)
	if _, err := reg.PushRandomImage(ctx, gun.Path(), "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TestSign(ctx, gun, "v1", trust.TestSignOptions{Keep: true}); err != nil {
		t.Fatal(err)
	}
	ids, tags, err := c.ReleasesSigners(ctx, gun)
	if err != nil || !slices.Equal(ids, []string{cert.KeyID}) || tags != 1 {
		t.Fatalf("ReleasesSigners = %v, %d, %v; want [%s], 1", ids, tags, err, cert.KeyID)
	}
	if _, err := c.ReplaceDelegation(ctx, gun, "ci", mustCert(t, "ci")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ResolveAsConsumer(ctx, gun, []string{init.Root.ID}, "v1"); !errors.Is(err, trust.ErrNotFound) {
		t.Errorf("the release tag after its only signing key left: %v, want it gone until signed again", err)
	}
}

// A renewed certificate often keeps the signer's private key: the new
// certificate must replace the old one, whose canonical key ID is the
// same, every time.
func TestReplaceDelegationWithTheSameKey(t *testing.T) {
	ctx := context.Background()
	for i := range 4 { // notary's key mapping went through a map: try it more than once
		c, gun, _ := rotatable(t, false)
		oldPath, key, err := testbed.WriteCert(t.TempDir(), "old.crt", testbed.CertSpec{CommonName: "ci"})
		if err != nil {
			t.Fatal(err)
		}
		old, err := trust.LoadCertificate(oldPath, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AddDelegation(ctx, gun, "ci", old); err != nil {
			t.Fatal(err)
		}
		newPath, err := testbed.WriteCertForKey(t.TempDir(), "renewed.crt", testbed.CertSpec{CommonName: "ci", NotAfter: time.Now().AddDate(2, 0, 0)}, key)
		if err != nil {
			t.Fatal(err)
		}
		renewed, err := trust.LoadCertificate(newPath, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if renewed.KeyID != old.KeyID {
			t.Fatalf("run %d: the renewed certificate's key ID %s differs from the old %s: the test proves nothing", i, renewed.KeyID, old.KeyID)
		}
		res, err := c.ReplaceDelegation(ctx, gun, "ci", renewed)
		if err != nil || !res.Changed {
			t.Fatalf("run %d: ReplaceDelegation: %+v, %v", i, res, err)
		}
		in, err := newClient(t).Inspect(ctx, gun)
		if err != nil {
			t.Fatal(err)
		}
		for _, cert := range in.Certificates {
			if cert.Role == "targets/ci" && !cert.NotAfter.Equal(renewed.NotAfter) {
				t.Errorf("run %d: targets/ci holds the certificate ending %v, want the renewed one (%v)", i, cert.NotAfter, renewed.NotAfter)
			}
		}
	}
}

// A rotation interrupted after its publish landed, before it retired the
// old key, leaves both keys in the trust dir. Its rerun must rotate
// forward to a new key, never back to the key being replaced.
func TestARotationsRerunNeverRepublishesTheOldKey(t *testing.T) {
	ctx := context.Background()
	c, gun, init := rotatable(t, false)
	// The first run, cut between its publish and the retirement: the
	// server's answer is lost, and the server then goes away, so the
	// rotation cannot finish.
	down := &goesDownAfterFirstPost{inner: tlsTo(t)}
	faulty := newClient(t, trust.WithTrustDir(c.TrustDir()), trust.WithTransport(down))
	if _, err := faulty.RotateTargetsKey(ctx, gun, trust.FileRootKey("")); err == nil {
		t.Fatal("the cut rotation succeeded")
	}
	first := newClient(t)
	in, err := first.Inspect(ctx, gun)
	if err != nil {
		t.Fatal(err)
	}
	var published string
	for _, k := range in.AdministrativeKeys {
		if k.Name == "Repository" {
			published = k.KeyIDs[0]
		}
	}
	if published == init.Targets.ID || targetsKeyFiles(t, c.TrustDir()) != 2 {
		t.Fatalf("after the cut run: the server names %s (old %s), %d targets key files; want the new key published and both kept",
			published, init.Targets.ID, targetsKeyFiles(t, c.TrustDir()))
	}
	rot, err := c.RotateTargetsKey(ctx, gun, trust.FileRootKey(""))
	if err != nil {
		t.Fatal(err)
	}
	if rot.NewKeyID == init.Targets.ID || rot.NewKeyID == published || targetsKeyFiles(t, c.TrustDir()) != 1 {
		t.Errorf("rerun %+v: want a third key, alone in the trust dir (old %s, first run's %s)", rot, init.Targets.ID, published)
	}
}

// goesDownAfterFirstPost lets the first POST reach the server but loses
// its answer, and fails everything after it.
type goesDownAfterFirstPost struct {
	inner http.RoundTripper
	gone  atomic.Bool
}

func (g *goesDownAfterFirstPost) RoundTrip(r *http.Request) (*http.Response, error) {
	if g.gone.Load() {
		return nil, errors.New("connection refused")
	}
	resp, err := g.inner.RoundTrip(r)
	if r.Method == http.MethodPost {
		g.gone.Store(true)
		if err == nil {
			resp.Body.Close()
		}
		return nil, errors.New("connection reset by peer")
	}
	return resp, err
}

func TestSignerChangeNeeded(t *testing.T) {
	ctx := context.Background()
	c, gun, _ := rotatable(t, false)
	ci := mustCert(t, "ci")
	if _, err := c.AddDelegation(ctx, gun, "ci", ci); err != nil {
		t.Fatal(err)
	}
	other := mustCert(t, "ci")
	for _, tc := range []struct {
		name    string
		signer  string
		cert    *trust.Certificate
		replace bool
		want    bool
	}{
		{"adding what is there", "ci", ci, false, false},
		{"replacing with what is there", "ci", ci, true, false},
		{"replacing with another certificate", "ci", other, true, true},
		{"adding another certificate", "ci", other, false, true},
		{"removing a signer that is there", "ci", nil, false, true},
		{"removing a signer that is not", "nobody", nil, false, false},
	} {
		if got, err := c.SignerChangeNeeded(ctx, gun, tc.signer, tc.cert, tc.replace); err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// A local snapshot key: made in the trust dir and signed in; publishes
// then sign snapshot.json here; handing it back to the server retires it.
func TestLocalSnapshotKey(t *testing.T) {
	ctx := context.Background()
	c, gun, init := rotatable(t, false)
	rot, err := c.RotateLocalSnapshotKey(ctx, gun, trust.FileRootKey(""))
	if err != nil {
		t.Fatalf("RotateLocalSnapshotKey: %v", err)
	}
	if rot.Location != "trust dir" || rot.Role != "snapshot" || !keyHere(t, c.TrustDir(), rot.NewKeyID) {
		t.Fatalf("rotation %+v", rot)
	}
	// A publish now signs snapshot.json with the local key.
	if _, err := c.AddDelegation(ctx, gun, "ci", mustCert(t, "ci")); err != nil {
		t.Fatalf("a publish with a local snapshot key: %v", err)
	}
	if got, err := c.ResolveAsConsumer(ctx, gun, []string{init.Root.ID}, "1.0"); err != nil || got.Role != "targets" {
		t.Errorf("the tag with a local snapshot key: %+v, %v", got, err)
	}
	back, err := c.RotateServerKey(ctx, gun, trust.FileRootKey(""), "snapshot")
	if err != nil {
		t.Fatal(err)
	}
	if back.Location != "server" || !slices.Equal(back.Retired, []string{rot.NewKeyID}) || keyHere(t, c.TrustDir(), rot.NewKeyID) {
		t.Errorf("handing the snapshot key back to the server: %+v", back)
	}
}

func keyHere(t *testing.T, trustDir, id string) bool {
	t.Helper()
	_, err := os.Stat(filepath.Join(trustDir, "private", id+".key"))
	return err == nil
}

// A rotation of an expired repository signs over the server's root.json
// only if it chains to the root this trust dir trusted before: a server
// that swapped root.json must not be signed over. Here the cache trusted
// another repository's root (a stand-in for a swap). notary's own root
// validation refuses it first, when the session opens; the recovery's
// check of the cached root keys (recoverTargets) backs it up. Either way
// nothing is made or published.
func TestRecoveryRefusesARootTheCacheDidNotTrust(t *testing.T) {
	ctx := context.Background()
	c, gun, _ := rotatable(t, false)
	other, otherGUN, _ := rotatable(t, false)
	if err := trust.ExpireTargetsSoon(ctx, c, gun, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	foreign, err := os.ReadFile(filepath.Join(other.TrustDir(), "tuf", otherGUN.String(), "metadata", "root.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.TrustDir(), "tuf", gun.String(), "metadata", "root.json"), foreign, 0o600); err != nil {
		t.Fatal(err)
	}
	keysBefore, _ := filepath.Glob(filepath.Join(c.TrustDir(), "private", "*.key"))
	_, err = c.RotateTargetsKey(ctx, gun, trust.FileRootKey(""))
	if !errors.Is(err, trust.ErrVerification) || !strings.Contains(err.Error(), "trusted") {
		t.Fatalf("recovering with a cache that trusted another root: %v", err)
	}
	if keys, _ := filepath.Glob(filepath.Join(c.TrustDir(), "private", "*.key")); len(keys) != len(keysBefore) {
		t.Errorf("key files %d before, %d after the refusal: a key was made or lost", len(keysBefore), len(keys))
	}
	// Nothing was published: a consumer still finds the old, expired targets.json.
	if _, err := newClient(t).Inspect(ctx, gun); !errors.Is(err, trust.ErrExpired) {
		t.Errorf("after the refusal a consumer reads: %v, want ErrExpired", err)
	}
}
