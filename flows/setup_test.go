package flows_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/internal/testbed"
	"github.com/dctwiz/dctwiz/trust"
)

// The engine tests share one real notary server and registry, started by
// the first test that needs them (engine, ceremony); the step-order tests
// use a fake engine and start nothing.
var (
	notary *testbed.NotaryServer
	reg    *testbed.Registry
	seq    atomic.Int64
	bed    = &testbed.Lazy{Use: func(b *testbed.Bed) { notary, reg = b.Notary, b.Registry }}
)

func TestMain(m *testing.M) { os.Exit(bed.Run(m)) }

// countingTransport counts the HTTP requests the engine makes, and keeps
// what each asked for: the method and the path's last element.
type countingTransport struct {
	inner http.RoundTripper
	n     atomic.Int64
	mu    sync.Mutex
	asked []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	c.mu.Lock()
	c.asked = append(c.asked, r.Method+" "+path.Base(r.URL.Path))
	c.mu.Unlock()
	return c.inner.RoundTrip(r)
}

func engine(tb testing.TB, trustDir string) (*trust.Client, *countingTransport) {
	tb.Helper()
	bed.Get(tb)
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(notary.CACert)
	if err != nil {
		tb.Fatal(err)
	}
	pool.AppendCertsFromPEM(ca)
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = &tls.Config{RootCAs: pool}
	counter := &countingTransport{inner: base}
	c, err := trust.New(trust.WithServer(notary.URL), trust.WithTrustDir(trustDir), trust.WithTransport(counter),
		trust.WithPassphrases(trust.Passphrases{Root: "root-passphrase", Targets: "targets-passphrase"}))
	if err != nil {
		tb.Fatal(err)
	}
	return c, counter
}

// ceremony returns a full setup for a new repository with an image pushed.
func ceremony(tb testing.TB) flows.Setup {
	tb.Helper()
	bed.Get(tb)
	gun, err := trust.ParseGUN(fmt.Sprintf("%s/acme/flow%d", reg.Host, seq.Add(1)))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := reg.PushRandomImage(context.Background(), gun.Path(), "1.0"); err != nil {
		tb.Fatal(err)
	}
	path, _, err := testbed.WriteCert(tb.TempDir(), "signpath.crt", testbed.CertSpec{CommonName: "signpath"})
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := trust.LoadCertificate(path, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return flows.Setup{
		GUN:              gun,
		Root:             trust.FileRootKey(""),
		Signers:          []flows.Signer{{Name: "signpath", Cert: cert}},
		RootCertOut:      filepath.Join(tb.TempDir(), "root.crt"),
		TestTag:          "1.0",
		DeleteTargetsKey: true,
	}
}

// everyStepEvents are the events of a whole ceremony, in order.
var everyStepEvents = []string{
	"init:started", "init:done", "delegations:started", "delegations:done",
	"root-cert:started", "root-cert:done", "test-sign:started", "test-sign:done",
	"delete-targets-key:started", "delete-targets-key:done",
}

func TestRunSetupRunsEveryStepInOrder(t *testing.T) {
	c, _ := engine(t, t.TempDir())
	s := ceremony(t)
	var events []string
	rep, err := flows.RunSetup(context.Background(), c, s, func(e flows.Event) {
		events = append(events, string(e.Step)+":"+string(e.Kind))
	})
	if err != nil {
		t.Fatalf("RunSetup: %v", err)
	}
	want := everyStepEvents
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Errorf("events %v\nwant %v", events, want)
	}
	if rep.TargetsKey == nil || !rep.TargetsKey.Gone || rep.RootCertFile != s.RootCertOut || len(rep.Pending()) != 0 {
		t.Errorf("report %+v", rep)
	}
	pemBytes, err := os.ReadFile(s.RootCertOut)
	if err != nil {
		t.Fatalf("root certificate not written: %v", err)
	}
	// The consumer check trusted exactly the exported certificate.
	ids, err := trust.RootCertIDs(s.RootCertOut, pemBytes)
	if err != nil || fmt.Sprint(rep.TestSign.Pinned) != fmt.Sprint(ids) || ids[0] != rep.Init.Root.ID {
		t.Errorf("test signing pinned %v; the exported file holds %v (%v); root key %s", rep.TestSign.Pinned, ids, err, rep.Init.Root.ID)
	}

	// Rerunning the same ceremony converges: every step recognises its work.
	rep2, err := flows.RunSetup(context.Background(), c, s, nil)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if !rep2.Init.AlreadyDone || rep2.Delegations[0].Changed || len(rep2.TargetsKey.KeyIDs) != 0 {
		t.Errorf("rerun did not converge: %+v", rep2)
	}
	if st := rep2.Steps[3]; st.Step != flows.StepTestSign || st.Status != flows.Skipped {
		t.Errorf("rerun without the targets key: test-sign %+v, want skipped", st)
	}
}

