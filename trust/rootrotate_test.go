package trust_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/trust"
)

// The root moves to a new key, cross-signed: a consumer that trusted the
// old root follows, a new one pinned to the new certificate verifies, one
// pinned to the old certificate from a fresh cache fails (as documented),
// the new key alone signs later ceremonies and the old one no longer can.
// A backup key is then added (the new key keeps its certificate, so its
// pins keep working), and the backup alone rotates the lost primary out.
func TestRotateRootMovesTheRootAndConsumersFollow(t *testing.T) {
	ctx := context.Background()
	c, gun, _ := rotatable(t, true)
	before, err := newClient(t).Snapshot(ctx, gun)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	primary, backup := filepath.Join(dir, "primary.key"), filepath.Join(dir, "backup.key")

	rot, err := c.RotateRoot(ctx, gun, trust.FileRootKey(""), trust.RootChange{Add: []trust.RootKey{trust.NewFileRootKey(primary)}})
	if err != nil {
		t.Fatalf("RotateRoot: %v", err)
	}
	if len(rot.NewKeyIDs) != 1 || slices.Equal(rot.NewKeyIDs, rot.OldKeyIDs) || rot.Version != 2 || rot.AlreadyDone ||
		!slices.Equal(rot.NewLocations, []string{"file key " + primary}) {
		t.Fatalf("rotation %+v", rot)
	}
	if st, err := os.Stat(primary); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the new root key file: %v, %v", st, err)
	}
	if err := c.VerifyFromSnapshot(ctx, gun, before); err != nil {
		t.Errorf("a consumer that trusted the old root does not follow: %v", err)
	}
	if err := c.VerifyPublished(ctx, gun, rot.NewKeyIDs); err != nil {
		t.Errorf("a consumer pinned to the new root certificate: %v", err)
	}
	if err := c.VerifyPublished(ctx, gun, rot.OldKeyIDs); err == nil {
		t.Error("a consumer pinned to the old root certificate from a fresh cache verified the new root")
	}
	again, err := c.RotateRoot(ctx, gun, trust.NewFileRootKey(primary), trust.RootChange{Add: []trust.RootKey{trust.NewFileRootKey(primary)}})
	if err != nil || !again.AlreadyDone || !slices.Equal(again.NewKeyIDs, rot.NewKeyIDs) {
		t.Errorf("a rerun: %+v, %v", again, err)
	}
	if _, err := c.RotateTargetsKey(ctx, gun, trust.FileRootKey("")); !errors.Is(err, trust.ErrNoRootKey) {
		t.Errorf("the old root key signed after the rotation: %v", err)
	}
	if _, err := c.RotateTargetsKey(ctx, gun, trust.NewFileRootKey(primary)); err != nil {
		t.Errorf("the new root key cannot sign a targets rotation: %v", err)
	}

	// A backup added: both keys, the primary's certificate kept.
	both, err := c.RotateRoot(ctx, gun, trust.NewFileRootKey(primary), trust.RootChange{Keep: []string{trust.KeepAll}, Add: []trust.RootKey{trust.NewFileRootKey(backup)}})
	if err != nil || len(both.NewKeyIDs) != 2 || !slices.Contains(both.NewKeyIDs, rot.NewKeyIDs[0]) {
		t.Fatalf("adding a backup: %+v, %v", both, err)
	}
	if i := slices.Index(both.NewKeyIDs, rot.NewKeyIDs[0]); both.NewLocations[i] != "kept" || both.NewLocations[1-i] != "file key "+backup {
		t.Errorf("where the keys live: %v for %v", both.NewLocations, both.NewKeyIDs)
	}
	if err := c.VerifyPublished(ctx, gun, rot.NewKeyIDs); err != nil {
		t.Errorf("a consumer pinned to the primary's certificate after the backup was added: %v", err)
	}
	// Removing a key that is not the repository's, or every key that
	// could sign, is refused.
	if _, err := c.RotateRoot(ctx, gun, trust.NewFileRootKey(backup), trust.RootChange{Remove: []string{"0123"}}); !errors.Is(err, trust.ErrBadInput) {
		t.Errorf("removing a key the root role does not name: %v", err)
	}
	backupCert := both.NewKeyIDs[0]
	if backupCert == rot.NewKeyIDs[0] {
		backupCert = both.NewKeyIDs[1]
	}
	if _, err := c.RotateRoot(ctx, gun, trust.NewFileRootKey(backup), trust.RootChange{Remove: []string{backupCert}}); !errors.Is(err, trust.ErrBadInput) {
		t.Errorf("removing the only key that signs now: %v", err)
	}
	// The primary is lost: the backup alone drops it.
	alone, err := c.RotateRoot(ctx, gun, trust.NewFileRootKey(backup), trust.RootChange{Remove: []string{rot.NewKeyIDs[0]}})
	if err != nil || !slices.Equal(alone.NewKeyIDs, []string{backupCert}) {
		t.Fatalf("the backup alone dropping the primary: %+v, %v (backup %s)", alone, err, backupCert)
	}
	if err := c.VerifyFromSnapshot(ctx, gun, before); err != nil {
		t.Errorf("a consumer that trusted the first root does not follow three rotations: %v", err)
	}
	if _, err := c.RotateTargetsKey(ctx, gun, trust.NewFileRootKey(primary)); !errors.Is(err, trust.ErrNoRootKey) {
		t.Errorf("the rotated-out primary still signs: %v", err)
	}
}

