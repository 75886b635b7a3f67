package testbed

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is go-containerregistry's in-memory registry served over HTTP
// on loopback (go-containerregistry and docker both speak plain HTTP to
// loopback registries).
type Registry struct {
	Host string // 127.0.0.1:PORT
	srv  *http.Server
}

// StartRegistry serves a new, empty registry on a free loopback port.
func StartRegistry() (*Registry, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(l)
	return &Registry{Host: l.Addr().String(), srv: srv}, nil
}

// Close stops the registry.
func (r *Registry) Close() { r.srv.Close() }

// PushedImage is what a push left in the registry: what a signer must sign.
type PushedImage struct {
	Ref    string
	Digest v1.Hash
	Size   int64 // of the manifest
}

// PushRandomImage pushes a small random image as repo:tag (repo without host,
// e.g. "acme/app") and returns its manifest digest and size.
func (r *Registry) PushRandomImage(ctx context.Context, repo, tag string) (PushedImage, error) {
	img, err := RandomImage()
	if err != nil {
		return PushedImage{}, err
	}
	return r.PushImage(ctx, img, repo, tag)
}

// RandomImage makes a small image with one random layer.
func RandomImage() (v1.Image, error) { return random.Image(512, 1) }

// PushImage pushes img as repo:tag and returns its manifest digest and size.
func (r *Registry) PushImage(ctx context.Context, img v1.Image, repo, tag string) (PushedImage, error) {
	ref, err := name.ParseReference(fmt.Sprintf("%s/%s:%s", r.Host, repo, tag))
	if err != nil {
		return PushedImage{}, err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return PushedImage{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return PushedImage{}, err
	}
	size, err := img.Size()
	if err != nil {
		return PushedImage{}, err
	}
	return PushedImage{Ref: ref.String(), Digest: digest, Size: size}, nil
}
