package testbed

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
)

// AuthProxy puts docker's token authentication in front of a server: a
// request without a valid bearer token gets 401 with a Bearer challenge;
// the token endpoint hands out tokens for basic-auth credentials that
// match User and Password, for the scope asked. Scopes records every scope
// a token was issued for.
type AuthProxy struct {
	URL      string // the proxy's base URL
	Addr     string
	User     string
	Password string

	mu     sync.Mutex
	tokens map[string]string // token -> scope
	scopes []string
	srv    *httptest.Server
}

// StartAuthProxy fronts target (a base URL). With tlsFiles set the proxy
// serves TLS with that certificate, else plain HTTP; caFile, if set, is
// trusted for the connection to an https target.
func StartAuthProxy(target string, tlsFiles *TLSFiles, caFile, user, password string) (*AuthProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &AuthProxy{User: user, Password: password, tokens: map[string]string{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	if caFile != "" {
		pool := x509.NewCertPool()
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool.AppendCertsFromPEM(pemBytes)
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: pool}
		rp.Transport = t
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", p.token)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		p.mu.Lock()
		_, ok := p.tokens[tok]
		p.mu.Unlock()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+p.URL+`/token",service="dctwiz-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		rp.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.srv = httptest.NewUnstartedServer(mux)
	p.srv.Listener.Close()
	p.srv.Listener = l
	if tlsFiles != nil {
		cert, err := tls.LoadX509KeyPair(tlsFiles.ServerCert, tlsFiles.ServerKey)
		if err != nil {
			return nil, err
		}
		p.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	p.URL = p.srv.URL
	p.Addr = l.Addr().String()
	return p, nil
}

func (p *AuthProxy) token(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != p.User || pass != p.Password {
		http.Error(w, "bad credentials", http.StatusUnauthorized)
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	scope := r.URL.Query().Get("scope")
	p.mu.Lock()
	p.tokens[tok] = scope
	p.scopes = append(p.scopes, scope)
	p.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]string{"token": tok})
}

// Scopes lists the scopes tokens were issued for.
func (p *AuthProxy) Scopes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.scopes...)
}

// Close stops the proxy.
func (p *AuthProxy) Close() { p.srv.Close() }
