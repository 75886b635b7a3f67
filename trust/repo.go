package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	canonicaljson "github.com/docker/go/canonical/json"
	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/client/changelist"
	"github.com/theupdateframework/notary/cryptoservice"
	store "github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	"github.com/theupdateframework/notary/tuf/validation"
)

// session is one operation's view of a repository: notary's client wired
// to the trust dir's key store, a metadata cache and an in-memory
// changelist. Changes never outlive the operation: a failed command leaves
// nothing staged for a later publish.
type session struct {
	ctx    context.Context // the engine call's: notary's requests carry it
	opts   sessionOptions
	c      *Client
	gun    GUN
	server string
	remote *memoRemote
	cache  store.MetadataStore
	keys   *keyStore
	cs     signed.CryptoService
	repo   client.Repository
	pass   *passRecorder
	pin    trustpinning.TrustPinConfig // empty: trust on first use, as docker does
	// changes is the repository's changelist: a change that notary has no
	// verb for (a root role with the keys and certificates dctwiz chose)
	// is added here, then published.
	changes changelist.Changelist
}

type sessionOptions struct {
	rootKey data.PrivateKey // a root key to sign with, from a RootKey
	// more root keys to sign with: a root rotation signs with the current
	// root key and the new ones in one publish.
	moreRootKeys []data.PrivateKey
	memCache     bool     // keep metadata in memory only (init)
	pinned       []string // trust only these root certificate IDs (no TOFU)
	// keep: a rotation's session, which removes no key (see
	// keepingCryptoService) and always makes a new one.
	keep bool
	// remote: the server as an earlier session of the same engine call
	// read it (Init opens a second session once the root key is open).
	remote *memoRemote
}

// keyStore is the trust dir's key store, as notary's but written atomically.
func (c *Client) keyStore(pass *passRecorder) (*keyStore, error) {
	// notary's key file storage panics when it cannot make its directory
	// (a trust dir that is a file): make it here first, with an error that says so.
	priv := filepath.Join(c.trustDir, notary.PrivDir)
	if err := os.MkdirAll(priv, notary.PrivExecPerms); err != nil {
		return nil, wrapError(ErrBadInput, err, priv, "choose a trust dir that is a writable directory",
			"cannot use the trust dir's key store: %s", shortCause(err)).with(ActionTrustDir)
	}
	fs, err := store.NewPrivateKeyFileStorage(c.trustDir, notary.KeyExtension)
	if err != nil {
		return nil, wrapError(ErrBadInput, err, c.trustDir, "check that the trust dir is writable", "cannot open the key store: %s", shortCause(err))
	}
	files := newAtomicFiles(fs, notary.KeyExtension)
	ks := &keyStore{GenericKeyStore: trustmanager.NewGenericKeyStore(files, pass.retrieve), unlocked: &c.unlocked}
	// notary skips a key file it cannot read (truncated, garbage) as if it
	// were not there: remember which, so that no new root key is made
	// while the one that is there cannot be read.
	listed := ks.ListKeys()
	for _, name := range files.ListFiles() {
		if _, ok := listed[filepath.Base(name)]; !ok {
			ks.unreadable = append(ks.unreadable, filepath.Join(priv, name+"."+notary.KeyExtension))
		}
	}
	return ks, nil
}

// metadataCache is the trust dir's cache of gun's trust data, as notary's
// but written atomically.
func (c *Client) metadataCache(gun GUN) (store.MetadataStore, error) {
	dir := filepath.Join(c.trustDir, "tuf", filepath.FromSlash(gun.String()), "metadata")
	cache, err := store.NewFileStore(dir, "json")
	if err != nil {
		return nil, wrapError(ErrBadInput, err, dir, "check that the trust dir is writable", "cannot open the trust data cache: %s", shortCause(err))
	}
	return newAtomicFiles(cache, "json"), nil
}

