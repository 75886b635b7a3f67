package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/internal/testbed"
)

// TestFaultModes puts a proxy with each named fault in front of the real
// server and runs two queries (inspect, check), three publishes to a
// repository that exists (a signer; a timestamp key rotation, signed by
// the root key; a test signature, checked and removed) and the publish of
// a new one through it. Each ends within the time limit with
// one clear error or a true success; nothing is half-published; the same
// command, once the server behaves, converges. Against the memory server
// and the production-shaped one, side by side.
func TestFaultModes(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.Kind, func(t *testing.T) {
			t.Parallel()
			faultModes(t, srv)
		})
	}
}

func faultModes(t *testing.T, srv *testbed.NotaryServer) {
	proxy, err := testbed.StartFaultProxy(srv.URL, &srv.TLS, srv.CACert)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	e := newEnv(t)
	through := []string{"--server", proxy.URL, "--tlscacert", srv.CACert, "--timeout", "2s"}
	gun := newGUN()
	mustOK(t, dctwiz(e, append([]string{"init", gun}, through...)...))
	if _, err := reg.PushRandomImage(context.Background(), strings.TrimPrefix(gun, reg.Host+"/"), "1.0"); err != nil {
		t.Fatal(err)
	}
	cert := writeCert(t, testbed.CertSpec{CommonName: "signer"})

	type outcome int
	const (
		fails outcome = iota
		succeeds
		either // 503 at random
	)
	for _, tc := range []struct {
		fault testbed.HTTPFault
		want  outcome
		says  string // in the error, when it fails
	}{
		{testbed.Pass, succeeds, ""},
		{testbed.Slow, succeeds, ""},
		{testbed.HangAfterRequest, fails, "no answer within 2s"},
		{testbed.HangAfterCommit, succeeds, ""}, // the look finds what the server committed
		{testbed.Status500, fails, "answered HTTP 500"},
		{testbed.Random503, either, ""},
		{testbed.HTML200, fails, "not a notary server"},
		{testbed.HugeBody, fails, ""},
		{testbed.RedirectToHTTP, fails, "a redirect away from TLS"},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			fresh := newGUN()
			signer := fmt.Sprintf("s%d", gunSeq.Add(1))
			for _, args := range [][]string{
				{"inspect", gun},
				{"check", gun},
				{"delegation", "add", gun, signer, cert},
				{"rotate", "timestamp", gun, "--yes"},
				{"test-sign", gun + ":1.0"}, // two publishes (the signature, its removal) and a consumer's read
				{"init", fresh},
			} {
				proxy.Set(tc.fault)
				start := time.Now()
				r := boundedRun(t, e, append(args, through...))
				took := time.Since(start)
				proxy.Set(testbed.Pass)
				t.Logf("%s: exit %d after %s: %s", args[0], r.code, took.Round(10*time.Millisecond), firstLine(r.stderr))
				if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
					t.Fatalf("%s: a panic:\n%s", args[0], r)
				}
				want, says := tc.want, tc.says
				if tc.fault == testbed.HangAfterCommit && args[0] == "rotate" {
					// The first POST asks the server for a new timestamp key:
					// the server makes it, the answer is lost, and root.json,
					// which would name it, was not published.
					want, says = fails, "nothing was published"
				}
				switch {
				case want == succeeds && r.code != 0, want == fails && r.code != 1, r.code > 1:
					t.Errorf("%s through %q: exit %d\n%s", args[0], tc.fault, r.code, r)
				case r.code == 1 && !strings.Contains(r.stdout+r.stderr, says): // check reports on stdout
					t.Errorf("%s through %q does not say %q:\n%s", args[0], tc.fault, says, r)
				}
				// Whatever happened, the same command converges once the
				// server behaves.
				mustOK(t, dctwiz(e, append(args, through...)...))
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// boundedRun runs dctwiz in-process and fails the test if it has not
// ended within 60 s: a bound on the test, not a timing.
func boundedRun(t *testing.T, e env, args []string) result {
	t.Helper()
	done := make(chan result, 1)
	go func() { done <- dctwiz(e, args...) }()
	select {
	case r := <-done:
		return r
	case <-time.After(60 * time.Second):
		t.Fatalf("%v still running after 60 s", args)
		return result{}
	}
}
