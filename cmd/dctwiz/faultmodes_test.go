package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/internal/testbed"
)

// TestFaultModes puts a proxy with each named fault in front of the real
// server and runs through it two queries (inspect, check), the signer
// changes (add, replace, remove), the root key's re-signings (a timestamp
// key rotation, a renewal), a test signature (checked and removed), the
// publish of a new repository and a root rotation. Each ends within the
// time limit with one clear error or a true success; nothing is
// half-published; the same command, once the server behaves, converges.
// Against the memory server and the production-shaped one, side by side.
func TestFaultModes(t *testing.T) { onEachServer(t, faultModes) }

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
	renewed := writeCert(t, testbed.CertSpec{CommonName: "signer renewed"})
	keys := t.TempDir()

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
		{testbed.Random503, either, "answered HTTP 503"},
		{testbed.HTML200, fails, "not a notary server"},
		{testbed.HugeBody, fails, ""},
		{testbed.RedirectToHTTP, fails, "a redirect away from TLS"},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			fresh, rooted := newGUN(), newGUN()
			mustOK(t, dctwiz(e, append([]string{"init", rooted}, through...)...))
			signer := fmt.Sprintf("s%d", gunSeq.Add(1))
			newRoot := filepath.Join(keys, signer+"-root.key")
			for _, args := range [][]string{
				{"inspect", gun},
				{"check", gun},
				{"delegation", "add", gun, signer, cert},
				{"delegation", "replace", gun, signer, renewed, "--yes"},
				{"delegation", "remove", gun, signer, "--yes"},
				{"rotate", "timestamp", gun, "--yes"},
				{"renew", gun, "--within", "3650d", "--yes"}, // root.json is due: the root key re-signs it
				{"test-sign", gun + ":1.0"},                  // two publishes (the signature, its removal) and a consumer's read
				{"init", fresh},
				{"rotate", "root", rooted, "--new-root-key", "file:" + newRoot, "--yes"},
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
				if tc.fault == testbed.HangAfterCommit && args[1] == "timestamp" {
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
				// server behaves. A removal that landed is seen as such: the
				// rerun says the signer is not there (a typo must not pass
				// for a removal), and the server agrees.
				rerun := dctwiz(e, append(args, through...)...)
				gone := args[0] == "delegation" && args[1] == "remove" && rerun.code == 1 && strings.Contains(rerun.stderr, `has no signer "`+signer+`"`)
				if rerun.code != 0 && !gone {
					t.Errorf("the rerun of %s through %q did not converge:\n%s", args[0], tc.fault, rerun)
				}
			}
			if slices.Contains(delegationRolesAt(t, srv, gun), "targets/"+signer) {
				t.Errorf("signer %s is still published after its removal converged", signer)
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

// TestRegistryFaultModes puts the fault proxy in front of the registry
// (the notary server behaves) and runs the two commands that read it:
// test-sign, and setup with a test signature (it reads the tag before it
// publishes, and again after). Each ends within the time limit with one
// clear line, or a true success; setup's report matches what the server
// has; the same command converges once the registry behaves.
func TestRegistryFaultModes(t *testing.T) {
	needBed(t)
	proxy, err := testbed.StartFaultProxy("http://"+reg.Host, &notary.TLS, notary.CACert)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	registry := strings.TrimPrefix(proxy.URL, "https://")
	e := newEnv(t)
	server := append(serverArgs(), "--timeout", "2s")
	seq := 0
	image := func() string { // a repository with an image, named through the proxy
		seq++
		repo := fmt.Sprintf("acme/regfault%d", seq)
		if _, err := reg.PushRandomImage(context.Background(), repo, "1.0"); err != nil {
			t.Fatal(err)
		}
		return registry + "/" + repo
	}
	signed := image()
	mustOK(t, dctwiz(e, append([]string{"init", signed}, server...)...))

	for _, tc := range []struct {
		fault testbed.HTTPFault
		ok    bool
		says  string
	}{
		{testbed.Pass, true, ""},
		{testbed.Slow, true, ""},
		{testbed.HangAfterRequest, false, "gave no answer within 2s"},
		{testbed.Status500, false, "the registry answered"},
		{testbed.HTML200, false, "the registry's answer is not a registry's"},
		{testbed.HugeBody, false, "not an image manifest: the answer is larger than 4 MiB"},
		{testbed.RedirectToHTTP, false, "the registry answered"},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			fresh := image()
			for _, args := range [][]string{
				{"test-sign", signed + ":1.0"},
				{"setup", fresh, "--test-tag", "1.0"},
			} {
				proxy.Set(tc.fault)
				start := time.Now()
				r := boundedRun(t, e, append(args, server...))
				took := time.Since(start)
				proxy.Set(testbed.Pass)
				t.Logf("%s: exit %d after %s: %s", args[0], r.code, took.Round(10*time.Millisecond), firstLine(r.stderr))
				switch {
				case strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic"):
					t.Fatalf("%s: a panic:\n%s", args[0], r)
				case tc.ok && r.code != 0, !tc.ok && r.code != 1:
					t.Errorf("%s through %q: exit %d\n%s", args[0], tc.fault, r.code, r)
				case r.code == 1 && !strings.Contains(r.stderr, tc.says):
					t.Errorf("%s through %q does not say %q:\n%s", args[0], tc.fault, tc.says, r)
				case r.code == 1 && args[0] == "setup":
					// setup reads the tag before it publishes; if the registry
					// fails later, init went out. Either way the report is true.
					nothing := strings.Contains(r.stderr, "Nothing was done")
					ir := dctwiz(e, append([]string{"inspect", fresh}, server...)...)
					if published := ir.code == 0; published == nothing || (published && !strings.Contains(r.stderr, "published: init")) {
						t.Errorf("setup through %q: the report does not match the server (inspect exit %d):\n%s", tc.fault, ir.code, r)
					}
				}
				mustOK(t, dctwiz(e, append(args, server...)...))
			}
		})
	}
}

