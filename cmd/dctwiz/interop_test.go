package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/internal/testbed"
)

// TestSetupCeremonyInterop runs `dctwiz setup` as a real process, then
// checks what it published with the notary CLI and `docker trust inspect`;
// on the memory server, and on the production-shaped one, whose snapshot
// and timestamp keys are ECDSA keys that notary-signer holds.
func TestSetupCeremonyInterop(t *testing.T) { onEachServer(t, setupCeremonyInterop) }

func setupCeremonyInterop(t *testing.T, srv *testbed.NotaryServer) {
	ctx := context.Background()
	gun := newGUN()
	img, err := reg.PushRandomImage(ctx, strings.TrimPrefix(gun, reg.Host+"/"), "1.0")
	if err != nil {
		t.Fatal(err)
	}
	cert := writeCert(t, testbed.CertSpec{CommonName: "signpath"})
	rootCrt := filepath.Join(t.TempDir(), "root.crt")
	e := newEnv(t)
	args := append([]string{"setup", gun, "--delegation", "signpath=" + cert, "--root-cert-out", rootCrt,
		"--test-tag", "1.0", "--keep", "--json"}, serverArgsOf(srv)...)
	r := mustOK(t, dctwizBinary(t, e, args...))
	var rep flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("setup --json printed no JSON report: %v\n%s", err, r)
	}
	wantStatus := map[flows.StepID]flows.EventKind{
		flows.StepInit: flows.Done, flows.StepDelegations: flows.Done, flows.StepRootCert: flows.Done,
		flows.StepTestSign: flows.Done, flows.StepDeleteTargetsKey: flows.Skipped,
	}
	for _, s := range rep.Steps {
		if wantStatus[s.Step] != s.Status {
			t.Errorf("step %s: %s, want %s", s.Step, s.Status, wantStatus[s.Step])
		}
	}
	if rep.TestSign == nil || rep.TestSign.Verified.Digest != img.Digest.String() {
		t.Fatalf("test signature %+v, want verified %s", rep.TestSign, img.Digest)
	}

	// The exported certificate is the one in the report.
	pemBytes, err := os.ReadFile(rootCrt)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("root certificate file holds no PEM certificate:\n%s", pemBytes)
	}
	sum := sha256.Sum256(block.Bytes)
	if got := hex.EncodeToString(sum[:]); got != rep.RootCerts[0].Fingerprint {
		t.Errorf("root.crt fingerprint %s, report says %s", got, rep.RootCerts[0].Fingerprint)
	}

	hexDigest := strings.TrimPrefix(img.Digest.String(), "sha256:")

	// test-sign --root-cert pins the consumer check to that file: this
	// repository's certificate verifies, another repository's does not.
	mustOK(t, dctwiz(e, append([]string{"test-sign", gun + ":1.0", "--root-cert", rootCrt}, serverArgsOf(srv)...)...))
	otherGUN := newGUN()
	otherCrt := filepath.Join(t.TempDir(), "other.crt")
	mustOK(t, dctwiz(newEnv(t), append([]string{"setup", otherGUN, "--root-cert-out", otherCrt}, serverArgsOf(srv)...)...))
	if r := dctwiz(e, append([]string{"test-sign", gun + ":1.0", "--root-cert", otherCrt}, serverArgsOf(srv)...)...); r.code != 1 || !strings.Contains(r.stderr, "does not verify") {
		t.Errorf("test-sign pinned to another repository's root certificate:\n%s", r)
	}

	// The notary CLI, from an empty trust dir.
	notaryDir := t.TempDir()
	notaryCLI := func(stdin []byte, args ...string) string {
		t.Helper()
		full := append([]string{"-s", srv.URL, "-d", notaryDir, "--tlscacert", srv.CACert}, args...)
		cmd := exec.Command(bins.CLI, full...)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("notary %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := notaryCLI(nil, "list", gun); !strings.Contains(out, "1.0") || !strings.Contains(out, hexDigest) {
		t.Errorf("notary list does not show 1.0 -> %s:\n%s", hexDigest, out)
	}
	// The server's keys, as the notary CLI received them: ECDSA on the
	// production server (as on Docker Hub), Ed25519 on the memory server.
	serverKeyType := map[string]string{"memory": "ed25519", "production": "ecdsa"}[srv.Kind]
	checkServerKeys := func(when string) {
		t.Helper()
		for role, typ := range serverKeyTypes(t, filepath.Join(notaryDir, "tuf", gun, "metadata", "root.json")) {
			if typ != serverKeyType {
				t.Errorf("%s: the %s key is %s, want %s", when, role, typ, serverKeyType)
			}
		}
	}
	checkServerKeys("after setup")
	if out := notaryCLI(nil, "lookup", gun, "1.0"); !strings.Contains(out, hexDigest) || !strings.Contains(out, " "+strconv.FormatInt(img.Size, 10)) {
		t.Errorf("notary lookup 1.0 = %q, want %s %d", out, hexDigest, img.Size)
	}
	out := notaryCLI(nil, "delegation", "list", gun)
	if !strings.Contains(out, "targets/releases") || !strings.Contains(out, "targets/signpath") || !strings.Contains(out, rep.Delegations[0].KeyIDs[0]) {
		t.Errorf("notary delegation list lacks targets/releases, targets/signpath or key %s:\n%s", rep.Delegations[0].KeyIDs[0], out)
	}
	manifest := fetchManifest(t, img.Ref)
	if out := notaryCLI(manifest, "verify", gun, "1.0"); out != string(manifest) {
		t.Errorf("notary verify did not echo the manifest: %q", out)
	}

	// docker trust inspect: no daemon, a scratch config with the CA.
	dockerCfg := t.TempDir()
	caDir := filepath.Join(dockerCfg, "tls", srv.Host())
	if err := os.MkdirAll(caDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ca, _ := os.ReadFile(srv.CACert)
	os.WriteFile(filepath.Join(caDir, "ca.crt"), ca, 0o600)
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal("the docker client is required for the interop check (.ci/run installs docker.io): ", err)
	}
	in := dockerTrustInspectAt(t, srv, docker, dockerCfg, gun)
	if len(in.SignedTags) != 1 || in.SignedTags[0].SignedTag != "1.0" || in.SignedTags[0].Digest != hexDigest {
		t.Errorf("docker sees tags %+v, want 1.0 -> %s", in.SignedTags, hexDigest)
	}
	signerKey := rep.Delegations[0].KeyIDs[0]
	if len(in.Signers) != 1 || in.Signers[0].Name != "signpath" || len(in.Signers[0].Keys) != 1 || in.Signers[0].Keys[0].ID != signerKey {
		t.Errorf("docker sees signers %+v, want signpath with key %s", in.Signers, signerKey)
	}
	admin := adminKeys(in)
	if len(admin["Root"]) != 1 || admin["Root"][0] != rep.Init.Root.ID || len(admin["Repository"]) != 1 || admin["Repository"][0] != rep.Init.Targets.ID {
		t.Errorf("docker sees administrative keys %v, want Root %s and Repository %s", admin, rep.Init.Root.ID, rep.Init.Targets.ID)
	}
	// dctwiz inspect shows the same IDs as docker.
	var ours struct {
		Signers []struct {
			Name   string
			KeyIDs []string `json:"key_ids"`
		}
		AdministrativeKeys []struct {
			Name   string
			KeyIDs []string `json:"key_ids"`
		} `json:"administrative_keys"`
	}
	ir := mustOK(t, dctwiz(e, append([]string{"inspect", gun, "--json"}, serverArgsOf(srv)...)...))
	if err := json.Unmarshal([]byte(ir.stdout), &ours); err != nil {
		t.Fatal(err)
	}
	if len(ours.Signers) != 1 || ours.Signers[0].KeyIDs[0] != signerKey || ours.AdministrativeKeys[0].KeyIDs[0] != rep.Init.Root.ID {
		t.Errorf("dctwiz inspect shows %+v, docker shows signer %s, root %s", ours, signerKey, rep.Init.Root.ID)
	}

	// Now delete the targets key: consumers still verify, the key is gone.
	r = mustOK(t, dctwizBinary(t, e, append([]string{"targets-key", "delete", gun, "--yes"}, serverArgsOf(srv)...)...))
	if !strings.Contains(r.stdout, "verified gone") {
		t.Errorf("targets-key delete output:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(e["DOCKER_CONFIG"], "trust", "private", rep.Init.Targets.ID+".key")); !os.IsNotExist(err) {
		t.Errorf("the targets key file is still there: %v", err)
	}
	if out := notaryCLI(nil, "lookup", gun, "1.0"); !strings.Contains(out, hexDigest) {
		t.Errorf("after deleting the targets key, notary lookup = %q", out)
	}

	// A year later: rotate the targets key with the root key alone, and
	// delete the new one again. The notary CLI and docker, each with the
	// cache it filled above (consumers who trusted the repository before),
	// and from empty caches, read the new key, the signer and the tag.
	recordDir := t.TempDir()
	rr := mustOK(t, dctwizBinary(t, e, append([]string{"rotate", "targets", gun, "--delete-targets-key", "--yes", "--json", "--record", recordDir}, serverArgsOf(srv)...)...))
	var rots []flows.Report
	if err := json.Unmarshal([]byte(rr.stdout), &rots); err != nil || len(rots) != 1 || rots[0].Rotation == nil {
		t.Fatalf("rotate targets --json: %v\n%s", err, rr)
	}
	rot := rots[0].Rotation
	if rot.NewKeyID == rep.Init.Targets.ID || rots[0].TargetsKey == nil || !rots[0].TargetsKey.Gone {
		t.Fatalf("rotation %+v, deletion %+v", rot, rots[0].TargetsKey)
	}
	mds, _ := filepath.Glob(filepath.Join(recordDir, "dctwiz-ceremony-*.md"))
	if len(mds) != 1 {
		t.Fatalf("record files %v", mds)
	}
	md, _ := os.ReadFile(mds[0])
	for _, want := range []string{"# Docker Content Trust rotate targets ceremony", "| rotate-key | done |", "| verify-as-consumers | done |",
		"Targets key rotated: `" + rep.Init.Targets.ID + "` replaced by `" + rot.NewKeyID + "` (deleted from the trust dir again)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the rotation record lacks %q:\n%s", want, md)
		}
	}
	for name, dir := range map[string]string{"the cache from before": notaryDir, "an empty cache": t.TempDir()} {
		notaryDir = dir
		if out := notaryCLI(nil, "lookup", gun, "1.0"); !strings.Contains(out, hexDigest) {
			t.Errorf("notary lookup after the rotation, %s: %q", name, out)
		}
		if out := notaryCLI(nil, "delegation", "list", gun); !strings.Contains(out, "targets/signpath") {
			t.Errorf("notary delegation list after the rotation, %s:\n%s", name, out)
		}
	}
	for name, cfg := range map[string]string{"the cache from before": dockerCfg, "an empty cache": t.TempDir()} {
		if cfg != dockerCfg {
			os.MkdirAll(filepath.Join(cfg, "tls", srv.Host()), 0o700)
			os.WriteFile(filepath.Join(cfg, "tls", srv.Host(), "ca.crt"), ca, 0o600)
		}
		in := dockerTrustInspectAt(t, srv, docker, cfg, gun)
		if admin := adminKeys(in); len(admin["Repository"]) != 1 || admin["Repository"][0] != rot.NewKeyID || admin["Root"][0] != rep.Init.Root.ID {
			t.Errorf("docker after the rotation, %s: administrative keys %v, want Repository %s", name, admin, rot.NewKeyID)
		}
		if len(in.SignedTags) != 1 || in.SignedTags[0].Digest != hexDigest || len(in.Signers) != 1 {
			t.Errorf("docker after the rotation, %s: tags %+v, signers %+v", name, in.SignedTags, in.Signers)
		}
	}
	if n := keyFileCount(t, filepath.Join(e["DOCKER_CONFIG"], "trust")); n != 1 {
		t.Errorf("%d key files in the trust dir after the rotation, want the root key alone", n)
	}

	// The server's keys, rotated in turn: still server-managed, and every
	// consumer (the notary CLI from its earlier cache, docker from an empty
	// one) still resolves the tag.
	// The snapshot key made local (in the trust dir), then handed back to
	// the server, before the server's keys are rotated in turn.
	mustOK(t, dctwizBinary(t, e, append([]string{"rotate", "snapshot", gun, "--local", "--yes"}, serverArgsOf(srv)...)...))
	if out := notaryCLI(nil, "lookup", gun, "1.0"); !strings.Contains(out, hexDigest) {
		t.Errorf("notary lookup with a local snapshot key: %q", out)
	}
	for _, role := range []string{"snapshot", "timestamp"} {
		rr := mustOK(t, dctwizBinary(t, e, append([]string{"rotate", role, gun, "--yes", "--json"}, serverArgsOf(srv)...)...))
		var reps []flows.Report
		if err := json.Unmarshal([]byte(rr.stdout), &reps); err != nil || len(reps) != 1 || reps[0].Rotation == nil {
			t.Fatalf("rotate %s --json: %v\n%s", role, err, rr)
		}
		rot := reps[0].Rotation
		if rot.Role != role || rot.Location != "server" || slices.Contains(rot.OldKeyIDs, rot.NewKeyID) {
			t.Errorf("rotate %s: %+v", role, rot)
		}
		if out := notaryCLI(nil, "lookup", gun, "1.0"); !strings.Contains(out, hexDigest) {
			t.Errorf("notary lookup after rotating the %s key: %q", role, out)
		}
		checkServerKeys("after rotating the " + role + " key")
		cfg := t.TempDir()
		os.MkdirAll(filepath.Join(cfg, "tls", srv.Host()), 0o700)
		os.WriteFile(filepath.Join(cfg, "tls", srv.Host(), "ca.crt"), ca, 0o600)
		if in := dockerTrustInspectAt(t, srv, docker, cfg, gun); len(in.SignedTags) != 1 {
			t.Errorf("docker after rotating the %s key: tags %+v", role, in.SignedTags)
		}
	}
	if n := keyFileCount(t, filepath.Join(e["DOCKER_CONFIG"], "trust")); n != 1 {
		t.Errorf("%d key files in the trust dir after the server keys' rotations, want the root key alone", n)
	}
}

