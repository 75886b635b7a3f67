package virtual

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
)

// Yubico's attestation extensions, as piv-go parses them.
var (
	extFirmware   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 3}
	extSerial     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 7}
	extPolicy     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 8}
	extFormFactor = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 9}
)

// attestation issues the certificate that proves ref's key was made on
// this token, signed by the device attestation key.
func (s *state) attestation(ref byte, key *slotKey) ([]byte, error) {
	devCert, err := x509.ParseCertificate(s.DeviceCert)
	if err != nil {
		return nil, err
	}
	devKey, err := x509.ParsePKCS8PrivateKey(s.DeviceKey)
	if err != nil {
		return nil, err
	}
	priv, err := key.private()
	if err != nil {
		return nil, err
	}
	serial, err := asn1.Marshal(big.NewInt(int64(s.Serial)))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: fmt.Sprintf("YubiKey PIV Attestation %x", ref)},
		NotBefore:    devCert.NotBefore,
		NotAfter:     devCert.NotAfter,
		ExtraExtensions: []pkix.Extension{
			{Id: extFirmware, Value: s.Version[:]},
			{Id: extSerial, Value: serial},
			{Id: extPolicy, Value: []byte{key.PINPolicy, key.TouchPolicy}},
			{Id: extFormFactor, Value: []byte{0x01}}, // USB-A keychain
		},
	}
	return x509.CreateCertificate(rand.Reader, tmpl, devCert, &priv.PublicKey, devKey)
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