// TestWizardFaultModes runs the wizard in a real terminal against the
// fault proxy: the first publish meets each fault. The screen says what
// the server did within the time limit (plus the look after a lost
// answer), the step runs again with r once the server behaves, and the
// repository is published once, as the quit summary says.
func TestWizardFaultModes(t *testing.T) {
	needBed(t)
	proxy, err := testbed.StartFaultProxy(notary.URL, &notary.TLS, notary.CACert)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	for _, tc := range []struct {
		fault testbed.HTTPFault
		says  string // on the publish screen
	}{
		{testbed.HangAfterRequest, "no answer within 2s"},
		{testbed.HangAfterCommit, "Published."},
		{testbed.Status500, "answered HTTP 500"},
		{testbed.HTML200, "not a notary server"},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			gun := newGUN()
			e := newEnv(t)
			e["TERM"], e["NO_COLOR"] = "xterm-256color", "1"
			t.Cleanup(func() { proxy.Set(testbed.Pass) })
			term := startTerminalSized(t, e, 200, 50, "wizard", gun, "--delegation", "alice="+writeCert(t, certSpecAlice),
				"--out-dir", t.TempDir(), "--trust-dir", t.TempDir(), "--server", proxy.URL, "--tlscacert", notary.CACert, "--timeout", "2s")
			term.walkToTargetsKey()
			for range 2 {
				term.text(targetsPass)
				term.keys("Enter")
			}
			term.waitFor("CN=alice")
			term.keys("Enter")
			term.waitFor("Nothing is published yet")
			proxy.Set(tc.fault)
			start := time.Now()
			term.keys("p")
			screen := term.waitWithin(tc.says, 1, 20*time.Second)
			took := time.Since(start)
			proxy.Set(testbed.Pass)
			t.Logf("%s: %q on screen after %s", tc.fault, tc.says, took.Round(100*time.Millisecond))
			if hang := tc.fault == testbed.HangAfterRequest || tc.fault == testbed.HangAfterCommit; hang && took < 2*time.Second {
				// A lower bound, not a timing: the fault did hang the publish.
				t.Errorf("%s: the publish ended after %s, before the 2 s limit: the proxy did not hang it", tc.fault, took)
			}
			if strings.Contains(screen, "panic") || strings.Contains(screen, "goroutine ") {
				t.Fatalf("a panic:\n%s", screen)
			}
			if tc.says != "Published." {
				term.keys("r") // the server behaves again: the same step converges
				term.waitWithin("Published.", 1, 20*time.Second)
			}
			term.keys("C-c")
			term.waitFor("Quit the ceremony?")
			term.keys("y")
			screen = term.waitFor("EXIT=")
			if !strings.Contains(screen, "EXIT=3") || strings.Contains(screen, "Nothing is published") {
				t.Errorf("the quit after the publish:\n%s", screen)
			}
			if roles := delegationRoles(t, e, gun); !slices.Contains(roles, "targets/alice") {
				t.Errorf("the server has %v, want the signer published", roles)
			}
		})
	}
}

