package trust_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/trust"
)

// hangingServer is a server that stops answering at one point of a
// request, until the test ends.
func hangingServer(t *testing.T, mode string) (url string, base http.RoundTripper) {
	t.Helper()
	done := make(chan struct{})
	if mode == "before TLS" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		t.Cleanup(func() { close(done) })
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { <-done; conn.Close() }() // accepted, never read
			}
		}()
		return "https://" + ln.Addr().String(), http.DefaultTransport.(*http.Transport).Clone()
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mode == "after the headers" {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("{"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) }) // first: the handlers return, then Close
	return srv.URL, srv.Client().Transport
}

// A notary server or registry that accepts a connection and never answers
// (before TLS, after TLS, after the headers) ends a command within the
// time limit, with an error that names the host and the limit. Without
// the limit, each of these waited forever.
func TestHangingServersEndWithinTheTimeLimit(t *testing.T) {
	const limit = time.Second
	for _, mode := range []string{"before TLS", "after TLS", "after the headers"} {
		for _, call := range []string{"notary server", "registry"} {
			if mode == "after the headers" && call == "registry" {
				continue // the registry is asked with HEAD: an answer without a body
			}
			t.Run(mode+", "+call, func(t *testing.T) {
				url, base := hangingServer(t, mode)
				host := strings.TrimPrefix(url, "https://")
				gun, err := trust.ParseGUN(host + "/acme/app")
				if err != nil {
					t.Fatal(err)
				}
				c, err := trust.New(trust.WithServer(url), trust.WithTrustDir(t.TempDir()), trust.WithTransport(base), trust.WithTimeout(limit))
				if err != nil {
					t.Fatal(err)
				}
				errc := make(chan error, 1)
				start := time.Now()
				go func() {
					if call == "registry" {
						_, err := c.ResolveTag(context.Background(), gun, "1.0")
						errc <- err
						return
					}
					_, err := c.Inspect(context.Background(), gun)
					errc <- err
				}()
				select {
				case err = <-errc:
				case <-time.After(20 * time.Second): // a bound on the test, not a timing
					t.Fatalf("still waiting after 20 s (limit %s)", limit)
				}
				t.Logf("ended after %s: %v", time.Since(start).Round(10*time.Millisecond), err)
				if err == nil || !strings.Contains(err.Error(), "within "+limit.String()) {
					t.Errorf("error %v; want one that says no answer within %s", err, limit)
				}
				want := trust.ErrServerUnreachable
				if call == "registry" {
					want = trust.ErrRegistry
				}
				if !errors.Is(err, want) {
					t.Errorf("error %v is not %v", err, want)
				}
			})
		}
	}
}
