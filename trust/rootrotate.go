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
	// NewLocations say where each new key lives, in NewKeyIDs' order: the
	// token or file of a key this ceremony added, or "kept" for a key the
	// root role named before.
	NewLocations []string `json:"new_locations"`
	Version      int      `json:"root_version"`
	// Expires is when the published root.json expires.
	Expires time.Time `json:"root_expires"`
	// Renewed: root.json was signed anew with the same keys (a renewal).
	Renewed bool `json:"renewed,omitempty"`
	// AlreadyDone: the root role named these keys already (a rerun).
	AlreadyDone bool `json:"already_done,omitempty"`
}

// RootChange is what a root rotation makes of the root role: the
// published keys that stay, and the keys that come in.
type RootChange struct {
	// Add are the keys that come in (made on their token, or opened); a
	// key the root role names already keeps its published certificate.
	Add []RootKey
	// Keep are published root keys that stay, by certificate or canonical
	// key ID; KeepAll keeps every one.
	Keep []string
	// Remove drops these published root keys (by certificate or canonical
	// key ID: a lost token's key) and keeps every other one.
	Remove []string
	// Renew publishes root.json anew even when its keys stay the same:
	// a new version with a new expiry (10 years), signed by the current
	// root key. notary re-signs root.json only when it changes (or within
	// six months of its expiry, on any publish), so the renewal is a root
	// change that names the same keys.
	Renew bool
}

// KeepAll keeps every key the root role names now (a backup added).
const KeepAll = "all"

