package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/internal/testbed"
)

// badCase is a command line that must fail with code and say stderr (a
// piece of the first line).
type badCase struct {
	name   string
	env    env
	args   []string
	code   int
	stderr string
}

// TestBadInput runs every command with each kind of bad input it can get.
// Each must fail with its exit code and one clear line (plus a fix line)
// on stderr, and publish nothing.
func TestBadInput(t *testing.T) {
	needBed(t)
	ctx := context.Background()
	dir := t.TempDir()

	// One published repository with a signer, for the commands that need one.
	e := newEnv(t)
	gun := newGUN()
	if _, err := reg.PushRandomImage(ctx, strings.TrimPrefix(gun, reg.Host+"/"), "1.0"); err != nil {
		t.Fatal(err)
	}
	good := writeCert(t, testbed.CertSpec{CommonName: "alice"})
	mustOK(t, dctwiz(e, append([]string{"setup", gun, "--delegation", "alice=" + good}, serverArgs()...)...))

	cert := func(file string, spec testbed.CertSpec) string {
		path, _, err := testbed.WriteCert(dir, file, spec)
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
	// Static fixtures; certificates that expire are made as the test runs.
	garbage := filepath.Join("..", "..", "testdata", "certs", "garbage.crt")
	keyFile := filepath.Join("..", "..", "testdata", "certs", "private-key.pem")
	text := filepath.Join("..", "..", "testdata", "certs", "text.cer")
	expired := cert("expired.crt", testbed.CertSpec{NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)})
	expiredDER := cert("expired.cer", testbed.CertSpec{NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0), DER: true})
	rsa1024 := cert("rsa1024.crt", testbed.CertSpec{Key: "rsa1024"})
	sha1 := cert("sha1.crt", testbed.CertSpec{Key: "rsa2048", SHA1: true})
	p224 := cert("p224.crt", testbed.CertSpec{Key: "p224"})
	otherTLS, err := testbed.NewTLSFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// A server whose certificate, from a CA given with --tlscacert, names
	// another host than the one dialled.
	misnamed, err := testbed.NewTLSFilesNamed(t.TempDir(), "notary.invalid")
	if err != nil {
		t.Fatal(err)
	}
	misnamedProxy, err := testbed.StartFaultProxy(notary.URL, &misnamed, notary.CACert)
	if err != nil {
		t.Fatal(err)
	}
	defer misnamedProxy.Close()
	server := serverArgs()
	fresh := newGUN() // never initialised

	cases := []badCase{
		{"malformed GUN", e, append([]string{"init", "Acme/App!"}, server...), 2, "not a valid repository name"},
		{"a device as the root certificate's path", e, append([]string{"root-cert", "export", gun, "-o", "/dev/null"}, server...), 1, "the path exists and is a device"},
		{"an http server", e, []string{"inspect", gun, "--server", "http://" + notary.Addr}, 1, "not TLS: a notary server is reached over https"},
		{"credentials in the server URL", e, []string{"inspect", gun, "--server", "https://alice:s3cret@" + notary.Addr}, 1, "the server URL carries credentials"},
		{"credentials in DOCKER_CONTENT_TRUST_SERVER", e.with("DOCKER_CONTENT_TRUST_SERVER", "https://alice:s3cret@"+notary.Addr), []string{"check", gun}, 1, "the server URL carries credentials"},
		{"GUN with a tag", e, append([]string{"inspect", gun + ":1.0"}, server...), 2, "has no tag"},
		{"GUN with a digest", e, append([]string{"root-cert", "export", gun + "@sha256:abc"}, server...), 2, "has no digest"},
		{"unknown flag", e, []string{"inspect", "--bogus", gun}, 2, "unknown flag: --bogus"},
		{"unknown command", e, []string{"rotate-everything"}, 2, "unknown command"},
		{"missing argument", e, []string{"delegation", "add", gun}, 2, "dctwiz delegation add needs the repositories (or --repos FILE), then NAME and CERT: 1 argument(s) given"},
		{"the signer's name forgotten", e, []string{"delegation", "remove", gun}, 2, "dctwiz delegation remove needs the repositories (or --repos FILE), then NAME: 1 argument(s) given"},
		{"missing certificate", e, append([]string{"delegation", "add", gun, "bob", filepath.Join(dir, "nope.crt")}, server...), 1, "cannot read the certificate"},
		{"garbage certificate", e, append([]string{"delegation", "add", gun, "bob", garbage}, server...), 1, "not an X.509 certificate"},
		{"text file as DER certificate", e, append([]string{"delegation", "add", gun, "bob", text}, server...), 1, "not an X.509 certificate"},
		{"private key instead of certificate", e, append([]string{"delegation", "add", gun, "bob", keyFile}, server...), 1, "not a CERTIFICATE"},
		{"expired certificate", e, append([]string{"delegation", "add", gun, "bob", expired}, server...), 1, "expired on"},
		{"expired DER certificate", e, append([]string{"delegation", "add", gun, "bob", expiredDER}, server...), 1, "expired on"},
		{"RSA-1024 certificate", e, append([]string{"delegation", "add", gun, "bob", rsa1024}, server...), 1, "1024 bits"},
		{"SHA-1 certificate", e, append([]string{"delegation", "add", gun, "bob", sha1}, server...), 1, "SHA1-RSA, which is broken"},
		{"P-224 certificate", e, append([]string{"delegation", "add", gun, "bob", p224}, server...), 1, "P-224 is not supported"},
		{"bad signer name", e, append([]string{"delegation", "add", gun, "Bob", good}, server...), 2, "not a valid signer name"},
		{"reserved signer name", e, append([]string{"delegation", "add", gun, "releases", good}, server...), 2, `"releases" is reserved`},
		{"bad signer spec in setup", e, append([]string{"setup", fresh, "--delegation", "bob"}, server...), 2, "give NAME=CERT"},
		{"a device as certificate in setup", e, append([]string{"setup", fresh, "--delegation", "bob=/dev/zero"}, server...), 1, "/dev/zero: cannot read the certificate: not a regular file"},
		{"a device as TLS CA", e, []string{"inspect", gun, "--server", notary.URL, "--tlscacert", "/dev/zero"}, 1, "cannot read the TLS CA certificate: not a regular file"},
		{"expired certificate in setup", e, append([]string{"setup", fresh, "--delegation", "bob=" + expired}, server...), 1, "expired on"},
		{"wrong targets passphrase", e.with("NOTARY_TARGETS_PASSPHRASE", "not-the-passphrase"), append([]string{"delegation", "add", gun, "bob", good}, server...), 1, "wrong passphrase for the targets key"},
		{"docker's passphrase variable is read", e.without("NOTARY_TARGETS_PASSPHRASE").with("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "wrong-again-1"), append([]string{"delegation", "add", gun, "bob", good}, server...), 1, "wrong passphrase for the targets key"},
		{"no passphrase, no terminal", e.without("NOTARY_TARGETS_PASSPHRASE"), append([]string{"delegation", "add", gun, "bob", good}, server...), 1, "no passphrase given and no terminal"},
		{"wrong root passphrase", e.with("NOTARY_ROOT_PASSPHRASE", "not-the-root-pass"), append([]string{"init", fresh}, server...), 1, "wrong passphrase for the root key"},
		{"short passphrase for a new key", newEnv(t).with("NOTARY_TARGETS_PASSPHRASE", "short"), append([]string{"init", fresh}, server...), 1, "shorter than 8 characters"},
		{"YubiKey without a PIN, no terminal", e, append([]string{"init", fresh, "--root-key", "yubikey"}, server...), 1, "no PIN given and no terminal"},
		{"YubiKey serial not a number", e, append([]string{"init", fresh, "--root-key", "yubikey:abc"}, server...), 2, "serial is a number"},
		{"unknown PIV slot", e.with("DCTWIZ_YUBIKEY_PIN", "123456"), append([]string{"init", fresh, "--root-key", "yubikey", "--slot", "9z"}, server...), 2, "unknown PIV slot"},
		{"unknown touch policy", e.with("DCTWIZ_YUBIKEY_PIN", "123456"), append([]string{"init", fresh, "--root-key", "yubikey", "--touch-policy", "sometimes"}, server...), 2, "touch policy"},
		{"unknown root key source", e, append([]string{"init", fresh, "--root-key", "hsm"}, server...), 2, "use yubikey[:SERIAL], file or file:PATH"},
		{"missing root key file", e, append([]string{"init", fresh, "--root-key", "file:" + filepath.Join(dir, "nope.key")}, server...), 1, "cannot read the root key file"},
		{"server down", e, []string{"inspect", gun, "--server", "https://127.0.0.1:1", "--tlscacert", notary.CACert}, 1, "cannot reach the notary server"},
		{"not a server URL", e, []string{"inspect", gun, "--server", "notary.example.com"}, 1, "not a notary server URL"},
		{"wrong TLS CA", e, []string{"inspect", gun, "--server", notary.URL, "--tlscacert", otherTLS.CACert}, 1, "TLS certificate is not trusted"},
		{"no TLS CA", e, []string{"inspect", gun, "--server", notary.URL}, 1, "TLS certificate is not trusted"},
		{"TLS certificate for another name", e, []string{"inspect", gun, "--server", misnamedProxy.URL, "--tlscacert", misnamed.CACert}, 1,
			"the server's TLS certificate is for notary.invalid, not 127.0.0.1"},
		{"TLS certificate for another name, no CA file", e, []string{"inspect", gun, "--server", misnamedProxy.URL}, 1,
			"the server's TLS certificate is for notary.invalid, not 127.0.0.1"},
		{"unreadable TLS CA file", e, []string{"inspect", gun, "--server", notary.URL, "--tlscacert", filepath.Join(dir, "nope.pem")}, 1, "cannot read the TLS CA certificate"},
		{"bad NOTARY_AUTH", e.with("NOTARY_AUTH", "%%%"), append([]string{"inspect", gun}, server...), 1, "NOTARY_AUTH: not valid base64"},
		{"tag missing in registry", e, append([]string{"test-sign", gun + ":nope"}, server...), 1, "the registry has no such tag"},
		{"test-sign without tag", e, append([]string{"test-sign", gun}, server...), 2, "no tag given"},
		{"GUN without trust data: inspect", e, append([]string{"inspect", fresh}, server...), 1, "no trust data for this repository"},
		{"GUN without trust data: export", e, append([]string{"root-cert", "export", fresh}, server...), 1, "no trust data for this repository"},
		{"GUN without trust data: delegation add", e, append([]string{"delegation", "add", fresh, "bob", good}, server...), 1, "no trust data for this repository"},
		{"GUN without trust data: test-sign", e, append([]string{"test-sign", fresh + ":1.0"}, server...), 1, "no trust data for this repository"},
		{"GUN without trust data: delete key", e, append([]string{"targets-key", "delete", fresh, "--yes"}, server...), 1, "no trust data for this repository"},
		{"GUN already initialised", newEnv(t), append([]string{"init", gun}, server...), 1, "already has trust data"},
		{"remove last release signer without --yes", e, append([]string{"delegation", "remove", gun, "alice"}, server...), 2, "needs confirmation: pass --yes"},
		{"delete targets key without --yes", e, append([]string{"targets-key", "delete", gun}, server...), 2, "needs confirmation: pass --yes"},
		{"setup deleting the key without --yes", e, append([]string{"setup", fresh, "--delete-targets-key"}, server...), 2, "needs confirmation: pass --yes"},
		{"root certificate to stdout in setup", e, append([]string{"setup", fresh, "--root-cert-out", "-"}, server...), 2, "--root-cert-out -: the ceremony's report is on stdout"},
		{"root certificate to stdout in rotate root", e, append([]string{"rotate", "root", gun, "--new-root-key", "file:" + filepath.Join(dir, "new.key"), "--root-cert-out", "-", "--yes"}, server...), 2, "--root-cert-out -: the ceremony's report is on stdout"},
		{"-o - with --json", e, append([]string{"root-cert", "export", gun, "-o", "-", "--json"}, server...), 2, "-o - and --json would both write to stdout"},
	}
	// Every command, with the server down and with an untrusted TLS CA.
	for _, cmd := range [][]string{
		{"setup", fresh}, {"init", fresh}, {"delegation", "add", gun, "bob", good}, {"delegation", "list", gun},
		{"delegation", "remove", gun, "alice", "--yes"}, {"root-cert", "export", gun}, {"test-sign", gun + ":1.0"},
		{"targets-key", "delete", gun, "--yes"}, {"inspect", gun},
	} {
		name := strings.Join(cmd[:len(cmd)-1], " ")
		if cmd[0] == "init" || cmd[0] == "setup" || cmd[0] == "inspect" || cmd[0] == "test-sign" {
			name = cmd[0]
		}
		cases = append(cases,
			badCase{name + ": server down", e, append(cmd, "--server", "https://127.0.0.1:1", "--tlscacert", notary.CACert), 1, "cannot reach the notary server"},
			badCase{name + ": wrong TLS CA", e, append(cmd, "--server", notary.URL, "--tlscacert", otherTLS.CACert), 1, "TLS certificate is not trusted"},
		)
	}

	before := mustOK(t, dctwiz(e, append([]string{"inspect", gun, "--json"}, server...)...)).stdout

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dctwiz(tc.env, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r)
			}
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			var errLines []string
			for _, l := range lines {
				if strings.HasPrefix(l, "dctwiz: ") || strings.HasPrefix(l, "  fix: ") {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) == 0 || len(errLines) > 2 || !strings.HasPrefix(errLines[0], "dctwiz: ") {
				t.Fatalf("want one error line and at most one fix line on stderr:\n%s", r)
			}
			if !strings.Contains(errLines[0], tc.stderr) {
				t.Errorf("error line %q does not say %q", errLines[0], tc.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, "s3cret") {
				t.Errorf("a credential given in a URL shows in the output:\n%s", r)
			}
			if len(errLines[0]) > 300 || strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("the error is not one clear line:\n%s", r.stderr)
			}
		})
	}

	// Nothing above published anything.
	after := mustOK(t, dctwiz(e, append([]string{"inspect", gun, "--json"}, server...)...)).stdout
	if before != after {
		t.Errorf("a failed command changed the published repository:\nbefore %s\nafter %s", before, after)
	}
	if r := dctwiz(e, append([]string{"inspect", fresh}, server...)...); r.code != 1 || !strings.Contains(r.stderr, "no trust data") {
		t.Errorf("a failed command published %s:\n%s", fresh, r)
	}
}

