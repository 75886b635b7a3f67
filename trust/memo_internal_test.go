package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	store "github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/tuf/data"
)

// countingRemote is a notary server in memory that counts reads.
type countingRemote struct {
	*store.MemoryStore
	reads map[string]int
	fail  error // SetMulti's answer when set
}

func (r *countingRemote) GetSized(name string, size int64) ([]byte, error) {
	r.reads[name]++
	return r.MemoryStore.GetSized(name, size)
}
func (r *countingRemote) SetMulti(m map[string][]byte) error {
	if r.fail != nil {
		return r.fail
	}
	return r.MemoryStore.SetMulti(m)
}
func (r *countingRemote) GetKey(data.RoleName) ([]byte, error)    { return []byte("key"), nil }
func (r *countingRemote) RotateKey(data.RoleName) ([]byte, error) { return []byte("key2"), nil }

func hashed(role string, b []byte) string {
	sum := sha256.Sum256(b)
	return role + "." + hex.EncodeToString(sum[:])
}

// The memo's rules, one by one: each says when the server is asked again.
func TestMemoRules(t *testing.T) {
	gun, _ := ParseGUN("example.com/acme/app")
	targets := []byte(`{"targets":1}`)
	setup := func() (*Client, *countingRemote) {
		inner := &countingRemote{MemoryStore: store.NewMemoryStore(map[data.RoleName][]byte{
			"root": []byte(`{"signed":{"_type":"Root","version":1}}`), "timestamp": []byte(`{"ts":1}`)}), reads: map[string]int{}}
		inner.MemoryStore.Set(hashed("targets", targets), targets)
		return &Client{}, inner
	}
	read := func(t *testing.T, r *memoRemote, name string) {
		t.Helper()
		if _, err := r.GetSized(name, store.NoSizeLimit); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}

	t.Run("within a session, nothing is read twice", func(t *testing.T) {
		c, inner := setup()
		s := c.memoRemote(gun, inner, nil)
		for range 2 {
			read(t, s, "root")
			read(t, s, "timestamp")
			read(t, s, hashed("targets", targets))
			s.GetSized("snapshot", store.NoSizeLimit) // not found, remembered too
		}
		for name, n := range inner.reads {
			if n != 1 {
				t.Errorf("%s read %d times", name, n)
			}
		}
	})
	t.Run("a later session reads timestamp.json again, root.json not", func(t *testing.T) {
		c, inner := setup()
		read(t, c.memoRemote(gun, inner, nil), "root")
		read(t, c.memoRemote(gun, inner, nil), "timestamp")
		later := c.memoRemote(gun, inner, nil)
		read(t, later, "root")
		read(t, later, "timestamp")
		read(t, later, hashed("targets", targets))
		if inner.reads["root"] != 1 || inner.reads["timestamp"] != 2 {
			t.Errorf("reads: %v", inner.reads)
		}
	})
	t.Run("a consumer reads root.json from the server", func(t *testing.T) {
		c, inner := setup()
		read(t, c.memoRemote(gun, inner, nil), "root")
		consumer := c.memoRemote(gun, inner, nil)
		consumer.noRootMemo = true
		read(t, consumer, "root")
		if inner.reads["root"] != 2 {
			t.Errorf("root.json read %d times", inner.reads["root"])
		}
	})
	t.Run("a file named by its hash is checked against it", func(t *testing.T) {
		c, inner := setup()
		name := hashed("targets", targets)
		c.memo.keepHashed(c.memo.repo(gun.String()), name, []byte(`{"forged":1}`))
		b, err := c.memoRemote(gun, inner, nil).GetSized(name, store.NoSizeLimit)
		if err != nil || string(b) != string(targets) || inner.reads[name] != 1 {
			t.Errorf("got %q, %v after %d reads; want the server's bytes", b, err, inner.reads[name])
		}
	})
	t.Run("a publish's root.json answers later sessions", func(t *testing.T) {
		c, inner := setup()
		s := c.memoRemote(gun, inner, nil)
		read(t, s, "timestamp")
		if err := s.SetMulti(map[string][]byte{"root": []byte(`{"signed":{"_type":"Root","version":2}}`), "targets": targets}); err != nil {
			t.Fatal(err)
		}
		read(t, s, "timestamp") // the server signed a new one
		later := c.memoRemote(gun, inner, nil)
		b, _ := later.GetSized("root", store.NoSizeLimit)
		read(t, later, hashed("targets", targets))
		if string(b) != `{"signed":{"_type":"Root","version":2}}` || inner.reads["root"] != 0 || inner.reads["timestamp"] != 2 || inner.reads[hashed("targets", targets)] != 0 {
			t.Errorf("root %q; reads %v", b, inner.reads)
		}
	})
	t.Run("a failed publish forgets root.json", func(t *testing.T) {
		c, inner := setup()
		s := c.memoRemote(gun, inner, nil)
		read(t, s, "root")
		inner.fail = errors.New("connection reset")
		if err := s.SetMulti(map[string][]byte{"targets": targets}); err == nil {
			t.Fatal("the failing publish succeeded")
		}
		read(t, c.memoRemote(gun, inner, nil), "root")
		if inner.reads["root"] != 2 {
			t.Errorf("root.json read %d times; want the look after the failure to ask the server", inner.reads["root"])
		}
	})
}

