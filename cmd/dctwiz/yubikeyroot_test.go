package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/internal/testbed"
	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
	"github.com/dctwiz/dctwiz/yubikey/virtual"
)

// TestYubiKeyBackupAndRootRotation: setup with the root key on one
// virtual YubiKey and a backup on a second, both through pcscd, each with
// its own PIN and attestation CA; the root role names exactly the two
// slot keys, as Yubico's tool reads them. The primary is then pulled out
// and a third token inserted: the backup alone moves the root onto it.
// On the way: a wrong PIN for the new token publishes nothing; the backup
// pulled out while it waits to sign (after its PIN was checked) publishes
// nothing, and the rerun converges with the key the first run made on the
// new token. After it, root.json carries the old and the new signatures;
// the notary CLI and docker with the caches they filled before follow, and
// so do fresh ones; the notary CLI pinned to the old root certificate from
// a fresh cache fails, as documented; the new token alone signs a later
// targets rotation.
func TestYubiKeyBackupAndRootRotation(t *testing.T) {
	needBed(t)
	const primary, backup, third = 8101, 8102, 8103
	vtA := insertYubiKeyAt(t, testbed.VPCDPortA, primary, true)
	// The backup says when it waits for a touch: the test pulls it out
	// right then, once armed.
	// The touch takes a second: ample time for the test to pull the card
	// once told (the hook must not block: the card's connection would
	// then never close).
	var pullAtTouch atomic.Bool
	waiting := make(chan struct{}, 8)
	backupOpts := virtual.Options{Serial: backup, TouchDelay: time.Second, OnTouchWait: func() {
		if pullAtTouch.CompareAndSwap(true, false) {
			waiting <- struct{}{}
		}
	}}
	vtB := insertCardAt(t, testbed.VPCDPortB, backupOpts, true)
	bundle := filepath.Join(t.TempDir(), "attestation-cas.pem")
	var cas []byte
	for _, vt := range []*testbed.VirtualToken{vtA, vtB} {
		cas = append(cas, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vt.Card.AttestationCA()})...)
	}
	os.WriteFile(bundle, cas, 0o644)
	gun := newGUN()
	e := newEnv(t).without("NOTARY_ROOT_PASSPHRASE").with("DCTWIZ_YUBIKEY_PIN", ykPIN)

	rootCrt := filepath.Join(t.TempDir(), "root.crt")
	r := mustOK(t, dctwizBinary(t, e, append([]string{"setup", gun, "--root-key", "yubikey:8101", "--backup-root-key", "yubikey:8102",
		"--attestation-ca", bundle, "--delegation", "signpath=" + writeCert(t, testbed.CertSpec{CommonName: "signpath"}),
		"--touch-policy", "always", "--root-cert-out", rootCrt, "--delete-targets-key", "--yes", "--json"}, serverArgs()...)...))
	var rep flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Init == nil || rep.Init.BackupRoot == nil {
		t.Fatalf("setup with a backup YubiKey: %v\n%s", err, r)
	}
	// Each token's attestation proves one of the two published root keys,
	// and is written beside the certificates.
	for name, ar := range map[string]*trust.AttestationReport{"primary": rep.Attestation, "backup": rep.BackupAttestation} {
		if ar == nil || !ar.Verified {
			t.Errorf("the %s's attestation: %+v", name, ar)
			continue
		}
		if _, err := os.Stat(ar.File); err != nil {
			t.Errorf("the %s's attestation file: %v", name, err)
		}
	}
	if rep.Attestation != nil && rep.BackupAttestation != nil && (rep.Attestation.Serial != primary || rep.BackupAttestation.Serial != backup) {
		t.Errorf("attestations of %d and %d, want %d and %d", rep.Attestation.Serial, rep.BackupAttestation.Serial, primary, backup)
	}
	// The root role's keys are the two slot keys, as piv-go and Yubico's
	// tool read them.
	rootCanon := rootCanonicalIDs(t, notary.URL, notary.CACert, gun)
	want := []string{slotKeyID(t, primary), slotKeyID(t, backup)}
	slices.Sort(rootCanon)
	slices.Sort(want)
	if !slices.Equal(rootCanon, want) {
		t.Errorf("the root role's keys %v, the tokens' slot keys %v", rootCanon, want)
	}
	var signedRoot data.Signed
	if err := json.Unmarshal(rootJSON(t, notary.URL, notary.CACert, gun), &signedRoot); err != nil {
		t.Fatal(err)
	}
	if root, err := data.RootFromSigned(&signedRoot); err != nil || root.Signed.Roles[data.CanonicalRootRole].Threshold != 1 {
		t.Errorf("the root role's threshold is not 1 (either token alone signs): %v", err)
	}
	if byTool := sortedIDs([]string{pivToolKeyID(t, "Virtual PCD 00 00"), pivToolKeyID(t, "Virtual PCD 00 01")}); !slices.Equal(byTool, want) {
		t.Errorf("yubico-piv-tool reads the slot keys %v, the root role names %v", byTool, want)
	}

	// Consumers read it before: their caches trust the two-key root.
	notaryCache := t.TempDir()
	if out, err := notaryCLI(notaryCache, nil, "delegation", "list", gun); err != nil {
		t.Fatalf("notary before: %v\n%s", err, out)
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal("the docker client is required for the interop check (.ci/run installs docker.io): ", err)
	}
	dockerCfg := newDockerConfig(t)
	if root := adminKeys(dockerTrustInspect(t, docker, dockerCfg, gun))["Root"]; len(root) != 2 {
		t.Fatalf("docker before: root keys %v, want the primary's and the backup's", root)
	}

	// The primary is lost; a new token arrives in its reader.
	vtA.Remove()
	vtC := insertYubiKeyAt(t, testbed.VPCDPortA, third, true)
	cas = append(cas, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vtC.Card.AttestationCA()})...)
	os.WriteFile(bundle, cas, 0o644)
	rotateVia := func(env env, server []string) result {
		return dctwizBinary(t, env, append([]string{"rotate", "root", gun, "--root-key", "yubikey:8102", "--new-root-key", "yubikey:8103",
			"--attestation-ca", bundle, "--touch-policy", "never", "--yes", "--json"}, server...)...)
	}
	rotate := func(env env) result { return rotateVia(env, serverArgs()) }
	unchanged := func(when string) {
		t.Helper()
		if now := rootCanonicalIDs(t, notary.URL, notary.CACert, gun); !slices.Equal(sortedIDs(now), want) {
			t.Errorf("%s the root role changed: %v", when, now)
		}
	}
	// A wrong PIN for the new token: refused, one try spent, nothing published.
	if r := rotate(e.with("DCTWIZ_YUBIKEY_PIN_8103", "000000")); r.code != 1 || !strings.Contains(r.stderr, "wrong PIN") {
		t.Errorf("a wrong PIN for the new token:\n%s", r)
	}
	unchanged("after a wrong PIN")
	// The backup pulled out after its PIN was checked, while it waits to
	// sign: nothing published, the error says what happened.
	pullAtTouch.Store(true)
	done := make(chan result)
	go func() { done <- rotate(e.with("DCTWIZ_YUBIKEY_PIN_8103", ykPIN)) }()
	select {
	case <-waiting:
	case <-time.After(2 * time.Minute):
		t.Fatal("the backup never waited for a touch")
	}
	vtB.Remove()
	if r := <-done; r.code != 1 || !strings.Contains(r.stderr, "the YubiKey was removed") || !strings.Contains(r.stderr, "reconnect the YubiKey") {
		t.Errorf("the backup pulled out while it waits to sign:\n%s", r)
	}
	unchanged("after the backup was pulled out")
	madeOnNew := slotKeyID(t, third)
	vtB, err = testbed.InsertCard(testbed.VPCDPortB, vtB.Card)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vtB.Remove)

	// The upload cut after both tokens signed: nothing published, no key
	// lost (they are on the tokens), and no second key made on the new one.
	proxy, err := testbed.StartProxy(notary.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.SetFault(testbed.CutBeforeUpload)
	r = rotateVia(e.with("DCTWIZ_YUBIKEY_PIN_8103", ykPIN), []string{"--server", "https://" + proxy.Addr, "--tlscacert", notary.CACert})
	if proxy.Cuts() == 0 || r.code != 1 || !strings.Contains(r.stderr, "nothing was published") {
		t.Errorf("the rotation's upload cut (%d cuts):\n%s", proxy.Cuts(), r)
	}
	unchanged("after the upload was cut")
	if now := slotKeyID(t, third); now != madeOnNew {
		t.Errorf("the run with the upload cut made another key on the new token: %s, was %s", now, madeOnNew)
	}

	r = mustOK(t, rotate(e.with("DCTWIZ_YUBIKEY_PIN_8103", ykPIN)))
	var reps []flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil || len(reps) != 1 || reps[0].RootRotation == nil {
		t.Fatalf("the backup moving the root onto the new token: %v\n%s", err, r)
	}
	rot := reps[0].RootRotation
	if !strings.Contains(r.stderr, "Touch YubiKey 8102 now") {
		t.Errorf("the touch prompt does not name the backup, which waits:\n%s", r.stderr)
	}
	if now := rootCanonicalIDs(t, notary.URL, notary.CACert, gun); len(now) != 1 || now[0] != madeOnNew || slotKeyID(t, third) != madeOnNew {
		t.Errorf("the root role after the rotation %v, want the key the first try made on the new token %s (now %s)", now, madeOnNew, slotKeyID(t, third))
	}
	// root.json is signed by the backup (the old root role) and the new key.
	if sigs := rootSignatureKeyIDs(t, gun); !slices.Contains(sigs, rep.Init.BackupRoot.ID) || !slices.Contains(sigs, rot.NewKeyIDs[0]) {
		t.Errorf("root.json is signed by %v, want the backup's %s and the new key's %s", sigs, rep.Init.BackupRoot.ID, rot.NewKeyIDs[0])
	}
	for name, cache := range map[string]string{"the cache from before": notaryCache, "an empty cache": t.TempDir()} {
		if out, err := notaryCLI(cache, nil, "delegation", "list", gun); err != nil {
			t.Errorf("notary after the root rotation, %s: %v\n%s", name, err, out)
		}
	}
	for name, cfg := range map[string]string{"the cache from before": dockerCfg, "an empty cache": newDockerConfig(t)} {
		if root := adminKeys(dockerTrustInspect(t, docker, cfg, gun))["Root"]; !slices.Equal(root, rot.NewKeyIDs) {
			t.Errorf("docker after the root rotation, %s: root keys %v, want %v", name, root, rot.NewKeyIDs)
		}
	}
	pinned := func(id string) (string, error) { return pinnedNotary(t, gun, id, "delegation", "list", gun) }
	if out, err := pinned(rep.Init.Root.ID); err == nil || !strings.Contains(out, pinFailure) {
		t.Errorf("the notary CLI pinned to the lost primary's certificate read the rotated repository:\n%s", out)
	}
	if out, err := pinned(rot.NewKeyIDs[0]); err != nil {
		t.Errorf("the notary CLI pinned to the new certificate: %v\n%s", err, out)
	}
	// The new token alone signs a later ceremony; the backup no longer can.
	mustOK(t, dctwizBinary(t, e, append([]string{"rotate", "targets", gun, "--root-key", "yubikey:8103", "--attestation-ca", bundle,
		"--delete-targets-key", "--yes"}, serverArgs()...)...))
	if r := dctwizBinary(t, e, append([]string{"rotate", "targets", gun, "--root-key", "yubikey:8102", "--attestation-ca", bundle, "--yes"}, serverArgs()...)...); r.code != 1 || !strings.Contains(r.stderr, "not the root key of") {
		t.Errorf("the rotated-out backup still signs:\n%s", r)
	}
	// The same token twice is refused before anything is asked.
	if r := dctwiz(e, append([]string{"rotate", "root", gun, "--root-key", "yubikey:8103", "--new-root-key", "yubikey:8102",
		"--backup-root-key", "yubikey:8102", "--yes"}, serverArgs()...)...); r.code != 2 || !strings.Contains(r.stderr, "same YubiKey") {
		t.Errorf("the same token as new and backup root key:\n%s", r)
	}
}

