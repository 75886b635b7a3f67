package testbed

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each source fix applies to the pinned release, once: applying it
// twice, or to other code, fails loudly instead of building a server that
// silently lacks the fix.
func TestSourceFixesApplyToTheRelease(t *testing.T) {
	modDir, err := moduleDir(context.Background(), NotaryModule)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []sourceFix{fix1630, fixLocalSigner} {
		t.Run(f.name, func(t *testing.T) {
			src := t.TempDir()
			orig, err := os.ReadFile(filepath.Join(modDir, f.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(src, f.file)), 0o755); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(src, f.file), orig, 0o644)
			if err := f.apply(src); err != nil {
				t.Fatalf("it does not apply to %s: %v", NotaryModule, err)
			}
			patched, _ := os.ReadFile(filepath.Join(src, f.file))
			if strings.Contains(string(patched), f.old) || !strings.Contains(string(patched), f.new) || !strings.HasSuffix(string(patched), f.appended) {
				t.Error("the patched source still has the old code, or lacks the new")
			}
			if err := f.apply(src); err == nil {
				t.Error("it applied twice")
			}
		})
	}
}
