package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"regexp"
	"time"

	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
)

// Certificate is a signer's X.509 certificate, checked for use as a
// delegation key.
type Certificate struct {
	Path        string            `json:"path"`
	Subject     string            `json:"subject"`
	KeyType     string            `json:"key_type"`    // "ECDSA P-256", "RSA 3072", ...
	Fingerprint string            `json:"fingerprint"` // SHA-256 of the DER, hex
	KeyID       string            `json:"key_id"`      // canonical key ID, as docker and notary show signers' keys
	NotAfter    time.Time         `json:"not_after"`
	Warnings    []string          `json:"warnings,omitempty"`
	X509        *x509.Certificate `json:"-"`
}

// ExpiryWarning is how close to its end a certificate gets a warning.
const ExpiryWarning = 183 * 24 * time.Hour // six months

// LoadCertificate reads a PEM or DER (.cer/.crt/.pem) certificate and
// checks it: it parses, is valid now, has an ECDSA P-256/P-384 or RSA >=
// 2048 key and no SHA-1 (or MD5) signature. A certificate that expires
// within six months loads with a warning.
func LoadCertificate(path string, now time.Time) (*Certificate, error) {
	raw, err := ReadInputFile(path)
	if err != nil {
		return nil, wrapError(ErrBadCertificate, err, path, "check the certificate's path", "cannot read the certificate: %s", shortCause(err))
	}
	return ParseCertificate(path, raw, now)
}

// ParseCertificate checks certificate bytes; name is used in messages.
func ParseCertificate(name string, raw []byte, now time.Time) (*Certificate, error) {
	const fix = "give the signer's X.509 certificate, PEM or DER"
	der := raw
	if block, rest := pem.Decode(raw); block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, newError(ErrBadCertificate, name, fix, "the PEM block is a %q, not a CERTIFICATE", block.Type)
		}
		der = block.Bytes
		// A chain or a bundle: which one is the signer's is not for
		// dctwiz to guess.
		if n := pemCertificates(rest); n > 0 {
			return nil, newError(ErrBadCertificate, name, "give a file with the signer's own certificate alone (the first block of a chain, saved on its own)",
				"the file holds %d certificates, not one", n+1)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, wrapError(ErrBadCertificate, err, name, fix, "not an X.509 certificate")
	}
	c := &Certificate{
		Path:     name,
		Subject:  cert.Subject.String(),
		NotAfter: cert.NotAfter,
		X509:     cert,
	}
	sum := sha256.Sum256(cert.Raw)
	c.Fingerprint = hex.EncodeToString(sum[:])

	if cert.IsCA {
		return nil, newError(ErrBadCertificate, name, "give the signer's own certificate, not its issuer's",
			"the certificate is a CA's (basic constraints CA:TRUE), not a signer's")
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, newError(ErrBadCertificate, name, "issue the signer a certificate whose key usage includes digital signature",
			"the certificate's key usage does not allow signing (no digitalSignature)")
	}
	switch cert.SignatureAlgorithm {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1, x509.MD5WithRSA, x509.MD2WithRSA:
		return nil, newError(ErrBadCertificate, name, "issue a new certificate signed with SHA-256 or better", "the certificate is signed with %s, which is broken", cert.SignatureAlgorithm)
	}
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256(), elliptic.P384():
			c.KeyType = "ECDSA " + pub.Curve.Params().Name
		default:
			return nil, newError(ErrBadCertificate, name, "use an ECDSA P-256 or P-384 key", "ECDSA curve %s is not supported", pub.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		bits := pub.N.BitLen()
		if bits < 2048 {
			return nil, newError(ErrBadCertificate, name, "use an RSA key of at least 2048 bits, or ECDSA P-256", "the RSA key has %d bits, fewer than 2048", bits)
		}
		c.KeyType = fmt.Sprintf("RSA %d", bits)
	default:
		return nil, newError(ErrBadCertificate, name, "use an ECDSA P-256/P-384 or RSA >= 2048 key", "%s keys are not supported by Docker Content Trust", keyKind(cert.PublicKeyAlgorithm))
	}
	if now.After(cert.NotAfter) {
		return nil, newError(ErrBadCertificate, name, "issue a new certificate for the signer", "the certificate expired on %s", cert.NotAfter.UTC().Format("2006-01-02"))
	}
	if now.Before(cert.NotBefore) {
		return nil, newError(ErrBadCertificate, name, "wait until it is valid, or check the clock", "the certificate is not valid before %s", cert.NotBefore.UTC().Format("2006-01-02"))
	}
	if cert.NotAfter.Sub(now) < ExpiryWarning {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s expires on %s, within six months: plan its rotation", name, cert.NotAfter.UTC().Format("2006-01-02")))
	}
	if c.KeyID, err = utils.CanonicalKeyID(c.PublicKey()); err != nil {
		return nil, wrapError(ErrBadCertificate, err, name, fix, "cannot compute the certificate's key ID")
	}
	return c, nil
}

// pemCertificates counts the CERTIFICATE blocks in b.
func pemCertificates(b []byte) int {
	n := 0
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return n
		}
		if block.Type == "CERTIFICATE" {
			n++
		}
	}
}

// keyKind names a key algorithm in words, for messages: crypto/x509's
// own names, and "unknown" where it has only a number.
func keyKind(a x509.PublicKeyAlgorithm) string {
	if a == x509.UnknownPublicKeyAlgorithm {
		return "unknown"
	}
	return a.String()
}

// PublicKey is the certificate as a notary public key (ecdsa-x509 or
// rsa-x509), the form docker and notary publish delegation keys in.
func (c *Certificate) PublicKey() data.PublicKey { return utils.CertToKey(c.X509) }

var signerNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// ReleasesRole is docker's shared delegation: tags signed there are what
// `docker pull` with content trust resolves.
const ReleasesRole = "targets/releases"

// CheckSignerNames applies docker's rule to each signer name and refuses
// a name given twice: the one check the CLI, the wizard and the
// ceremonies make before anything is published.
func CheckSignerNames(names ...string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if err := ValidSignerName(n); err != nil {
			return err
		}
		if seen[n] {
			return newError(ErrBadSignerName, fmt.Sprintf("%q", n), "give each signer its own name", "the signer name is given twice")
		}
		seen[n] = true
	}
	return nil
}

// maxSignerName: notary refuses role names of 256 characters or more
// (tuf/data.IsDelegation), and the role is "targets/" + the name.
const maxSignerName = 255 - len("targets/")

// ValidSignerName applies docker's signer-name rule.
func ValidSignerName(name string) error {
	const fix = "use lower-case letters, digits, '_' and '-', starting with a letter or digit, e.g. signpath"
	if name == "releases" {
		return newError(ErrBadSignerName, name, "choose another name: docker manages targets/releases itself", "the signer name \"releases\" is reserved")
	}
	if !signerNameRE.MatchString(name) {
		return newError(ErrBadSignerName, fmt.Sprintf("%q", name), fix, "not a valid signer name: lower-case letters, digits, '_' and '-', starting with a letter or digit")
	}
	if len(name) > maxSignerName {
		return newError(ErrBadSignerName, name[:20]+"…", "choose a shorter signer name",
			"the signer name is %d characters: notary keeps a role name (targets/NAME) to 255, so a name has at most %d", len(name), maxSignerName)
	}
	return nil
}
