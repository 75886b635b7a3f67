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

// The same bytes are not written again (notary saves root.json on every
// load); other bytes, or the same bytes under another mode, are.
func TestAtomicFilesSkipTheSameBytes(t *testing.T) {
	dir := t.TempDir()
	fs, err := store.NewFileStore(dir, "json")
	if err != nil {
		t.Fatal(err)
	}
	a := newAtomicFiles(fs, "json")
	p := filepath.Join(dir, "root.json")
	for _, step := range []struct {
		what    string
		prepare func()
		bytes   string
		rewrite bool
	}{
		{"the first write", func() {}, `{"v":1}`, true},
		{"the same bytes", func() {}, `{"v":1}`, false},
		{"other bytes", func() {}, `{"v":2}`, true},
		{"the same bytes under mode 0644", func() { os.Chmod(p, 0o644) }, `{"v":2}`, true},
	} {
		before, _ := os.Stat(p) // nil before the first write
		step.prepare()
		if err := a.Set("root", []byte(step.bytes)); err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		after, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if rewritten := before == nil || !os.SameFile(before, after); rewritten != step.rewrite {
			t.Errorf("%s: rewritten %v, want %v", step.what, rewritten, step.rewrite)
		}
		b, _ := os.ReadFile(p)
		st, _ := os.Stat(p)
		if string(b) != step.bytes || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: the file holds %q with mode %v", step.what, b, st.Mode().Perm())
		}
	}
}
