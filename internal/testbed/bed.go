package testbed

import (
	"context"
	"os"
)

// Bed is a running test bed: a notary server and a registry (or a notary
// server alone), with their files in a temporary directory.
type Bed struct {
	Notary   *NotaryServer
	Registry *Registry
	Dir      string
}

// Start builds what it must and starts a notary server and a registry.
func Start(ctx context.Context) (*Bed, error) {
	dir, err := os.MkdirTemp("", "dctwiz-bed-")
	if err != nil {
		return nil, err
	}
	notary, err := StartNotaryServer(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	reg, err := StartRegistry()
	if err != nil {
		notary.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	return &Bed{Notary: notary, Registry: reg, Dir: dir}, nil
}

// Close stops everything and removes the files.
func (b *Bed) Close() {
	b.Notary.Close()
	if b.Registry != nil {
		b.Registry.Close()
	}
	os.RemoveAll(b.Dir)
}

// StartProduction starts a production-shaped notary server alone
// (StartProductionNotaryServer), to stand beside a Start bed's registry.
func StartProduction(ctx context.Context) (*Bed, error) {
	dir, err := os.MkdirTemp("", "dctwiz-prod-")
	if err != nil {
		return nil, err
	}
	notary, err := StartProductionNotaryServer(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &Bed{Notary: notary, Dir: dir}, nil
}
