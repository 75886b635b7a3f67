package trust

import (
	"context"
	"encoding/hex"
	"errors"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/client/changelist"
	"github.com/theupdateframework/notary/cryptoservice"
	store "github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
)

// Resolved is a tag as a consumer with content trust resolves it.
type Resolved struct {
	Tag    string `json:"tag"`
	Digest string `json:"digest"` // sha256:<hex>
	Size   int64  `json:"size"`
	Role   string `json:"role"` // the role whose signature it came from
}

// ResolveAsConsumer resolves tag the way `docker pull` does with content
// trust (targets/releases first, then targets), but from an empty trust
// cache pinned to the given root key IDs with trust on first use off: it
// proves that a client which knows only the root certificate gets this
// answer.
func (c *Client) ResolveAsConsumer(ctx context.Context, gun GUN, pinnedRootIDs []string, tag string) (*Resolved, error) {
	return c.resolveAsConsumer(ctx, gun, pinnedRootIDs, tag, nil)
}

func (c *Client) resolveAsConsumer(ctx context.Context, gun GUN, pinnedRootIDs []string, tag string, shared *sessionMemo) (*Resolved, error) {
	repo, s, err := c.consumerRepo(ctx, gun, pinnedRootIDs, shared)
	if err != nil {
		return nil, err
	}
	t, err := repo.GetTargetByName(tag, ReleasesRole, data.CanonicalTargetsRole)
	if err != nil {
		var notFound client.ErrNoSuchTarget
		if errors.As(err, &notFound) {
			return nil, wrapError(ErrNotFound, err, gun.String()+":"+tag, "sign the tag first", "no trust data for this tag")
		}
		return nil, s.explain(err, ErrVerification)
	}
	sum, ok := t.Hashes["sha256"]
	if !ok {
		return nil, newError(ErrVerification, gun.String()+":"+tag, "", "the signed target has no sha256 hash")
	}
	return &Resolved{Tag: tag, Digest: "sha256:" + hex.EncodeToString(sum), Size: t.Length, Role: t.Role.String()}, nil
}

// VerifyPublished checks that the published trust data verifies from an
// empty cache pinned to pinnedRootIDs.
func (c *Client) VerifyPublished(ctx context.Context, gun GUN, pinnedRootIDs []string) error {
	repo, s, err := c.consumerRepo(ctx, gun, pinnedRootIDs, nil)
	if err != nil {
		return err
	}
	if _, err := repo.ListTargets(ReleasesRole, data.CanonicalTargetsRole); err != nil {
		return s.explain(err, ErrVerification)
	}
	return nil
}

func (c *Client) consumerRepo(ctx context.Context, gun GUN, pinned []string, shared *sessionMemo) (client.Repository, *session, error) {
	if len(pinned) == 0 {
		return nil, nil, newError(ErrBadInput, gun.String(), "", "no root key to pin")
	}
	remote, server, err := c.consumerRemote(ctx, gun, shared)
	if err != nil {
		return nil, nil, err
	}
	pin := trustpinning.TrustPinConfig{Certs: map[string][]string{gun.String(): pinned}, DisableTOFU: true}
	repo, err := client.NewRepository(data.GUN(gun.String()), server, remote, store.NewMemoryStore(nil),
		pin, cryptoservice.EmptyService, changelist.NewMemChangelist())
	if err != nil {
		return nil, nil, wrapError(ErrBadInput, err, gun.String(), "", "cannot open the repository")
	}
	s := &session{c: c, gun: gun, server: server, remote: remote, pass: &passRecorder{}}
	return repo, s, nil
}

// consumerRemote is the server as a consumer reads it: root.json and
// timestamp.json from the server itself, files named by their hash from
// the memo when this process already holds them. shared is the session
// memo of the engine call the check is part of, or nil.
func (c *Client) consumerRemote(ctx context.Context, gun GUN, shared *sessionMemo) (*memoRemote, string, error) {
	rt, err := c.notaryTransport(ctx, gun)
	if err != nil {
		return nil, "", err
	}
	server := c.ServerURL(gun)
	inner, err := store.NewNotaryServerStore(server, data.GUN(gun.String()), rt)
	if err != nil {
		return nil, "", wrapError(ErrBadInput, err, server, "", "not a notary server URL")
	}
	remote := c.memoRemote(gun, inner, shared)
	remote.noRootMemo = true
	return remote, server, nil
}

// TrustSnapshot is what a consumer's cache holds after it pulled: the
// trust data that a docker client which trusted the repository before a
// ceremony keeps, to check that such a client follows the change.
type TrustSnapshot struct {
	GUN   string
	files map[data.RoleName][]byte
}

// Snapshot reads the repository as a consumer that trusts on first use
// (as docker does) and keeps what that consumer cached.
func (c *Client) Snapshot(ctx context.Context, gun GUN) (*TrustSnapshot, error) {
	mem := store.NewMemoryStore(nil)
	if err := c.consumeWith(ctx, gun, mem); err != nil {
		return nil, err
	}
	snap := &TrustSnapshot{GUN: gun.String(), files: map[data.RoleName][]byte{}}
	for _, name := range mem.ListFiles() {
		if b, err := mem.Get(name); err == nil {
			snap.files[data.RoleName(name)] = b
		}
	}
	return snap, nil
}

// VerifyFromSnapshot checks that a consumer whose cache holds snap
// accepts the repository's trust data as it is now.
func (c *Client) VerifyFromSnapshot(ctx context.Context, gun GUN, snap *TrustSnapshot) error {
	if snap == nil {
		return newError(ErrBadInput, gun.String(), "", "no earlier trust data to verify from")
	}
	seed := make(map[data.RoleName][]byte, len(snap.files))
	for k, v := range snap.files {
		seed[k] = v
	}
	return c.consumeWith(ctx, gun, store.NewMemoryStore(seed))
}

// consumeWith lists the repository's targets as a trust-on-first-use
// consumer with this cache, which it updates.
func (c *Client) consumeWith(ctx context.Context, gun GUN, cache store.MetadataStore) error {
	remote, server, err := c.consumerRemote(ctx, gun, nil)
	if err != nil {
		return err
	}
	repo, err := client.NewRepository(data.GUN(gun.String()), server, remote, cache,
		trustpinning.TrustPinConfig{}, cryptoservice.EmptyService, changelist.NewMemChangelist())
	if err != nil {
		return wrapError(ErrBadInput, err, gun.String(), "", "cannot open the repository")
	}
	s := &session{c: c, gun: gun, server: server, remote: remote, pass: &passRecorder{}}
	if _, err := repo.ListTargets(ReleasesRole, data.CanonicalTargetsRole); err != nil {
		return s.explain(err, ErrVerification)
	}
	return nil
}
