package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dctwiz/dctwiz/internal/testbed"
)

// The CLI's tests run against one real notary server (TLS on loopback),
// one real registry, the dctwiz binary built from this package, and the
// notary CLI built from the pinned module.
var (
	notary    *testbed.NotaryServer
	reg       *testbed.Registry
	bins      testbed.NotaryBinaries
	dctwizBin string
	gunSeq    atomic.Int64
)

func TestMain(m *testing.M) {
	code := bed.Run(m)
	prodBed.Stop()
	os.Exit(code)
}

// bed is started by the first test that needs it (needBed): pure tests of
// the command tree and its options never wait for the notary build.
var bed = &testbed.Lazy{Start: startBed}

// needBed starts the test bed if it is not up yet; with -short it skips the test.
func needBed(t *testing.T) {
	t.Helper()
	bed.Get(t)
}

// prodBed is a second notary server, shaped as production runs it
// (notary-signer over mutual TLS, PostgreSQL, ECDSA server keys), started
// by the first test that needs it; it shares the bed's registry.
var prodBed = &testbed.Lazy{Start: func() (*testbed.Bed, error) { return testbed.StartProduction(context.Background()) }}

// onEachServer runs test against both notary servers side by side, a
// subtest each: the setup ceremony with its interop checks, and the fault
// modes.
func onEachServer(t *testing.T, test func(*testing.T, *testbed.NotaryServer)) {
	t.Helper()
	needBed(t)
	for _, srv := range []*testbed.NotaryServer{notary, prodBed.Get(t).Notary} {
		t.Run(srv.Kind, func(t *testing.T) {
			t.Parallel()
			test(t, srv)
		})
	}
}

// startBed builds notary's server and CLI and dctwiz, and starts the
// notary server and the registry.
func startBed() (*testbed.Bed, error) {
	ctx := context.Background()
	var err error
	if bins, err = testbed.BuildNotary(ctx); err != nil {
		return nil, fmt.Errorf("the test bed needs notary's server and CLI: %w", err)
	}
	b, err := testbed.Start(ctx)
	if err != nil {
		return nil, err
	}
	notary, reg = b.Notary, b.Registry
	dctwizBin = filepath.Join(b.Dir, "dctwiz") // goes with the bed
	if out, err := exec.Command("go", "build", "-o", dctwizBin, ".").CombinedOutput(); err != nil {
		b.Close()
		return nil, fmt.Errorf("building dctwiz: %v\n%s", err, out)
	}
	return b, nil
}

const (
	rootPass    = "root-passphrase-1"
	targetsPass = "targets-passphrase-1"
)

// env is a test's environment: the passphrases and a scratch docker config.
type env map[string]string

func newEnv(t *testing.T) env {
	t.Helper()
	cfg := t.TempDir()
	return env{
		"NOTARY_ROOT_PASSPHRASE":    rootPass,
		"NOTARY_TARGETS_PASSPHRASE": targetsPass,
		"DOCKER_CONFIG":             cfg,
	}
}

func (e env) without(keys ...string) env {
	out := env{}
	for k, v := range e {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

func (e env) with(k, v string) env {
	out := e.without()
	out[k] = v
	return out
}

// result is what one dctwiz run printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// serverArgs point a command at the test bed.
func serverArgs() []string { return serverArgsOf(notary) }

// serverArgsOf point a command at server s.
func serverArgsOf(s *testbed.NotaryServer) []string {
	return []string{"--server", s.URL, "--tlscacert", s.CACert}
}

// dctwiz runs the CLI in-process, as main would, without a terminal.
func dctwiz(e env, args ...string) result { return dctwizIn(e, "", args...) }

// dctwizIn is dctwiz with stdin piped in (a repository list, --repos -).
func dctwizIn(e env, stdin string, args ...string) result {
	var stdout, stderr bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return e[k] }}
	code := a.run(args)
	return result{stdout.String(), stderr.String(), code}
}

// process is e as a separate process's environment: PATH, a scratch HOME
// and e's variables, nothing else of this process's.
func (e env) process(t *testing.T) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

// dctwizBinary runs the built binary as a separate process.
func dctwizBinary(t *testing.T, e env, args ...string) result {
	t.Helper()
	cmd := exec.Command(dctwizBin, args...)
	cmd.Env = e.process(t)
	return runProcess(t, cmd)
}

// runProcess runs cmd and returns what it printed and its exit code.
func runProcess(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running dctwiz: %v", err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// newGUN is a repository name no other test uses, on the test registry.
func newGUN() string {
	return fmt.Sprintf("%s/acme/cli%d", reg.Host, gunSeq.Add(1))
}

func mustOK(t *testing.T, r result) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("dctwiz failed:\n%s", r)
	}
	return r
}

func writeCert(t *testing.T, spec testbed.CertSpec) string {
	t.Helper()
	path, _, err := testbed.WriteCert(t.TempDir(), "signer.crt", spec)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func keyFileCount(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(path, ".key") {
			n++
		}
		return nil
	})
	return n
}

var certSpecAlice = testbed.CertSpec{CommonName: "alice"}

func parseCert(der []byte) (*x509.Certificate, error) { return x509.ParseCertificate(der) }
