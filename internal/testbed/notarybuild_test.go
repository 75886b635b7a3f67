package testbed

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFix1630AppliesToTheRelease(t *testing.T) {
	modDir, err := moduleDir(context.Background(), NotaryModule)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	orig, err := os.ReadFile(filepath.Join(modDir, fix1630File))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Join(src, fix1630File)), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, fix1630File), orig, 0o644)
	if err := applyFix1630(src); err != nil {
		t.Fatalf("the fix does not apply to %s: %v", NotaryModule, err)
	}
	patched, _ := os.ReadFile(filepath.Join(src, fix1630File))
	if strings.Contains(string(patched), "part.FileName()") || !strings.Contains(string(patched), "rawPartFileName(part)") {
		t.Error("the patched handler still reads part.FileName()")
	}
	// Applying it twice, or to other code, fails loudly instead of building
	// a server that silently lacks the fix.
	if err := applyFix1630(src); err == nil {
		t.Error("the fix applied twice")
	}
}

func TestLocalSignerFixAppliesToTheRelease(t *testing.T) {
	modDir, err := moduleDir(context.Background(), NotaryModule)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	orig, err := os.ReadFile(filepath.Join(modDir, fixLocalSignerFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Join(src, fixLocalSignerFile)), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, fixLocalSignerFile), orig, 0o644)
	if err := applyFixLocalSigner(src); err != nil {
		t.Fatalf("the fix does not apply to %s: %v", NotaryModule, err)
	}
	patched, _ := os.ReadFile(filepath.Join(src, fixLocalSignerFile))
	if strings.Contains(string(patched), fixLocalSignerOld) || !strings.Contains(string(patched), "&lockedKeyService{") {
		t.Error("the patched server still uses the bare local signer")
	}
	if err := applyFixLocalSigner(src); err == nil {
		t.Error("the fix applied twice")
	}
}
