package trust_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/trust"
)

// The fuzz targets: every parser of what a user or a file hands dctwiz.
// `make test` runs each for a few seconds (and always their seeds, here
// and in testdata/fuzz), `make fuzz` for longer. Each checks more than
// "no panic": what is accepted is what the rule says.

func FuzzParseGUN(f *testing.F) {
	for _, s := range []string{"docker.io/acme/app", "acme/app", "ubuntu", "registry.example.com:5000/team/app",
		"Acme/App", "acme//app", "acme/app:1.0", "acme/app@sha256:0123", "", "localhost/a", strings.Repeat("a/", 200) + "b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := trust.ParseGUN(s)
		if err != nil {
			return
		}
		if len(g.String()) > 255 {
			t.Fatalf("ParseGUN(%q) accepted %d characters", s, len(g.String()))
		}
		again, err := trust.ParseGUN(g.String())
		if err != nil || again.String() != g.String() {
			t.Fatalf("ParseGUN(%q) = %q, which parses as %q, %v", s, g, again, err)
		}
		// Only a registry's port may hold a colon.
		if rest := regexp.MustCompile(`^[^/:@ ]+:[0-9]+/`).ReplaceAllString(g.String(), ""); strings.ContainsAny(rest, ":@ \t\n") {
			t.Fatalf("ParseGUN(%q) = %q holds a tag, digest or space", s, g)
		}
	})
}

func FuzzParseGUNTag(f *testing.F) {
	for _, s := range []string{"docker.io/acme/app:1.0", "acme/app:latest", "localhost:5000/a:b", "acme/app", "acme/app:", ":1.0", "acme/app:1.0:2.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, tag, err := trust.ParseGUNTag(s)
		if err != nil {
			return
		}
		if tag == "" || strings.ContainsAny(tag, ":/@ ") || len(tag) > 128 {
			t.Fatalf("ParseGUNTag(%q): tag %q", s, tag)
		}
		if g2, tag2, err := trust.ParseGUNTag(g.String() + ":" + tag); err != nil || g2.String() != g.String() || tag2 != tag {
			t.Fatalf("ParseGUNTag(%q) = %q, %q does not round-trip: %q, %q, %v", s, g, tag, g2, tag2, err)
		}
	})
}

var signerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

func FuzzValidSignerName(f *testing.F) {
	for _, s := range []string{"signpath", "ci-bot", "a_b", "releases", "Bob", "-x", "", "targets/x", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if trust.ValidSignerName(s) == nil && (!signerName.MatchString(s) || s == "releases" || len("targets/"+s) > 255) {
			t.Fatalf("ValidSignerName accepted %q", s)
		}
	})
}

func FuzzParseRepoList(f *testing.F) {
	f.Add([]byte("docker.io/acme/app\n# a comment\nacme/api   # the API\n\n"))
	f.Add([]byte("acme/app\nacme/app\n"))
	f.Add([]byte("Acme/App\n"))
	f.Add([]byte("\xff\xfe\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		guns, err := trust.ParseRepoList("list", b)
		if err != nil {
			if !strings.Contains(err.Error(), "list") {
				t.Fatalf("an error that does not name the list: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, g := range guns {
			if _, err := trust.ParseGUN(g.String()); err != nil || seen[g.String()] {
				t.Fatalf("the list gave %q (valid: %v, twice: %v)", g, err, seen[g.String()])
			}
			seen[g.String()] = true
		}
	})
}

func FuzzParseCertificate(f *testing.F) {
	for _, name := range []string{"garbage.crt", "text.cer", "private-key.pem"} {
		if b, err := os.ReadFile(filepath.Join("..", "testdata", "certs", name)); err == nil {
			f.Add(b)
		}
	}
	for _, name := range []string{"signpath.crt", "root.crt"} {
		if b, err := os.ReadFile(filepath.Join("..", "ui", "testdata", "certs", name)); err == nil {
			f.Add(b)
		}
	}
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := trust.ParseCertificate("cert", b, now)
		if err != nil {
			return
		}
		if len(c.KeyID) != 64 || len(c.Fingerprint) != 64 || c.X509.IsCA || now.After(c.X509.NotAfter) {
			t.Fatalf("accepted a certificate it should not have: %+v", c)
		}
	})
}

func FuzzRootCertIDs(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "ui", "testdata", "certs", "root.crt")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := trust.RootCertIDs("root.crt", b)
		if err == nil && len(ids) == 0 {
			t.Fatal("no error and no key ID")
		}
	})
}

// The limits dctwiz checks are the server's: a signer name of the longest
// length publishes (notary refuses role names of 256 characters), one
// character more is refused before anything is published; a GUN of 255
// characters sets up, 256 is refused (a production server's column).
func TestNameLimitsAreTheServers(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	gun := newGUN(t)
	if _, err := c.Init(ctx, gun, trust.FileRootKey("")); err != nil {
		t.Fatal(err)
	}
	cert, _ := signerCert(t, testbedSpec("long"))
	longest := strings.Repeat("s", 255-len("targets/"))
	if _, err := c.AddDelegation(ctx, gun, longest, cert); err != nil {
		t.Fatalf("a signer name of %d characters: %v", len(longest), err)
	}
	if _, err := c.AddDelegation(ctx, gun, longest+"s", cert); !errors.Is(err, trust.ErrBadSignerName) || !strings.Contains(err.Error(), "at most 247") {
		t.Errorf("a signer name of %d characters: %v", len(longest)+1, err)
	}
	prefix := reg.Host + "/acme/"
	long := prefix + strings.Repeat("a", 255-len(prefix))
	g, err := trust.ParseGUN(long)
	if err != nil {
		t.Fatalf("a GUN of 255 characters: %v", err)
	}
	if _, err := c.Init(ctx, g, trust.FileRootKey("")); err != nil {
		t.Errorf("init of a GUN of 255 characters: %v", err)
	}
	if _, err := trust.ParseGUN(long + "a"); !errors.Is(err, trust.ErrBadGUN) || !strings.Contains(err.Error(), "at most 255") {
		t.Errorf("a GUN of 256 characters: %v", err)
	}
}
