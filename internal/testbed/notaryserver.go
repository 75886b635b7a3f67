package testbed

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// NotaryServer is a running notary-server over TLS on loopback: with
// in-memory storage and its built-in signer (StartNotaryServer), or as
// production runs it, with notary-signer and PostgreSQL
// (StartProductionNotaryServer).
type NotaryServer struct {
	Kind   string   // "memory" or "production"
	URL    string   // https://127.0.0.1:PORT
	Addr   string   // 127.0.0.1:PORT
	CACert string   // PEM file of the CA that signed the server's certificate
	TLS    TLSFiles // the server's certificate and key, and that CA
	Dir    string

	// The production server's parts: its database cluster and the
	// signer's gRPC address. Nil and empty for the memory server.
	DB         *Postgres
	SignerAddr string

	cmd   *exec.Cmd
	log   *lockedWriter
	once  sync.Once
	done  chan struct{}
	after []func() // what the server needs (signer, database), stopped after it
}

// StartNotaryServer builds (or reuses) the patched server and starts it in
// dir. Close stops it.
func StartNotaryServer(ctx context.Context, dir string) (*NotaryServer, error) {
	bins, err := BuildNotary(ctx)
	if err != nil {
		return nil, err
	}
	files, err := NewTLSFiles(dir)
	if err != nil {
		return nil, err
	}
	config := map[string]any{
		"trust_service": map[string]any{"type": "local"},
		"storage":       map[string]any{"backend": "memory"},
	}
	return startNotaryServer(bins.Server, dir, files, config, nil)
}

// startNotaryServer starts the server with config (its trust service and
// storage) on a free loopback port; one taken meanwhile by another
// process is tried again.
func startNotaryServer(bin, dir string, files TLSFiles, config map[string]any, env []string) (*NotaryServer, error) {
	return onFreePort(func(addr string) (*NotaryServer, error) {
		config["server"] = map[string]any{
			"http_addr":     addr,
			"tls_cert_file": files.ServerCert,
			"tls_key_file":  files.ServerKey,
		}
		config["logging"] = map[string]any{"level": "warn"}
		return startNotaryServerOn(bin, dir, addr, files, config, env)
	})
}

// onFreePort runs start on a free loopback address, up to three times:
// another process may take the port between its pick and the listen.
func onFreePort[T any](start func(addr string) (T, error)) (T, error) {
	var zero T
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr, err := freeLoopbackAddr()
		if err != nil {
			return zero, err
		}
		v, err := start(addr)
		if err == nil {
			return v, nil
		}
		lastErr = err
	}
	return zero, lastErr
}

func startNotaryServerOn(bin, dir, addr string, files TLSFiles, config map[string]any, env []string) (*NotaryServer, error) {
	b, _ := json.Marshal(config)
	configPath := filepath.Join(dir, "server-config.json")
	if err := os.WriteFile(configPath, b, 0o600); err != nil {
		return nil, err
	}
	s := &NotaryServer{
		Kind:   "memory",
		URL:    "https://" + addr,
		Addr:   addr,
		CACert: files.CACert,
		TLS:    files,
		Dir:    dir,
		log:    &lockedWriter{w: &bytes.Buffer{}},
		done:   make(chan struct{}),
	}
	s.cmd = exec.Command(bin, "-config", configPath)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.cmd.Stdout
	if err := startChild(s.cmd); err != nil {
		return nil, fmt.Errorf("test bed: starting notary-server: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	if err := s.waitReady(15 * time.Second); err != nil {
		s.Close()
		return nil, fmt.Errorf("test bed: notary-server on %s did not come up: %v\n%s", addr, err, lastLines([]byte(s.Log()), 20))
	}
	return s, nil
}

func (s *NotaryServer) waitReady(limit time.Duration) error {
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(s.CACert)
	if err != nil {
		return err
	}
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{
		Timeout:   time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("the server exited")
		default:
		}
		resp, err := client.Get(s.URL + "/_notary_server/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("health check: %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log returns what the server printed so far, for test failure messages.
func (s *NotaryServer) Log() string { return s.log.String() }

// Exited is closed when the server process ends, whoever ended it.
func (s *NotaryServer) Exited() <-chan struct{} { return s.done }

// Close stops the server, and then what it needs, and waits for them to exit.
func (s *NotaryServer) Close() {
	s.once.Do(func() {
		if s.cmd.Process != nil {
			s.cmd.Process.Kill()
		}
		<-s.done
		for i := len(s.after) - 1; i >= 0; i-- {
			s.after[i]()
		}
	})
}

// Host returns host:port, the form docker uses for tls/<host:port>/ca.crt.
func (s *NotaryServer) Host() string { return strings.TrimPrefix(s.URL, "https://") }

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
