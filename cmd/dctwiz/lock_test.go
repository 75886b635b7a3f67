package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestTwoCeremoniesOnOneTrustDir: two setups started at once on the same
// fresh trust dir. Before the lock, each made a root key (neither saw the
// other's), and every later command on that trust dir refused to choose.
// Now the second waits for the first and uses its root key.
func TestTwoCeremoniesOnOneTrustDir(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	trustDir := filepath.Join(t.TempDir(), "trust")
	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(dctwizBin, append([]string{"init", newGUN(), "--trust-dir", trustDir}, serverArgs()...)...)
			cmd.Env = e.process(t)
			out, err := cmd.CombinedOutput()
			if err != nil {
				results[i] = err.Error() + "\n" + string(out)
			}
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r != "" {
			t.Errorf("init %d: %s", i, r)
		}
	}
	roots := 0
	keys, _ := filepath.Glob(filepath.Join(trustDir, "private", "*.key"))
	for _, k := range keys {
		if b, err := os.ReadFile(k); err == nil && strings.Contains(string(b), "role: root") {
			roots++
		}
	}
	if roots != 1 {
		t.Errorf("%d root keys in the trust dir after eight setups at once, want 1", roots)
	}
}
