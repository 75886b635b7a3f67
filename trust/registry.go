package trust

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
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
	guarded := schemeGuard{inner: c.base, allow: func(u *url.URL) bool { return u.Scheme == "https" || isLoopback(u.Host) }}
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
	ref, err := gun.Tag(tag)
	if err != nil {
		return nil, wrapError(ErrBadInput, err, gun.String()+":"+tag, "give a valid tag", "not a valid tag")
	}
	desc, err := remote.Head(ref, c.registryOptions(ctx)...)
	if err != nil {
		return nil, registryError(err, gun.String()+":"+tag)
	}
	return &Image{Ref: ref.String(), Digest: desc.Digest.String(), Size: desc.Size}, nil
}

// signableImage is what test signing signs: the digest and size computed
// from the manifest's bytes as the registry serves them, checked against
// what the registry claims for the tag (ResolveTag). A registry, or a
// proxy, that claims one digest and serves another is refused: a
// signature for the claim would not match what consumers pull, and one
// for the bytes would not be what the admin was shown.
func (c *Client) signableImage(ctx context.Context, gun GUN, tag string) (*Image, error) {
	claimed, err := c.ResolveTag(ctx, gun, tag)
	if err != nil {
		return nil, err
	}
	ref, err := gun.Tag(tag)
	if err != nil {
		return nil, wrapError(ErrBadInput, err, gun.String()+":"+tag, "give a valid tag", "not a valid tag")
	}
	desc, err := remote.Get(ref, c.registryOptions(ctx)...)
	if err != nil {
		return nil, registryError(err, gun.String()+":"+tag)
	}
	// go-containerregistry computes the digest from the bytes it read.
	served := &Image{Ref: claimed.Ref, Digest: desc.Digest.String(), Size: int64(len(desc.Manifest))}
	if served.Digest != claimed.Digest || served.Size != claimed.Size {
		return nil, newError(ErrRegistry, gun.String()+":"+tag, "ask the registry's operator: its answers for this tag disagree, so neither can be signed",
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
	if errors.As(err, &tout) {
		return wrapError(ErrRegistry, err, input, "check that the registry is up and reachable, then run the same command again (with a longer time limit if it is only slow)",
			"the registry %s gave no answer within %s", tout.Host, tout.Limit)
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
	return wrapError(ErrRegistry, err, input, "check the registry host and that it is up", "cannot reach the registry: %s", shortCause(err))
}
