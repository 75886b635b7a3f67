package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/internal/testbed"
	"github.com/dctwiz/dctwiz/trust"
)

// TestRotateRootInterop moves a repository's root to a new key with a
// backup, headless, and reads it afterwards as its consumers do: the
// notary CLI and docker with the caches they filled before follow, and
// so do fresh ones; the notary CLI pinned to the old root key ID from a
// fresh cache fails, pinned to the new one it reads the tag; the tag
// signed before still verifies; the backup alone later drops the primary.
func TestRotateRootInterop(t *testing.T) {
	needBed(t)
	ctx := context.Background()
	gun := newGUN()
	img, err := reg.PushRandomImage(ctx, strings.TrimPrefix(gun, reg.Host+"/"), "1.0")
	if err != nil {
		t.Fatal(err)
	}
	hexDigest := strings.TrimPrefix(img.Digest.String(), "sha256:")
	e := newEnv(t)
	r := mustOK(t, dctwiz(e, append([]string{"setup", gun, "--delegation", "signpath=" + writeCert(t, testbed.CertSpec{CommonName: "signpath"}),
		"--test-tag", "1.0", "--keep", "--json"}, serverArgs()...)...))
	var setup flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &setup); err != nil {
		t.Fatal(err)
	}
	oldRoot := setup.Init.Root.ID

	// Consumers read it before: their caches trust the old root.
	notaryCache := t.TempDir()
	if out, err := notaryCLI(notaryCache, nil, "list", gun); err != nil || !strings.Contains(out, hexDigest) {
		t.Fatalf("notary list before: %v\n%s", err, out)
	}
	dockerCfg := newDockerConfig(t)
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal("the docker client is required for the interop check (.ci/run installs docker.io): ", err)
	}
	dockerTrustInspect(t, docker, dockerCfg, gun)

	keys := t.TempDir()
	primary, backup := filepath.Join(keys, "primary.key"), filepath.Join(keys, "backup.key")
	rootCrt := filepath.Join(t.TempDir(), "root.crt")
	r = mustOK(t, dctwiz(e, append([]string{"rotate", "root", gun, "--root-key", "file", "--new-root-key", "file:" + primary,
		"--backup-root-key", "file:" + backup, "--root-cert-out", rootCrt, "--yes", "--json"}, serverArgs()...)...))
	var reps []flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil || len(reps) != 1 || reps[0].RootRotation == nil {
		t.Fatalf("rotate root --json: %v\n%s", err, r)
	}
	rot := reps[0].RootRotation
	if len(rot.NewKeyIDs) != 2 || slices.Contains(rot.NewKeyIDs, oldRoot) {
		t.Fatalf("new root keys %v (old %s)", rot.NewKeyIDs, oldRoot)
	}
	if pem, err := os.ReadFile(rootCrt); err != nil || strings.Count(string(pem), "BEGIN CERTIFICATE") != 2 {
		t.Errorf("the new root certificates file: %v\n%s", err, pem)
	}

	for name, cache := range map[string]string{"the cache from before": notaryCache, "an empty cache": t.TempDir()} {
		if out, err := notaryCLI(cache, nil, "list", gun); err != nil || !strings.Contains(out, hexDigest) {
			t.Errorf("notary list after the root rotation, %s: %v\n%s", name, err, out)
		}
	}
	for name, cfg := range map[string]string{"the cache from before": dockerCfg, "an empty cache": newDockerConfig(t)} {
		in := dockerTrustInspect(t, docker, cfg, gun)
		if root := adminKeys(in)["Root"]; len(root) != 2 || slices.Contains(root, oldRoot) || len(in.SignedTags) != 1 || in.SignedTags[0].Digest != hexDigest {
			t.Errorf("docker after the root rotation, %s: root keys %v, tags %+v", name, root, in.SignedTags)
		}
	}
	// Pinned: to the old root key ID from a fresh cache it fails, as the
	// command says; to a new one it reads the tag.
	pinned := func(id string) (string, error) { return pinnedNotary(t, gun, id, "list", gun) }
	if out, err := pinned(oldRoot); err == nil || !strings.Contains(out, pinFailure) {
		t.Errorf("the notary CLI pinned to the old root key ID read the rotated repository:\n%s", out)
	}
	if out, err := pinned(rot.NewKeyIDs[0]); err != nil || !strings.Contains(out, hexDigest) {
		t.Errorf("the notary CLI pinned to the new root key ID: %v\n%s", err, out)
	}

	// The primary is lost: the backup alone drops it; consumers follow again.
	r = mustOK(t, dctwiz(e, append([]string{"rotate", "root", gun, "--root-key", "file:" + backup, "--new-root-key", "file:" + backup,
		"--yes"}, serverArgs()...)...))
	if !strings.Contains(r.stdout, "Moved the root of "+gun) || !strings.Contains(r.stdout, "root key IDs to pin now") {
		t.Errorf("rotate root with the backup alone:\n%s", r)
	}
	if out, err := notaryCLI(notaryCache, nil, "list", gun); err != nil || !strings.Contains(out, hexDigest) {
		t.Errorf("notary list after the backup dropped the primary, the first cache: %v\n%s", err, out)
	}
	backupOnly := ""
	if root := adminKeys(dockerTrustInspect(t, docker, dockerCfg, gun))["Root"]; len(root) != 1 || !slices.Contains(rot.NewKeyIDs, root[0]) {
		t.Fatalf("docker after the backup dropped the primary: root keys %v, want the backup's of %v", root, rot.NewKeyIDs)
	} else {
		backupOnly = root[0] // the key the next two changes keep, then drop
	}
	// A backup added to the single key, then the first key dropped by the
	// backup: the same ceremony with other key lists.
	third := filepath.Join(keys, "third.key")
	rootKeysNow := func(r result) []string {
		t.Helper()
		var reps []flows.Report
		if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil || len(reps) != 1 || reps[0].RootRotation == nil {
			t.Fatalf("rotate root --json: %v\n%s", err, r)
		}
		return reps[0].RootRotation.NewKeyIDs
	}
	withBackup := rootKeysNow(mustOK(t, dctwiz(e, append([]string{"rotate", "root", gun, "--root-key", "file:" + backup,
		"--add-backup-root-key", "file:" + third, "--yes", "--json"}, serverArgs()...)...)))
	if len(withBackup) != 2 {
		t.Fatalf("--add-backup-root-key: root keys %v", withBackup)
	}
	if !slices.Contains(withBackup, backupOnly) {
		t.Errorf("--add-backup-root-key changed the kept key's certificate: %v, was %s", withBackup, backupOnly)
	}
	left := rootKeysNow(mustOK(t, dctwiz(e, append([]string{"rotate", "root", gun, "--root-key", "file:" + third,
		"--remove-root-key", backupOnly, "--yes", "--json"}, serverArgs()...)...)))
	if len(left) != 1 || left[0] == backupOnly || !slices.Contains(withBackup, left[0]) {
		t.Errorf("--remove-root-key %s: root keys %v", backupOnly, left)
	}
	// The same removal again (its answer lost, or a typo): refused, naming
	// the keys there, so that the admin sees the key gone and a mistyped
	// ID never passes for a removed one.
	if r := dctwiz(e, append([]string{"rotate", "root", gun, "--root-key", "file:" + third, "--remove-root-key", backupOnly, "--yes"}, serverArgs()...)...); r.code != 1 ||
		!strings.Contains(r.stderr, "not a root key of "+gun+" (its root keys: "+left[0]+")") || !strings.Contains(r.stderr, "if an earlier run removed this key, there is nothing left to do") {
		t.Errorf("the removal again:\n%s", r)
	}
	if out, err := notaryCLI(notaryCache, nil, "list", gun); err != nil || !strings.Contains(out, hexDigest) {
		t.Errorf("notary list from the first cache after five root changes: %v\n%s", err, out)
	}
	// Bad usage: no new key, the backup the same as the new key, two modes.
	if r := dctwiz(e, append([]string{"rotate", "root", gun, "--new-root-key", "file:y", "--remove-root-key", "x", "--yes"}, serverArgs()...)...); r.code != 2 || !strings.Contains(r.stderr, "give one of") {
		t.Errorf("rotate root with two modes:\n%s", r)
	}
	if r := dctwiz(e, append([]string{"rotate", "root", gun, "--yes"}, serverArgs()...)...); r.code != 2 || !strings.Contains(r.stderr, "--new-root-key is required") {
		t.Errorf("rotate root without --new-root-key:\n%s", r)
	}
	if r := dctwiz(e, append([]string{"rotate", "root", gun, "--new-root-key", "file:x", "--backup-root-key", "file:x", "--yes"}, serverArgs()...)...); r.code != 2 {
		t.Errorf("rotate root with the backup the new key:\n%s", r)
	}
}