// RotateRoot gives the repository a root role of the kept and added keys,
// threshold 1 (a new token; a primary and its backup; a backup added; a
// lost key dropped by the other), and publishes root.json signed by
// current (which must be one of its root keys now) and by every added
// key: consumers who trust the old root follow, since the new root.json
// meets the old root role's threshold. A new key gets a certificate for
// the GUN, valid 10 years; a kept one keeps its published certificate, so
// that clients pinned to it keep working. Nothing is removed from a token
// or the trust dir, so a failed upload loses nothing, and a rerun converges.
func (c *Client) RotateRoot(ctx context.Context, gun GUN, current RootKey, change RootChange) (*RootRotation, error) {
	if current == nil || len(change.Add)+len(change.Keep)+len(change.Remove) == 0 || gun.IsZero() {
		return nil, newError(ErrBadInput, gun.String(), "choose the repository, its root key and the root keys it will have", "no repository, no root key or no new root key")
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
	holds := holdsRoot(repo.Root, curKey)
	kept, err := keptRootCerts(repo.Root, change.Keep, change.Remove)
	if err != nil {
		return nil, err
	}
	var keys []data.PrivateKey
	for _, n := range change.Add {
		k, err := n.open(ctx, s.keys, s.pass, true)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(keys, func(o data.PrivateKey) bool { return o.ID() == k.ID() }) {
			return nil, newError(ErrBadInput, n.String(), "give each new root key once", "the same root key is given twice")
		}
		keys = append(keys, k)
	}
	added, err := rootCertKeys(gun, repo.Root, keys)
	if err != nil {
		return nil, err
	}
	certs := kept
	where := make([]string, len(kept))
	for i := range where {
		where[i] = "kept"
	}
	for i, k := range added {
		if j := slices.IndexFunc(certs, func(o data.PublicKey) bool { return o.ID() == k.ID() }); j >= 0 {
			where[j] = change.Add[i].String()
			continue
		}
		certs, where = append(certs, k), append(where, change.Add[i].String())
	}
	for i, k := range certs {
		if cid, err := utils.CanonicalKeyID(k); err == nil {
			res.NewCanonical = append(res.NewCanonical, cid)
		}
		res.NewKeyIDs = append(res.NewKeyIDs, k.ID())
		res.NewLocations = append(res.NewLocations, where[i])
	}
	if !change.Renew && slices.Equal(sortedCopy(canonicalRootIDs(repo.Root)), sortedCopy(res.NewCanonical)) {
		// The root role names these keys already: an earlier run published
		// (the current root key of that run may be gone from the role).
		res.NewKeyIDs, res.Version, res.Expires, res.AlreadyDone = res.OldKeyIDs, repo.Root.Signed.Version, repo.Root.Signed.Expires, true
		res.NewLocations = nil
		return res, nil
	}
	if !holds {
		return nil, newError(ErrNoRootKey, current.String(), "give this repository's root key",
			"this root key is not the root key of %s", gun)
	}
	// The new root role must be able to sign its own root.json now: a key
	// of this ceremony must be in it.
	signers := append([]data.PrivateKey{curKey}, keys...)
	if !slices.ContainsFunc(certs, func(pub data.PublicKey) bool {
		cid, err := utils.CanonicalKeyID(pub)
		return err == nil && slices.ContainsFunc(signers, func(k data.PrivateKey) bool { return k.ID() == cid })
	}) {
		return nil, newError(ErrBadInput, gun.String(), "keep the root key that signs now, or add a new one",
			"none of the root keys it would have can sign in this ceremony")
	}
	// A session whose crypto service signs with the current root key and
	// the added ones, and never removes a key.
	rs, err := c.open(ctx, gun, sessionOptions{rootKey: curKey, moreRootKeys: keys, keep: true})
	if err != nil {
		return nil, err
	}
	if _, err := rs.load(); err != nil {
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
	// Whatever the answer, the server's root.json says what landed: the
	// new keys, and for a renewal (the same keys) a newer version. After
	// an interrupt, asked on a short context of its own.
	var published *data.SignedRoot
	look, done, err := rs.afterwards()
	if err == nil {
		defer done()
		published, err = look.publishedRoot()
	}
	switch {
	case err == nil && slices.Equal(sortedCopy(published.Signed.Roles[data.CanonicalRootRole].KeyIDs), sortedCopy(res.NewKeyIDs)) &&
		(!change.Renew || published.Signed.Version > repo.Root.Signed.Version):
	case pubErr != nil:
		return nil, publishFailed(gun, rs.explain(pubErr, ErrPublish), err == nil)
	case err != nil:
		return nil, err
	default:
		return nil, newError(ErrVerification, gun.String(), "", "the server's root.json is not the one this ceremony published")
	}
	// A consumer who knows only the new root certificates reads it.
	if err := c.VerifyPublished(ctx, gun, res.NewKeyIDs); err != nil {
		return res, err
	}
	// The trust dir's cache follows to the new root (verified through the old).
	loaded, err := rs.load()
	if err != nil {
		return res, err
	}
	res.Version, res.Expires, res.Renewed = loaded.Root.Signed.Version, loaded.Root.Signed.Expires, change.Renew
	return res, nil
}

// keptRootCerts are the published root certificate keys that stay: those
// named by keep (by certificate or canonical ID, or KeepAll), or all but
// those named by remove. An ID the root role does not name is an error.
func keptRootCerts(root *data.SignedRoot, keep, remove []string) (data.KeyList, error) {
	var out, all data.KeyList
	for _, id := range root.Signed.Roles[data.CanonicalRootRole].KeyIDs {
		if k, ok := root.Signed.Keys[id]; ok {
			all = append(all, k)
		}
	}
	named := func(k data.PublicKey, ids []string) bool {
		cid, _ := utils.CanonicalKeyID(k)
		return slices.Contains(ids, k.ID()) || slices.Contains(ids, cid)
	}
	for _, id := range append(slices.Clone(keep), remove...) {
		if id != KeepAll && !slices.ContainsFunc(all, func(k data.PublicKey) bool { return named(k, []string{id}) }) {
			return nil, newError(ErrBadInput, id, "give one of the repository's root key IDs", "not a root key of this repository").with(ActionInspect)
		}
	}
	for _, k := range all {
		switch {
		case len(remove) > 0 && !named(k, remove):
			out = append(out, k)
		case slices.Contains(keep, KeepAll), named(k, keep):
			out = append(out, k)
		}
	}
	return out, nil
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
