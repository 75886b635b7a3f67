package trust

import (
	"context"
	"errors"
	"slices"
	"sort"

	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	"github.com/theupdateframework/notary/tuf/utils"
)

// KeyRotation says what a key rotation did.
type KeyRotation struct {
	GUN       string   `json:"gun"`
	Role      string   `json:"role"`        // targets, snapshot or timestamp
	OldKeyIDs []string `json:"old_key_ids"` // the role's keys root.json named before
	NewKeyID  string   `json:"new_key_id"`  // the role's key root.json names now
	Location  string   `json:"location"`    // where the new key lives: "trust dir" or "server"
	// Retired lists the old targets keys that were in the trust dir and
	// were removed once the new one was published and verified.
	Retired []string `json:"retired,omitempty"`
	// Recovered: targets.json had expired, and was renewed from the
	// server's metadata with that one expiry tolerated.
	Recovered bool `json:"recovered,omitempty"`
}

// RotateTargetsKey gives the repository a new targets key, signed into
// root.json with the root key, and re-signs targets.json (its delegations
// unchanged) with it. It needs the root key, not the old targets key, so
// it works after the targets key was deleted. No key is ever lost: notary
// would remove the old private key before the upload, so the old key stays
// in the trust dir until the new trust data is published and verifies
// from an empty cache; then it is removed, with any key an interrupted
// earlier run left.
func (c *Client) RotateTargetsKey(ctx context.Context, gun GUN, root RootKey) (*KeyRotation, error) {
	return c.rotate(ctx, gun, root, data.CanonicalTargetsRole, true)
}

// RotateServerKey has the notary server make a new snapshot or timestamp
// key for the repository, and signs it into root.json with the root key;
// the server signs with it from then on. Its old key is the server's: the
// server keeps it.
func (c *Client) RotateServerKey(ctx context.Context, gun GUN, root RootKey, role string) (*KeyRotation, error) {
	r := data.RoleName(role)
	if r != data.CanonicalSnapshotRole && r != data.CanonicalTimestampRole {
		return nil, newError(ErrBadInput, role, "rotate snapshot or timestamp", "the server manages only the snapshot and timestamp keys")
	}
	return c.rotate(ctx, gun, root, r, false)
}

// RotateLocalSnapshotKey makes a new snapshot key in the trust dir (its
// passphrase is the targets key's, as notary has it) and signs it into
// root.json: from then on every publish signs snapshot.json here, so it
// needs that key. A later RotateServerKey hands it back to the server
// and retires the local key.
func (c *Client) RotateLocalSnapshotKey(ctx context.Context, gun GUN, root RootKey) (*KeyRotation, error) {
	return c.rotate(ctx, gun, root, data.CanonicalSnapshotRole, true)
}

// rotate replaces role's key: a new targets key in the trust dir, or a new
// server-managed snapshot or timestamp key.
func (c *Client) rotate(ctx context.Context, gun GUN, root RootKey, role data.RoleName, local bool) (*KeyRotation, error) {
	if root == nil || gun.IsZero() {
		return nil, newError(ErrBadInput, "", "choose the repository and its root key", "no repository or no root key")
	}
	// The repository as it is, verified as docker verifies it.
	s, repo, err := c.openLoaded(ctx, gun)
	if ExpiredRole(err) == data.CanonicalTargetsRole.String() && role == data.CanonicalTargetsRole {
		return c.recover(ctx, gun, root)
	}
	if err != nil {
		return nil, err
	}
	old := slices.Clone(repo.Root.Signed.Roles[role].KeyIDs)
	rootIDs := slices.Clone(repo.Root.Signed.Roles[data.CanonicalRootRole].KeyIDs)
	rootKey, err := openExistingRoot(ctx, s, root)
	if err != nil {
		return nil, err
	}
	if !holdsRoot(repo.Root, rootKey) {
		return nil, newError(ErrNoRootKey, root.String(), "give this repository's root key",
			"this root key is not the root key of %s", gun)
	}
	// A session that signs with the root key and never removes a key.
	rs, err := c.open(ctx, gun, sessionOptions{rootKey: rootKey, keep: true})
	if err != nil {
		return nil, err
	}
	res := &KeyRotation{GUN: gun.String(), Role: role.String(), OldKeyIDs: old, Location: "server"}
	var rotateErr error
	if local {
		res.Location = "trust dir"
		if res.NewKeyID, err = rs.newKey(role); err != nil {
			return nil, err
		}
		rotateErr = rs.repo.RotateKey(role, false, []string{res.NewKeyID})
	} else {
		rotateErr = rs.repo.RotateKey(role, true, nil)
	}
	return c.finishRotation(ctx, s, rs, res, rotateErr, rootIDs)
}

// recover renews an expired targets.json (see recoverTargets), then
// finishes as a rotation does.
func (c *Client) recover(ctx context.Context, gun GUN, root RootKey) (*KeyRotation, error) {
	s, err := c.open(ctx, gun, sessionOptions{})
	if err != nil {
		return nil, err
	}
	rootKey, err := openExistingRoot(ctx, s, root)
	if err != nil {
		return nil, err
	}
	res, rs, rootIDs, err := c.recoverTargets(ctx, s, gun, root, rootKey)
	var unknown errLandedUnknown
	if err != nil && !errors.As(err, &unknown) {
		return nil, err
	}
	res, err = c.finishRotation(ctx, s, rs, res, err, rootIDs)
	if err == nil {
		// The trust dir's cache held the expired trust data; it starts
		// again from what is published now, which verified.
		if cache, cerr := c.metadataCache(gun); cerr == nil {
			cache.RemoveAll()
		}
		_, err = rs.load()
	}
	return res, err
}

