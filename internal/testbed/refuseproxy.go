package testbed

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync"
)

// RefusingProxy fronts a notary server over TLS and answers 503 to every
// publish (POST) for the GUNs it is told to refuse: a server that fails
// for some repositories of a batch and not the others.
type RefusingProxy struct {
	URL string

	mu      sync.Mutex
	refused map[string]bool
	srv     *httptest.Server
}

// StartRefusingProxy fronts target (a base URL) with the server
// certificate in tlsFiles, trusting caFile for the connection to target.
func StartRefusingProxy(target string, tlsFiles *TLSFiles, caFile string) (*RefusingProxy, error) {
	p := &RefusingProxy{refused: map[string]bool{}}
	srv, err := startTLSProxy(target, tlsFiles, caFile, func(rp *httputil.ReverseProxy, w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && p.refuses(r.URL.Path) {
			http.Error(w, `{"errors":[{"code":"UNAVAILABLE","message":"refused by the test proxy"}]}`, http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	})
	if err != nil {
		return nil, err
	}
	p.srv, p.URL = srv, srv.URL
	return p, nil
}

// Refuse makes every later publish for gun fail; Allow lets it through again.
func (p *RefusingProxy) Refuse(gun string) { p.set(gun, true) }

// Allow lets publishes for gun through again.
func (p *RefusingProxy) Allow(gun string) { p.set(gun, false) }

func (p *RefusingProxy) set(gun string, refuse bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refused[gun] = refuse
}

// refuses says whether path is the trust data of a refused GUN.
func (p *RefusingProxy) refuses(path string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for gun, refused := range p.refused {
		if refused && strings.HasPrefix(path, "/v2/"+gun+"/_trust/") {
			return true
		}
	}
	return false
}

// Close stops the proxy.
func (p *RefusingProxy) Close() { p.srv.Close() }
