package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/passphrase"
	store "github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

func TestCheckForCron(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	gun := newGUN()
	mustOK(t, dctwiz(e, append([]string{"setup", gun, "--delegation", "signpath=" + writeCert(t, certSpecAlice)}, serverArgs()...)...))

	// A new repository: nothing within 90 days (the server renews its timestamp).
	r := dctwiz(newEnv(t), append([]string{"check", gun}, serverArgs()...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "✓ nothing expires within 90d") || !strings.Contains(r.stdout, "timestamp metadata (renewed by the server)") ||
		!strings.Contains(r.stdout, "signer signpath's certificate CN=alice") || strings.Count(r.stdout, "CN=alice") != 1 {
		t.Fatalf("check of a new repository:\n%s", r)
	}

	// A window of 4000 days flags targets.json, root.json and the signer's
	// certificate, each with the command that renews it; exit 1, no error line.
	r = dctwiz(newEnv(t), append([]string{"check", gun, newGUN(), "--within", "4000d", "--json"}, serverArgs()...)...)
	var doc checkDocument
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 1 || doc.OK || len(doc.Repositories) != 2 || strings.Contains(r.stderr, "dctwiz:") {
		t.Fatalf("check --within 4000d --json: %v\n%s", err, r)
	}
	remedies := map[string]flows.Remedy{}
	for _, f := range doc.Repositories[0].Findings {
		remedies[f.What] = f.Remedy
	}
	if remedies["targets metadata"] != flows.RemedyRotateTargets || remedies["root metadata"] != flows.RemedyRotateTargets ||
		remedies["signer signpath's certificate CN=alice,O=Acme"] != flows.RemedyReplaceSigner {
		t.Errorf("findings %+v", doc.Repositories[0].Findings)
	}
	if doc.Repositories[1].Error == "" || !strings.Contains(doc.Repositories[1].Error, "no trust data") {
		t.Errorf("a repository without trust data: %+v", doc.Repositories[1])
	}
	r = dctwiz(newEnv(t), append([]string{"check", gun, "--within", "4000d"}, serverArgs()...)...)
	if r.code != 1 || !strings.Contains(r.stdout, "fix: dctwiz renew "+gun+" --root-key SPEC") || !strings.Contains(r.stdout, "fix: dctwiz delegation replace "+gun+" signpath RENEWED-CERT") {
		t.Errorf("check --within 4000d:\n%s", r)
	}
	// renew: nothing due within 30 days (no confirmation needed); within
	// 4000 days root.json and targets.json are re-signed by a targets-key
	// rotation, and the signer's certificate is left with its command.
	r = dctwiz(e, append([]string{"renew", gun, "--within", "30d"}, serverArgs()...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "nothing to renew within 30d") {
		t.Errorf("renew --within 30d:\n%s", r)
	}
	versions := func() map[string]int {
		v := map[string]int{}
		var in struct {
			Roles []struct {
				Role    string
				Version int
			}
		}
		out := mustOK(t, dctwiz(newEnv(t), append([]string{"inspect", gun, "--json"}, serverArgs()...)...))
		json.Unmarshal([]byte(out.stdout), &in)
		for _, r := range in.Roles {
			v[r.Role] = r.Version
		}
		return v
	}
	before := versions()
	r = dctwiz(e, append([]string{"renew", gun, "--within", "4000d", "--yes"}, serverArgs()...)...)
	after := versions()
	if r.code != 0 || !strings.Contains(r.stdout, "root.json and targets.json re-signed") || !strings.Contains(r.stdout, "still due: signer signpath's certificate") ||
		after["root"] != before["root"]+1 || after["targets"] <= before["targets"] {
		t.Errorf("renew --within 4000d: versions %v -> %v\n%s", before, after, r)
	}

	// Bad usage is exit 2.
	if r := dctwiz(newEnv(t), "check", gun, "--within", "soon"); r.code != 2 {
		t.Errorf("check --within soon:\n%s", r)
	}
}

// TestRenewRootAlone: a repository whose root.json ends within renew's
// window while targets.json has years left is renewed by the root key
// alone: root.json's next version, ten years ahead, the same root key ID,
// targets.json untouched and no targets key asked for or made (the env
// has no targets passphrase); the notary CLI with the cache it filled
// before follows.
func TestRenewRootAlone(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	gun := newGUN()
	r := mustOK(t, dctwiz(e, append([]string{"setup", gun, "--delegation", "signpath=" + writeCert(t, certSpecAlice), "--delete-targets-key", "--yes", "--json"}, serverArgs()...)...))
	var setup flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &setup); err != nil {
		t.Fatal(err)
	}
	expireRootSoon(t, e, gun, 60*24*time.Hour)
	cache := t.TempDir()
	notaryList := func() (string, error) {
		out, err := exec.Command(bins.CLI, "-s", notary.URL, "--tlscacert", notary.CACert, "-d", cache, "delegation", "list", gun).CombinedOutput()
		return string(out), err
	}
	if out, err := notaryList(); err != nil {
		t.Fatalf("notary before: %v\n%s", err, out)
	}
	r = dctwiz(newEnv(t), append([]string{"check", gun}, serverArgs()...)...)
	if r.code != 1 || !strings.Contains(r.stdout, "root metadata") || strings.Contains(r.stdout, "targets metadata:") {
		t.Errorf("check of a root.json near its end:\n%s", r)
	}
	roleOf := func(in *trust.Inspection, role string) trust.RoleExpiry {
		t.Helper()
		for _, r := range in.Roles {
			if r.Role == role {
				return r
			}
		}
		t.Fatalf("%s's inspection has no %s role: %+v", gun, role, in.Roles)
		return trust.RoleExpiry{}
	}
	targetsVersion := roleOf(inspectAsConsumer(t, notary.URL, notary.CACert, gun), "targets").Version
	noTargets := e.without("NOTARY_TARGETS_PASSPHRASE")
	r = mustOK(t, dctwiz(noTargets, append([]string{"renew", gun, "--yes"}, serverArgs()...)...))
	if !strings.Contains(r.stdout, gun+": root.json re-signed with the same root keys (version 3, expires ") ||
		!strings.Contains(r.stderr, "Publish root.json re-signed by the root key") || strings.Contains(r.stderr, "targets key") {
		t.Errorf("renew of root.json alone:\n%s", r)
	}
	in := inspectAsConsumer(t, notary.URL, notary.CACert, gun)
	if root := roleOf(in, "root"); root.Version != 3 || root.Expires.Before(time.Now().AddDate(9, 11, 0)) {
		t.Errorf("root.json after the renewal: version %d, expires %v", root.Version, root.Expires)
	}
	if v := roleOf(in, "targets").Version; v != targetsVersion {
		t.Errorf("targets.json changed: version %d, was %d", v, targetsVersion)
	}
	if ids := adminIDs(in, "Root"); len(ids) != 1 || ids[0] != setup.Init.Root.ID {
		t.Errorf("root keys %v, want the same %s", ids, setup.Init.Root.ID)
	}
	if n := keyFileCount(t, filepath.Join(e["DOCKER_CONFIG"], "trust", "private")); n != 1 {
		t.Errorf("%d key files in the trust dir, want the root key alone", n)
	}
	if out, err := notaryList(); err != nil {
		t.Errorf("notary with the cache from before the renewal: %v\n%s", err, out)
	}
	// Renewed: nothing is due any more.
	if r := mustOK(t, dctwiz(e, append([]string{"renew", gun}, serverArgs()...)...)); !strings.Contains(r.stdout, "nothing to renew within 180d") {
		t.Errorf("renew after the renewal:\n%s", r)
	}
}

// expireRootSoon re-signs gun's root.json with the root key in e's trust
// dir so that it expires after d (same keys, next version), through
// notary's library as a tool would: ten years gone by, made quick.
func expireRootSoon(t *testing.T, e env, gun string, d time.Duration) {
	t.Helper()
	ks, err := trustmanager.NewKeyFileStore(filepath.Join(e["DOCKER_CONFIG"], "trust"), passphrase.ConstantRetriever(e["NOTARY_ROOT_PASSPHRASE"]))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(notary.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	remote, err := store.NewNotaryServerStore(notary.URL, data.GUN(gun), &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	repo, _, err := client.LoadTUFRepo(client.TUFLoadOptions{GUN: data.GUN(gun), CryptoService: cryptoservice.NewCryptoService(ks), RemoteStore: remote, AlwaysCheckInitialized: true})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := repo.SignRoot(time.Now().Add(d), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(signed)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.SetMulti(map[string][]byte{data.CanonicalRootRole.String(): b}); err != nil {
		t.Fatal(err)
	}
}
