package trust

import (
	"context"
	"os"
	"path/filepath"
	"sort"

	"github.com/theupdateframework/notary/tuf/data"
)

// TargetsKeyDeletion reports the removal of a repository's targets key.
type TargetsKeyDeletion struct {
	GUN      string   `json:"gun"`
	KeyIDs   []string `json:"key_ids"`  // targets keys removed from the key store
	Files    []string `json:"files"`    // key files that existed and are gone now
	Verified bool     `json:"verified"` // the published trust data verified first
	Gone     bool     `json:"gone"`     // a fresh look at the key store finds none of them
	// Consequence says what the repository can no longer do.
	Consequence string `json:"consequence"`
}

// DeleteTargetsKey removes every copy of the repository's targets private
// key from the trust dir's key store, but only after the published trust
// data verifies from an empty cache pinned to the root certificate. It then
// proves that the key is gone. This is destructive: callers must get the
// user's confirmation first. Running it again finds nothing to remove.
func (c *Client) DeleteTargetsKey(ctx context.Context, gun GUN) (*TargetsKeyDeletion, error) {
	s, repo, err := c.openLoaded(ctx, gun)
	if err != nil {
		return nil, err
	}
	// Without a release signer nobody could sign the repository's tags
	// once the targets key is gone.
	if d, ok := delegationByRole(repo, ReleasesRole); !ok || len(d.KeyIDs) == 0 {
		return nil, newError(ErrNoSigner, gun.String(), "add a signer first, then delete the targets key",
			"the repository has no targets/releases signer: without the targets key nobody could sign").with(ActionAddSigner)
	}
	certs, err := rootCertificates(gun, repo)
	if err != nil {
		return nil, err
	}
	if err := c.VerifyPublished(ctx, gun, PinnedIDs(certs)); err != nil {
		return nil, err
	}
	res := &TargetsKeyDeletion{GUN: gun.String(), Verified: true,
		Consequence: "the targets key is deleted: release signers can still sign, but adding or removing a signer now needs a targets-key rotation with the root key"}

	published := map[string]bool{}
	if role, ok := repo.Root.Signed.Roles[data.CanonicalTargetsRole]; ok {
		for _, id := range role.KeyIDs {
			published[id] = true
		}
	}
	// Every key the store holds for this GUN's targets role, and any copy of
	// a published targets key, whatever role header it was stored under.
	var ids []string
	for id, info := range s.keys.ListKeys() {
		if published[id] || (info.Role == data.CanonicalTargetsRole && info.Gun.String() == gun.String()) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		files := keyFiles(c.trustDir, id)
		if err := s.keys.RemoveKey(id); err != nil {
			return nil, wrapError(ErrBadInput, err, filepath.Join(c.trustDir, "private"), "check the trust dir's permissions and run the command again",
				"cannot remove the targets key %s", ShortID(id))
		}
		res.KeyIDs = append(res.KeyIDs, id)
		res.Files = append(res.Files, files...)
	}

	// Prove it: a fresh key store and the file system both must not know them.
	fresh, err := c.keyStore(&passRecorder{})
	if err != nil {
		return nil, err
	}
	held := fresh.ListKeys()
	res.Gone = true
	for id := range published {
		if _, ok := held[id]; ok || len(keyFiles(c.trustDir, id)) > 0 {
			res.Gone = false
		}
	}
	for _, id := range ids {
		if _, ok := held[id]; ok || len(keyFiles(c.trustDir, id)) > 0 {
			res.Gone = false
		}
	}
	if !res.Gone {
		return res, newError(ErrBadInput, filepath.Join(c.trustDir, "private"), "remove the file by hand and run the command again", "a targets key file is still present after deletion")
	}
	return res, nil
}

// keyFiles lists where notary may keep a key: the current layout
// private/<id>.key and the legacy private/tuf_keys/<gun>/<id>.key.
func keyFiles(trustDir, id string) []string {
	var out []string
	root := filepath.Join(trustDir, "private")
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == id+".key" {
			out = append(out, path)
		}
		return nil
	})
	return out
}