func (c *Client) open(ctx context.Context, gun GUN, opts sessionOptions) (*session, error) {
	rt, err := c.notaryTransport(ctx, gun)
	if err != nil {
		return nil, err
	}
	server := c.ServerURL(gun)
	remote := opts.remote
	if remote == nil {
		inner, err := store.NewNotaryServerStore(server, data.GUN(gun.String()), rt)
		if err != nil {
			return nil, wrapError(ErrBadInput, err, server, "give the notary server as https://host[:port]", "not a notary server URL")
		}
		remote = c.memoRemote(gun, inner, nil)
	}
	s := &session{ctx: ctx, opts: opts, c: c, gun: gun, server: server, remote: remote, pass: &passRecorder{c: c}}
	if len(opts.pinned) > 0 {
		s.pin = trustpinning.TrustPinConfig{Certs: map[string][]string{gun.String(): opts.pinned}, DisableTOFU: true}
	}
	if opts.memCache {
		s.cache = store.NewMemoryStore(nil)
	} else if s.cache, err = c.metadataCache(gun); err != nil {
		return nil, err
	}
	if s.keys, err = c.keyStore(s.pass); err != nil {
		return nil, err
	}
	stores := []trustmanager.KeyStore{s.keys}
	if opts.rootKey != nil {
		// First, so that it signs root and new keys fall through to the file store.
		stores = append([]trustmanager.KeyStore{newRootKeyStore(append([]data.PrivateKey{opts.rootKey}, opts.moreRootKeys...))}, stores...)
	}
	if opts.keep {
		s.cs = rotationCryptoService(stores)
	} else {
		s.cs = &reusingCryptoService{CryptoService: cryptoservice.NewCryptoService(stores...), keys: s.keys}
	}
	s.changes = changelist.NewMemChangelist()
	s.repo, err = client.NewRepository(data.GUN(gun.String()), server, remote, s.cache,
		s.pin, s.cs, s.changes)
	if err != nil {
		return nil, wrapError(ErrBadInput, err, gun.String(), "", "cannot open the repository")
	}
	return s, nil
}

// lookAfter is how long dctwiz may take, after an interrupt, to ask the
// server what a publish that was under way left.
const lookAfter = 5 * time.Second

// afterwards is a session to look at the server with after a publish
// failed: this one, unless the engine call was interrupted, in which
// case a new one on a short context of its own (an interrupted call can
// no longer ask anything, and "nothing was published" must be known, not
// assumed). done releases it.
func (s *session) afterwards() (look *session, done func(), err error) {
	if s.ctx == nil || s.ctx.Err() == nil {
		return s, func() {}, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), lookAfter)
	opts := s.opts
	opts.remote = nil // the interrupted transport's
	look, err = s.c.open(ctx, s.gun, opts)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return look, cancel, nil
}

// openLoaded opens a session on gun's published trust data, verified.
func (c *Client) openLoaded(ctx context.Context, gun GUN) (*session, *tuf.Repo, error) {
	s, err := c.open(ctx, gun, sessionOptions{})
	if err != nil {
		return nil, nil, err
	}
	repo, err := s.load()
	if err != nil {
		return nil, nil, err
	}
	return s, repo, nil
}

// load fetches and verifies the repository's current trust data (TOFU
// against the trust dir's cache, as docker does).
func (s *session) load() (*tuf.Repo, error) {
	repo, _, err := client.LoadTUFRepo(client.TUFLoadOptions{
		GUN:                    data.GUN(s.gun.String()),
		CryptoService:          s.cs,
		Cache:                  s.cache,
		RemoteStore:            s.remote,
		AlwaysCheckInitialized: true,
	})
	if err != nil {
		return nil, s.explain(err, ErrVerification)
	}
	s.c.memo.keepVerified(s.gun.String(), repo.Root)
	return repo, nil
}

