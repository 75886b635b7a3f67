package trust

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// RootKey is where a repository's root key comes from: a passphrase-
// encrypted file now, a YubiKey later. The engine needs only a notary
// private key that can sign; it does not care where the key lives.
type RootKey interface {
	// String says where the key lives, for people and ceremony records.
	String() string
	// open returns the key; when the source has none yet it creates one if
	// create is set, else returns errNoRootKeyYet.
	open(ctx context.Context, keys *keyStore, pass *passRecorder, create bool) (data.PrivateKey, error)
}

// errNoRootKeyYet: the source would have to create the key.
var errNoRootKeyYet = errors.New("no root key yet")

// FileRootKey is a root key in a passphrase-encrypted PKCS#8 file. With an
// empty path it is the trust dir's root key, as docker and notary keep it
// (private/<id>.key, role root); one is created when there is none.
// With a path it is that key file, used where it is.
func FileRootKey(path string) RootKey { return fileRootKey{path: path} }

type fileRootKey struct{ path string }

func (f fileRootKey) String() string {
	if f.path == "" {
		return "file key in the trust dir"
	}
	return "file key " + f.path
}

func (f fileRootKey) open(_ context.Context, keys *keyStore, pass *passRecorder, create bool) (data.PrivateKey, error) {
	if f.path != "" {
		return f.openFile(pass)
	}
	var ids []string
	for id, info := range keys.ListKeys() {
		if info.Role == data.CanonicalRootRole {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	switch len(ids) {
	case 0:
		if len(keys.unreadable) > 0 {
			// One of them may be the root key: a new one would publish a
			// repository nobody can sign for with the key that was meant.
			return nil, newError(ErrNoRootKey, keys.unreadable[0], "restore the key file from a backup, or move it out of the trust dir's private/ folder if it is not a key",
				"the trust dir holds %d key file(s) that cannot be read (truncated, or not a notary key): %s; no new root key is made while one may be the root key",
				len(keys.unreadable), strings.Join(keys.unreadable, ", "))
		}
		if !create {
			return nil, errNoRootKeyYet
		}
		if p, err := pass.get("root", true); err != nil {
			return nil, pass.problem
		} else if p == "" {
			return nil, newError(ErrPassphraseRequired, "root key", "give a passphrase for the new root key", "a new root key will be created and needs a passphrase")
		}
		key, err := utils.GenerateECDSAKey(rand.Reader)
		if err != nil {
			return nil, wrapError(ErrNoRootKey, err, "root key", "", "cannot generate a root key")
		}
		if err := keys.AddKey(trustmanager.KeyInfo{Role: data.CanonicalRootRole}, key); err != nil {
			if pass.problem != nil {
				return nil, pass.problem
			}
			return nil, wrapError(ErrNoRootKey, err, keys.Name(), "check that the trust dir is writable and its disk has room", "cannot store the new root key: %s", shortCause(err))
		}
		return key, nil
	case 1:
		if p, err := pass.get("root", false); err != nil {
			return nil, pass.problem
		} else if p == "" {
			return nil, newError(ErrPassphraseRequired, "root key", "give the root key passphrase", "the root key %s is encrypted and no passphrase was given", ShortID(ids[0]))
		}
		key, _, err := keys.GetKey(ids[0])
		if err != nil {
			if pass.problem != nil {
				return nil, pass.problem
			}
			return nil, wrapError(ErrNoRootKey, err, "root key "+ShortID(ids[0]), "", "cannot read the root key")
		}
		return key, nil
	default:
		for i, id := range ids {
			ids[i] = filepath.Join(keys.Name(), id+".key")
		}
		return nil, newError(ErrNoRootKey, keys.Name(), "say which root key file to use", "the trust dir holds %d root keys: %s", len(ids), strings.Join(ids, ", ")).with(ActionChooseRootKey)
	}
}

func (f fileRootKey) openFile(pass *passRecorder) (data.PrivateKey, error) {
	pemBytes, err := ReadInputFile(f.path)
	if err != nil {
		return nil, wrapError(ErrNoRootKey, err, f.path, "check the root key file's path", "cannot read the root key file: %s", shortCause(err)).with(ActionChooseRootKey)
	}
	role, _, err := utils.ExtractPrivateKeyAttributes(pemBytes)
	if err != nil {
		return nil, wrapError(ErrNoRootKey, err, f.path, "give a notary or docker root key file (PEM, PKCS#8)", "not a notary private key file")
	}
	if role != data.CanonicalRootRole {
		return nil, newError(ErrNoRootKey, f.path, "give the root key file (its PEM header says role: root)", "this is a %s key, not a root key", role)
	}
	p, err := pass.get("root", false)
	if err != nil {
		return nil, pass.problem
	}
	if p == "" {
		return nil, newError(ErrPassphraseRequired, "root key", "give the root key passphrase", "the root key file is encrypted and no passphrase was given")
	}
	key, err := utils.ParsePEMPrivateKey(pemBytes, p)
	if err != nil {
		return nil, wrapError(ErrWrongPassphrase, err, f.path, "give the right root key passphrase", "cannot decrypt the root key: wrong passphrase")
	}
	return key, nil
}

// NewFileRootKey is a root key file at path that a root rotation makes
// when there is none there yet, encrypted with the root passphrase (a
// rerun finds the key it made). It is for rehearsals and for the file
// root keys of tests: a real root lives on a YubiKey.
func NewFileRootKey(path string) RootKey { return newFileRootKey{path: path} }

type newFileRootKey struct{ path string }

func (n newFileRootKey) String() string { return "file key " + n.path }

func (n newFileRootKey) open(_ context.Context, _ *keyStore, pass *passRecorder, create bool) (data.PrivateKey, error) {
	if _, err := os.Lstat(n.path); err == nil || !create {
		return fileRootKey(n).openFile(pass)
	}
	p, err := pass.get("root", true)
	if err != nil {
		return nil, pass.problem
	}
	if len(p) < MinPassphraseLength {
		return nil, newError(ErrPassphraseRequired, "root key", "give a root passphrase of at least 8 characters", "a new root key file will be made at %s and needs a passphrase", n.path)
	}
	key, err := utils.GenerateECDSAKey(rand.Reader)
	if err != nil {
		return nil, wrapError(ErrNoRootKey, err, n.path, "", "cannot generate a root key")
	}
	pemBytes, err := utils.ConvertPrivateKeyToPKCS8(key, data.CanonicalRootRole, "", p)
	if err != nil {
		return nil, wrapError(ErrNoRootKey, err, n.path, "", "cannot encrypt the new root key")
	}
	if err := writeFileAtomic(n.path, pemBytes, 0o600); err != nil {
		return nil, wrapError(ErrBadInput, err, n.path, "choose a writable path for the new root key", "cannot write the new root key file")
	}
	return key, nil
}
