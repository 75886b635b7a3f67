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
	for name, damage := range map[string]func() error{
		"truncated": func() error {
			b, _ := os.ReadFile(root)
			return os.WriteFile(root, b[:len(b)/2], 0o600)
		},
		"garbage": func() error { return os.WriteFile(root, []byte("not a key\n"), 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			if err := damage(); err != nil {
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