// finishRotation asks the server what its root.json names now (after a
// failed upload too: the answer may be lost after the server committed),
// verifies the result as a consumer who knows only the root certificate,
// and only then retires old targets keys.
func (c *Client) finishRotation(ctx context.Context, s, rs *session, res *KeyRotation, rotateErr error, rootIDs []string) (*KeyRotation, error) {
	gun, role := s.gun, data.RoleName(res.Role)
	now, checkErr := rs.roleKeys(role)
	if checkErr == nil && !slices.Equal(now, res.OldKeyIDs) && len(now) == 1 && (res.NewKeyID == "" || now[0] == res.NewKeyID) {
		res.NewKeyID = now[0]
	} else if rotateErr != nil {
		return nil, publishFailed(gun, rs.explain(rotateErr, ErrPublish), checkErr == nil)
	} else {
		if checkErr == nil {
			checkErr = newError(ErrVerification, gun.String(), "", "the server does not name the new %s key", role)
		}
		return nil, checkErr
	}
	if err := c.VerifyPublished(ctx, gun, rootIDs); err != nil {
		return res, err
	}
	if role == data.CanonicalTargetsRole || role == data.CanonicalSnapshotRole {
		// Every other key of the role for this repository in the trust dir
		// is retired now that root.json names only the new one: the old
		// key, any an interrupted earlier run left behind, and a local
		// snapshot key handed back to the server. Listing needs no passphrase.
		for id, info := range s.keys.ListKeys() {
			if info.Role != role || info.Gun != data.GUN(gun.String()) || id == res.NewKeyID {
				continue
			}
			if err := s.keys.RemoveKey(id); err != nil {
				return res, wrapError(ErrBadInput, err, c.trustDir, "remove the old "+role.String()+" key by hand",
					"the new %s key is published, but an old one could not be removed", role)
			}
			res.Retired = append(res.Retired, id)
		}
		sort.Strings(res.Retired)
	}
	// The cache now trusts the new root; load it so later commands start from it.
	if _, err := rs.load(); err != nil {
		return res, err
	}
	return res, nil
}

// holdsRoot says whether key is one of root.json's root keys.
func holdsRoot(root *data.SignedRoot, key data.PrivateKey) bool {
	for _, id := range root.Signed.Roles[data.CanonicalRootRole].KeyIDs {
		if k, ok := root.Signed.Keys[id]; ok {
			if cid, err := utils.CanonicalKeyID(k); err == nil && cid == key.ID() {
				return true
			}
		}
	}
	return false
}

// newKey makes the key to rotate role to: always a new one. A key that
// an interrupted earlier run left is never reused, since it cannot be told
// from the key being replaced (a rerun after the publish landed would
// publish the old key again); leftovers are retired once the new key is
// published.
func (s *session) newKey(role data.RoleName) (string, error) {
	pub, err := s.cs.Create(role, data.GUN(s.gun.String()), data.ECDSAKey)
	if err != nil {
		if s.pass.problem != nil {
			return "", s.pass.problem
		}
		return "", wrapError(ErrBadInput, err, s.c.trustDir, "check that the trust dir is writable and its disk has room", "cannot make the new %s key: %s", role, shortCause(err))
	}
	return pub.ID(), nil
}

// roleKeys asks the server which keys its root.json names for role.
func (s *session) roleKeys(role data.RoleName) ([]string, error) {
	root, err := s.publishedRoot()
	if err != nil {
		return nil, err
	}
	return root.Signed.Roles[role].KeyIDs, nil
}

// publishedRoot is the server's root.json as it is now: read from the
// server, past the memo, since it checks what a publish left.
func (s *session) publishedRoot() (*data.SignedRoot, error) {
	raw, err := s.remote.RemoteStore.GetSized(data.CanonicalRootRole.String(), maxMetadata)
	if err != nil {
		return nil, s.explain(err, ErrServerUnreachable)
	}
	root, err := parseRoot(raw)
	if err != nil {
		return nil, wrapError(ErrVerification, err, s.gun.String(), "", "the server's root.json does not parse")
	}
	return root, nil
}

// keepingCryptoService removes no key: notary removes a rotated-out key
// before the upload, which would lose it if the upload failed. The caller
// removes old keys itself, once the new trust data is published.
type keepingCryptoService struct{ signed.CryptoService }

func (keepingCryptoService) RemoveKey(string) error { return nil }

// rotationCryptoService is the session's crypto service for a rotation:
// it removes no key and always makes a new one.
func rotationCryptoService(stores []trustmanager.KeyStore) signed.CryptoService {
	return keepingCryptoService{cryptoservice.NewCryptoService(stores...)}
}

// openExistingRoot opens the ceremony's root key, which must exist: a
// maintenance ceremony never makes one.
func openExistingRoot(ctx context.Context, s *session, root RootKey) (data.PrivateKey, error) {
	rootKey, err := root.open(ctx, s.keys, s.pass, false)
	if errors.Is(err, errNoRootKeyYet) {
		return nil, newError(ErrNoRootKey, root.String(), "give this repository's root key",
			"no root key there: this repository's root key is elsewhere")
	}
	return rootKey, err
}
