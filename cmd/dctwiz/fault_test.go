package main

import (
	"context"
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/internal/testbed"
	"github.com/dctwiz/dctwiz/trust"
)

// faultProxy is a proxy in front of the real server, and the flags that
// send a command through it (it listens on 127.0.0.1 too: the server's
// certificate fits).
func faultProxy(t *testing.T) (*testbed.Proxy, []string) {
	t.Helper()
	proxy, err := testbed.StartProxy(notary.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	return proxy, []string{"--server", "https://" + proxy.Addr, "--tlscacert", notary.CACert}
}

// TestServerGoesAwayDuringPublish cuts the connection to the real server
// in the middle of a publish, before and after the server received it.
// Either way nothing is half-published, and rerunning the same command
// converges on one repository with one set of keys.
func TestServerGoesAwayDuringPublish(t *testing.T) {
	needBed(t)
	for _, fault := range []struct {
		name string
		f    testbed.Fault
	}{
		{"cut before the server gets the upload", testbed.CutBeforeUpload},
		{"cut after the server committed", testbed.CutAfterUpload},
	} {
		t.Run(fault.name, func(t *testing.T) {
			proxy, through := faultProxy(t)
			e := newEnv(t)
			gun := newGUN()
			cert := writeCert(t, testbed.CertSpec{CommonName: "alice"})

			// init
			proxy.SetFault(fault.f)
			r := dctwiz(e, append([]string{"init", gun}, through...)...)
			proxy.SetFault(testbed.PassAll)
			if proxy.Cuts() == 0 {
				t.Fatalf("the proxy cut nothing: the fault was not exercised\n%s", r)
			}
			switch fault.f {
			case testbed.CutBeforeUpload:
				if r.code != 1 || !strings.Contains(r.stderr, "nothing was published") {
					t.Fatalf("init through a cut connection:\n%s", r)
				}
				assertNoTrustData(t, gun)
			case testbed.CutAfterUpload:
				// The server has it: dctwiz looks and reports success.
				if r.code != 0 {
					t.Fatalf("init whose answer was lost:\n%s", r)
				}
			}
			mustOK(t, dctwiz(e, append([]string{"init", gun, "--json"}, through...)...))
			r2 := mustOK(t, dctwiz(e, append([]string{"init", gun, "--json"}, through...)...))
			if !strings.Contains(r2.stdout, `"already_done": true`) {
				t.Errorf("the second rerun did not converge:\n%s", r2)
			}
			assertOneTargetsKey(t, e)

			// delegation add
			cuts := proxy.Cuts()
			proxy.SetFault(fault.f)
			r = dctwiz(e, append([]string{"delegation", "add", gun, "alice", cert}, through...)...)
			proxy.SetFault(testbed.PassAll)
			if proxy.Cuts() == cuts {
				t.Fatalf("the proxy cut nothing during delegation add\n%s", r)
			}
			dels := delegationRoles(t, e, gun)
			switch fault.f {
			case testbed.CutBeforeUpload:
				if r.code != 1 || !strings.Contains(r.stderr, "nothing was published") || len(dels) != 0 {
					t.Fatalf("delegation add through a cut connection: delegations %v\n%s", dels, r)
				}
			case testbed.CutAfterUpload:
				if r.code != 0 || len(dels) != 2 {
					t.Fatalf("delegation add whose answer was lost: delegations %v\n%s", dels, r)
				}
			}
			mustOK(t, dctwiz(e, append([]string{"delegation", "add", gun, "alice", cert}, through...)...))
			if dels := delegationRoles(t, e, gun); len(dels) != 2 {
				t.Errorf("after the rerun: delegations %v, want releases and alice", dels)
			}
		})
	}
}

func assertNoTrustData(t *testing.T, gun string) {
	t.Helper()
	r := dctwiz(newEnv(t), append([]string{"inspect", gun}, serverArgs()...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "no trust data") {
		t.Fatalf("the server has trust data for %s after a failed publish:\n%s", gun, r)
	}
}

func assertOneTargetsKey(t *testing.T, e env) {
	t.Helper()
	c, err := trust.New(trust.WithTrustDir(e["DOCKER_CONFIG"] + "/trust"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := c.LocalRootKeys()
	if err != nil || len(ids) != 1 {
		t.Errorf("root keys in the trust dir: %v, %v; want exactly one", ids, err)
	}
	files := keyFileCount(t, e["DOCKER_CONFIG"]+"/trust/private")
	if files != 2 {
		t.Errorf("%d key files in the trust dir, want 2 (root and targets): reruns made orphan keys", files)
	}
}

func delegationRoles(t *testing.T, e env, gun string) []string {
	t.Helper()
	return delegationRolesAt(t, notary, gun)
}

// delegationRolesAt is delegationRoles on server srv.
func delegationRolesAt(t *testing.T, srv *testbed.NotaryServer, gun string) []string {
	t.Helper()
	c, err := trust.New(trust.WithServer(srv.URL), trust.WithCACert(srv.CACert), trust.WithTrustDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := trust.ParseGUN(gun)
	dels, err := c.Delegations(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dels {
		out = append(out, d.Role)
	}
	return out
}

// TestAPublishWhoseOutcomeIsUnknown: the server commits a setup's publish,
// the answer is cut, and then the server is gone, so dctwiz cannot ask
// what landed. It must say the outcome is unknown, never "Nothing was
// done" (which it printed before: no step had completed); the rerun, once
// the server is back, finds the repository published and converges.
func TestAPublishWhoseOutcomeIsUnknown(t *testing.T) {
	needBed(t)
	proxy, through := faultProxy(t)
	e := newEnv(t)
	gun := newGUN()
	proxy.SetFault(testbed.CutAfterUploadThenDown)
	r := dctwiz(e, append([]string{"setup", gun}, through...)...)
	if r.code != 1 || strings.Contains(r.stderr, "Nothing was done") || !strings.Contains(r.stderr, "outcome of the last publish is unknown") {
		t.Fatalf("setup whose publish landed, the server then gone:\n%s", r)
	}
	proxy.SetFault(testbed.PassAll)
	r = mustOK(t, dctwiz(e, append([]string{"setup", gun, "--json"}, through...)...))
	if !strings.Contains(r.stdout, `"already_done": true`) {
		t.Errorf("the rerun did not find the repository published:\n%s", r)
	}
}