// explain turns what notary returned into an engine error. kind is used
// when nothing more specific fits.
func (s *session) explain(err error, kind error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	gun := s.gun.String()
	if s.pass.problem != nil {
		return s.pass.problem
	}
	var notExist client.ErrRepositoryNotExist
	var notInit client.ErrRepoNotInitialized
	var netErr store.NetworkError
	var unavailable store.ErrServerUnavailable
	var insufficient signed.ErrInsufficientSignatures
	var noKeys signed.ErrNoKeys
	var pinFail *trustpinning.ErrValidationFail
	var pinFail2 trustpinning.ErrValidationFail
	var rotFail *trustpinning.ErrRootRotationFail
	var rotFail2 trustpinning.ErrRootRotationFail
	var expired signed.ErrExpired
	var badRoot validation.ErrBadRoot
	var invalidOp store.ErrInvalidOperation
	var aerr *authError
	var tout *TimeoutError
	var syntax *json.SyntaxError
	var tooLarge store.ErrMaliciousServer
	var canonicalSyntax *canonicaljson.SyntaxError
	switch {
	case errors.As(err, &tooLarge):
		return s.notNotary(fmt.Sprintf("its answer for %s is larger than any trust metadata (over %d MiB)", gun, maxMetadata>>20))
	case errors.As(err, &syntax), errors.As(err, &canonicalSyntax):
		return s.notNotary("its answer for " + gun + " is not TUF metadata (" + err.Error() + ")")
	case errors.As(err, &notExist), errors.As(err, &notInit):
		return wrapError(ErrNotInitialized, err, gun, "set the repository up first", "the notary server has no trust data for this repository").with(ActionSetUp)
	case errors.As(err, &aerr), errors.As(err, &tout):
		return classifyNetwork(err, s.server)
	case errors.As(err, &netErr):
		return classifyNetwork(netErr.Wrapped, s.server)
	case errors.As(err, &unavailable):
		// notary keeps the status to itself but for its message: said as
		// dctwiz's own transport says it, whichever part met the answer.
		var code int
		if _, serr := fmt.Sscanf(unavailable.Error(), "unable to reach trust server at this time: %d.", &code); serr == nil {
			return wrapError(ErrServerUnreachable, err, s.server, "try again later, or check the server's logs",
				"the notary server answered HTTP %d (an error of its own)", code)
		}
		return wrapError(ErrServerUnreachable, err, s.server, "try again later, or check the server's logs", "the notary server is unavailable: %v", err)
	case errors.As(err, &insufficient), errors.As(err, &noKeys):
		return wrapError(kind, err, gun, "check that the trust dir holds the signing key and its passphrase is given", "not enough signing keys: %v", err)
	case errors.As(err, &pinFail), errors.As(err, &pinFail2), errors.As(err, &rotFail), errors.As(err, &rotFail2), errors.As(err, &badRoot):
		return wrapError(ErrVerification, err, gun, "compare the root certificate with the one you pinned; if the repository was legitimately re-created, remove the cached trust data under the trust dir's tuf/ folder", "the server's trust data does not verify against the trusted root: %v", err)
	case errors.As(err, &expired):
		e := wrapError(ErrExpired, err, gun, "the repository's admin must re-sign the expired role", "trust data expired: %v", err)
		if expired.Role == data.CanonicalTargetsRole {
			e.Fix = "renew it with the root key: a targets-key rotation signs a new targets.json"
			e.Action = ActionRotateTargets
		}
		return e
	case errors.As(err, &invalidOp):
		return wrapError(ErrPublish, err, gun, "", "the notary server rejected the update: %v", err)
	}
	return wrapError(kind, err, gun, "", "%v", err)
}

// passRecorder answers notary's passphrase callback from the given
// passphrases and remembers why it gave up, so that errors can say
// "wrong passphrase for the targets key" instead of notary's generic text.
type passRecorder struct {
	c       *Client // nil: no passphrase is given
	problem *Error
}

// get is role's passphrase, "" when none is given; a failure to get one
// (no terminal to ask on) is recorded as the problem.
func (r *passRecorder) get(role string, isNew bool) (string, error) {
	if r.c == nil {
		return "", nil
	}
	pass, err := r.c.passphrase(role, isNew)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = wrapError(ErrPassphraseRequired, err, role+" key", "", "no passphrase for the %s key: %v", role, err)
		}
		r.problem = e
	}
	return pass, err
}

