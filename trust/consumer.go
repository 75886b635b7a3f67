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
	repo, s, err := c.consumerRepo(ctx, gun, pinnedRootIDs)
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
	repo, s, err := c.consumerRepo(ctx, gun, pinnedRootIDs)
	if err != nil {
		return err
	}
	if _, err := repo.ListTargets(ReleasesRole, data.CanonicalTargetsRole); err != nil {
		return s.explain(err, ErrVerification)
	}
	return nil
}

func (c *Client) consumerRepo(ctx context.Context, gun GUN, pinned []string) (client.Repository, *session, error) {
	if len(pinned) == 0 {
		return nil, nil, newError(ErrBadInput, gun.String(), "", "no root key to pin")
	}
	rt, err := c.notaryTransport(ctx, gun)
	if err != nil {
		return nil, nil, err
	}
	server := c.ServerURL(gun)
	remote, err := store.NewNotaryServerStore(server, data.GUN(gun.String()), rt)
	if err != nil {
		return nil, nil, wrapError(ErrBadInput, err, server, "", "not a notary server URL")
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
