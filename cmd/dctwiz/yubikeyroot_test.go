package main

import (
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
	"testing"

	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/internal/testbed"
	"github.com/dctwiz/dctwiz/yubikey"
)

// TestYubiKeyBackupAndRootRotation: setup with the root key on one
// virtual YubiKey and a backup on a second, both through pcscd, each with
// its own PIN and attestation CA; the root role names exactly the two
// slot keys. The primary is then pulled out and a third token inserted:
// the backup alone moves the root onto it, the notary CLI with the cache
// it filled before follows, and the new token alone signs a later
// targets rotation. A wrong PIN for the new token publishes nothing.
func TestYubiKeyBackupAndRootRotation(t *testing.T) {
	needBed(t)
	const primary, backup, third = 8101, 8102, 8103
	vtA := insertYubiKeyAt(t, testbed.VPCDPortA, primary, true)
	vtB := insertYubiKeyAt(t, testbed.VPCDPortB, backup, true)
	bundle := filepath.Join(t.TempDir(), "attestation-cas.pem")
	var cas []byte
	for _, vt := range []*testbed.VirtualToken{vtA, vtB} {
		cas = append(cas, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vt.Card.AttestationCA()})...)
	}
	os.WriteFile(bundle, cas, 0o644)
	gun := newGUN()
	e := newEnv(t).without("NOTARY_ROOT_PASSPHRASE").with("DCTWIZ_YUBIKEY_PIN", ykPIN)

	r := mustOK(t, dctwizBinary(t, e, append([]string{"setup", gun, "--root-key", "yubikey:8101", "--backup-root-key", "yubikey:8102",
		"--attestation-ca", bundle, "--delegation", "signpath=" + writeCert(t, testbed.CertSpec{CommonName: "signpath"}),
		"--touch-policy", "never", "--delete-targets-key", "--yes", "--json"}, serverArgs()...)...))
	var rep flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Init == nil || rep.Init.BackupRoot == nil {
		t.Fatalf("setup with a backup YubiKey: %v\n%s", err, r)
	}
	// The root role's keys are the two slot keys.
	rootCanon := rootCanonicalIDs(t, notary.URL, notary.CACert, gun)
	want := []string{slotKeyID(t, primary), slotKeyID(t, backup)}
	slices.Sort(rootCanon)
	slices.Sort(want)
	if !slices.Equal(rootCanon, want) {
		t.Errorf("the root role's keys %v, the tokens' slot keys %v", rootCanon, want)
	}
	notaryCache := t.TempDir()
	notaryList := func(cache string) (string, error) {
		out, err := exec.Command(bins.CLI, "-s", notary.URL, "--tlscacert", notary.CACert, "-d", cache, "delegation", "list", gun).CombinedOutput()
		return string(out), err
	}
	if out, err := notaryList(notaryCache); err != nil {
		t.Fatalf("notary before: %v\n%s", err, out)
	}

	// The primary is lost; a new token arrives in its reader.
	vtA.Remove()
	vtC := insertYubiKeyAt(t, testbed.VPCDPortA, third, true)
	cas = append(cas, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vtC.Card.AttestationCA()})...)
	os.WriteFile(bundle, cas, 0o644)
	rotate := func(env env) result {
		return dctwizBinary(t, env, append([]string{"rotate", "root", gun, "--root-key", "yubikey:8102", "--new-root-key", "yubikey:8103",
			"--attestation-ca", bundle, "--touch-policy", "never", "--yes", "--json"}, serverArgs()...)...)
	}
	// A wrong PIN for the new token: refused, one try spent, nothing published.
	if r := rotate(e.with("DCTWIZ_YUBIKEY_PIN_8103", "000000")); r.code != 1 || !strings.Contains(r.stderr, "wrong PIN") {
		t.Errorf("a wrong PIN for the new token:\n%s", r)
	}
	if now := rootCanonicalIDs(t, notary.URL, notary.CACert, gun); !slices.Equal(sortedIDs(now), want) {
		t.Errorf("after a wrong PIN the root role changed: %v", now)
	}
	r = mustOK(t, rotate(e.with("DCTWIZ_YUBIKEY_PIN_8103", ykPIN)))
	var reps []flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil || len(reps) != 1 || reps[0].RootRotation == nil {
		t.Fatalf("the backup moving the root onto the new token: %v\n%s", err, r)
	}
	if now := rootCanonicalIDs(t, notary.URL, notary.CACert, gun); len(now) != 1 || now[0] != slotKeyID(t, third) {
		t.Errorf("the root role after the rotation %v, want the new token's key %s", now, slotKeyID(t, third))
	}
	if out, err := notaryList(notaryCache); err != nil {
		t.Errorf("notary with the cache from before the rotation: %v\n%s", err, out)
	}
	// The new token alone signs a later ceremony; the backup no longer can.
	mustOK(t, dctwizBinary(t, e, append([]string{"rotate", "targets", gun, "--root-key", "yubikey:8103", "--attestation-ca", bundle,
		"--delete-targets-key", "--yes"}, serverArgs()...)...))
	if r := dctwizBinary(t, e, append([]string{"rotate", "targets", gun, "--root-key", "yubikey:8102", "--attestation-ca", bundle, "--yes"}, serverArgs()...)...); r.code != 1 {
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
	var signed data.Signed
	if err := json.Unmarshal(out, &signed); err != nil {
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
