package testbed

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sync/atomic"
	"time"
)

// HTTPFault is what a FaultProxy does to the requests it fronts: the
// hostile conditions a notary server (or what stands in front of one)
// can present.
type HTTPFault string

const (
	Pass             HTTPFault = "pass"               // forward everything
	HangAfterRequest HTTPFault = "hang after request" // read the request, never answer
	HangAfterCommit  HTTPFault = "hang after commit"  // forward a publish, then never answer it
	Status500        HTTPFault = "500"                // every request: 500
	Random503        HTTPFault = "503 at random"      // half the requests: 503
	HTML200          HTTPFault = "HTML 200"           // every request: a web page
	HugeBody         HTTPFault = "huge body"          // every GET: 1 GiB of zeros
	Slow             HTTPFault = "slow"               // each answer after SlowBy
	RedirectToHTTP   HTTPFault = "redirect to http"   // every request: 302 to http://
)

// SlowBy is how long a Slow proxy waits before each answer unless
// SetSlowBy says otherwise: slow, and well inside a time limit of seconds.
const SlowBy = 300 * time.Millisecond

// FaultProxy fronts a notary server over TLS and applies an HTTPFault.
type FaultProxy struct {
	URL    string
	fault  atomic.Value // HTTPFault
	slowBy atomic.Int64 // time.Duration
	srv    *httptest.Server
	stop   chan struct{}
}

// SetSlowBy changes how long a Slow proxy waits before each answer.
func (p *FaultProxy) SetSlowBy(d time.Duration) { p.slowBy.Store(int64(d)) }

// StartFaultProxy fronts target (a base URL) with the server certificate
// in tlsFiles, trusting caFile for the connection to target.
func StartFaultProxy(target string, tlsFiles *TLSFiles, caFile string) (*FaultProxy, error) {
	p := &FaultProxy{stop: make(chan struct{})}
	p.fault.Store(Pass)
	p.slowBy.Store(int64(SlowBy))
	srv, err := startTLSProxy(target, tlsFiles, caFile, func(rp *httputil.ReverseProxy, w http.ResponseWriter, r *http.Request) {
		p.serve(rp, w, r)
	})
	if err != nil {
		return nil, err
	}
	p.srv, p.URL = srv, srv.URL
	return p, nil
}

// Set changes the fault for the requests that follow.
func (p *FaultProxy) Set(f HTTPFault) { p.fault.Store(f) }

// Close stops the proxy; requests that hang are let go.
func (p *FaultProxy) Close() {
	close(p.stop)
	p.srv.Close()
}

func (p *FaultProxy) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-p.stop:
	}
}

func (p *FaultProxy) serve(rp *httputil.ReverseProxy, w http.ResponseWriter, r *http.Request) {
	switch p.fault.Load().(HTTPFault) {
	case HangAfterRequest:
		io.Copy(io.Discard, r.Body)
		p.hang(r)
	case HangAfterCommit:
		if r.Method != http.MethodPost {
			rp.ServeHTTP(w, r)
			return
		}
		rp.ServeHTTP(discard{w.Header()}, r) // the server commits; the answer is lost
		p.hang(r)
	case Status500:
		http.Error(w, "internal server error", http.StatusInternalServerError)
	case Random503:
		if rand.IntN(2) == 0 {
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	case HTML200:
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<!doctype html><html><body><h1>Sign in</h1></body></html>")
	case HugeBody:
		if r.Method != http.MethodGet || r.URL.Path == "/v2/" {
			rp.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		zeros := make([]byte, 1<<20)
		for range 1024 {
			if _, err := w.Write(zeros); err != nil {
				return
			}
		}
	case Slow:
		select {
		case <-time.After(time.Duration(p.slowBy.Load())):
		case <-r.Context().Done():
			return
		}
		rp.ServeHTTP(w, r)
	case RedirectToHTTP:
		http.Redirect(w, r, "http://"+r.Host+r.URL.RequestURI(), http.StatusFound)
	default:
		rp.ServeHTTP(w, r)
	}
}

// discard is a ResponseWriter that drops the answer.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// startTLSProxy serves handle over TLS on a loopback port with the server
// certificate in tlsFiles; handle gets a reverse proxy to target that
// trusts caFile.
func startTLSProxy(target string, tlsFiles *TLSFiles, caFile string,
	handle func(rp *httputil.ReverseProxy, w http.ResponseWriter, r *http.Request)) (*httptest.Server, error) {
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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(tlsFiles.ServerCert, tlsFiles.ServerKey)
	if err != nil {
		l.Close()
		return nil, err
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handle(rp, w, r) }))
	srv.Listener.Close()
	srv.Listener = l
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	return srv, nil
}