// setup --backup-root-key: the root role names both keys, the root
// certificate file holds both, docker shows both root keys, and the
// backup alone later moves the root onto a new key.
func TestSetupWithABackupRootKey(t *testing.T) {
	needBed(t)
	gun := newGUN()
	e := newEnv(t)
	keys := t.TempDir()
	rootCrt := filepath.Join(t.TempDir(), "root.crt")
	r := mustOK(t, dctwiz(e, append([]string{"setup", gun, "--root-key", "file",
		"--backup-root-key", "file:" + filepath.Join(keys, "backup.key"), "--root-cert-out", rootCrt,
		"--delegation", "signpath=" + writeCert(t, testbed.CertSpec{CommonName: "signpath"}), "--json"}, serverArgs()...)...))
	var rep flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Init == nil || rep.Init.BackupRoot == nil {
		t.Fatalf("setup with a backup root key: %v\n%s", err, r)
	}
	if pem, _ := os.ReadFile(rootCrt); strings.Count(string(pem), "BEGIN CERTIFICATE") != 2 {
		t.Errorf("the root certificate file holds %d certificates, want 2", strings.Count(string(pem), "BEGIN CERTIFICATE"))
	}
	out, err := exec.Command(bins.CLI, "-s", notary.URL, "--tlscacert", notary.CACert, "-d", t.TempDir(), "delegation", "list", gun).CombinedOutput()
	if err != nil {
		t.Errorf("notary reads the repository with two root keys: %v\n%s", err, out)
	}
	r = mustOK(t, dctwiz(e, append([]string{"rotate", "root", gun, "--root-key", "file:" + filepath.Join(keys, "backup.key"),
		"--new-root-key", "file:" + filepath.Join(keys, "third.key"), "--yes", "--json"}, serverArgs()...)...))
	var reps []flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil || len(reps) != 1 || reps[0].RootRotation == nil ||
		slices.Contains(reps[0].RootRotation.NewKeyIDs, rep.Init.Root.ID) || slices.Contains(reps[0].RootRotation.NewKeyIDs, rep.Init.BackupRoot.ID) {
		t.Errorf("the backup alone moving the root: %v\n%s", err, r)
	}
	// Bad usage: the backup is the root key itself, or a file without a path.
	for _, b := range []string{"file", "file:"} {
		if r := dctwiz(e, append([]string{"setup", newGUN(), "--root-key", "file", "--backup-root-key", b}, serverArgs()...)...); r.code != 2 || !strings.Contains(r.stderr, "--backup-root-key") {
			t.Errorf("--backup-root-key %q:\n%s", b, r)
		}
	}
}

