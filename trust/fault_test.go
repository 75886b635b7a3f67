package trust_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dctwiz/dctwiz/trust"
)

// dropNthPublish fails the nth POST (a publish) before it reaches the
// real server, as a connection lost mid-publish does.
type dropNthPublish struct {
	inner http.RoundTripper
	n     int64
	posts atomic.Int64
}

func (d *dropNthPublish) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && d.posts.Add(1) == d.n {
		return nil, errors.New("connection reset by peer")
	}
	return d.inner.RoundTrip(r)
}

func tlsTo(t *testing.T) http.RoundTripper {
	t.Helper()
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(notary.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(ca)
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = &tls.Config{RootCAs: pool}
	return base
}

// TestTestSignRemovalFails: when removing the test signature fails, the
// error says the signature is still published, and running test-sign
// again recognises it as a test signature and removes it.
func TestTestSignRemovalFails(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	gun := newGUN(t)
	if _, err := c.Init(ctx, gun, trust.FileRootKey("")); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.PushRandomImage(ctx, gun.Path(), "rc1"); err != nil {
		t.Fatal(err)
	}
	faulty := newClient(t, trust.WithTrustDir(c.TrustDir()), trust.WithTransport(&dropNthPublish{inner: tlsTo(t), n: 2}))
	_, err := faulty.TestSign(ctx, gun, "rc1", trust.TestSignOptions{})
	if !errors.Is(err, trust.ErrPublish) || !strings.Contains(err.Error(), "still published") {
		t.Fatalf("a failed removal: %v; want ErrPublish saying the test signature is still published", err)
	}
	if in, err := c.Inspect(ctx, gun); err != nil || len(in.SignedTags) != 1 {
		t.Fatalf("after the failed removal: %+v, %v; want the test signature there", in, err)
	}
	res, err := c.TestSign(ctx, gun, "rc1", trust.TestSignOptions{})
	if err != nil || res.Existing || res.Kept {
		t.Fatalf("rerun: %+v, %v; want the leftover test signature verified and removed", res, err)
	}
	if in, err := c.Inspect(ctx, gun); err != nil || len(in.SignedTags) != 0 {
		t.Errorf("after the rerun: tags %+v, %v; want none", in, err)
	}
}

// TestPublishOutcomeUnknown: when the publish fails and the server cannot
// be asked afterwards, the error does not claim that nothing was published.
func TestPublishOutcomeUnknown(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	gun := newGUN(t)
	if _, err := c.Init(ctx, gun, trust.FileRootKey("")); err != nil {
		t.Fatal(err)
	}
	cert, _ := signerCert(t, testbedSpec("ci"))
	down := &goesDown{inner: tlsTo(t)}
	faulty := newClient(t, trust.WithTrustDir(c.TrustDir()), trust.WithTransport(down))
	_, err := faulty.AddDelegation(ctx, gun, "ci", cert)
	if !errors.Is(err, trust.ErrPublish) || strings.Contains(err.Error(), "nothing was published") || !strings.Contains(err.Error(), "could not be asked") {
		t.Fatalf("publish with the server gone: %v", err)
	}
}

// goesDown lets requests through until the first POST, then fails everything.
type goesDown struct {
	inner http.RoundTripper
	gone  atomic.Bool
}

func (g *goesDown) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost {
		g.gone.Store(true)
	}
	if g.gone.Load() {
		return nil, errors.New("connection refused")
	}
	return g.inner.RoundTrip(r)
}