// Bad input is refused before anything is made.
func TestRotateRootRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	c, gun, _ := rotatable(t, true)
	other := otherRootKeyFile(t)
	if _, err := c.RotateRoot(ctx, gun, trust.NewFileRootKey(other), trust.RootChange{Add: []trust.RootKey{trust.NewFileRootKey(other)}}); !errors.Is(err, trust.ErrNoRootKey) || !strings.Contains(err.Error(), "not the root key of") {
		t.Errorf("a root key that is not the repository's: %v", err)
	}
	dup := filepath.Join(t.TempDir(), "dup.key")
	if _, err := c.RotateRoot(ctx, gun, trust.FileRootKey(""), trust.RootChange{Add: []trust.RootKey{trust.NewFileRootKey(dup), trust.NewFileRootKey(dup)}}); !errors.Is(err, trust.ErrBadInput) {
		t.Errorf("the same new key twice: %v", err)
	}
	if _, err := c.RotateRoot(ctx, gun, trust.FileRootKey(""), trust.RootChange{}); !errors.Is(err, trust.ErrBadInput) {
		t.Errorf("no new key: %v", err)
	}
}

// Setup with a backup root key: the root role names both (threshold 1),
// the primary's certificate is the reported root, a rerun converges, and
// the backup alone can sign a later ceremony.
func TestInitWithABackupRootKey(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	gun := newGUN(t)
	dir := t.TempDir()
	primary, backup := trust.NewFileRootKey(filepath.Join(dir, "primary.key")), trust.NewFileRootKey(filepath.Join(dir, "backup.key"))
	res, err := c.Init(ctx, gun, primary, backup)
	if err != nil {
		t.Fatalf("Init with a backup: %v", err)
	}
	if res.BackupRoot == nil || res.BackupRoot.ID == res.Root.ID || res.Root.ID == "" {
		t.Fatalf("result %+v", res)
	}
	certs, err := c.RootCertificates(ctx, gun)
	if err != nil || len(certs) != 2 {
		t.Fatalf("root certificates %+v, %v", certs, err)
	}
	again, err := c.Init(ctx, gun, primary, backup)
	if err != nil || !again.AlreadyDone || again.Root.ID != res.Root.ID || again.BackupRoot == nil || again.BackupRoot.ID != res.BackupRoot.ID {
		t.Errorf("a rerun: %+v, %v", again, err)
	}
	if _, err := c.Init(ctx, gun, primary, trust.NewFileRootKey(otherRootKeyFile(t))); !errors.Is(err, trust.ErrNoRootKey) || !strings.Contains(err.Error(), "does not name this backup key") {
		t.Errorf("a rerun naming another backup: %v", err)
	}
	if _, err := c.RotateTargetsKey(ctx, gun, backup); err != nil {
		t.Errorf("the backup alone cannot sign a targets rotation: %v", err)
	}
	if _, err := c.Init(ctx, newGUN(t), primary, primary); !errors.Is(err, trust.ErrBadInput) {
		t.Errorf("the primary as its own backup: %v", err)
	}
}

