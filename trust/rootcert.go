package trust

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// RootCertificate is a repository's root certificate as published in its
// root.json: what clients pin and what a signing service (SignPath) wants.
type RootCertificate struct {
	GUN         string    `json:"gun"`
	KeyID       string    `json:"key_id"`           // the root key ID in root.json: what clients pin
	CanonicalID string    `json:"canonical_key_id"` // the ID of the bare public key (notary's private key file name)
	Fingerprint string    `json:"fingerprint"`      // SHA-256 of the certificate's DER, hex
	Subject     string    `json:"subject"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	PEM         string    `json:"pem"`
}

// RootCertificates returns the root certificates of a published
// repository, verified as the trust dir knows it (trust on first use, as
// docker does), whichever tool set the repository up.
//
// A root that this process verified or published less than a minute ago
// answers without a new load (see memo.go): a ceremony's step reads what
// the step before it verified.
func (c *Client) RootCertificates(ctx context.Context, gun GUN) ([]RootCertificate, error) {
	if root, ok := c.memo.verifiedRoot(gun.String()); ok {
		return rootCertificates(gun, &tuf.Repo{Root: root})
	}
	_, repo, err := c.openLoaded(ctx, gun)
	if err != nil {
		return nil, err
	}
	return rootCertificates(gun, repo)
}

func rootCertificates(gun GUN, repo *tuf.Repo) ([]RootCertificate, error) {
	var out []RootCertificate
	role := repo.Root.Signed.Roles[data.CanonicalRootRole]
	if role == nil {
		return nil, newError(ErrVerification, gun.String(), "", "root.json has no root role")
	}
	for _, id := range role.KeyIDs {
		key, ok := repo.Root.Signed.Keys[id]
		if !ok {
			continue
		}
		if key.Algorithm() != data.ECDSAx509Key && key.Algorithm() != data.RSAx509Key {
			return nil, newError(ErrVerification, gun.String(), "", "the root key %s is a bare %s key, not a certificate", ShortID(id), key.Algorithm())
		}
		cert, err := utils.LoadCertFromPEM(key.Public())
		if err != nil {
			return nil, wrapError(ErrVerification, err, gun.String(), "", "the root key %s holds no readable certificate", ShortID(id))
		}
		canonical, _ := utils.CanonicalKeyID(key)
		sum := sha256.Sum256(cert.Raw)
		out = append(out, RootCertificate{
			GUN:         gun.String(),
			KeyID:       id,
			CanonicalID: canonical,
			Fingerprint: hex.EncodeToString(sum[:]),
			Subject:     cert.Subject.String(),
			NotBefore:   cert.NotBefore,
			NotAfter:    cert.NotAfter,
			PEM:         string(utils.CertToPEM(cert)),
		})
	}
	if len(out) == 0 {
		return nil, newError(ErrVerification, gun.String(), "", "root.json lists no root key")
	}
	return out, nil
}

// RootCertIDs reads PEM root certificates (an exported root certificate
// file) and returns the key IDs a client pins for them.
func RootCertIDs(name string, pemBytes []byte) ([]string, error) {
	certs, err := utils.LoadCertBundleFromPEM(pemBytes)
	if err != nil || len(certs) == 0 {
		return nil, newError(ErrBadCertificate, name, "give the root certificate PEM that the ceremony exported", "no certificate in the file")
	}
	ids := make([]string, 0, len(certs))
	for _, cert := range certs {
		ids = append(ids, utils.CertToKey(cert).ID())
	}
	return ids, nil
}

// PinnedIDs are the key IDs a client pins for these certificates.
func PinnedIDs(certs []RootCertificate) []string {
	ids := make([]string, len(certs))
	for i, c := range certs {
		ids[i] = c.KeyID
	}
	return ids
}

func (r RootCertificate) String() string {
	return fmt.Sprintf("%s (key %s, expires %s)", r.Subject, ShortID(r.KeyID), r.NotAfter.UTC().Format("2006-01-02"))
}

// WriteRootCertificates writes the certificates as PEM to path (a public
// file: 0644), replacing it atomically.
func WriteRootCertificates(path string, certs []RootCertificate) error {
	var pemText string
	for _, c := range certs {
		pemText += c.PEM
	}
	return WriteOutputFile(path, []byte(pemText), 0o644)
}

// LocalRootKeys lists the IDs of root keys in the trust dir's key store;
// reading them needs no passphrase.
func (c *Client) LocalRootKeys() ([]string, error) {
	ks, err := c.keyStore(&passRecorder{})
	if err != nil {
		return nil, err
	}
	var ids []string
	for id, info := range ks.ListKeys() {
		if info.Role == data.CanonicalRootRole {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pemBlock(text string) []byte {
	b, _ := pem.Decode([]byte(text))
	if b == nil {
		return nil
	}
	return b.Bytes
}

// PublicKeyID is the canonical key ID of a public key as notary names it
// (a root certificate's CanonicalID): which published root key a token's
// slot holds. Only ECDSA keys, the kind dctwiz makes, have one here.
func PublicKeyID(pub crypto.PublicKey) (string, bool) {
	if _, ok := pub.(*ecdsa.PublicKey); !ok {
		return "", false
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", false
	}
	return data.NewECDSAPublicKey(der).ID(), true
}
