package testbed

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
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
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	rp := httputil.NewSingleHostReverseProxy(u)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool}
	rp.Transport = t
	p := &RefusingProxy{refused: map[string]bool{}}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && p.refuses(r.URL.Path) {
			http.Error(w, `{"errors":[{"code":"UNAVAILABLE","message":"refused by the test proxy"}]}`, http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(tlsFiles.ServerCert, tlsFiles.ServerKey)
	if err != nil {
		l.Close()
		return nil, err
	}
	p.srv = httptest.NewUnstartedServer(handler)
	p.srv.Listener.Close()
	p.srv.Listener = l
	p.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	p.srv.StartTLS()
	p.URL = p.srv.URL
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