// A root rotation whose upload is cut loses nothing: cut before the
// server sees it, nothing is published and a rerun publishes, with the
// key the first run made (no second one); cut after the server committed,
// the rotation is recognised as done.
func TestRootRotationWhenTheUploadIsCut(t *testing.T) {
	ctx := context.Background()
	t.Run("before the server sees it", func(t *testing.T) {
		c, gun, _ := rotatable(t, true)
		newKey := filepath.Join(t.TempDir(), "new.key")
		faulty := newClient(t, trust.WithTrustDir(c.TrustDir()), trust.WithTransport(&dropNthPublish{inner: tlsTo(t), n: 1}))
		_, err := faulty.RotateRoot(ctx, gun, trust.FileRootKey(""), trust.RootChange{Add: []trust.RootKey{trust.NewFileRootKey(newKey)}})
		if !errors.Is(err, trust.ErrPublish) || !strings.Contains(err.Error(), "nothing was published") {
			t.Fatalf("a cut upload: %v", err)
		}
		made, err := os.ReadFile(newKey)
		if err != nil {
			t.Fatal("the new key the cut run made is gone: ", err)
		}
		if _, err := c.RotateTargetsKey(ctx, gun, trust.FileRootKey("")); err != nil {
			t.Errorf("the old root key no longer signs after a cut rotation: %v", err)
		}
		rot, err := c.RotateRoot(ctx, gun, trust.FileRootKey(""), trust.RootChange{Add: []trust.RootKey{trust.NewFileRootKey(newKey)}})
		if err != nil || rot.AlreadyDone {
			t.Fatalf("the rerun: %+v, %v", rot, err)
		}
		if again, _ := os.ReadFile(newKey); string(again) != string(made) {
			t.Error("the rerun made a second new key")
		}
	})
	t.Run("after the server committed", func(t *testing.T) {
		c, gun, _ := rotatable(t, true)
		newKey := filepath.Join(t.TempDir(), "new.key")
		faulty := newClient(t, trust.WithTrustDir(c.TrustDir()), trust.WithTransport(&loseAnswer{inner: tlsTo(t)}))
		rot, err := faulty.RotateRoot(ctx, gun, trust.FileRootKey(""), trust.RootChange{Add: []trust.RootKey{trust.NewFileRootKey(newKey)}})
		if err != nil || len(rot.NewKeyIDs) != 1 {
			t.Fatalf("a rotation whose answer was lost: %+v, %v", rot, err)
		}
		if err := c.VerifyPublished(ctx, gun, rot.NewKeyIDs); err != nil {
			t.Errorf("the new root does not verify: %v", err)
		}
	})
}