// A root key ID that one of several repositories does not name stops the
// command before any repository changes (it was checked only inside each
// publish, after the earlier repositories had changed).
func TestRotateRootChecksEveryRepositoryFirst(t *testing.T) {
	needBed(t)
	t.Chdir(t.TempDir()) // a failed list, if the check ever let one through
	e := newEnv(t)
	keys := t.TempDir()
	guns := []string{newGUN(), newGUN()}
	var backups []string
	for i, g := range guns {
		r := mustOK(t, dctwiz(e, append([]string{"setup", g, "--root-key", "file",
			"--backup-root-key", "file:" + filepath.Join(keys, fmt.Sprintf("backup%d.key", i)), "--json"}, serverArgs()...)...))
		var rep flows.Report
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Init == nil || rep.Init.BackupRoot == nil {
			t.Fatalf("setup %s: %v\n%s", g, err, r)
		}
		backups = append(backups, rep.Init.BackupRoot.ID)
	}
	// The first repository's backup certificate: the second does not name it.
	args := append(append([]string{"rotate", "root"}, guns...), "--root-key", "file", "--remove-root-key", backups[0], "--yes")
	r := dctwiz(e, append(args, serverArgs()...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "not a root key of "+guns[1]) || !strings.Contains(r.stderr, "nothing was published to any of the repositories") {
		t.Errorf("removing a key the second repository does not name:\n%s", r)
	}
	if in := inspectAsConsumer(t, notary.URL, notary.CACert, guns[0]); len(adminIDs(in, "Root")) != 2 {
		t.Errorf("the first repository changed although the second refused: root keys %v", adminIDs(in, "Root"))
	}
	// One unknown ID among known ones is refused for one repository too.
	if r := dctwiz(e, append([]string{"rotate", "root", guns[1], "--root-key", "file", "--remove-root-key", backups[1],
		"--remove-root-key", "x", "--yes"}, serverArgs()...)...); r.code != 1 || !strings.Contains(r.stderr, "x: not a root key") {
		t.Errorf("removing an unknown key:\n%s", r)
	}
}

// adminIDs are the key IDs of one of an inspection's administrative keys.
func adminIDs(in *trust.Inspection, name string) []string {
	for _, k := range in.AdministrativeKeys {
		if k.Name == name {
			return k.KeyIDs
		}
	}
	return nil
}

// notaryCLI runs the notary CLI against the test server with the cache
// dir cache (a consumer that trusted what it read before).
func notaryCLI(cache string, extra []string, args ...string) (string, error) {
	base := append([]string{"-s", notary.URL, "--tlscacert", notary.CACert, "-d", cache}, extra...)
	out, err := exec.Command(bins.CLI, append(base, args...)...).CombinedOutput()
	return string(out), err
}

// pinFailure is how the notary CLI refuses a root it is not pinned to.
const pinFailure = "could not validate the path to a trusted root"

// pinnedNotary runs the notary CLI from an empty cache, pinned
// (trust_pinning, no trust on first use) to root certificate key ID id.
func pinnedNotary(t *testing.T, gun, id string, args ...string) (string, error) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.json")
	doc, err := json.Marshal(map[string]any{"trust_pinning": map[string]any{"certs": map[string][]string{gun: {id}}, "disable_tofu": true}})
	if err == nil {
		err = os.WriteFile(cfg, doc, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	return notaryCLI(t.TempDir(), []string{"-c", cfg}, args...)
}
