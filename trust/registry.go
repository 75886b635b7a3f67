package trust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image is what a registry says a tag points at: the manifest digest and
// size that content trust signs.
type Image struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

func (c *Client) registryOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.Reuse(c.registryPuller())}
}

// registryPuller keeps the registry's transport (its ping and its token)
// for the process: a ceremony asks the same registry twice, before and at
// test signing.
func (c *Client) registryPuller() *remote.Puller {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.puller != nil {
		return c.puller
	}
	// Plain http only to this machine: go-containerregistry would also use it
	// for private addresses, where a digest read in the clear could be forged.
	guarded := schemeGuard{inner: answerLimiter{c.base}, allow: func(u *url.URL) bool { return u.Scheme == "https" || isLoopback(u.Host) }}
	opts := []remote.Option{remote.WithTransport(guarded)}
	if c.registryAuth != nil {
		opts = append(opts, remote.WithAuth(c.registryAuth))
	} else {
		opts = append(opts, remote.WithAuthFromKeychain(c.keychain))
	}
	p, err := remote.NewPuller(opts...)
	if err != nil {
		panic(err) // only bad options fail, and these are fixed
	}
	c.puller = p
	return p
}

// ResolveTag asks the registry (no Docker daemon) for tag's manifest
// digest and size, with credentials from the docker config and its
// credential helpers unless WithRegistryAuth overrides them.
func (c *Client) ResolveTag(ctx context.Context, gun GUN, tag string) (*Image, error) {
	ref, err := tagRef(gun, tag)
	if err != nil {
		return nil, err
	}
	return c.resolveTag(ctx, ref, gun.String()+":"+tag)
}

// tagRef is gun:tag as go-containerregistry names it.
func tagRef(gun GUN, tag string) (name.Tag, error) {
	ref, err := gun.Tag(tag)
	if err != nil {
		return ref, wrapError(ErrBadInput, err, gun.String()+":"+tag, "give a valid tag", "not a valid tag")
	}
	return ref, nil
}

// resolveTag is what the registry claims for ref (input, GUN:TAG, in
// messages): the HEAD's digest and size, if it names an image manifest or
// an index.
func (c *Client) resolveTag(ctx context.Context, ref name.Tag, input string) (*Image, error) {
	desc, err := remote.Head(ref, c.registryOptions(ctx)...)
	if err != nil {
		return nil, registryError(err, input)
	}
	if err := signableMediaType(desc.MediaType, input); err != nil {
		return nil, err
	}
	return &Image{Ref: ref.String(), Digest: desc.Digest.String(), Size: desc.Size}, nil
}

// signableMediaType refuses an answer that is not an image manifest or an
// index of them (a web page, a blob): docker pulls those by the signed
// digest, and nothing else.
func signableMediaType(mt types.MediaType, input string) error {
	// A proxy may add parameters ("; charset=utf-8"): the type is what counts.
	if base, _, err := mime.ParseMediaType(string(mt)); err == nil {
		mt = types.MediaType(base)
	}
	if mt.IsImage() || mt.IsIndex() || mt.IsSchema1() {
		return nil
	}
	return newError(ErrRegistry, input, "check the registry host: something that is not a registry, or a proxy in front of it, answered",
		"the registry's answer for the tag is not an image manifest (%q)", mt)
}

// maxManifest bounds what dctwiz reads of a manifest: the distribution
// registry refuses to store one over 4 MiB, and a hostile answer (or a
// web page) must not fill memory. go-containerregistry's own bound is
// 100 MiB.
const maxManifest = 4 << 20

// maxRegistryAnswer bounds the registry's other answers dctwiz reads: its
// ping, a token, a tag list (200,000 tags take about 5 MiB). dctwiz reads
// no blobs.
const maxRegistryAnswer = 10 << 20

// answerLimiter cuts a manifest's body at maxManifest, and any other
// answer at maxRegistryAnswer.
type answerLimiter struct{ inner http.RoundTripper }

func (m answerLimiter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := m.inner.RoundTrip(req)
	if err == nil {
		limit := int64(maxRegistryAnswer)
		if strings.Contains(req.URL.Path, "/manifests/") {
			limit = maxManifest
		}
		resp.Body = &boundedBody{ReadCloser: resp.Body, left: limit, limit: limit}
	}
	return resp, err
}

