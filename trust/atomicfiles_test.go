package trust

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// What dctwiz writes for the user replaces a regular file whole; a path
// that is something else is refused, untouched, without blocking (a FIFO
// would block a writer until someone reads).
func TestWriteOutputFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(filepath.Join(dir, "elsewhere"), link)
	existing := filepath.Join(dir, "old.crt")
	os.WriteFile(existing, []byte("old"), 0o644)
	for _, tc := range []struct {
		name, path, err string
	}{
		{"a new file", filepath.Join(dir, "root.crt"), ""},
		{"a file to replace", existing, ""},
		{"a directory", dir, "is a directory"},
		{"a device", "/dev/null", "is a device"},
		{"a named pipe", fifo, "is a named pipe"},
		{"a symbolic link", link, "is a symbolic link"},
		{"stdout's name", "-", "(stdout) cannot take this output"},
	} {
		err := WriteOutputFile(tc.path, []byte("new"), 0o644)
		if tc.err == "" {
			b, rerr := os.ReadFile(tc.path)
			st, _ := os.Stat(tc.path)
			if err != nil || rerr != nil || string(b) != "new" || st.Mode().Perm() != 0o644 {
				t.Errorf("%s: %v, %q, %v", tc.name, err, b, rerr)
			}
			continue
		}
		if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v; want %q", tc.name, err, tc.err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Error("the write followed the symbolic link")
	}
}
