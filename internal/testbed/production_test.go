package testbed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The production-shaped server is what it claims: notary-server signs
// with ECDSA keys that notary-signer made and keeps, encrypted, in
// PostgreSQL; the signer admits only clients with a certificate from the
// CA; the server's metadata is in PostgreSQL too.
func TestProductionNotaryServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, notary-signer and notary-server")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := StartProductionNotaryServer(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Kind != "production" {
		t.Errorf("kind %q", s.Kind)
	}
	bins, err := BuildNotary(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The notary CLI makes a repository whose snapshot and timestamp keys
	// the server holds.
	gun := "example.com/acme/prod"
	notary := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bins.CLI, append([]string{"-s", s.URL, "-d", dir + "/cli", "--tlscacert", s.CACert}, args...)...)
		cmd.Env = append(os.Environ(), "NOTARY_ROOT_PASSPHRASE=root-pass-1", "NOTARY_TARGETS_PASSPHRASE=targets-pass-1",
			"NOTARY_SNAPSHOT_PASSPHRASE=snap-pass-1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("notary %s: %v\n%s\nserver:\n%s", strings.Join(args, " "), err, out, s.Log())
		}
		return string(out)
	}
	notary("init", gun)
	notary("key", "rotate", gun, "snapshot", "--server-managed")
	notary("publish", gun)

	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(s.CACert)
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(s.URL + "/v2/" + gun + "/_trust/tuf/root.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var root struct {
		Signed struct {
			Keys map[string]struct {
				KeyType string `json:"keytype"`
			}
			Roles map[string]struct {
				KeyIDs []string `json:"keyids"`
			}
		}
	}
	if err := json.Unmarshal(body, &root); err != nil {
		t.Fatalf("root.json: %v\n%s", err, body)
	}
	for _, role := range []string{"snapshot", "timestamp"} {
		ids := root.Signed.Roles[role].KeyIDs
		if len(ids) != 1 {
			t.Errorf("the %s role has keys %v, want one", role, ids)
		} else if typ := root.Signed.Keys[ids[0]].KeyType; typ != "ecdsa" {
			t.Errorf("the %s key is %q, want ecdsa", role, typ)
		}
	}

	// The signer made them and keeps them, encrypted under its passphrase
	// alias; the server keeps the metadata.
	keys, err := s.DB.Query(ctx, "notarysigner", "SELECT role, algorithm, passphrase_alias, encryption_alg FROM private_keys WHERE gun = '"+gun+"' ORDER BY role, id")
	if err != nil {
		t.Fatal(err)
	}
	if want := "snapshot|ecdsa|bed|A256GCM\ntimestamp|ecdsa|bed|A256GCM\n"; keys != want {
		t.Errorf("notary-signer's database holds\n%s\nwant\n%s", keys, want)
	}
	roles, err := s.DB.Query(ctx, "notaryserver", "SELECT DISTINCT role FROM tuf_files WHERE gun = '"+gun+"' ORDER BY role")
	if err != nil {
		t.Fatal(err)
	}
	if roles != "root\nsnapshot\ntargets\ntimestamp\n" {
		t.Errorf("notary-server's database holds the roles %q", roles)
	}

	// Mutual TLS: the signer ends a handshake without a client
	// certificate from the CA; with the server's, it waits for gRPC.
	clientCert, err := tls.LoadX509KeyPair(s.TLS.ClientCert, s.TLS.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		certs  []tls.Certificate
		admits bool
	}{
		{"no client certificate", nil, false},
		{"the server's server certificate", []tls.Certificate{mustPair(t, s.TLS.ServerCert, s.TLS.ServerKey)}, false},
		{"the client certificate", []tls.Certificate{clientCert}, true},
	} {
		conn, err := tls.Dial("tcp", s.SignerAddr, &tls.Config{RootCAs: pool, Certificates: tc.certs, NextProtos: []string{"h2"}})
		if err == nil {
			conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		// Admitted, the signer waits for the client's HTTP/2 preface: the
		// read times out (or brings its settings frame). Refused, the
		// handshake or the first read fails with an alert.
		refused := err != nil && !os.IsTimeout(err)
		if refused == tc.admits {
			t.Errorf("%s: %v; want admitted %v", tc.name, err, tc.admits)
		}
	}
}

func mustPair(t *testing.T, cert, key string) tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