// boundedBody fails a read past its bound with an AnswerTooLargeError.
type boundedBody struct {
	io.ReadCloser
	left, limit int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the bound from a longer one.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, &AnswerTooLargeError{Limit: b.limit}
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// AnswerTooLargeError is an answer cut at its bound.
type AnswerTooLargeError struct{ Limit int64 }

func (e *AnswerTooLargeError) Error() string {
	return fmt.Sprintf("the answer is larger than %d MiB", e.Limit>>20)
}

// signableImage is what test signing signs: the digest and size computed
// from the manifest's bytes as the registry serves them, checked against
// what the registry claims for the tag (ResolveTag). A registry, or a
// proxy, that claims one digest and serves another is refused: a
// signature for the claim would not match what consumers pull, and one
// for the bytes would not be what the admin was shown.
func (c *Client) signableImage(ctx context.Context, gun GUN, tag string) (*Image, error) {
	ref, err := tagRef(gun, tag)
	if err != nil {
		return nil, err
	}
	input := gun.String() + ":" + tag
	claimed, err := c.resolveTag(ctx, ref, input)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(ref, c.registryOptions(ctx)...)
	if err != nil {
		return nil, registryError(err, input)
	}
	if err := signableMediaType(desc.MediaType, input); err != nil {
		return nil, err
	}
	// go-containerregistry computes the digest from the bytes it read.
	served := &Image{Ref: claimed.Ref, Digest: desc.Digest.String(), Size: int64(len(desc.Manifest))}
	if served.Digest != claimed.Digest || served.Size != claimed.Size {
		return nil, newError(ErrRegistry, input, "ask the registry's operator: its answers for this tag disagree, so neither can be signed",
			"the registry claims %s (%d bytes) for the tag but serves a manifest of %s (%d bytes)", claimed.Digest, claimed.Size, served.Digest, served.Size)
	}
	return served, nil
}

// ListTags lists the tags the registry has for the repository.
func (c *Client) ListTags(ctx context.Context, gun GUN) ([]string, error) {
	ref, err := gun.Tag("latest")
	if err != nil {
		return nil, wrapError(ErrBadInput, err, gun.String(), "", "not a valid repository")
	}
	tags, err := remote.List(ref.Context(), c.registryOptions(ctx)...)
	if err != nil {
		return nil, registryError(err, gun.String())
	}
	return tags, nil
}

func registryError(err error, input string) error {
	var terr *transport.Error
	var tout *TimeoutError
	var large *AnswerTooLargeError
	if errors.As(err, &tout) {
		return wrapError(ErrRegistry, err, input, "check that the registry is up and reachable, then run the same command again (with a longer time limit if it is only slow)",
			"the registry %s gave no answer within %s", tout.Host, tout.Limit)
	}
	if errors.Is(err, context.Canceled) {
		return wrapError(ErrInterrupted, err, input, "run the same command again", "interrupted before the registry answered")
	}
	if e := tlsError(err, input, "registry"); e != nil {
		return e
	}
	if errors.As(err, &large) {
		what := "the registry's answer is not a registry's: %s"
		if large.Limit == maxManifest {
			what = "the registry's answer for the tag is not an image manifest: %s"
		}
		return wrapError(ErrRegistry, err, input, "check the registry host: something that is not a registry, or a proxy in front of it, answered", what, large)
	}
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusNotFound:
			return wrapError(ErrTagNotFound, err, input, "push the image first, or pick a tag that exists", "the registry has no such tag")
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return wrapError(ErrUnauthorized, err, input, "log in to the registry", "the registry refused access (HTTP %d)", terr.StatusCode).with(ActionRegistryLogin)
		}
		return wrapError(ErrRegistry, err, input, "", "the registry answered: %s", shortCause(err))
	}
	if !isNetworkError(err) {
		// The registry answered, but not as a registry does (a missing
		// digest header, a body past go-containerregistry's bounds).
		return wrapError(ErrRegistry, err, input, "check the registry host: something that is not a registry, or a proxy in front of it, answered",
			"the registry's answer is not a registry's: %s", shortCause(err))
	}
	return wrapError(ErrRegistry, err, input, "check the registry host and that it is up", "cannot reach the registry: %s", shortCause(err))
}

// isNetworkError says whether err is a failure to reach or to hear a
// server (a refused or cut connection, a name that does not resolve), as
// opposed to an answer that made no sense.
func isNetworkError(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}
