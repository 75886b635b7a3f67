package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	store "github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/tuf/data"
)

// Why a memo: notary's client fetches root.json and timestamp.json on
// every load and again inside every publish, and a ceremony loads a
// repository once per step. Most of those requests return bytes this
// process already holds. The memo answers them, under rules that keep
// every answer what the server would say:
//
//   - A file named by its hash (snapshot.<sha256>, targets.<sha256>, as
//     notary names them once a snapshot lists them) never changes: it is
//     kept for the process, checked against its name when read back.
//   - root.json changes only when a root key holder publishes one. The
//     root.json this process last read or published is kept for
//     rootMemoFor, across the steps of one ceremony.
//   - The root that a load verified (or that this process published) answers
//     a read of the root certificates for as long as root.json itself is
//     kept: the root-certificate step does not load the repository again.
//   - Everything else (timestamp.json, the server's public keys, a 404) is
//     kept only inside one session: one engine call, such as a load and
//     the publish that follows it.
//   - Any write clears what could have changed, before it is sent: what is
//     read after a publish (to check that it landed) comes from the server.

// rootMemoFor is how long a root.json read or published by this process
// answers for the server's: long enough for one repository's ceremony,
// short enough that a wizard left open reads the server again.
const rootMemoFor = time.Minute

// memoRepos bounds how many repositories the memo holds: a batch works on
// a few at a time, and a check over thousands must not keep them all.
const memoRepos = 32

type metaMemo struct {
	mu    sync.Mutex
	repos map[string]*repoMemo
	order []string // oldest first, for eviction
}

// repoMemo is what the process keeps of one repository across sessions.
type repoMemo struct {
	hashed map[string][]byte // by notary's hashed name, "targets.<sha256>"
	root   []byte
	rootAt time.Time
	// verified is the root a load verified, or this process published.
	verified   *data.SignedRoot
	verifiedAt time.Time
}

func (m *metaMemo) repo(gun string) *repoMemo {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.repos == nil {
		m.repos = map[string]*repoMemo{}
	}
	if r, ok := m.repos[gun]; ok {
		return r
	}
	r := &repoMemo{hashed: map[string][]byte{}}
	m.repos[gun] = r
	m.order = append(m.order, gun)
	if len(m.order) > memoRepos {
		delete(m.repos, m.order[0])
		m.order = m.order[1:]
	}
	return r
}

func (m *metaMemo) hashed(r *repoMemo, name string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := r.hashed[name]
	return b, ok
}

func (m *metaMemo) keepHashed(r *repoMemo, name string, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.hashed[name] = b
}

func (m *metaMemo) root(r *repoMemo) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.root == nil || time.Since(r.rootAt) > rootMemoFor {
		return nil, false
	}
	return r.root, true
}

func (m *metaMemo) keepRoot(r *repoMemo, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.root, r.rootAt = b, time.Now()
}

// keepVerified remembers the root a load verified, or one this process
// published.
func (m *metaMemo) keepVerified(gun string, root *data.SignedRoot) {
	r := m.repo(gun)
	m.mu.Lock()
	defer m.mu.Unlock()
	r.verified, r.verifiedAt = root, time.Now()
}

// verifiedRoot is the root of gun verified within rootMemoFor, if any.
func (m *metaMemo) verifiedRoot(gun string) (*data.SignedRoot, bool) {
	r := m.repo(gun)
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.verified == nil || time.Since(r.verifiedAt) > rootMemoFor {
		return nil, false
	}
	return r.verified, true
}

// memoRemote is a session's view of the notary server through the memo.
type memoRemote struct {
	store.RemoteStore
	memo *metaMemo
	repo *repoMemo
	gun  string
	// noRootMemo: a consumer's check reads root.json from the server, as
	// a client that knows only the root certificate would.
	noRootMemo bool
	session    *sessionMemo
}

// sessionMemo is what one session read: it may be shared with a consumer
// check inside the same engine call (test signing's removal reuses what
// the check read after the publish).
type sessionMemo struct {
	files map[string]memoAnswer
	keys  map[data.RoleName][]byte
}

type memoAnswer struct {
	b   []byte
	err error // a "not found" is remembered too
}

func (c *Client) memoRemote(gun GUN, inner store.RemoteStore, shared *sessionMemo) *memoRemote {
	if shared == nil {
		shared = &sessionMemo{files: map[string]memoAnswer{}, keys: map[data.RoleName][]byte{}}
	}
	return &memoRemote{RemoteStore: inner, memo: &c.memo, repo: c.memo.repo(gun.String()), gun: gun.String(), session: shared}
}

// hashedName says whether name is notary's name for a file by its hash,
// and returns the hash.
func hashedName(name string) (string, bool) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || len(name)-i-1 != sha256.Size*2 {
		return "", false
	}
	sum := name[i+1:]
	if _, err := hex.DecodeString(sum); err != nil {
		return "", false
	}
	return sum, true
}

