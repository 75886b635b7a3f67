package trust_test

import (
	"crypto"
	"crypto/x509"
)

func x509MarshalPKCS8(key crypto.Signer) ([]byte, error) { return x509.MarshalPKCS8PrivateKey(key) }
