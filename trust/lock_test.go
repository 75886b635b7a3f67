package trust_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/trust"
)

// One ceremony at a time per trust dir: a second waits, then says which
// process holds it; once released, the trust dir is free again.
func TestLockTrustDir(t *testing.T) {
	dir := t.TempDir()
	release, err := trust.LockTrustDir(dir, "dctwiz setup", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = trust.LockTrustDir(dir, "dctwiz rotate targets", 200*time.Millisecond)
	want := fmt.Sprintf("in use by process %d (dctwiz setup)", os.Getpid())
	if !errors.Is(err, trust.ErrBusy) || !strings.Contains(err.Error(), want) {
		t.Fatalf("a second lock: %v; want ErrBusy saying %q", err, want)
	}
	// Released while the second waits: the second gets it.
	go func() { time.Sleep(100 * time.Millisecond); release() }()
	release2, err := trust.LockTrustDir(dir, "dctwiz rotate targets", 10*time.Second)
	if err != nil {
		t.Fatalf("after the release: %v", err)
	}
	release2()
	// A trust dir that is a file: one clear error.
	file := dir + "/a-file"
	os.WriteFile(file, []byte("x"), 0o600)
	if _, err := trust.LockTrustDir(file, "x", 0); !errors.Is(err, trust.ErrBadInput) {
		t.Errorf("a trust dir that is a file: %v", err)
	}
}
