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
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/internal/testbed"
)

// TestSetupCeremonyInterop runs `dctwiz setup` as a real process, then
// checks what it published with the notary CLI and `docker trust inspect`.
func TestSetupCeremonyInterop(t *testing.T) {
	needBed(t)
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
		"--test-tag", "1.0", "--keep", "--json"}, serverArgs()...)
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
	mustOK(t, dctwiz(e, append([]string{"test-sign", gun + ":1.0", "--root-cert", rootCrt}, serverArgs()...)...))
	otherGUN := newGUN()
	otherCrt := filepath.Join(t.TempDir(), "other.crt")
	mustOK(t, dctwiz(newEnv(t), append([]string{"setup", otherGUN, "--root-cert-out", otherCrt}, serverArgs()...)...))
	if r := dctwiz(e, append([]string{"test-sign", gun + ":1.0", "--root-cert", otherCrt}, serverArgs()...)...); r.code != 1 || !strings.Contains(r.stderr, "does not verify") {
		t.Errorf("test-sign pinned to another repository's root certificate:\n%s", r)
	}

	// The notary CLI, from an empty trust dir.
	notaryDir := t.TempDir()
	notaryCLI := func(stdin []byte, args ...string) string {
		t.Helper()
		full := append([]string{"-s", notary.URL, "-d", notaryDir, "--tlscacert", notary.CACert}, args...)
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
	caDir := filepath.Join(dockerCfg, "tls", notary.Host())
	if err := os.MkdirAll(caDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ca, _ := os.ReadFile(notary.CACert)
	os.WriteFile(filepath.Join(caDir, "ca.crt"), ca, 0o600)
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal("the docker client is required for the interop check (.ci/run installs docker.io): ", err)
	}
	cmd := exec.Command(docker, "trust", "inspect", gun)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DOCKER_CONFIG=" + dockerCfg,
		"DOCKER_CONTENT_TRUST_SERVER=" + notary.URL}
	dout, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker trust inspect: %v\n%s", err, dout)
	}
	var inspected []struct {
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
	if err := json.Unmarshal(dout, &inspected); err != nil || len(inspected) != 1 {
		t.Fatalf("docker trust inspect output: %v\n%s", err, dout)
	}
	in := inspected[0]
	if len(in.SignedTags) != 1 || in.SignedTags[0].SignedTag != "1.0" || in.SignedTags[0].Digest != hexDigest {
		t.Errorf("docker sees tags %+v, want 1.0 -> %s", in.SignedTags, hexDigest)
	}
	signerKey := rep.Delegations[0].KeyIDs[0]
	if len(in.Signers) != 1 || in.Signers[0].Name != "signpath" || len(in.Signers[0].Keys) != 1 || in.Signers[0].Keys[0].ID != signerKey {
		t.Errorf("docker sees signers %+v, want signpath with key %s", in.Signers, signerKey)
	}
	admin := map[string][]string{}
	for _, k := range in.AdministrativeKeys {
		for _, key := range k.Keys {
			admin[k.Name] = append(admin[k.Name], key.ID)
		}
	}
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
	ir := mustOK(t, dctwiz(e, append([]string{"inspect", gun, "--json"}, serverArgs()...)...))
	if err := json.Unmarshal([]byte(ir.stdout), &ours); err != nil {
		t.Fatal(err)
	}
	if len(ours.Signers) != 1 || ours.Signers[0].KeyIDs[0] != signerKey || ours.AdministrativeKeys[0].KeyIDs[0] != rep.Init.Root.ID {
		t.Errorf("dctwiz inspect shows %+v, docker shows signer %s, root %s", ours, signerKey, rep.Init.Root.ID)
	}

	// Now delete the targets key: consumers still verify, the key is gone.
	r = mustOK(t, dctwizBinary(t, e, append([]string{"targets-key", "delete", gun, "--yes"}, serverArgs()...)...))
	if !strings.Contains(r.stdout, "verified gone") {
		t.Errorf("targets-key delete output:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(e["DOCKER_CONFIG"], "trust", "private", rep.Init.Targets.ID+".key")); !os.IsNotExist(err) {
		t.Errorf("the targets key file is still there: %v", err)
	}
	if out := notaryCLI(nil, "lookup", gun, "1.0"); !strings.Contains(out, hexDigest) {
		t.Errorf("after deleting the targets key, notary lookup = %q", out)
	}
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
