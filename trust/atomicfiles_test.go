package trust

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	store "github.com/theupdateframework/notary/storage"
)

func TestAtomicFiles(t *testing.T) {
	dir := t.TempDir()
	fs, err := store.NewFileStore(dir, "json")
	if err != nil {
		t.Fatal(err)
	}
	// A killed write's leftover, and one of a write going on now.
	stale := filepath.Join(dir, ".root.json.tmp-1")
	fresh := filepath.Join(dir, ".targets.json.tmp-2")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleAfter)
	os.Chtimes(stale, old, old)

	a := newAtomicFiles(fs, "json")
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale temporary file is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh temporary file was removed: %v", err)
	}
	if err := a.SetMulti(map[string][]byte{"root": []byte(`{"a":1}`), "sub/targets": []byte(`{"b":2}`)}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"root.json": `{"a":1}`, "sub/targets.json": `{"b":2}`} {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		st, _ := os.Stat(p)
		if err != nil || string(b) != want || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %q, %v, mode %v", name, b, err, st.Mode().Perm())
		}
	}
	if got, err := a.Get("root"); err != nil || string(got) != `{"a":1}` {
		t.Errorf("Get through notary's store: %q, %v", got, err)
	}
	if err := a.Set("../outside", []byte("x")); err == nil {
		t.Error("a path outside the store was written")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if len(left) != 1 { // the fresh one only
		t.Errorf("temporary files left: %v", left)
	}
}