func (r *passRecorder) retrieve(keyID, alias string, createNew bool, attempts int) (string, bool, error) {
	role := roleOfAlias(alias)
	pass, err := r.get(role, createNew)
	switch {
	case err != nil:
		return "", true, r.problem
	case pass == "":
		r.problem = newError(ErrPassphraseRequired, role+" key", "give the "+role+" key passphrase", "the %s key %s is encrypted and no passphrase was given", role, ShortID(keyID))
	case attempts > 0:
		r.problem = newError(ErrWrongPassphrase, role+" key", "give the right "+role+" key passphrase", "wrong passphrase for the %s key %s", role, ShortID(keyID))
	case createNew && len(pass) < MinPassphraseLength:
		r.problem = newError(ErrWeakPassphrase, role+" key", "choose a passphrase of at least 8 characters", "the passphrase for the new %s key is shorter than %d characters", role, MinPassphraseLength)
	default:
		return pass, false, nil
	}
	return "", true, r.problem
}

// roleOfAlias maps notary's key alias (the role name) to the passphrase
// that unlocks it: root, targets, or a delegation's.
func roleOfAlias(alias string) string {
	switch alias {
	case data.CanonicalRootRole.String():
		return "root"
	case data.CanonicalTargetsRole.String(), data.CanonicalSnapshotRole.String():
		return "targets"
	}
	return "delegation"
}

func (p Passphrases) forRole(role string) string {
	switch role {
	case "root":
		return p.Root
	case "targets":
		return p.Targets
	}
	return p.Delegation
}

// ShortID is a key ID as people compare it: its first 12 hex digits.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// rootKeyStore holds the root keys of a ceremony (one, or the current
// and the new ones of a root rotation): decrypted file keys or
// hardware-backed signers. It never stores anything.
type rootKeyStore struct{ keys map[string]data.PrivateKey }

func newRootKeyStore(keys []data.PrivateKey) *rootKeyStore {
	r := &rootKeyStore{keys: map[string]data.PrivateKey{}}
	for _, k := range keys {
		r.keys[k.ID()] = k
	}
	return r
}

func (r *rootKeyStore) AddKey(trustmanager.KeyInfo, data.PrivateKey) error {
	return errors.New("the root key store holds only the ceremony's root keys")
}

func (r *rootKeyStore) GetKey(id string) (data.PrivateKey, data.RoleName, error) {
	if k, ok := r.keys[id]; ok {
		return k, data.CanonicalRootRole, nil
	}
	return nil, "", trustmanager.ErrKeyNotFound{KeyID: id}
}

func (r *rootKeyStore) GetKeyInfo(id string) (trustmanager.KeyInfo, error) {
	if _, ok := r.keys[id]; ok {
		return trustmanager.KeyInfo{Role: data.CanonicalRootRole}, nil
	}
	return trustmanager.KeyInfo{}, trustmanager.ErrKeyNotFound{KeyID: id}
}

func (r *rootKeyStore) ListKeys() map[string]trustmanager.KeyInfo {
	out := map[string]trustmanager.KeyInfo{}
	for id := range r.keys {
		out[id] = trustmanager.KeyInfo{Role: data.CanonicalRootRole}
	}
	return out
}

func (r *rootKeyStore) RemoveKey(string) error {
	return errors.New("the root key cannot be removed here")
}

func (r *rootKeyStore) Name() string { return "root key" }

// reusingCryptoService reuses a GUN's unpublished targets key instead of
// making another one, so that rerunning an init whose publish failed
// converges on one targets key instead of leaving orphans.
type reusingCryptoService struct {
	*cryptoservice.CryptoService
	keys *keyStore
}

func (r *reusingCryptoService) Create(role data.RoleName, gun data.GUN, algorithm string) (data.PublicKey, error) {
	if role == data.CanonicalTargetsRole {
		for id, info := range r.keys.ListKeys() {
			if info.Role == role && info.Gun == gun {
				priv, _, err := r.keys.GetKey(id)
				if err != nil {
					return nil, err
				}
				return data.PublicKeyFromPrivate(priv), nil
			}
		}
	}
	return r.CryptoService.Create(role, gun, algorithm)
}
