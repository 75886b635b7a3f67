package testbed

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// CertSpec describes a signer certificate for tests: the good ones and
// each way one can be bad.
type CertSpec struct {
	CommonName string
	Key        string // "p256" (default), "p384", "p224", "rsa1024", "rsa2048", "ed25519"
	SHA1       bool   // sign with SHA-1
	NotBefore  time.Time
	NotAfter   time.Time
	DER        bool // write DER instead of PEM
	CA         bool // a CA's certificate (basic constraints CA:TRUE, cert sign)
	NoSigning  bool // key usage without digital signature (key encipherment)
}

// WriteCert makes a self-signed certificate as spec says, writes it to
// dir/file and returns its path and private key.
func WriteCert(dir, file string, spec CertSpec) (string, crypto.Signer, error) {
	var key crypto.Signer
	var err error
	switch spec.Key {
	case "", "p256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "p224":
		key, err = ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	case "rsa1024":
		key, err = rsa.GenerateKey(rand.Reader, 1024)
	case "rsa2048":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return "", nil, fmt.Errorf("unknown key type %q", spec.Key)
	}
	if err != nil {
		return "", nil, err
	}
	path, err := WriteCertForKey(dir, file, spec, key)
	return path, key, err
}

// WriteCertForKey is WriteCert for a key that exists: a renewed
// certificate for the same private key, as signing services issue them.
func WriteCertForKey(dir, file string, spec CertSpec, key crypto.Signer) (string, error) {
	if spec.CommonName == "" {
		spec.CommonName = "signer"
	}
	if spec.NotBefore.IsZero() {
		spec.NotBefore = time.Now().Add(-time.Hour)
	}
	if spec.NotAfter.IsZero() {
		spec.NotAfter = time.Now().AddDate(3, 0, 0)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: spec.CommonName, Organization: []string{"Acme"}},
		NotBefore:    spec.NotBefore,
		NotAfter:     spec.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	if spec.CA {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign|x509.KeyUsageDigitalSignature
	}
	if spec.NoSigning {
		tmpl.KeyUsage = x509.KeyUsageKeyEncipherment
	}
	if spec.SHA1 {
		if _, ok := key.(*rsa.PrivateKey); ok {
			tmpl.SignatureAlgorithm = x509.SHA1WithRSA
		} else {
			tmpl.SignatureAlgorithm = x509.ECDSAWithSHA1
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, file)
	out := der
	if !spec.DER {
		out = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	return path, os.WriteFile(path, out, 0o644)
}

// randomSerial is a certificate serial of 128 random bits: unique without
// a clock, as real CAs make them.
func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n
}