// An answer to root.json that is no root.json (a web page answered with
// 200, a proxy's error page) is not kept: the retry asks the server.
func TestMemoKeepsNoWebPageAsRoot(t *testing.T) {
	gun, _ := ParseGUN("example.com/acme/app")
	inner := &countingRemote{MemoryStore: store.NewMemoryStore(map[data.RoleName][]byte{
		"root": []byte("<!doctype html><html><body>Sign in</body></html>")}), reads: map[string]int{}}
	c := &Client{}
	c.memoRemote(gun, inner, nil).GetSized("root", store.NoSizeLimit)
	inner.MemoryStore.Set("root", []byte(`{"signed":{"_type":"Root","version":1}}`))
	b, err := c.memoRemote(gun, inner, nil).GetSized("root", store.NoSizeLimit)
	if err != nil || !looksLikeRoot(b) || inner.reads["root"] != 2 {
		t.Errorf("the retry got %q, %v after %d reads; want the server's root.json", b, err, inner.reads["root"])
	}
}

// A session whose memo entry was evicted (more than memoRepos
// repositories read since) and made again by another session: a publish
// of root.json makes the new entry forget its root and verified root too,
// so that no later read answers from the root before the publish.
func TestMemoForgetsTheRootOfAnEvictedEntry(t *testing.T) {
	gun, _ := ParseGUN("example.com/acme/app")
	inner := &countingRemote{MemoryStore: store.NewMemoryStore(map[data.RoleName][]byte{
		"root": []byte(`{"signed":{"_type":"Root","version":1}}`)}), reads: map[string]int{}}
	c := &Client{}
	holder := c.memoRemote(gun, inner, nil) // holds the first entry
	for i := range memoRepos + 1 {          // evicts it
		c.memo.repo(fmt.Sprintf("example.com/acme/other%d", i))
	}
	c.memoRemote(gun, inner, nil).GetSized("root", store.NoSizeLimit) // a new entry, with version 1
	c.memo.keepVerified(gun.String(), &data.SignedRoot{})
	if err := holder.SetMulti(map[string][]byte{"root": []byte(`{"signed":{"_type":"Root","version":2}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.memo.verifiedRoot(gun.String()); ok {
		t.Error("the new entry still answers with the root verified before the publish")
	}
	b, _ := c.memoRemote(gun, inner, nil).GetSized("root", store.NoSizeLimit)
	if !strings.Contains(string(b), `"version":2`) {
		t.Errorf("root.json after the publish: %s", b)
	}
}