// What can be known in advance stops the ceremony before anything is
// created or published.
func TestCheckBeforePublishing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*flows.Setup)
		kind   error
	}{
		{"deleting the targets key without a signer", func(s *flows.Setup) { s.Signers = nil }, trust.ErrNoSigner},
		{"a test tag the registry lacks", func(s *flows.Setup) { s.TestTag = "missing" }, trust.ErrTagNotFound},
		{"an unwritable root certificate path", func(s *flows.Setup) { s.RootCertOut = "/nonexistent/dir/root.crt" }, trust.ErrBadInput},
		{"a directory as root certificate path", func(s *flows.Setup) { s.RootCertOut = os.TempDir() }, trust.ErrBadInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := engine(t, t.TempDir())
			s := ceremony(t)
			tc.change(&s)
			rep, err := flows.RunSetup(context.Background(), c, s, nil)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("RunSetup: %v, want %v", err, tc.kind)
			}
			if rep.Published() || len(rep.Steps) != 0 {
				t.Errorf("steps ran: %+v", rep.Steps)
			}
			if ids, _ := c.LocalRootKeys(); len(ids) != 0 {
				t.Errorf("a key was created: %v", ids)
			}
		})
	}
}

// BenchmarkSetupCeremony times the headless ceremony against the local
// notary server and reports the HTTP requests it makes: as `dctwiz setup`
// runs in make perf (init, one signer, root certificate export, test
// signing with consumer verification and removal), and with the
// targets-key deletion too.
func BenchmarkSetupCeremony(b *testing.B) {
	for _, bc := range []struct {
		name   string
		delete bool
	}{{"as-in-make-perf", false}, {"with-targets-key-deletion", true}} {
		b.Run(bc.name, func(b *testing.B) {
			var requests int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				c, counter := engine(b, b.TempDir())
				s := ceremony(b)
				s.DeleteTargetsKey = bc.delete
				b.StartTimer()
				if _, err := flows.RunSetup(context.Background(), c, s, nil); err != nil {
					b.Fatal(err)
				}
				requests += counter.n.Load()
			}
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
		})
	}
}

// The setup as make perf runs it (one signer, the root certificate, a
// test signature verified by a consumer and removed) makes at most 20
// requests: nothing this process already holds is fetched again, and the
// server's keys once. The consumer still reads root.json itself.
func TestSetupRequestBudget(t *testing.T) {
	c, counter := engine(t, t.TempDir())
	s := ceremony(t)
	s.DeleteTargetsKey = false // as make perf runs it
	rep, err := flows.RunSetup(context.Background(), c, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.TestSign == nil || rep.TestSign.Verified == nil {
		t.Fatalf("no consumer check in the report: %+v", rep.TestSign)
	}
	times := map[string]int{}
	for _, a := range counter.asked {
		times[a]++
	}
	t.Logf("%d requests: %v", counter.n.Load(), counter.asked)
	if n := counter.n.Load(); n > 20 {
		t.Errorf("%d requests, want at most 20", n)
	}
	for _, key := range []string{"GET timestamp.key", "GET snapshot.key"} {
		if times[key] != 1 {
			t.Errorf("%s %d times, want once", key, times[key])
		}
	}
	// One 404 when init looks, one read by the consumer check.
	if times["GET root.json"] != 2 {
		t.Errorf("root.json fetched %d times, want 2 (init's 404, the consumer's own read)", times["GET root.json"])
	}
	posts := 0
	for _, a := range counter.asked {
		if strings.HasPrefix(a, "POST") {
			posts++
		}
	}
	if posts != 4 {
		t.Errorf("%d publishes, want 4 (init, signers, test signature, its removal)", posts)
	}
}

// failingSigner is the real engine, but adding one signer fails once.
type failingSigner struct {
	*trust.Client
	name   string
	failed bool
}

func (f *failingSigner) AddDelegation(ctx context.Context, gun trust.GUN, name string, cert *trust.Certificate) (*trust.DelegationResult, error) {
	if name == f.name && !f.failed {
		f.failed = true
		return nil, &trust.Error{Kind: trust.ErrPublish, Input: name, Msg: "publish refused"}
	}
	return f.Client.AddDelegation(ctx, gun, name, cert)
}

// A step that failed runs again on the next call and is reported once;
// what it published the first time is not listed twice.
func TestCeremonyRerunsAFailedStep(t *testing.T) {
	c, _ := engine(t, t.TempDir())
	s := ceremony(t)
	path, _, err := testbed.WriteCert(t.TempDir(), "ci.crt", testbed.CertSpec{CommonName: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	ci, err := trust.LoadCertificate(path, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.Signers = append(s.Signers, flows.Signer{Name: "ci", Cert: ci})
	eng := &failingSigner{Client: c, name: "ci"}
	cer, err := flows.NewSetup(eng, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cer.RunThrough(context.Background(), flows.StepRootCert); err == nil {
		t.Fatal("the failing signer did not fail the step")
	}
	if rep := cer.Report(); len(rep.Steps) != 2 || rep.Steps[1].Status != flows.Failed || len(rep.Delegations) != 1 {
		t.Fatalf("after the failure: steps %+v, delegations %d", rep.Steps, len(rep.Delegations))
	}
	if err := cer.RunThrough(context.Background(), flows.StepRootCert); err != nil {
		t.Fatal(err)
	}
	rep := cer.Report()
	var ids []flows.StepID
	for _, st := range rep.Steps {
		ids = append(ids, st.Step)
		if st.Status != flows.Done {
			t.Errorf("step %s: %s", st.Step, st.Status)
		}
	}
	if fmt.Sprint(ids) != "[init delegations root-cert]" || len(rep.Delegations) != 2 {
		t.Fatalf("after the rerun: steps %v, %d delegations", ids, len(rep.Delegations))
	}
	if rep.Delegations[0].Changed {
		t.Error("the signer published by the failed run was published again")
	}
}
