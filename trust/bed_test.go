package trust_test

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/dctwiz/dctwiz/internal/testbed"
	"github.com/dctwiz/dctwiz/trust"
)

// The package's tests share one real notary server and one registry,
// started by the first test that needs them (newGUN, newClient).
var (
	notary *testbed.NotaryServer
	reg    *testbed.Registry
	gunSeq atomic.Int64
	bed    = &testbed.Lazy{Use: func(b *testbed.Bed) { notary, reg = b.Notary, b.Registry }}
)

func TestMain(m *testing.M) {
	logrus.SetOutput(io.Discard) // notary's log is not the tests' output
	os.Exit(bed.Run(m))
}

const (
	rootPass    = "root-passphrase-1"
	targetsPass = "targets-passphrase-1"
	delegPass   = "delegation-passphrase-1"
)

// newGUN returns a repository name no other test uses, on the test registry.
func newGUN(t *testing.T) trust.GUN {
	t.Helper()
	bed.Get(t)
	g, err := trust.ParseGUN(fmt.Sprintf("%s/acme/app%d", reg.Host, gunSeq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// newClient returns an engine on the test server with a fresh trust dir.
func newClient(t *testing.T, opts ...trust.Option) *trust.Client {
	t.Helper()
	bed.Get(t)
	base := []trust.Option{
		trust.WithServer(notary.URL),
		trust.WithCACert(notary.CACert),
		trust.WithTrustDir(t.TempDir()),
		trust.WithPassphrases(trust.Passphrases{Root: rootPass, Targets: targetsPass, Delegation: delegPass}),
	}
	c, err := trust.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
