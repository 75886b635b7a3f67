package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRotationKilledAtRandomLosesNoKey SIGKILLs `dctwiz rotate targets` at
// random points of its run, again and again. After every kill the key
// that the server's root.json names for targets is in the trust dir,
// every key file is encrypted, and the same command, run once more to the
// end, converges on one targets key.
func TestRotationKilledAtRandomLosesNoKey(t *testing.T) {
	needBed(t)
	const runs = 24
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 0))

	e := newEnv(t)
	gun := newGUN()
	mustOK(t, dctwiz(e, append([]string{"setup", gun, "--delegation", "signpath=" + writeCert(t, certSpecAlice)}, serverArgs()...)...))
	trustDir := filepath.Join(e["DOCKER_CONFIG"], "trust")
	args := append([]string{"rotate", "targets", gun, "--root-key", "file", "--yes"}, serverArgs()...)
	published := map[string]bool{publishedTargetsKey(t, gun): true} // every targets key ever published

	// How long a whole run takes here, to spread the kills over it.
	began := time.Now()
	mustOK(t, dctwizBinary(t, e, args...))
	whole := time.Since(began)

	killedAfterPublish := 0
	for i := range runs {
		before := publishedTargetsKey(t, gun)
		out, _ := killDuring(t, e, time.Duration(rnd.Int64N(int64(whole))), args...)

		after := publishedTargetsKey(t, gun)
		if after != before {
			killedAfterPublish++
			if published[after] {
				t.Fatalf("run %d: the server names %s again, a key replaced before", i, after)
			}
			published[after] = true
		}
		if !keyFileHere(trustDir, after) {
			t.Fatalf("run %d: the server names targets key %s, which is not in the trust dir (output: %s)", i, after, out)
		}
		checkEncrypted(t, trustDir)
	}
	t.Logf("%d runs killed, %d of them after the publish landed", runs, killedAfterPublish)

	mustOK(t, dctwizBinary(t, e, args...))
	final := publishedTargetsKey(t, gun)
	if published[final] {
		t.Errorf("the final run published %s, a key replaced before: it must rotate forward", final)
	}
	files, _ := filepath.Glob(filepath.Join(trustDir, "private", "*.key"))
	targets := 0
	for _, f := range files {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), "role: targets") {
			targets++
		}
	}
	if targets != 1 || !keyFileHere(trustDir, final) {
		t.Errorf("after the final run: %d targets key files, the server's %s here: %v", targets, final, keyFileHere(trustDir, final))
	}
	in := inspectAsConsumer(t, notary.URL, notary.CACert, gun)
	if len(in.Signers) != 1 || in.Signers[0].Name != "signpath" {
		t.Errorf("a consumer sees signers %+v, want signpath kept", in.Signers)
	}
}

// publishedTargetsKey is the targets key the server's root.json names, as
// a new consumer reads it.
func publishedTargetsKey(t *testing.T, gun string) string {
	t.Helper()
	ids := targetsKeyIDs(t, gun)
	if len(ids) != 1 {
		t.Fatalf("the repository's targets keys: %v, want one", ids)
	}
	return ids[0]
}

func keyFileHere(trustDir, id string) bool {
	_, err := os.Stat(filepath.Join(trustDir, "private", id+".key"))
	return err == nil
}

// checkEncrypted fails on a key file that is not an encrypted PEM key.
func checkEncrypted(t *testing.T, trustDir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(trustDir, "private", "*.key"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(b), "BEGIN ENCRYPTED PRIVATE KEY") {
			t.Errorf("%s is not an encrypted key (%v):\n%.80s", f, err, b)
		}
		if st, err := os.Stat(f); err == nil && st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
	}
}

// killDuring runs dctwiz with args and SIGKILLs it after d; it returns
// what it printed by then, and whether it had finished by itself.
func killDuring(t *testing.T, e env, d time.Duration, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(dctwizBin, args...)
	cmd.Env = e.process(t)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err == nil
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return out.String(), false
	}
}

// TestSignerCeremonyKilledAtRandomLosesNoKey SIGKILLs the yearly signer
// renewal (the targets key deleted after setup: one is rotated in with the
// root key and deleted again) at random points. After every kill, the
// targets key the server names is the one deleted after setup (nothing
// published yet) or is in the trust dir, and every key file is encrypted.
// The same command with --delete-targets-key, run once more to the end,
// leaves the signer renewed and no targets key held, as it found it.
func TestSignerCeremonyKilledAtRandomLosesNoKey(t *testing.T) {
	needBed(t)
	const runs = 20
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))

	e := newEnv(t)
	gun := newGUN()
	mustOK(t, dctwiz(e, append([]string{"setup", gun, "--delegation", "signpath=" + writeCert(t, certSpecAlice), "--delete-targets-key", "--yes"}, serverArgs()...)...))
	trustDir := filepath.Join(e["DOCKER_CONFIG"], "trust")
	renewed := writeCert(t, certSpecAlice)
	args := append([]string{"delegation", "replace", gun, "signpath", renewed, "--root-key", "file", "--yes"}, serverArgs()...)

	began := time.Now()
	mustOK(t, dctwizBinary(t, e, args...)) // the whole ceremony, to time it
	whole := time.Since(began)
	deleted := publishedTargetsKey(t, gun) // deleted again at its end

	for i := range runs {
		out, finished := killDuring(t, e, time.Duration(rnd.Int64N(int64(whole))), args...)
		now := publishedTargetsKey(t, gun)
		switch {
		case finished:
			deleted = now // a whole ceremony: its targets key deleted again, by design
		case now != deleted && !keyFileHere(trustDir, now):
			t.Fatalf("run %d: the server names targets key %s, which is not in the trust dir (output: %s)", i, now, out)
		}
		checkEncrypted(t, trustDir)
	}
	mustOK(t, dctwizBinary(t, e, append(args, "--delete-targets-key")...))
	if n := keyFileCount(t, filepath.Join(trustDir, "private")); n != 1 { // the root key
		t.Errorf("%d key files after the final run, want the root key alone", n)
	}
	in := inspectAsConsumer(t, notary.URL, notary.CACert, gun)
	if len(in.Signers) != 1 || in.Signers[0].Name != "signpath" {
		t.Errorf("a consumer sees signers %+v", in.Signers)
	}
}
