package trust_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/trust"
)

// A server that answers every request with a web page (a proxy's login
// page, the registry's UI) is "not a notary server", never a repository
// that is "already set up" or trust data that "does not verify". Before,
// setup said "already initialised".
func TestAWebPageIsNotANotaryServer(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><html><body>Sign in</body></html>"))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	gun, _ := trust.ParseGUN(host + "/acme/app")
	c, err := trust.New(trust.WithServer(srv.URL), trust.WithTrustDir(t.TempDir()), trust.WithTransport(srv.Client().Transport),
		trust.WithPassphrases(trust.Passphrases{Root: rootPass, Targets: targetsPass}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"init":    func() error { _, err := c.Init(ctx, gun, trust.FileRootKey("")); return err },
		"inspect": func() error { _, err := c.Inspect(ctx, gun); return err },
		"check":   func() error { _, err := c.Delegations(ctx, gun); return err },
	} {
		err := call()
		if !errors.Is(err, trust.ErrNotNotary) || !strings.Contains(err.Error(), "not a notary server") {
			t.Errorf("%s against a web page: %v", name, err)
		}
	}
}
