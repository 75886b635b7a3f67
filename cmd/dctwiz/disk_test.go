package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// fillDisk fills disk, then frees the last free pages of 4 KiB; it
// returns the filling file (remove it to make room again).
func fillDisk(t *testing.T, disk string, free int) string {
	t.Helper()
	fill := filepath.Join(disk, "fill")
	exec.Command("dd", "if=/dev/zero", "of="+fill, "bs=4k").Run()
	st, err := os.Stat(fill)
	if err != nil {
		t.Fatal(err)
	}
	os.Truncate(fill, st.Size()-int64(free)*4096)
	return fill
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

// TestDiskFullAfterThePublish: the disk has room for the keys, the
// publish goes out, and then the trust dir cannot save the result. The
// report must say the repository is published (before, it said "Nothing
// was done"); with room again, the same command converges.
func TestDiskFullAfterThePublish(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	// The pages a setup needs before its publish (the lock, two keys) vary
	// by a page or two: leave 1, 2, ... free until the publish goes out
	// and the save after it fails.
	for free := 1; free <= 8; free++ {
		disk := smallDisk(t, "64k")
		trustDir := filepath.Join(disk, "trust")
		os.MkdirAll(filepath.Join(trustDir, "private"), 0o700)
		fill := fillDisk(t, disk, free)
		gun := newGUN()
		args := append([]string{"setup", gun, "--trust-dir", trustDir}, serverArgs()...)
		r := dctwiz(e, args...)
		if r.code == 0 || dctwiz(e, append([]string{"inspect", gun}, serverArgs()...)...).code != 0 {
			continue // failed before the publish, or had room enough
		}
		if strings.Contains(r.stderr, "Nothing was done") || !strings.Contains(r.stderr, "the repository is published, but") ||
			!strings.Contains(r.stderr, "published: init (the server has it)") {
			t.Errorf("the disk full after the publish (%d pages free):\n%s", free, r)
		}
		os.Remove(fill)
		if r := mustOK(t, dctwiz(e, append(args, "--json")...)); !strings.Contains(r.stdout, `"already_done": true`) {
			t.Errorf("the rerun with room did not find it published:\n%s", r)
		}
		return
	}
	t.Fatal("no amount of free space made the save after the publish fail: the test did not test it")
}

// TestDiskFullAfterLaterPublishes is TestDiskFullAfterThePublish for what
// comes after setup: a signer added, the targets key rotated by the root
// key, and outputs written after a publish (a ceremony record, a root
// certificate) on the same full disk. The disk is filled to leave 0, 1,
// 2, ... pages until the command succeeds. At each step the report must
// match the server: "Nothing was done" only when nothing was published,
// and a failure after the publish says it published. The first two have
// no such window (what they save after the publish is notary's cache,
// whose write failures notary ignores); the last two do, and must meet it.
func TestDiskFullAfterLaterPublishes(t *testing.T) {
	needBed(t)
	for _, tc := range []struct {
		name      string
		args      func(gun, disk string) []string
		published func(t *testing.T, e env, gun string, before []string) bool
		window    bool // a failure after the publish must be met
	}{
		{"delegation add",
			func(gun, _ string) []string {
				return []string{"delegation", "add", gun, "bob", writeCert(t, certSpecAlice)}
			},
			func(t *testing.T, e env, gun string, _ []string) bool {
				return slices.Contains(delegationRoles(t, e, gun), "targets/bob")
			}, false},
		{"rotate targets",
			func(gun, _ string) []string { return []string{"rotate", "targets", gun, "--yes"} },
			func(t *testing.T, e env, gun string, before []string) bool {
				return !slices.Equal(targetsKeyIDs(t, gun), before)
			}, false},
		{"rotate targets with its record on the disk",
			func(gun, disk string) []string {
				return []string{"rotate", "targets", gun, "--yes", "--record", disk}
			},
			func(t *testing.T, e env, gun string, before []string) bool {
				return !slices.Equal(targetsKeyIDs(t, gun), before)
			}, true},
		{"delegation add with its record on the disk",
			func(gun, disk string) []string {
				return []string{"delegation", "add", gun, "bob", writeCert(t, certSpecAlice), "--root-key", "file", "--yes", "--record", disk}
			},
			func(t *testing.T, e env, gun string, _ []string) bool {
				return slices.Contains(delegationRoles(t, e, gun), "targets/bob")
			}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			met := false
			for free := 0; free <= 16; free++ {
				disk := smallDisk(t, "256k")
				trustDir := filepath.Join(disk, "trust")
				gun := newGUN()
				mustOK(t, dctwiz(e, append([]string{"setup", gun, "--trust-dir", trustDir}, serverArgs()...)...))
				before := targetsKeyIDs(t, gun)
				fill := fillDisk(t, disk, free)
				args := append(append(tc.args(gun, disk), "--trust-dir", trustDir), serverArgs()...)
				r := dctwiz(e, args...)
				published := tc.published(t, e, gun, before)
				said := r.stdout + r.stderr
				t.Logf("%d pages free: exit %d, published %v", free, r.code, published)
				switch {
				case r.code == 0 && !published:
					t.Fatalf("%d pages free: success, and nothing on the server:\n%s", free, r)
				case r.code == 0:
					if tc.window && !met {
						t.Error("no amount of free space made the command fail after its publish: the test did not test it")
					}
					return
				case !published && strings.Contains(said, "published:"):
					t.Errorf("%d pages free: says it published, and the server has nothing:\n%s", free, r)
				case published && (strings.Contains(said, "Nothing was done") || !(strings.Contains(said, "published:") || strings.Contains(said, "done and published"))):
					t.Errorf("%d pages free: published, and the report does not say so:\n%s", free, r)
				case published:
					t.Logf("published, then failed:\n%s", r)
					met = true
					os.Remove(fill) // room again: the same command converges
					mustOK(t, dctwiz(e, args...))
					if records, _ := filepath.Glob(filepath.Join(disk, "dctwiz-ceremony-*.md")); tc.window && len(records) == 0 {
						t.Error("the rerun with room wrote no ceremony record")
					}
				}
			}
			t.Error("the command never succeeded")
		})
	}
}

// targetsKeyIDs are the repository's targets key IDs, read by a consumer.
func targetsKeyIDs(t *testing.T, gun string) []string {
	t.Helper()
	r := mustOK(t, dctwiz(newEnv(t), append([]string{"inspect", gun, "--json"}, serverArgs()...)...))
	var in struct {
		AdministrativeKeys []struct {
			Name   string
			KeyIDs []string `json:"key_ids"`
		} `json:"administrative_keys"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &in); err != nil {
		t.Fatal(err)
	}
	for _, k := range in.AdministrativeKeys {
		if k.Name == "Repository" {
			return k.KeyIDs
		}
	}
	t.Fatalf("inspect shows no Repository key:\n%s", r.stdout)
	return nil
}
