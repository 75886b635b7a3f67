package trust_test

import (
	"crypto"
	"crypto/x509"

	"github.com/dctwiz/dctwiz/internal/testbed"
)

func x509MarshalPKCS8(key crypto.Signer) ([]byte, error) { return x509.MarshalPKCS8PrivateKey(key) }

func testbedSpec(cn string) testbed.CertSpec { return testbed.CertSpec{CommonName: cn} }
