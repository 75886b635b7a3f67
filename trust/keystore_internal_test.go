package trust

import (
	"crypto/rand"
	"testing"

	store "github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// A key unlocked in one session is not decrypted again in the next (no
// passphrase asked, no PBKDF2), and a removed key is forgotten at once.
func TestUnlockedKeysOutliveASession(t *testing.T) {
	files := store.NewMemoryStore(nil)
	asked := 0
	retriever := func(string, string, bool, int) (string, bool, error) { asked++; return "a passphrase", false, nil }
	var unlocked unlockedKeys
	session := func() *keyStore {
		return &keyStore{GenericKeyStore: trustmanager.NewGenericKeyStore(files, retriever), unlocked: &unlocked}
	}
	key, err := utils.GenerateECDSAKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := session().AddKey(trustmanager.KeyInfo{Role: data.CanonicalTargetsRole, Gun: "example.com/acme/app"}, key); err != nil {
		t.Fatal(err)
	}
	askedToAdd := asked
	for range 3 {
		got, role, err := session().GetKey(key.ID())
		if err != nil || got.ID() != key.ID() || role != data.CanonicalTargetsRole {
			t.Fatalf("GetKey in a later session: %v, %s, %v", got, role, err)
		}
	}
	if asked != askedToAdd {
		t.Errorf("the passphrase was asked %d more times for a key this process unlocked", asked-askedToAdd)
	}
	// Another process's key store, or this one's after the file is read
	// afresh, still needs the passphrase: the unlocked keys are per Client.
	if _, _, err := trustmanager.NewGenericKeyStore(files, retriever).GetKey(key.ID()); err != nil || asked == askedToAdd {
		t.Errorf("a key store without the unlocked keys: %v after %d asks", err, asked-askedToAdd)
	}
	if err := session().RemoveKey(key.ID()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := session().GetKey(key.ID()); err == nil {
		t.Error("a removed key is still served")
	}
}
