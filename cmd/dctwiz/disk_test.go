package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// smallDisk mounts a tmpfs of size at a new directory (the test suite
// runs as root, as make test does) and unmounts it at the end.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs (make test runs as root): %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// oneClearLine fails unless r failed with exit 1 and one error line
// (plus a fix line) that says want, without a panic.
func oneClearLine(t *testing.T, what string, r result, want string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "dctwiz: ") {
			lines = append(lines, l)
		}
	}
	if r.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], want) || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("%s: want exit 1 and one line saying %q:\n%s", what, want, r)
	}
}

// TestTrustDirOnAFullOrReadOnlyDisk: a trust dir on a full disk, then on
// a read-only one. Each command fails with one line saying so; no key
// file is left empty or half-written, and nothing is published.
func TestTrustDirOnAFullOrReadOnlyDisk(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	disk := smallDisk(t, "64k")
	trustDir := filepath.Join(disk, "trust")
	// Fill the disk.
	exec.Command("dd", "if=/dev/zero", "of="+filepath.Join(disk, "fill"), "bs=4k").Run()
	gun := newGUN()
	r := dctwiz(e, append([]string{"init", gun, "--trust-dir", trustDir}, serverArgs()...)...)
	oneClearLine(t, "init on a full disk", r, "no space left on device")
	assertNoTrustData(t, gun)
	keys, _ := filepath.Glob(filepath.Join(trustDir, "private", "*.key"))
	for _, k := range keys {
		if st, err := os.Stat(k); err != nil || st.Size() == 0 {
			t.Errorf("a key file left empty: %s", k)
		}
	}

	// Room again: the same command converges; then the disk goes read-only.
	os.Remove(filepath.Join(disk, "fill"))
	mustOK(t, dctwiz(e, append([]string{"init", gun, "--trust-dir", trustDir}, serverArgs()...)...))
	if out, err := exec.Command("mount", "-o", "remount,ro", disk).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v\n%s", err, out)
	}
	r = dctwiz(e, append([]string{"init", newGUN(), "--trust-dir", trustDir}, serverArgs()...)...)
	oneClearLine(t, "init on a read-only disk", r, "read-only file system")
	r = dctwiz(e, append([]string{"delegation", "add", gun, "alice", writeCert(t, certSpecAlice), "--trust-dir", trustDir}, serverArgs()...)...)
	oneClearLine(t, "delegation add on a read-only disk", r, "read-only file system")
	if dels := delegationRoles(t, e, gun); len(dels) != 0 {
		t.Errorf("a signer was published from a read-only trust dir: %v", dels)
	}
}
