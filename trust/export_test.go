package trust

import (
	"context"
	"encoding/json"
	"time"

	"github.com/theupdateframework/notary/tuf/data"
)

// ExpireTargetsSoon re-signs gun's targets.json with the trust dir's
// targets key so that it expires after d: what three years do to a
// repository, made quick for the tests.
func ExpireTargetsSoon(ctx context.Context, c *Client, gun GUN, d time.Duration) error {
	s, repo, err := c.openLoaded(ctx, gun)
	if err != nil {
		return err
	}
	signed, err := repo.SignTargets(data.CanonicalTargetsRole, time.Now().Add(d))
	if err != nil {
		return err
	}
	b, err := json.Marshal(signed)
	if err != nil {
		return err
	}
	return s.remote.SetMulti(map[string][]byte{data.CanonicalTargetsRole.String(): b})
}

// ExpireRootSoon re-signs gun's root.json with the trust dir's root key
// so that it expires after d (same keys, next version): a repository near
// the end of its root's ten years, made quick for the tests.
func ExpireRootSoon(ctx context.Context, c *Client, gun GUN, d time.Duration) error {
	s, _, err := c.openLoaded(ctx, gun)
	if err != nil {
		return err
	}
	root, err := openExistingRoot(ctx, s, FileRootKey(""))
	if err != nil {
		return err
	}
	rs, err := c.open(ctx, gun, sessionOptions{rootKey: root, keep: true})
	if err != nil {
		return err
	}
	repo, err := rs.load()
	if err != nil {
		return err
	}
	signed, err := repo.SignRoot(time.Now().Add(d), nil)
	if err != nil {
		return err
	}
	b, err := json.Marshal(signed)
	if err != nil {
		return err
	}
	return rs.remote.SetMulti(map[string][]byte{data.CanonicalRootRole.String(): b})
}