// rootCanonicalIDs are the canonical IDs of gun's root keys, as a fresh
// consumer reads them.
func rootCanonicalIDs(t *testing.T, server, caFile, gun string) []string {
	t.Helper()
	var signed data.Signed
	if err := json.Unmarshal(rootJSON(t, server, caFile, gun), &signed); err != nil {
		t.Fatal(err)
	}
	root, err := data.RootFromSigned(&signed)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range root.Signed.Roles[data.CanonicalRootRole].KeyIDs {
		cid, err := utils.CanonicalKeyID(root.Signed.Keys[id])
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, cid)
	}
	return ids
}

// rootJSON is gun's root.json as the server serves it now.
func rootJSON(t *testing.T, server, caFile, gun string) []byte {
	t.Helper()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(server + "/v2/" + gun + "/_trust/tuf/root.json")
	if err != nil {
		t.Fatalf("reading root.json: %v", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reading root.json: %v, %s", err, resp.Status)
	}
	return out
}

// slotKeyID is the canonical ID of the key in slot 9c of token serial.
func slotKeyID(t *testing.T, serial uint32) string {
	t.Helper()
	tok, err := yubikey.Open(serial)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	pub, _, _, err := tok.PublicKey(yubikey.SlotSignature)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return data.NewECDSAPublicKey(der).ID()
}

func sortedIDs(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// pivToolKeyID is the canonical ID of the key in slot 9c of the token in
// reader, as Yubico's yubico-piv-tool reads its certificate.
func pivToolKeyID(t *testing.T, reader string) string {
	t.Helper()
	out, err := exec.Command("yubico-piv-tool", "-r", reader, "-a", "read-certificate", "-s", "9c").CombinedOutput()
	if err != nil {
		t.Fatalf("yubico-piv-tool -r %q -a read-certificate -s 9c: %v\n%s", reader, err, out)
	}
	block, _ := pem.Decode(out)
	if block == nil {
		t.Fatalf("yubico-piv-tool printed no certificate:\n%s", out)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return data.NewECDSAPublicKey(der).ID()
}

// rootSignatureKeyIDs are the key IDs that signed gun's published root.json.
func rootSignatureKeyIDs(t *testing.T, gun string) []string {
	t.Helper()
	var signed data.Signed
	if err := json.Unmarshal(rootJSON(t, notary.URL, notary.CACert, gun), &signed); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range signed.Signatures {
		ids = append(ids, s.KeyID)
	}
	return ids
}

// newDockerConfig is a docker client config that trusts the test
// server's CA, with an empty trust cache.
func newDockerConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ca, err := os.ReadFile(notary.CACert)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "tls", notary.Host()), 0o700)
	if err := os.WriteFile(filepath.Join(dir, "tls", notary.Host(), "ca.crt"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestYubiKeyBatchOnePIN: one setup ceremony over a batch of 60
// repositories with the fleet's root key on a virtual YubiKey: the card's
// trace shows one PIN verification for the whole batch, and the notary CLI
// reads every repository afterwards.
func TestYubiKeyBatchOnePIN(t *testing.T) {
	needBed(t)
	const serial, batch = 8201, 60
	var trace lockedBuffer
	vt := insertCardAt(t, testbed.VPCDPortB, virtual.Options{Serial: serial, Trace: &trace}, true)
	pinChecks := func() int { return strings.Count(trace.String(), "> 00200080 [") }
	e := newEnv(t).without("NOTARY_ROOT_PASSPHRASE").with("DCTWIZ_YUBIKEY_PIN", ykPIN)
	ca := caFileOf(t, vt.Card)
	// The fleet's root key exists already, made by an earlier setup (making
	// it costs piv-go a second verification, to read the PIN-protected
	// management key).
	mustOK(t, dctwiz(e, append([]string{"setup", newGUN(), "--root-key", "yubikey:8201", "--attestation-ca", ca, "--touch-policy", "never",
		"--delegation", "signpath=" + writeCert(t, certSpecAlice), "--yes"}, serverArgs()...)...))
	before := pinChecks()
	var guns []string
	for range batch {
		guns = append(guns, newGUN())
	}
	list := filepath.Join(t.TempDir(), "repos.txt")
	os.WriteFile(list, []byte(strings.Join(guns, "\n")+"\n"), 0o644)
	began := time.Now()
	r := mustOK(t, dctwizBinary(t, e, append([]string{"setup", "--repos", list, "--root-key", "yubikey:8201", "--attestation-ca", ca,
		"--touch-policy", "never", "--delegation", "signpath=" + writeCert(t, certSpecAlice), "--delete-targets-key", "--yes", "--json"}, serverArgs()...)...))
	t.Logf("%d repositories set up in %s", batch, time.Since(began).Round(time.Millisecond))
	var reps []flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil || len(reps) != batch {
		t.Fatalf("the batch's reports: %v (%d)", err, len(reps))
	}
	if n := pinChecks() - before; n != 1 {
		t.Errorf("%d PIN verifications for a batch of %d, want 1", n, batch)
	}
	for _, g := range guns {
		out, err := exec.Command(bins.CLI, "-s", notary.URL, "--tlscacert", notary.CACert, "-d", t.TempDir(), "delegation", "list", g).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "targets/signpath") {
			t.Errorf("notary delegation list %s: %v\n%s", g, err, out)
		}
	}
}

// lockedBuffer is a bytes.Buffer the card writes to while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
