package trust

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A trust dir that is a file, or whose private/ is a file, is one clear
// error naming the path; notary's key storage would panic on it.
func TestTrustDirThatIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	privFile := t.TempDir()
	if err := os.WriteFile(filepath.Join(privFile, "private"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, privFile} {
		_, err := (&Client{trustDir: dir}).keyStore(&passRecorder{})
		var e *Error
		if !errors.Is(err, ErrBadInput) || !errors.As(err, &e) || e.Action != ActionTrustDir || e.Input != filepath.Join(dir, "private") {
			t.Errorf("trust dir %s: %v", dir, err)
		}
	}
}
