package testbed

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

// StartProductionNotaryServer starts notary as production deployments
// (Docker Hub's among them) run it: notary-server storing in PostgreSQL,
// its snapshot and timestamp keys made and held by notary-signer, which
// it reaches over mutual TLS (each side's certificate checked against the
// test bed's CA), and which keeps the private keys encrypted in a
// PostgreSQL database of its own. The keys are ECDSA, as on Docker Hub;
// the memory server's are Ed25519. Close stops all three.
func StartProductionNotaryServer(ctx context.Context, dir string) (*NotaryServer, error) {
	bins, err := BuildNotary(ctx)
	if err != nil {
		return nil, err
	}
	modDir, err := moduleDir(ctx, NotaryModule)
	if err != nil {
		return nil, err
	}
	files, err := NewTLSFiles(dir)
	if err != nil {
		return nil, err
	}
	var after []func()
	fail := func(err error) (*NotaryServer, error) {
		for i := len(after) - 1; i >= 0; i-- {
			after[i]()
		}
		return nil, err
	}

	pg, err := StartPostgres(ctx, files)
	if err != nil {
		return fail(fmt.Errorf("test bed: PostgreSQL: %w", err))
	}
	after = append(after, pg.Close)
	serverDB, err := pg.Database(ctx, "notaryserver", migrations(modDir, "server"), files.CACert)
	if err != nil {
		return fail(fmt.Errorf("test bed: the server's database: %w", err))
	}
	signerDB, err := pg.Database(ctx, "notarysigner", migrations(modDir, "signer"), files.CACert)
	if err != nil {
		return fail(fmt.Errorf("test bed: the signer's database: %w", err))
	}

	signer, err := startSigner(bins.Signer, dir, files, signerDB)
	if err != nil {
		return fail(err)
	}
	after = append(after, signer.stop)
	host, port, _ := net.SplitHostPort(signer.addr)
	config := map[string]any{
		"trust_service": map[string]any{
			"type":            "remote",
			"hostname":        host,
			"port":            port,
			"tls_ca_file":     files.CACert,
			"tls_client_cert": files.ClientCert,
			"tls_client_key":  files.ClientKey,
			"key_algorithm":   "ecdsa",
		},
		"storage": map[string]any{"backend": "postgres", "db_url": serverDB},
	}
	s, err := startNotaryServer(bins.Server, dir, files, config, nil)
	if err != nil {
		return fail(fmt.Errorf("%w\nnotary-signer:\n%s\nPostgreSQL:\n%s", err, lastLines([]byte(signer.log.String()), 10), lastLines([]byte(pg.Log()), 10)))
	}
	s.Kind, s.DB, s.SignerAddr = "production", pg, signer.addr
	s.after = after
	return s, nil
}

// migrations are notary's own PostgreSQL schema files for the server or
// the signer, in order.
func migrations(modDir, service string) []string {
	files, _ := filepath.Glob(filepath.Join(modDir, "migrations", service, "postgresql", "*.up.sql"))
	sort.Strings(files)
	return files
}

// signerProcess is a running notary-signer.
type signerProcess struct {
	addr string
	cmd  *exec.Cmd
	log  *lockedWriter
	done chan struct{}
}

// startSigner starts notary-signer's gRPC service on loopback with the
// server certificate, asking every client for a certificate from the CA.
// The passphrase that encrypts its keys in the database comes from the
// environment, as notary-signer requires.
func startSigner(bin, dir string, files TLSFiles, dbURL string) (*signerProcess, error) {
	secret := make([]byte, 16)
	rand.Read(secret)
	p, err := onFreePort(func(addr string) (*signerProcess, error) {
		config := map[string]any{
			"server": map[string]any{
				"grpc_addr":      addr,
				"tls_cert_file":  files.ServerCert,
				"tls_key_file":   files.ServerKey,
				"client_ca_file": files.CACert,
			},
			"logging": map[string]any{"level": "warn"},
			"storage": map[string]any{"backend": "postgres", "db_url": dbURL, "default_alias": "bed"},
		}
		b, _ := json.Marshal(config)
		path := filepath.Join(dir, "signer-config.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
		p := &signerProcess{addr: addr, log: &lockedWriter{w: &bytes.Buffer{}}, done: make(chan struct{})}
		p.cmd = exec.Command(bin, "-config", path)
		p.cmd.Env = append(os.Environ(), "NOTARY_SIGNER_BED="+hex.EncodeToString(secret))
		p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
		if err := startChild(p.cmd); err != nil {
			return nil, fmt.Errorf("test bed: starting notary-signer: %w", err)
		}
		go func() { p.cmd.Wait(); close(p.done) }()
		if err := p.waitListening(15 * time.Second); err != nil {
			p.stop()
			return nil, err
		}
		return p, nil
	})
	if err != nil {
		return nil, fmt.Errorf("test bed: notary-signer did not come up: %w", err)
	}
	return p, nil
}

func (p *signerProcess) waitListening(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("it exited:\n%s", lastLines([]byte(p.log.String()), 10))
		default:
		}
		if c, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
			c.Close()
			return nil
		} else if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *signerProcess) stop() {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
	}
	<-p.done
}
