package trust

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// FuzzRootKeyFile opens arbitrary bytes as a root key file (--root-key
// file:PATH): a file that is not the root key encrypted with this
// passphrase is an error of the engine's kinds, never a key and never a
// panic.
func FuzzRootKeyFile(f *testing.F) {
	key, err := utils.GenerateECDSAKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	pemBytes, err := utils.ConvertPrivateKeyToPKCS8(key, data.CanonicalRootRole, "", "fuzz-passphrase")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pemBytes)
	f.Add(pemBytes[:len(pemBytes)/2])
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root\n\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"))
	f.Add([]byte("not a key"))
	c, err := New(WithTrustDir(f.TempDir()), WithPassphrases(Passphrases{Root: "fuzz-passphrase"}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "root.key")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := fileRootKey{path: path}.openFile(&passRecorder{c: c})
		if err == nil {
			if got == nil || got.ID() == "" {
				t.Fatalf("no error and no key for %q", b)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || (e.Kind != ErrNoRootKey && e.Kind != ErrWrongPassphrase && e.Kind != ErrPassphraseRequired) {
			t.Fatalf("%q: an error of another kind: %#v", b, err)
		}
	})
}