// A slow server that works passes: each answer takes 1.5 s, under the
// 3 s limit per request, and a query and a publish both succeed, however
// long the whole command takes.
func TestASlowServerPasses(t *testing.T) {
	needBed(t)
	proxy, err := testbed.StartFaultProxy(notary.URL, &notary.TLS, notary.CACert)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	e := newEnv(t)
	gun := newGUN()
	mustOK(t, dctwiz(e, append([]string{"init", gun}, serverArgs()...)...))
	proxy.SetSlowBy(1500 * time.Millisecond)
	proxy.Set(testbed.Slow)
	through := []string{"--server", proxy.URL, "--tlscacert", notary.CACert, "--timeout", "3s"}
	for _, args := range [][]string{
		{"inspect", gun},
		{"delegation", "add", gun, "slowpoke", writeCert(t, certSpecAlice)},
	} {
		start := time.Now()
		r := boundedRun(t, e, append(args, through...))
		took := time.Since(start)
		t.Logf("%s through 1.5 s answers: exit %d after %s", args[0], r.code, took.Round(100*time.Millisecond))
		if took < 3*time.Second { // a lower bound: the answers were slow, at least two of them
			t.Errorf("%s took %s: the proxy did not slow it", args[0], took)
		}
		if r.code != 0 {
			t.Errorf("%s through a slow server:\n%s", args[0], r)
		}
	}
	if roles := delegationRoles(t, e, gun); !slices.Contains(roles, "targets/slowpoke") {
		t.Errorf("the server has %v", roles)
	}
}

// Hostile answers cost little memory: the built binary's peak resident
// size while check reads a notary server that sends 1 GiB, and while
// test-sign reads a registry that sends 1 GiB for a manifest, stays
// within a few tens of MB (40 MB and 25 MB here; before the bounds, 265
// MB for check and 257 MB for test-sign, which read up to
// go-containerregistry's 100 MiB manifest limit).
func TestHostileAnswersCostLittleMemory(t *testing.T) {
	needBed(t)
	notaryProxy, err := testbed.StartFaultProxy(notary.URL, &notary.TLS, notary.CACert)
	if err != nil {
		t.Fatal(err)
	}
	defer notaryProxy.Close()
	regProxy, err := testbed.StartFaultProxy("http://"+reg.Host, &notary.TLS, notary.CACert)
	if err != nil {
		t.Fatal(err)
	}
	defer regProxy.Close()
	e := newEnv(t)
	repo := "acme/hostile"
	if _, err := reg.PushRandomImage(context.Background(), repo, "1.0"); err != nil {
		t.Fatal(err)
	}
	gun := strings.TrimPrefix(regProxy.URL, "https://") + "/" + repo
	mustOK(t, dctwiz(e, append([]string{"init", gun}, serverArgs()...)...))
	notaryProxy.Set(testbed.HugeBody)
	regProxy.Set(testbed.HugeBody)
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"check", gun, "--server", notaryProxy.URL, "--tlscacert", notary.CACert}, "not a notary server"},
		{append([]string{"test-sign", gun + ":1.0"}, serverArgs()...), "larger than 4 MiB"},
	} {
		r, peak := dctwizBinaryPeak(t, e, tc.args...)
		t.Logf("%s against 1 GiB answers: exit %d, peak %d MB", tc.args[0], r.code, peak>>20)
		if r.code != 1 || !strings.Contains(r.stdout+r.stderr, tc.says) {
			t.Errorf("%s: want exit 1 saying %q:\n%s", tc.args[0], tc.says, r)
		}
		if peak > 64<<20 {
			t.Errorf("%s held %d MB at its peak; want a few tens of MB", tc.args[0], peak>>20)
		}
	}
}

// dctwizBinaryPeak is dctwizBinary, with the process's peak resident size
// in bytes, as GNU time reads it. Not from this process's own wait: Go
// starts children with vfork, and Linux then counts the parent's peak
// (this test binary's, a hundred MB late in the suite) as the child's.
// time forks dctwiz from its own small process.
func dctwizBinaryPeak(t *testing.T, e env, args ...string) (result, int64) {
	t.Helper()
	timeBin, err := exec.LookPath("/usr/bin/time")
	if err != nil {
		t.Fatal("GNU time is required to read peak memory (scripts/install-deps.sh installs it): ", err)
	}
	peakFile := filepath.Join(t.TempDir(), "peak")
	cmd := exec.Command(timeBin, append([]string{"-f", "%M", "-o", peakFile, dctwizBin}, args...)...)
	cmd.Env = e.process(t)
	r := runProcess(t, cmd)
	b, err := os.ReadFile(peakFile)
	if err != nil {
		t.Fatal(err)
	}
	// The last line: before it, time says when the command failed.
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	kib, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
	if err != nil {
		t.Fatalf("GNU time wrote %q", b)
	}
	return r, kib << 10
}
