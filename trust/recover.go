package trust

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	store "github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
)

// maxMetadata bounds what is read of one metadata file from the server.
const maxMetadata = 10 << 20

// serverMetadata is the repository's top-level metadata as the server has it.
type serverMetadata map[data.RoleName][]byte

// fetchMetadata reads root, timestamp, snapshot and targets from the server.
func (s *session) fetchMetadata() (serverMetadata, error) {
	out := serverMetadata{}
	for _, role := range []data.RoleName{data.CanonicalRootRole, data.CanonicalTimestampRole, data.CanonicalSnapshotRole, data.CanonicalTargetsRole} {
		b, err := s.remote.GetSized(role.String(), maxMetadata)
		if err != nil {
			return nil, s.explain(err, ErrServerUnreachable)
		}
		out[role] = b
	}
	return out, nil
}

// buildTolerating verifies the server's metadata as notary's client does
// (signatures, thresholds, snapshot and timestamp checksums, expiry)
// except that an expired targets.json is accepted: the one thing that a
// recovery with the root key replaces. The root is trusted on first use;
// the caller checks that it names the ceremony's root key, which is the
// anchor here.
func buildTolerating(gun GUN, meta serverMetadata, cs signed.CryptoService) (*tuf.Repo, error) {
	b := tuf.NewRepoBuilder(data.GUN(gun.String()), cs, trustpinning.TrustPinConfig{})
	for _, role := range []data.RoleName{data.CanonicalRootRole, data.CanonicalTimestampRole, data.CanonicalSnapshotRole, data.CanonicalTargetsRole} {
		if err := b.Load(role, meta[role], 1, role == data.CanonicalTargetsRole); err != nil {
			return nil, wrapError(ErrVerification, err, gun.String(), "", "the server's %s does not verify: %v", role, err)
		}
	}
	repo, _, err := b.Finish()
	if err != nil {
		return nil, wrapError(ErrVerification, err, gun.String(), "", "the server's trust data does not verify: %v", err)
	}
	return repo, nil
}

// recoverTargets gives a repository whose targets.json has expired a new
// targets key and a renewed targets.json (its delegations as they were),
// signed into a new root.json with the root key. notary's client refuses
// to load expired trust data at all, so no notary command can do this; the
// metadata is loaded here with that one expiry tolerated, and the two
// files are uploaded as notary's publish would. No key is removed before
// the upload; the caller retires the old one after verifying.
func (c *Client) recoverTargets(ctx context.Context, s *session, gun GUN, root RootKey, rootKey data.PrivateKey) (*KeyRotation, *session, []string, error) {
	meta, err := s.fetchMetadata()
	if err != nil {
		return nil, nil, nil, err
	}
	looked, err := buildTolerating(gun, meta, s.cs)
	if err != nil {
		return nil, nil, nil, err
	}
	if !holdsRoot(looked.Root, rootKey) {
		return nil, nil, nil, newError(ErrNoRootKey, root.String(), "give this repository's root key",
			"this root key is not the root key of %s", gun)
	}
	// The server's root must name the root keys this trust dir trusted
	// before (dctwiz does not rotate root keys): another root that merely
	// lists ours too is refused.
	if cache, err := c.metadataCache(gun); err == nil {
		if raw, err := cache.GetSized(data.CanonicalRootRole.String(), maxMetadata); err == nil {
			cached, err := parseRoot(raw)
			if err != nil || !sameKeys(cached.Signed.Roles[data.CanonicalRootRole].KeyIDs, looked.Root.Signed.Roles[data.CanonicalRootRole].KeyIDs) {
				return nil, nil, nil, newError(ErrVerification, gun.String(), "compare the server's root.json with the root certificate you exported",
					"the server's root.json names other root keys than the ones this trust dir trusted before")
			}
		}
	}
	old := slices.Clone(looked.Root.Signed.Roles[data.CanonicalTargetsRole].KeyIDs)
	rootIDs := slices.Clone(looked.Root.Signed.Roles[data.CanonicalRootRole].KeyIDs)
	rs, err := c.open(ctx, gun, sessionOptions{rootKey: rootKey, keep: true})
	if err != nil {
		return nil, nil, nil, err
	}
	repo, err := buildTolerating(gun, meta, rs.cs)
	if err != nil {
		return nil, nil, nil, err
	}
	res := &KeyRotation{GUN: gun.String(), Role: data.CanonicalTargetsRole.String(), OldKeyIDs: old, Location: "trust dir", Recovered: true}
	if res.NewKeyID, err = rs.newKey(data.CanonicalTargetsRole); err != nil {
		return nil, nil, nil, err
	}
	pub := rs.cs.GetKey(res.NewKeyID)
	if pub == nil {
		return nil, nil, nil, newError(ErrBadInput, c.trustDir, "", "the new targets key is not in the key store")
	}
	if err := repo.ReplaceBaseKeys(data.CanonicalTargetsRole, pub); err != nil {
		return nil, nil, nil, wrapError(ErrPublish, err, gun.String(), "", "cannot put the new targets key into root.json: %v", err)
	}
	rootSigned, err := repo.SignRoot(data.DefaultExpires(data.CanonicalRootRole), nil)
	if err != nil {
		return nil, nil, nil, rs.explain(err, ErrPublish)
	}
	targetsSigned, err := repo.SignTargets(data.CanonicalTargetsRole, data.DefaultExpires(data.CanonicalTargetsRole))
	if err != nil {
		return nil, nil, nil, rs.explain(err, ErrPublish)
	}
	files := map[string][]byte{}
	for role, sig := range map[data.RoleName]*data.Signed{data.CanonicalRootRole: rootSigned, data.CanonicalTargetsRole: targetsSigned} {
		b, err := json.Marshal(sig)
		if err != nil {
			return nil, nil, nil, err
		}
		files[role.String()] = b
	}
	if err := rs.remote.SetMulti(files); err != nil {
		// The answer may be lost after the server committed: the caller looks.
		var invalid store.ErrInvalidOperation
		if errors.As(err, &invalid) {
			return nil, nil, nil, rs.explain(err, ErrPublish)
		}
		return res, rs, rootIDs, errLandedUnknown{rs.explain(err, ErrPublish)}
	}
	return res, rs, rootIDs, nil
}

// errLandedUnknown is an upload whose answer did not come: what the
// server has must be asked.
type errLandedUnknown struct{ err error }

func (e errLandedUnknown) Error() string { return e.err.Error() }
func (e errLandedUnknown) Unwrap() error { return e.err }

// sameKeys says whether two key ID lists hold the same IDs.
func sameKeys(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// ExpiredRole names the role whose expiry err reports ("targets",
// "root", ...), or "" when err is no expiry.
func ExpiredRole(err error) string {
	var expired signed.ErrExpired
	if errors.As(err, &expired) {
		return expired.Role.String()
	}
	return ""
}
