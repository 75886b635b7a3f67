package trust

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/client/changelist"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// RootRotation is a root role that now names other keys.
type RootRotation struct {
	GUN string `json:"gun"`
	// The root role's certificate key IDs (what clients pin) before and
	// after, and the new keys' canonical IDs (their bare public keys).
	OldKeyIDs    []string `json:"old_key_ids"`
	NewKeyIDs    []string `json:"new_key_ids"`
	NewCanonical []string `json:"new_canonical_key_ids"`
	Version      int      `json:"root_version"`
	// AlreadyDone: the root role named these keys already (a rerun).
	AlreadyDone bool `json:"already_done,omitempty"`
}

// RotateRoot gives the repository a root role that names the keys of
// next (a new token, a primary and its backup, or the current key with a
// backup added), threshold 1, and publishes root.json signed by current
// (which must be one of its root keys now) and by every key of next:
// consumers who trust the old root follow, since the new root.json meets
// the old root role's threshold. A key of next that the root role names
// already keeps its published certificate, so that clients pinned to it
// keep working; a new key gets a certificate for the GUN, valid 10 years.
// Every key is on its token or in its file before and after: nothing is
// removed, so a failed upload loses nothing, and a rerun converges.
func (c *Client) RotateRoot(ctx context.Context, gun GUN, current RootKey, next []RootKey) (*RootRotation, error) {
	if current == nil || len(next) == 0 || gun.IsZero() {
		return nil, newError(ErrBadInput, gun.String(), "choose the repository, its root key and the new root keys", "no repository, no root key or no new root key")
	}
	s, repo, err := c.openLoaded(ctx, gun)
	if err != nil {
		return nil, err
	}
	res := &RootRotation{GUN: gun.String(), OldKeyIDs: slices.Clone(repo.Root.Signed.Roles[data.CanonicalRootRole].KeyIDs)}
	curKey, err := openExistingRoot(ctx, s, current)
	if err != nil {
		return nil, err
	}
	if !holdsRoot(repo.Root, curKey) {
		return nil, newError(ErrNoRootKey, current.String(), "give this repository's root key",
			"this root key is not the root key of %s", gun)
	}
	var keys []data.PrivateKey
	for _, n := range next {
		k, err := n.open(ctx, s.keys, s.pass, true)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(keys, func(o data.PrivateKey) bool { return o.ID() == k.ID() }) {
			return nil, newError(ErrBadInput, n.String(), "give each new root key once", "the same root key is given twice")
		}
		keys = append(keys, k)
		res.NewCanonical = append(res.NewCanonical, k.ID())
	}
	if slices.Equal(sortedCopy(canonicalRootIDs(repo.Root)), sortedCopy(res.NewCanonical)) {
		// The root role names these keys already: an earlier run published.
		res.NewKeyIDs, res.Version, res.AlreadyDone = res.OldKeyIDs, repo.Root.Signed.Version, true
		return res, nil
	}
	// A session whose crypto service signs with the current root key and
	// the new ones, and never removes a key.
	rs, err := c.open(ctx, gun, sessionOptions{rootKey: curKey, moreRootKeys: keys, keep: true})
	if err != nil {
		return nil, err
	}
	if _, err := rs.load(); err != nil {
		return nil, err
	}
	certs, err := rootCertKeys(gun, repo.Root, keys)
	if err != nil {
		return nil, err
	}
	meta, err := json.Marshal(changelist.TUFRootData{RoleName: data.CanonicalRootRole, Keys: certs})
	if err != nil {
		return nil, err
	}
	if err := rs.changes.Add(changelist.NewTUFChange(changelist.ActionCreate, changelist.ScopeRoot, changelist.TypeBaseRole,
		data.CanonicalRootRole.String(), meta)); err != nil {
		return nil, err
	}
	pubErr := rs.repo.Publish()
	// Whatever the answer, the server's root.json says what landed.
	published, err := rs.roleKeys(data.CanonicalRootRole)
	wantIDs := make([]string, len(certs))
	for i, k := range certs {
		wantIDs[i] = k.ID()
	}
	switch {
	case err == nil && slices.Equal(sortedCopy(published), sortedCopy(wantIDs)):
	case pubErr != nil:
		return nil, publishFailed(gun, rs.explain(pubErr, ErrPublish), err == nil)
	case err != nil:
		return nil, err
	default:
		return nil, newError(ErrVerification, gun.String(), "", "the server's root.json does not name the new root keys")
	}
	res.NewKeyIDs = wantIDs
	// A consumer who knows only the new root certificates reads it.
	if err := c.VerifyPublished(ctx, gun, wantIDs); err != nil {
		return res, err
	}
	// The trust dir's cache follows to the new root (verified through the old).
	loaded, err := rs.load()
	if err != nil {
		return res, err
	}
	res.Version = loaded.Root.Signed.Version
	return res, nil
}

// rootCertKeys are the certificate keys of the new root role: the
// published certificate of a key the root role names already, a new one
// (CN = the GUN, 10 years, as notary makes them) for a new key.
func rootCertKeys(gun GUN, root *data.SignedRoot, keys []data.PrivateKey) (data.KeyList, error) {
	var out data.KeyList
	for _, k := range keys {
		if pub := publishedRootCert(root, k.ID()); pub != nil {
			out = append(out, pub)
			continue
		}
		start := time.Now()
		cert, err := cryptoservice.GenerateCertificate(k, data.GUN(gun.String()), start, start.Add(10*notary.Year))
		if err != nil {
			return nil, wrapError(ErrNoRootKey, err, gun.String(), "", "cannot make the certificate of the new root key")
		}
		pub := utils.CertToKey(cert)
		if pub == nil {
			return nil, newError(ErrNoRootKey, gun.String(), "", "the new root key's certificate has a key type notary does not take")
		}
		out = append(out, pub)
	}
	return out, nil
}

// publishedRootCert is the root role's certificate key for the key with
// canonical ID id, or nil.
func publishedRootCert(root *data.SignedRoot, id string) data.PublicKey {
	for _, kid := range root.Signed.Roles[data.CanonicalRootRole].KeyIDs {
		if k, ok := root.Signed.Keys[kid]; ok {
			if cid, err := utils.CanonicalKeyID(k); err == nil && cid == id {
				return k
			}
		}
	}
	return nil
}

// canonicalRootIDs are the canonical IDs of the root role's keys.
func canonicalRootIDs(root *data.SignedRoot) []string {
	var out []string
	for _, kid := range root.Signed.Roles[data.CanonicalRootRole].KeyIDs {
		if k, ok := root.Signed.Keys[kid]; ok {
			if cid, err := utils.CanonicalKeyID(k); err == nil {
				out = append(out, cid)
			}
		}
	}
	return out
}

func sortedCopy(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}
