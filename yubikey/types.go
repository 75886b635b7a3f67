package yubikey

import (
	"crypto/x509"

	"github.com/go-piv/piv-go/v2/piv"
)

// The PIV types the rest of dctwiz names: this package is the only one
// that imports piv-go (a test in internal/layers holds it to that).
type (
	// Slot is a PIV key slot, e.g. 9c (Digital Signature).
	Slot = piv.Slot
	// PINPolicy says when a key's use needs the PIN.
	PINPolicy = piv.PINPolicy
	// TouchPolicy says when a key's use needs a touch.
	TouchPolicy = piv.TouchPolicy
)

// SlotSignature is slot 9c, where notary keeps root keys.
var SlotSignature = piv.SlotSignature

// The policies dctwiz names.
const (
	PINPolicyOnce     = piv.PINPolicyOnce
	TouchPolicyAlways = piv.TouchPolicyAlways
	TouchPolicyNever  = piv.TouchPolicyNever
)

// VerifyAttestation checks that devCert chains to roots (nil: Yubico's PIV
// root CA, as for real tokens) and attests slotCert's key; it returns the
// serial of the token that made the key.
func VerifyAttestation(roots *x509.CertPool, devCert, slotCert *x509.Certificate) (uint32, error) {
	a, err := (&piv.Verifier{Roots: roots}).Verify(devCert, slotCert)
	if err != nil {
		return 0, err
	}
	return a.Serial, nil
}
