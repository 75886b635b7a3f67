package trust_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/internal/testbed"
	"github.com/dctwiz/dctwiz/trust"
)

func TestParseGUN(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"docker.io/acme/app", "docker.io/acme/app", nil},
		{"acme/app", "docker.io/acme/app", nil},
		{"ubuntu", "docker.io/library/ubuntu", nil},
		{"index.docker.io/acme/app", "docker.io/acme/app", nil},
		{"registry.example.com:5000/team/app", "registry.example.com:5000/team/app", nil},
		{"myreg.jfrog.io/myrepo/myimage", "myreg.jfrog.io/myrepo/myimage", nil},
		{"", "", trust.ErrBadGUN},
		{"   ", "", trust.ErrBadGUN},
		{"acme/app:1.0", "", trust.ErrBadGUN},
		{"acme/app@sha256:0123", "", trust.ErrBadGUN},
		{"Acme/App", "", trust.ErrBadGUN},
		{"acme//app", "", trust.ErrBadGUN},
		{"acme/app!", "", trust.ErrBadGUN},
	} {
		g, err := trust.ParseGUN(tc.in)
		if tc.err != nil {
			if _, fix := trust.FixFor(err); !errors.Is(err, tc.err) || fix == "" {
				t.Errorf("ParseGUN(%q) = %v, %v; want %v with a fix", tc.in, g, err, tc.err)
			}
			continue
		}
		if err != nil || g.String() != tc.want {
			t.Errorf("ParseGUN(%q) = %q, %v; want %q", tc.in, g, err, tc.want)
		}
	}
	if got := trust.DefaultServerURL(mustGUN(t, "acme/app")); got != "https://notary.docker.io" {
		t.Errorf("Docker Hub's notary: %s", got)
	}
	if got := trust.DefaultServerURL(mustGUN(t, "reg.example.com/a/b")); got != "https://reg.example.com" {
		t.Errorf("a private registry's notary: %s", got)
	}
}