// TestJSONErrorDocument: with --json a failure also prints a document with
// a stable kind on stdout, even when the command line itself is wrong.
func TestJSONErrorDocument(t *testing.T) {
	needBed(t)
	r := dctwiz(newEnv(t), append([]string{"inspect", newGUN(), "--json"}, serverArgs()...)...)
	if r.code != 1 || !strings.Contains(r.stdout, `"kind": "not_initialized"`) {
		t.Fatalf("want a not_initialized error document on stdout:\n%s", r)
	}
	r = dctwiz(newEnv(t), "inspect", "--bogus", "--json", newGUN())
	if r.code != 2 || !strings.Contains(r.stdout, `"kind": "usage"`) {
		t.Fatalf("want a usage error document on stdout:\n%s", r)
	}
}

// TestSetupFailureJSON: a failed setup prints one JSON document holding
// the error and the report; a tag missing from the registry stops it
// before anything is published.
func TestSetupFailureJSON(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	gun := newGUN()
	r := dctwiz(e, append([]string{"setup", gun, "--test-tag", "missing", "--json"}, serverArgs()...)...)
	var doc struct {
		Error  struct{ Kind string }
		Report *flows.Report
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, r)
	}
	if r.code != 1 || doc.Error.Kind != "tag_not_found" || doc.Report == nil || doc.Report.Steps == nil || len(doc.Report.Steps) != 0 {
		t.Errorf("failure document %+v\n%s", doc, r)
	}
	assertNoTrustData(t, gun)
}

