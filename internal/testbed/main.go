package testbed

import (
	"context"
	"sync"
	"testing"
)

// Lazy is a package's test bed, started by the first test that needs it
// (Get) and stopped after the package's tests (Run), so that pure unit
// tests never wait for the notary build or the servers. With -short the
// tests that need it are skipped: `go test -short ./...` is the fast part.
// Without -short a bed that cannot start fails the test with the reason;
// it never skips, because the engine is only proven against the real parts.
type Lazy struct {
	// Start makes the bed; nil: Start(context.Background()).
	Start func() (*Bed, error)
	// Use, when set, runs once the bed is up (to set a package's globals).
	Use func(*Bed)

	once sync.Once
	bed  *Bed
	err  error
}

// Get returns the bed, starting it on the first call.
func (l *Lazy) Get(t testing.TB) *Bed {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the test bed (notary server and registry); skipped with -short")
	}
	l.once.Do(func() {
		start := l.Start
		if start == nil {
			start = func() (*Bed, error) { return Start(context.Background()) }
		}
		l.bed, l.err = start()
		if l.err == nil && l.Use != nil {
			l.Use(l.bed)
		}
	})
	if l.err != nil {
		t.Fatalf("the test bed (notary server and registry) is required: %v", l.err)
	}
	return l.bed
}

// Run is a test package's TestMain body: it runs the tests, then stops
// the bed if one of them started it.
func (l *Lazy) Run(m *testing.M) int {
	code := m.Run()
	l.Stop()
	return code
}

// Stop stops the bed if a test started it; none may start after.
func (l *Lazy) Stop() {
	l.once.Do(func() {})
	if l.bed != nil {
		l.bed.Close()
	}
}
