package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// silentServer accepts connections and never answers (not even TLS).
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	return ln.Addr().String()
}

// TestTimeoutAndSignals: a server that never answers ends a command
// within --timeout, with the server and the limit named; SIGTERM and
// SIGHUP stop a command that waits, as ctrl+c does, and --json still
// prints its one document. Before this, each of these waited forever.
func TestTimeoutAndSignals(t *testing.T) {
	needBed(t)
	addr := silentServer(t)
	e := newEnv(t)
	gun := addr + "/acme/app"
	server := "https://" + addr

	r := dctwiz(e, "inspect", gun, "--server", server, "--timeout", "1s", "--json")
	if r.code != 1 || !strings.Contains(r.stdout, "no answer within 1s") || !strings.Contains(r.stdout, server) {
		t.Errorf("--timeout 1s against a silent server:\n%s", r)
	}
	if r := dctwiz(e, "inspect", gun, "--timeout", "0s"); r.code != 2 || !strings.Contains(r.stderr, "--timeout 0s") {
		t.Errorf("--timeout 0s:\n%s", r)
	}

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(dctwizBin, "check", gun, "--server", server, "--timeout", "10m", "--json")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DOCKER_CONFIG=" + e["DOCKER_CONFIG"]}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond) // it is waiting on the server now
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second): // a bound on the test, not a timing
				cmd.Process.Kill()
				t.Fatalf("still running 20 s after %s", sig)
			}
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			var doc map[string]any
			if jerr := json.Unmarshal(stdout.Bytes(), &doc); jerr != nil || code == 0 || code > 3 {
				t.Fatalf("after %s: exit %d, stdout not one JSON document (%v):\n%s\nstderr:\n%s", sig, code, jerr, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), "interrupted") {
				t.Errorf("after %s the document does not say the command was interrupted:\n%s", sig, stdout.String())
			}
		})
	}
}
