package trust

import (
	"sync"

	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
)

// keyStore is the trust dir's key store (notary's, written atomically)
// with the keys this process has unlocked kept unlocked: each session has
// a key store of its own, and notary's decrypts a key file (PBKDF2) the
// first time each one reads it. A batch would decrypt the root key once
// per repository, a setup the targets key once per step.
type keyStore struct {
	*trustmanager.GenericKeyStore
	unlocked *unlockedKeys
	// unreadable are key files notary could not read and so does not list.
	unreadable []string
}

// unlockedKeys are the keys a Client unlocked, by key ID.
type unlockedKeys struct {
	mu   sync.Mutex
	keys map[string]unlockedKey
}

type unlockedKey struct {
	key  data.PrivateKey
	role data.RoleName
}

func (u *unlockedKeys) get(id string) (unlockedKey, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	k, ok := u.keys[id]
	return k, ok
}

func (u *unlockedKeys) put(id string, key data.PrivateKey, role data.RoleName) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.keys == nil {
		u.keys = map[string]unlockedKey{}
	}
	u.keys[id] = unlockedKey{key, role}
}

func (u *unlockedKeys) drop(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.keys, id)
}

// GetKey is the key, unlocked once per process.
func (k *keyStore) GetKey(id string) (data.PrivateKey, data.RoleName, error) {
	if u, ok := k.unlocked.get(id); ok {
		return u.key, u.role, nil
	}
	key, role, err := k.GenericKeyStore.GetKey(id)
	if err == nil {
		k.unlocked.put(id, key, role)
	}
	return key, role, err
}

// AddKey stores a new key; it stays unlocked for this process.
func (k *keyStore) AddKey(info trustmanager.KeyInfo, key data.PrivateKey) error {
	if err := k.GenericKeyStore.AddKey(info, key); err != nil {
		return err
	}
	k.unlocked.put(key.ID(), key, info.Role)
	return nil
}

// RemoveKey deletes the key file, and forgets the unlocked key first: a
// deleted key signs nothing more, in this process either.
func (k *keyStore) RemoveKey(id string) error {
	k.unlocked.drop(id)
	return k.GenericKeyStore.RemoveKey(id)
}

var _ trustmanager.KeyStore = (*keyStore)(nil)
