package trust_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/trust"
)

// A root key file that cannot be read (truncated by a full disk, garbage)
// is an error naming the file, never a reason to make a second root key:
// before, setup of a new repository made one silently and published it.
func TestAnUnreadableRootKeyIsNeverReplaced(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	if _, err := c.Init(ctx, newGUN(t), trust.FileRootKey("")); err != nil {
		t.Fatal(err)
	}
	keys, _ := filepath.Glob(filepath.Join(c.TrustDir(), "private", "*.key"))
	var root string
	for _, k := range keys {
		if b, _ := os.ReadFile(k); strings.Contains(string(b), "role: root") {
			root = k
		}
	}
	if root == "" {
		t.Fatalf("no root key among %v", keys)
	}
	good, err := os.ReadFile(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		damaged []byte
	}{
		{"truncated", good[:len(good)/2]},
		{"garbage", []byte("not a key\n")},
	} {
		name := tc.name
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(root, tc.damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			fresh := newGUN(t)
			_, err := newClient(t, trust.WithTrustDir(c.TrustDir())).Init(ctx, fresh, trust.FileRootKey(""))
			if !errors.Is(err, trust.ErrNoRootKey) || !strings.Contains(err.Error(), root) {
				t.Fatalf("init with a %s root key file: %v; want ErrNoRootKey naming %s", name, err, root)
			}
			after, _ := filepath.Glob(filepath.Join(c.TrustDir(), "private", "*.key"))
			if len(after) != len(keys) {
				t.Errorf("key files %v, before %v: a key was made", after, keys)
			}
			if _, err := c.Inspect(ctx, fresh); !errors.Is(err, trust.ErrNotInitialized) {
				t.Errorf("%s was published: %v", fresh, err)
			}
		})
	}
}
