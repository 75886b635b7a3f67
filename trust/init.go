package trust

import (
	"context"
	"encoding/json"
	"errors"

	store "github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// InitResult describes a newly published repository.
type InitResult struct {
	GUN       string  `json:"gun"`
	Server    string  `json:"server"`
	Root      KeyInfo `json:"root"`      // the root key clients pin (its certificate's key ID)
	Targets   KeyInfo `json:"targets"`   // the repository key, in the trust dir
	Snapshot  KeyInfo `json:"snapshot"`  // server-managed
	Timestamp KeyInfo `json:"timestamp"` // server-managed
	// BackupRoot is the second root key, when setup made a backup: the
	// root role names both, threshold 1.
	BackupRoot *KeyInfo `json:"backup_root,omitempty"`
	// AlreadyDone is true when the server already held this repository,
	// published with this root key and targets key: a rerun converged.
	AlreadyDone bool `json:"already_done"`
}

// KeyInfo names a key and where it lives.
type KeyInfo struct {
	ID       string `json:"id"`
	Location string `json:"location"` // "trust dir", "server", "YubiKey 1234 slot 9c", ...
}

// Init creates the trust data of a new repository and publishes it: the
// root key from root (and a backup root key, when given: the root role
// names both, threshold 1, so that either signs alone), a new targets key
// in the trust dir, snapshot and timestamp keys managed by the server. A
// GUN that already has trust data is refused, unless its root key is this
// ceremony's root key (a rerun, or a publish whose answer was lost),
// which is reported as AlreadyDone.
func (c *Client) Init(ctx context.Context, gun GUN, root RootKey, backup ...RootKey) (*InitResult, error) {
	if len(backup) > 1 {
		return nil, newError(ErrBadInput, gun.String(), "give one backup root key", "%d backup root keys given", len(backup))
	}
	if root == nil || gun.IsZero() {
		return nil, newError(ErrBadInput, gun.String(), "choose the repository and where its root key comes from", "no repository or no root key given")
	}
	s, err := c.open(ctx, gun, sessionOptions{memCache: true})
	if err != nil {
		return nil, err
	}
	published, err := s.hasTrustData()
	if err != nil {
		return nil, err
	}
	if published {
		// Never create a root key for a repository that exists: it cannot be ours.
		rootKey, err := root.open(ctx, s.keys, s.pass, false)
		if errors.Is(err, errNoRootKeyYet) {
			return nil, s.alreadyInitialized()
		}
		if err != nil {
			return nil, err
		}
		done, err := s.publishedWith(rootKey, root)
		if err != nil {
			return nil, err
		}
		if len(backup) > 0 {
			done.BackupRoot, err = s.backupInRoot(ctx, backup[0])
			if err != nil {
				return nil, err
			}
		}
		return done, c.pinExisting(ctx, gun, done.Root.ID)
	}
	// Check the targets passphrase before any key is made.
	targetsPass, err := s.pass.get("targets", true)
	if err != nil {
		return nil, s.pass.problem
	}
	if len(targetsPass) < MinPassphraseLength {
		if targetsPass == "" {
			return nil, newError(ErrPassphraseRequired, "targets key", "give a passphrase for the new targets key", "the new targets key needs a passphrase")
		}
		return nil, newError(ErrWeakPassphrase, "targets key", "choose a passphrase of at least 8 characters", "the passphrase for the new targets key is shorter than %d characters", MinPassphraseLength)
	}

	rootKey, err := root.open(ctx, s.keys, s.pass, true)
	if err != nil {
		return nil, err
	}
	ids := []string{rootKey.ID()}
	var more []data.PrivateKey
	if len(backup) > 0 {
		b, err := backup[0].open(ctx, s.keys, s.pass, true)
		if err != nil {
			return nil, err
		}
		if b.ID() == rootKey.ID() {
			return nil, newError(ErrBadInput, backup[0].String(), "give a backup root key on another token", "the backup root key is the root key itself")
		}
		more, ids = append(more, b), append(ids, b.ID())
	}
	// A fresh session whose crypto service signs with the root key(s).
	s, err = c.open(ctx, gun, sessionOptions{memCache: true, rootKey: rootKey, moreRootKeys: more, remote: s.remote})
	if err != nil {
		return nil, err
	}
	// Initialize explicitly: a publish of an uninitialised repository would
	// silently make a software root key.
	if err := s.repo.Initialize(ids, data.CanonicalSnapshotRole); err != nil {
		return nil, s.explain(err, ErrPublish)
	}
	var res *InitResult
	answered := true
	after := s // the session that looks at the server after the publish
	if err := s.repo.Publish(); err != nil {
		// The answer may be lost after the server committed: look (after
		// an interrupt, on a short context of its own).
		explained := s.explain(err, ErrPublish)
		look, done, checkErr := s.afterwards()
		var found *InitResult
		if checkErr == nil {
			defer done()
			found, checkErr = look.publishedWith(rootKey, root)
		}
		if checkErr != nil || found == nil {
			return nil, publishFailed(gun, explained, checkErr == nil)
		}
		answered = false
		ctx, after = look.ctx, look
	}
	res, err = c.pinPublished(ctx, gun, s, root, rootKey, !answered)
	if err == nil && len(more) > 0 {
		res.BackupRoot, err = after.backupInRoot(ctx, backup[0])
	}
	return res, err
}

// backupInRoot finds the backup root key in the server's root role; an
// error when it is not there (the repository was set up without it).
func (s *session) backupInRoot(ctx context.Context, backup RootKey) (*KeyInfo, error) {
	key, err := backup.open(ctx, s.keys, s.pass, false)
	if err != nil {
		return nil, err
	}
	signedRoot, err := s.publishedRoot()
	if err != nil {
		return nil, err
	}
	pub := publishedRootCert(signedRoot, key.ID())
	if pub == nil {
		return nil, newError(ErrNoRootKey, backup.String(), "add it with dctwiz rotate root and a backup root key",
			"the repository is set up, and its root role does not name this backup key")
	}
	return &KeyInfo{ID: pub.ID(), Location: backup.String()}, nil
}

// hasTrustData says whether the server has a root.json for the GUN. An
// answer that is not a signed root (a web page, a proxy's error) is not
// "already set up": it is not a notary server.
func (s *session) hasTrustData() (bool, error) {
	raw, err := s.remote.GetSized(data.CanonicalRootRole.String(), maxMetadata)
	var notFound store.ErrMetaNotFound
	if errors.As(err, &notFound) {
		return false, nil
	}
	if err != nil {
		return false, s.explain(err, ErrServerUnreachable)
	}
	if _, err := parseRoot(raw); err != nil {
		return false, s.notNotary("its root.json for " + s.gun.String() + " is not TUF metadata")
	}
	return true, nil
}

// notNotary is the error for an answer no notary server gives.
func (s *session) notNotary(what string) error {
	return newError(ErrNotNotary, s.server, "check the server URL: it must be the notary server, not the registry, a proxy or a web page",
		"not a notary server: %s", what).with(ActionServer)
}

func (s *session) alreadyInitialized() error {
	return newError(ErrAlreadyInitialized, s.gun.String(),
		"it is set up already: add signers or export its root certificate instead, which need no new root key",
		"the notary server already has trust data for this repository")
}

// publishedWith looks at the server's trust data for the GUN: nil, nil
// when there is none; AlreadyDone when its root key is rootKey (an earlier
// run of this ceremony published it); ErrAlreadyInitialized otherwise.
func (s *session) publishedWith(rootKey data.PrivateKey, root RootKey) (*InitResult, error) {
	raw, err := s.remote.GetSized(data.CanonicalRootRole.String(), maxMetadata)
	var notFound store.ErrMetaNotFound
	if errors.As(err, &notFound) {
		return nil, nil
	}
	if err != nil {
		return nil, s.explain(err, ErrServerUnreachable)
	}
	signedRoot, err := parseRoot(raw)
	if err != nil {
		return nil, s.notNotary("its root.json for " + s.gun.String() + " is not TUF metadata")
	}
	rootRole, ok := signedRoot.Signed.Roles[data.CanonicalRootRole]
	if !ok {
		return nil, s.alreadyInitialized()
	}
	for _, id := range rootRole.KeyIDs {
		if k, ok := signedRoot.Signed.Keys[id]; ok {
			if cid, err := utils.CanonicalKeyID(k); err == nil && cid == rootKey.ID() {
				res := resultFromRoot(s, signedRoot, root)
				res.Root.ID = id
				res.AlreadyDone = true
				return res, nil
			}
		}
	}
	return nil, s.alreadyInitialized()
}

// pinExisting starts the trust dir's cache afresh from the server's trust
// data, verified against the root certificate rootID (whose key is ours).
func (c *Client) pinExisting(ctx context.Context, gun GUN, rootID string) error {
	cache, err := c.metadataCache(gun)
	if err != nil {
		return err
	}
	if err := cache.RemoveAll(); err != nil {
		return wrapError(ErrBadInput, err, c.trustDir, "check that the trust dir is writable and its disk has room", "cannot clear stale trust data: %s", shortCause(err))
	}
	s, err := c.open(ctx, gun, sessionOptions{pinned: []string{rootID}})
	if err != nil {
		return err
	}
	_, err = s.load()
	return err
}

// pinPublished starts the trust dir's cache from the root we just
// published: it pins the repository's root for later operations. The
// server accepted this root.json, so the next step's load verifies the
// server's snapshot and timestamp against it; only when the publish's
// answer was lost (readBack) is the server's view loaded here.
func (c *Client) pinPublished(ctx context.Context, gun GUN, mem *session, root RootKey, rootKey data.PrivateKey, readBack bool) (*InitResult, error) {
	rootJSON, err := mem.cache.GetSized(data.CanonicalRootRole.String(), store.NoSizeLimit)
	if err != nil {
		return nil, wrapError(ErrPublish, err, gun.String(), "", "the published root is missing from memory")
	}
	published, err := parseRoot(rootJSON)
	if err != nil {
		return nil, wrapError(ErrPublish, err, gun.String(), "", "the published root does not parse")
	}
	// The repository is published: a failure to save it here says so, with
	// what was published (the result), never "nothing was done".
	savingFailed := func(err error, what string) (*InitResult, error) {
		res := resultFromRoot(mem, published, root)
		if pub := publishedRootCert(published, rootKey.ID()); pub != nil {
			res.Root.ID = pub.ID()
		}
		return res, wrapError(ErrBadInput, err, c.trustDir, "make room in the trust dir (or make it writable), then run the same command again: it finds the repository published and saves it",
			"the repository is published, but the trust dir could not %s: %s", what, shortCause(err)).with(ActionRerun)
	}
	cache, err := c.metadataCache(gun)
	if err != nil {
		return savingFailed(err, "open its cache")
	}
	// Whatever an earlier repository of this name left is stale now.
	if err := cache.RemoveAll(); err != nil {
		return savingFailed(err, "clear its stale trust data")
	}
	if err := cache.Set(data.CanonicalRootRole.String(), rootJSON); err != nil {
		return savingFailed(err, "save its root")
	}
	s := mem
	if readBack {
		var repo *tuf.Repo
		if s, repo, err = c.openLoaded(ctx, gun); err != nil {
			return nil, err
		}
		published = repo.Root
	}
	if !readBack {
		c.memo.keepVerified(gun.String(), published) // signed here, accepted by the server
	}
	res := resultFromRoot(s, published, root)
	if pub := publishedRootCert(published, rootKey.ID()); pub != nil {
		res.Root.ID = pub.ID() // the primary's, where the root role names two
	}
	return res, nil
}

func parseRoot(raw []byte) (*data.SignedRoot, error) {
	var sig data.Signed
	if err := json.Unmarshal(raw, &sig); err != nil {
		return nil, err
	}
	return data.RootFromSigned(&sig)
}

func resultFromRoot(s *session, root *data.SignedRoot, rootKey RootKey) *InitResult {
	res := &InitResult{GUN: s.gun.String(), Server: s.server}
	ids := func(role data.RoleName) []string {
		if r, ok := root.Signed.Roles[role]; ok {
			return r.KeyIDs
		}
		return nil
	}
	res.Root = KeyInfo{ID: first(ids(data.CanonicalRootRole)), Location: rootKey.String()}
	res.Targets = KeyInfo{ID: first(ids(data.CanonicalTargetsRole)), Location: "trust dir"}
	res.Snapshot = KeyInfo{ID: first(ids(data.CanonicalSnapshotRole)), Location: "server"}
	res.Timestamp = KeyInfo{ID: first(ids(data.CanonicalTimestampRole)), Location: "server"}
	return res
}

func first(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}
