package trust_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dctwiz/dctwiz/trust"
)

func TestInitPublishesRepository(t *testing.T) {
	ctx := context.Background()
	// A trust dir that does not exist yet: the engine creates it.
	c := newClient(t, trust.WithTrustDir(filepath.Join(t.TempDir(), "trust")))
	gun := newGUN(t)
	res, err := c.Init(ctx, gun, trust.FileRootKey(""))
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	if res.AlreadyDone {
		t.Error("a first Init reports AlreadyDone")
	}
	for name, k := range map[string]trust.KeyInfo{"root": res.Root, "targets": res.Targets, "snapshot": res.Snapshot, "timestamp": res.Timestamp} {
		if len(k.ID) != 64 {
			t.Errorf("%s key ID %q is not a 64-hex key ID", name, k.ID)
		}
	}
	if res.Snapshot.ID == res.Targets.ID {
		t.Error("the snapshot key is the targets key")
	}
	// The targets key is in the trust dir, encrypted, 0600, in a 0700 dir.
	keyFile := filepath.Join(c.TrustDir(), "private", res.Targets.ID+".key")
	st, err := os.Stat(keyFile)
	if err != nil {
		out, _ := exec.Command("find", c.TrustDir()).CombinedOutput()
		t.Fatalf("targets key file: %v\n%s", err, out)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("targets key file mode %v, want 0600", st.Mode().Perm())
	}
	dst, _ := os.Stat(filepath.Dir(keyFile))
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("private dir mode %v, want 0700", dst.Mode().Perm())
	}

	// Nothing in the trust dir is readable by others.
	filepath.Walk(c.TrustDir(), func(path string, info os.FileInfo, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		want := os.FileMode(0o600)
		if info.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, info.Mode().Perm(), want)
		}
		return nil
	})

	// A second Init with the same key store converges; another key store is refused.
	again, err := c.Init(ctx, gun, trust.FileRootKey(""))
	if err != nil || !again.AlreadyDone || again.Root.ID != res.Root.ID {
		t.Fatalf("rerun: %+v, %v; want AlreadyDone with root %s", again, err, res.Root.ID)
	}
	other := newClient(t)
	_, err = other.Init(ctx, gun, trust.FileRootKey(""))
	if !errors.Is(err, trust.ErrAlreadyInitialized) {
		t.Fatalf("Init by another key store: %v, want ErrAlreadyInitialized", err)
	}
	if ids, _ := other.LocalRootKeys(); len(ids) != 0 {
		t.Errorf("a refused Init left root keys %v in the trust dir", ids)
	}
}

// The engine asks for each key's passphrase when it first needs it, once
// per role, saying whether the key is new; a refusal stops the step
// before anything is made or sent.
func TestPassphrasesAreAskedOncePerRole(t *testing.T) {
	ctx := context.Background()
	var asked []string
	ask := trust.WithPassphraseFunc(func(role string, isNew bool) (string, error) {
		asked = append(asked, fmt.Sprintf("%s new=%v", role, isNew))
		return map[string]string{"root": rootPass, "targets": targetsPass}[role], nil
	})
	c := newClient(t, ask)
	gun := newGUN(t)
	if _, err := c.Init(ctx, gun, trust.FileRootKey("")); err != nil {
		t.Fatal(err)
	}
	cert, _ := signerCert(t, testbedSpec("alice"))
	if _, err := c.AddDelegation(ctx, gun, "alice", cert); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(asked) != "[targets new=true root new=true]" {
		t.Errorf("asked %v, want the new targets and root keys' passphrases once each", asked)
	}

	refused := errors.New("nobody at the terminal")
	c2 := newClient(t, trust.WithPassphraseFunc(func(string, bool) (string, error) { return "", refused }))
	_, err := c2.Init(ctx, newGUN(t), trust.FileRootKey(""))
	if !errors.Is(err, trust.ErrPassphraseRequired) || !errors.Is(err, refused) {
		t.Errorf("Init with the passphrase refused: %v", err)
	}
	if ids, _ := c2.LocalRootKeys(); len(ids) != 0 {
		t.Errorf("a root key was made: %v", ids)
	}
}