// serverKeyTypes reads a cached root.json: the key type of the snapshot
// and timestamp roles' keys (each must have one).
func serverKeyTypes(t *testing.T, rootFile string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(rootFile)
	if err != nil {
		t.Fatal(err)
	}
	var root struct {
		Signed struct {
			Keys  map[string]struct{ KeyType string }
			Roles map[string]struct{ KeyIDs []string }
		}
	}
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatalf("%s: %v", rootFile, err)
	}
	types := map[string]string{}
	for _, role := range []string{"snapshot", "timestamp"} {
		ids := root.Signed.Roles[role].KeyIDs
		if len(ids) != 1 {
			t.Fatalf("%s: the %s role has keys %v, want one", rootFile, role, ids)
		}
		types[role] = root.Signed.Keys[ids[0]].KeyType
	}
	return types
}

// dockerInspection is what `docker trust inspect` says of a repository.
type dockerInspection struct {
	Name       string
	SignedTags []struct {
		SignedTag string
		Digest    string
		Signers   []string
	}
	Signers []struct {
		Name string
		Keys []struct{ ID string }
	}
	AdministrativeKeys []struct {
		Name string
		Keys []struct{ ID string }
	}
}

// dockerTrustInspect runs the docker client (no daemon) with the docker
// config dockerCfg, whose trust cache it keeps between calls.
func dockerTrustInspect(t *testing.T, docker, dockerCfg, gun string) dockerInspection {
	t.Helper()
	return dockerTrustInspectAt(t, notary, docker, dockerCfg, gun)
}

// dockerTrustInspectAt is dockerTrustInspect against server srv.
func dockerTrustInspectAt(t *testing.T, srv *testbed.NotaryServer, docker, dockerCfg, gun string) dockerInspection {
	t.Helper()
	cmd := exec.Command(docker, "trust", "inspect", gun)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DOCKER_CONFIG=" + dockerCfg,
		"DOCKER_CONTENT_TRUST_SERVER=" + srv.URL}
	dout, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker trust inspect: %v\n%s", err, dout)
	}
	var inspected []dockerInspection
	if err := json.Unmarshal(dout, &inspected); err != nil || len(inspected) != 1 {
		t.Fatalf("docker trust inspect output: %v\n%s", err, dout)
	}
	return inspected[0]
}

// adminKeys maps docker's administrative key names to their IDs.
func adminKeys(in dockerInspection) map[string][]string {
	admin := map[string][]string{}
	for _, k := range in.AdministrativeKeys {
		for _, key := range k.Keys {
			admin[k.Name] = append(admin[k.Name], key.ID)
		}
	}
	return admin
}

func fetchManifest(t *testing.T, ref string) []byte {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	return desc.Manifest
}