func hashMatches(sum string, b []byte) bool {
	got := sha256.Sum256(b)
	return hex.EncodeToString(got[:]) == sum
}

func fits(b []byte, size int64) bool { return size < 0 || int64(len(b)) <= size }

func (m *memoRemote) GetSized(name string, size int64) ([]byte, error) {
	// notary asks for root.json and timestamp.json without a limit (it then
	// takes 100 MiB): a hostile server would make each command hold
	// hundreds of MB. No metadata file is near maxMetadata (50,000 signed
	// tags make a targets.json of about 10 MiB).
	if size < 0 || size > maxMetadata {
		size = maxMetadata
	}
	if sum, ok := hashedName(name); ok {
		if b, ok := m.memo.hashed(m.repo, name); ok && fits(b, size) && hashMatches(sum, b) {
			return b, nil
		}
		b, err := m.RemoteStore.GetSized(name, size)
		if err == nil && hashMatches(sum, b) {
			m.memo.keepHashed(m.repo, name, b)
		}
		return b, err
	}
	if a, ok := m.session.files[name]; ok && (a.err != nil || fits(a.b, size)) {
		return a.b, a.err
	}
	if name == data.CanonicalRootRole.String() && !m.noRootMemo {
		if b, ok := m.memo.root(m.repo); ok && fits(b, size) {
			return b, nil
		}
	}
	b, err := m.RemoteStore.GetSized(name, size)
	var notFound store.ErrMetaNotFound
	switch {
	case err == nil:
		m.session.files[name] = memoAnswer{b: b}
		if name == data.CanonicalRootRole.String() && looksLikeRoot(b) {
			m.memo.keepRoot(m.repo, b)
		}
	case errors.As(err, &notFound):
		m.session.files[name] = memoAnswer{err: err}
	}
	return b, err
}

// looksLikeRoot says whether b could be a root.json: a web page or an
// error page answered with 200 must not be kept to answer the retry.
func looksLikeRoot(b []byte) bool {
	var s struct {
		Signed struct {
			Type string `json:"_type"`
		} `json:"signed"`
	}
	return json.Unmarshal(b, &s) == nil && s.Signed.Type == data.TUFTypes[data.CanonicalRootRole]
}

func (m *memoRemote) GetKey(role data.RoleName) ([]byte, error) {
	if b, ok := m.session.keys[role]; ok {
		return b, nil
	}
	b, err := m.RemoteStore.GetKey(role)
	if err == nil {
		m.session.keys[role] = b
	}
	return b, err
}

// forget drops what a write can change, before the write is sent; root
// says whether it can change root.json.
func (m *memoRemote) forget(root bool) {
	clear(m.session.files)
	clear(m.session.keys)
	if root {
		m.memo.mu.Lock()
		m.repo.root, m.repo.verified = nil, nil
		// The entry this session holds may have been evicted meanwhile
		// (a batch reads more than memoRepos repositories) and another
		// made for the GUN: that one must forget its root too.
		if cur, ok := m.memo.repos[m.gun]; ok {
			cur.root, cur.verified = nil, nil
		}
		m.memo.mu.Unlock()
	}
}

func (m *memoRemote) SetMulti(files map[string][]byte) error {
	_, root := files[data.CanonicalRootRole.String()]
	m.forget(root)
	if err := m.RemoteStore.SetMulti(files); err != nil {
		// The outcome is unknown: whoever looks next (the publish's check
		// of what landed) must reach the server, root.json included, or
		// notary's client would fall back on its cache and look "offline
		// but fine".
		m.forget(true)
		return err
	}
	// Accepted: the server now serves these bytes. What the server signs
	// itself (snapshot, timestamp) is read when next needed.
	for name, b := range files {
		if name == data.CanonicalRootRole.String() && looksLikeRoot(b) {
			m.memo.keepRoot(m.repo, b)
		}
		sum := sha256.Sum256(b)
		m.memo.keepHashed(m.repo, name+"."+hex.EncodeToString(sum[:]), b)
	}
	return nil
}

func (m *memoRemote) Set(name string, blob []byte) error {
	m.forget(name == data.CanonicalRootRole.String())
	return m.RemoteStore.Set(name, blob)
}

func (m *memoRemote) Remove(name string) error {
	m.forget(true)
	return m.RemoteStore.Remove(name)
}

func (m *memoRemote) RemoveAll() error {
	m.forget(true)
	return m.RemoteStore.RemoveAll()
}

func (m *memoRemote) RotateKey(role data.RoleName) ([]byte, error) {
	m.forget(true)
	return m.RemoteStore.RotateKey(role)
}

var _ store.RemoteStore = (*memoRemote)(nil)