func mustGUN(t *testing.T, s string) trust.GUN {
	t.Helper()
	g, err := trust.ParseGUN(s)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// big writes a file just over trust.MaxInputFile.
func big(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "big.crt")
	if err := os.WriteFile(p, make([]byte, trust.MaxInputFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	write := func(name string, spec testbed.CertSpec) string {
		p, _, err := testbed.WriteCert(dir, name, spec)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	fixture := func(name string) string { return filepath.Join("..", "testdata", "certs", name) }
	for _, tc := range []struct {
		name    string
		path    string
		err     string // "" = accepted
		keyType string
		warn    bool
	}{
		{"P-256 PEM", write("p256.pem", testbed.CertSpec{}), "", "ECDSA P-256", false},
		{"P-384 DER", write("p384.cer", testbed.CertSpec{Key: "p384", DER: true}), "", "ECDSA P-384", false},
		{"RSA 2048", write("rsa.crt", testbed.CertSpec{Key: "rsa2048"}), "", "RSA 2048", false},
		{"expires in a month", write("soon.crt", testbed.CertSpec{NotAfter: now.AddDate(0, 1, 0)}), "", "ECDSA P-256", true},
		{"missing", filepath.Join(dir, "nope"), "cannot read the certificate: no such file or directory", "", false},
		// A path typed by mistake is refused before it is read whole.
		{"a device", "/dev/zero", "not a regular file", "", false},
		{"a folder", dir, "not a regular file", "", false},
		{"larger than a certificate", big(t, dir), "larger than 1024 KiB", "", false},
		{"garbage PEM", fixture("garbage.crt"), "not an X.509 certificate", "", false},
		{"text as DER", fixture("text.cer"), "not an X.509 certificate", "", false},
		{"private key", fixture("private-key.pem"), "not a CERTIFICATE", "", false},
		{"expired", write("old.crt", testbed.CertSpec{NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(0, 0, -1)}), "expired on", "", false},
		{"not yet valid", write("future.crt", testbed.CertSpec{NotBefore: now.AddDate(0, 1, 0)}), "not valid before", "", false},
		{"RSA 1024", write("rsa1024.crt", testbed.CertSpec{Key: "rsa1024"}), "1024 bits", "", false},
		{"SHA-1 RSA", write("sha1.crt", testbed.CertSpec{Key: "rsa2048", SHA1: true}), "SHA1-RSA", "", false},
		{"SHA-1 ECDSA", write("sha1ec.crt", testbed.CertSpec{SHA1: true}), "ECDSA-SHA1", "", false},
		{"P-224", write("p224.crt", testbed.CertSpec{Key: "p224"}), "P-224", "", false},
		{"a CA's certificate", write("ca.crt", testbed.CertSpec{CA: true}), "a CA's (basic constraints CA:TRUE)", "", false},
		{"no digital signature", write("encipher.crt", testbed.CertSpec{NoSigning: true}), "does not allow signing", "", false},
		{"Ed25519", write("ed.crt", testbed.CertSpec{Key: "ed25519"}), "Ed25519 keys are not supported", "", false},
		{"a chain of two", chain(t, dir, write("leaf.crt", testbed.CertSpec{}), write("issuer.crt", testbed.CertSpec{})), "holds 2 certificates, not one", "", false},
	} {
		c, err := trust.LoadCertificate(tc.path, now)
		if tc.err != "" {
			if !errors.Is(err, trust.ErrBadCertificate) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v; want ErrBadCertificate saying %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.KeyType != tc.keyType || (len(c.Warnings) > 0) != tc.warn || len(c.Fingerprint) != 64 || len(c.KeyID) != 64 {
			t.Errorf("%s: %+v; want %s, warning %v", tc.name, c, tc.keyType, tc.warn)
		}
	}
}

// chain is a PEM file with the certificates of the files given, in order.
func chain(t *testing.T, dir string, paths ...string) string {
	t.Helper()
	var all []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	out := filepath.Join(dir, "chain.pem")
	if err := os.WriteFile(out, all, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValidSignerName(t *testing.T) {
	for name, ok := range map[string]bool{
		"signpath": true, "ci-bot_2": true, "0day": true,
		"releases": false, "": false, "Alice": false, "-x": false, "a/b": false, "a b": false, "targets/x": false,
	} {
		if err := trust.ValidSignerName(name); (err == nil) != ok || (err != nil && !errors.Is(err, trust.ErrBadSignerName)) {
			t.Errorf("ValidSignerName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

// TestEngineBadInput drives the engine's calls with bad input and checks
// the kind of error each returns.
func TestEngineBadInput(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	gun := newGUN(t)
	if _, err := c.Init(ctx, gun, trust.FileRootKey("")); err != nil {
		t.Fatal(err)
	}
	fresh := newGUN(t)
	cert, _ := signerCert(t, testbed.CertSpec{})
	wrongPass := newClient(t, trust.WithTrustDir(c.TrustDir()), trust.WithPassphrases(trust.Passphrases{Root: "nope-nope-nope", Targets: "nope-nope-nope"}))
	noPass := newClient(t, trust.WithTrustDir(c.TrustDir()), trust.WithPassphrases(trust.Passphrases{}))
	down := newClient(t, trust.WithServer("https://127.0.0.1:1"))
	otherCA, _ := testbed.NewTLSFiles(t.TempDir())
	wrongCA := newClient(t, trust.WithCACert(otherCA.CACert))

	for _, tc := range []struct {
		name string
		call func() error
		kind error
	}{
		{"init an initialised GUN from another key store", func() error { _, err := newClient(t).Init(ctx, gun, trust.FileRootKey("")); return err }, trust.ErrAlreadyInitialized},
		{"init with a wrong root passphrase", func() error { _, err := wrongPass.Init(ctx, fresh, trust.FileRootKey("")); return err }, trust.ErrWrongPassphrase},
		{"init without passphrases", func() error { _, err := noPass.Init(ctx, fresh, trust.FileRootKey("")); return err }, trust.ErrPassphraseRequired},
		{"init with a missing root key file", func() error {
			_, err := c.Init(ctx, fresh, trust.FileRootKey(filepath.Join(t.TempDir(), "x.key")))
			return err
		}, trust.ErrNoRootKey},
		{"add a signer with a wrong targets passphrase", func() error { _, err := wrongPass.AddDelegation(ctx, gun, "bob", cert); return err }, trust.ErrWrongPassphrase},
		{"add a signer without a certificate", func() error { _, err := c.AddDelegation(ctx, gun, "bob", nil); return err }, trust.ErrBadCertificate},
		{"add a reserved signer", func() error { _, err := c.AddDelegation(ctx, gun, "releases", cert); return err }, trust.ErrBadSignerName},
		{"add a signer to a GUN without trust data", func() error { _, err := c.AddDelegation(ctx, fresh, "bob", cert); return err }, trust.ErrNotInitialized},
		{"replace an unknown signer", func() error { _, err := c.ReplaceDelegation(ctx, gun, "carol", cert); return err }, trust.ErrNotFound},
		{"export from a GUN without trust data", func() error { _, err := c.RootCertificates(ctx, fresh); return err }, trust.ErrNotInitialized},
		{"test-sign a missing tag", func() error { _, err := c.TestSign(ctx, gun, "nope", trust.TestSignOptions{}); return err }, trust.ErrTagNotFound},
		{"delete the targets key of a repository without signers", func() error { _, err := c.DeleteTargetsKey(ctx, gun); return err }, trust.ErrNoSigner},
		{"delete the targets key of a GUN without trust data", func() error { _, err := c.DeleteTargetsKey(ctx, fresh); return err }, trust.ErrNotInitialized},
		{"inspect with the server down", func() error { _, err := down.Inspect(ctx, gun); return err }, trust.ErrServerUnreachable},
		{"inspect with the wrong TLS CA", func() error { _, err := wrongCA.Inspect(ctx, gun); return err }, trust.ErrTLS},
		{"resolve pinned to a wrong root", func() error {
			_, err := c.ResolveAsConsumer(ctx, gun, []string{strings.Repeat("ab", 32)}, "1.0")
			return err
		}, trust.ErrVerification},
		{"init without a root key", func() error { _, err := c.Init(ctx, fresh, nil); return err }, trust.ErrBadInput},
		{"init without a repository", func() error { _, err := c.Init(ctx, trust.GUN{}, trust.FileRootKey("")); return err }, trust.ErrBadInput},
		{"a bad CA file", func() error {
			_, err := trust.New(trust.WithCACert(filepath.Join(t.TempDir(), "none.pem")))
			return err
		}, trust.ErrBadInput},
		{"bad NOTARY_AUTH", func() error { _, err := trust.BasicAuthFromEnv("NOTARY_AUTH", "dXNlcg=="); return err }, trust.ErrBadInput},
	} {
		err := tc.call()
		var e *trust.Error
		if !errors.Is(err, tc.kind) || !errors.As(err, &e) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want a one-line %v", tc.name, err, tc.kind)
		}
	}
	// Removing a signer that is not there names the signers that are: a
	// typo must not pass for a removal.
	if _, err := c.RemoveDelegation(ctx, gun, "carol", true); !errors.Is(err, trust.ErrNotFound) || !strings.Contains(err.Error(), `has no signer "carol" (its signers: `) {
		t.Errorf("remove an unknown signer: %v", err)
	}
}