// An expired targets.json is recovered after a root rotation too, from a
// trust dir whose cache still holds the root from before the rotation:
// the recovery's check of the cached root must not refuse a root that
// the cached one legitimately rotated to.
func TestRecoveryAfterARootRotationWithAStaleCache(t *testing.T) {
	ctx := context.Background()
	c, gun, _ := rotatable(t, false)
	stale := t.TempDir()
	if out, err := exec.Command("cp", "-a", c.TrustDir()+"/.", stale).CombinedOutput(); err != nil {
		t.Fatalf("copying the trust dir: %v\n%s", err, out)
	}
	backup := trust.NewFileRootKey(filepath.Join(t.TempDir(), "backup.key"))
	if _, err := c.RotateRoot(ctx, gun, trust.FileRootKey(""), trust.RootChange{Keep: []string{trust.KeepAll}, Add: []trust.RootKey{backup}}); err != nil {
		t.Fatal(err)
	}
	if err := trust.ExpireTargetsSoon(ctx, c, gun, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	old := newClient(t, trust.WithTrustDir(stale))
	rot, err := old.RotateTargetsKey(ctx, gun, trust.FileRootKey(""))
	if err != nil || !rot.Recovered {
		t.Fatalf("recovering from a trust dir that knew only the root before the rotation: %+v, %v", rot, err)
	}
}

// otherRootKeyFile is a root key file that exists and is another
// repository's root key: made by that repository's root rotation.
func otherRootKeyFile(t *testing.T) string {
	t.Helper()
	c, gun, _ := rotatable(t, true)
	path := filepath.Join(t.TempDir(), "other.key")
	if _, err := c.RotateRoot(context.Background(), gun, trust.FileRootKey(""), trust.RootChange{Add: []trust.RootKey{trust.NewFileRootKey(path)}}); err != nil {
		t.Fatal(err)
	}
	return path
}

// A root.json near its expiry is renewed with the same keys: the next
// version, ten years ahead, signed by the root key alone (no targets key
// needed, none made); a consumer that trusted it follows and the pinned
// certificate still verifies. A renewal whose upload is cut is reported
// as not published, although the keys are the same before and after.
func TestRenewRootWithTheSameKeys(t *testing.T) {
	ctx := context.Background()
	c, gun, init := rotatable(t, true)
	if err := trust.ExpireRootSoon(ctx, c, gun, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	before, err := newClient(t).Snapshot(ctx, gun)
	if err != nil {
		t.Fatal(err)
	}
	renew := trust.RootChange{Keep: []string{trust.KeepAll}, Renew: true}
	faulty := newClient(t, trust.WithTrustDir(c.TrustDir()), trust.WithTransport(&dropNthPublish{inner: tlsTo(t), n: 1}))
	if _, err := faulty.RotateRoot(ctx, gun, trust.FileRootKey(""), renew); !errors.Is(err, trust.ErrPublish) || !strings.Contains(err.Error(), "nothing was published") {
		t.Fatalf("a renewal whose upload was cut: %v", err)
	}
	rot, err := c.RotateRoot(ctx, gun, trust.FileRootKey(""), renew)
	if err != nil {
		t.Fatalf("renewing root.json: %v", err)
	}
	if !rot.Renewed || rot.AlreadyDone || rot.Version != 3 || !slices.Equal(rot.NewKeyIDs, rot.OldKeyIDs) ||
		!slices.Equal(rot.NewKeyIDs, []string{init.Root.ID}) || rot.Expires.Before(time.Now().AddDate(9, 11, 0)) {
		t.Errorf("renewal %+v", rot)
	}
	if n := targetsKeyFiles(t, c.TrustDir()); n != 0 {
		t.Errorf("%d targets key files after a root renewal, want none (the targets key was deleted and is not needed)", n)
	}
	if err := c.VerifyFromSnapshot(ctx, gun, before); err != nil {
		t.Errorf("a consumer that trusted the root before: %v", err)
	}
	if err := c.VerifyPublished(ctx, gun, []string{init.Root.ID}); err != nil {
		t.Errorf("a consumer pinned to the root certificate: %v", err)
	}
	in, err := newClient(t).Inspect(ctx, gun)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(in.Roles, func(r trust.RoleExpiry) bool { return r.Role == "root" })
	if i < 0 || in.Roles[i].Version != 3 || in.Roles[i].Expires.Before(time.Now().AddDate(9, 11, 0)) {
		t.Errorf("root.json as a consumer reads it: %+v", in.Roles)
	}
}