// TestDeleteTargetsKeyNeedsASigner: the targets key of a repository
// without release signers is kept, whatever --yes says.
func TestDeleteTargetsKeyNeedsASigner(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	gun := newGUN()
	mustOK(t, dctwiz(e, append([]string{"init", gun}, serverArgs()...)...))
	r := dctwiz(e, append([]string{"targets-key", "delete", gun, "--yes"}, serverArgs()...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "no targets/releases signer") {
		t.Fatalf("deleting the only way to sign:\n%s", r)
	}
	if n := keyFileCount(t, filepath.Join(e["DOCKER_CONFIG"], "trust", "private")); n != 2 {
		t.Errorf("%d key files left, want root and targets", n)
	}
}

// TestDelegationRemove removes a signer through the CLI.
func TestDelegationRemove(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	gun := newGUN()
	mustOK(t, dctwiz(e, append([]string{"setup", gun, "--delegation", "alice=" + writeCert(t, certSpecAlice),
		"--delegation", "bob=" + writeCert(t, certSpecAlice)}, serverArgs()...)...))
	r := mustOK(t, dctwiz(e, append([]string{"delegation", "remove", gun, "alice"}, serverArgs()...)...))
	if !strings.Contains(r.stdout, "Removed signer alice") {
		t.Errorf("output:\n%s", r)
	}
	r = mustOK(t, dctwiz(e, append([]string{"delegation", "list", gun}, serverArgs()...)...))
	if strings.Contains(r.stdout, "targets/alice") || !strings.Contains(r.stdout, "targets/bob") {
		t.Errorf("after removing alice:\n%s", r)
	}
	// Again (a typo, or the rerun of a removal that landed): it says the
	// signer is not there and names those that are; a typo must not read
	// as a removal.
	r = dctwiz(e, append([]string{"delegation", "remove", gun, "alice"}, serverArgs()...)...)
	if want := gun + ` has no signer "alice" (its signers: bob)`; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("removing alice again: want exit 1 and %q\n%s", want, r)
	}
}

// root-cert export -o - prints the PEM on stdout, the facts on stderr,
// as without -o; no file named "-" appears.
func TestRootCertExportToStdout(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	gun := newGUN()
	mustOK(t, dctwiz(e, append([]string{"init", gun}, serverArgs()...)...))
	r := mustOK(t, dctwiz(e, append([]string{"root-cert", "export", gun, "-o", "-"}, serverArgs()...)...))
	if !strings.HasPrefix(r.stdout, "-----BEGIN CERTIFICATE-----") || !strings.Contains(r.stderr, "root key ID (pin this)") {
		t.Errorf("root-cert export -o -:\n%s", r)
	}
	if _, err := os.Stat("-"); err == nil {
		os.Remove("-")
		t.Error(`a file named "-" was written`)
	}
}

// TestDERCertificateAccepted: DER (.cer) certificates work as PEM ones do.
func TestDERCertificateAccepted(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	gun := newGUN()
	mustOK(t, dctwiz(e, append([]string{"init", gun}, serverArgs()...)...))
	path, _, err := testbed.WriteCert(t.TempDir(), "signer.cer", testbed.CertSpec{DER: true, Key: "rsa2048"})
	if err != nil {
		t.Fatal(err)
	}
	r := mustOK(t, dctwiz(e, append([]string{"delegation", "add", gun, "ci", path}, serverArgs()...)...))
	if !strings.Contains(r.stdout, "Added signer ci") {
		t.Errorf("output:\n%s", r)
	}
	r = mustOK(t, dctwiz(e, append([]string{"delegation", "list", gun}, serverArgs()...)...))
	if !strings.Contains(r.stdout, "targets/releases") || !strings.Contains(r.stdout, "targets/ci") {
		t.Errorf("delegation list:\n%s", r)
	}
}
