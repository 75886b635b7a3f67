package yubikey

import (
	"fmt"

	"github.com/go-piv/piv-go/v2/piv"
)

// allSlots are the slots status reports: the four PIV slots and the 20
// retired key-management slots.
func allSlots() []piv.Slot {
	slots := []piv.Slot{piv.SlotAuthentication, piv.SlotSignature, piv.SlotKeyManagement, piv.SlotCardAuthentication}
	for k := uint32(0x82); k <= 0x95; k++ {
		if s, ok := piv.RetiredKeyManagementSlot(k); ok {
			slots = append(slots, s)
		}
	}
	return slots
}

// ParseSlot reads a slot name such as "9c".
func ParseSlot(name string) (piv.Slot, error) {
	var k uint32
	if _, err := fmt.Sscanf(name, "%x", &k); err == nil {
		for _, s := range allSlots() {
			if s.Key == k {
				return s, nil
			}
		}
	}
	return piv.Slot{}, fmt.Errorf("unknown PIV slot %q: use 9a, 9c, 9d, 9e or 82-95", name)
}

func algorithmName(a piv.Algorithm) string {
	switch a {
	case piv.AlgorithmEC256:
		return "ECDSA P-256"
	case piv.AlgorithmEC384:
		return "ECDSA P-384"
	case piv.AlgorithmEd25519:
		return "Ed25519"
	case piv.AlgorithmRSA1024:
		return "RSA 1024"
	case piv.AlgorithmRSA2048:
		return "RSA 2048"
	}
	return fmt.Sprintf("algorithm %d", a)
}

// PINPolicyName is the policy as ParsePINPolicy reads it.
func PINPolicyName(p piv.PINPolicy) string {
	switch p {
	case piv.PINPolicyNever:
		return "never"
	case piv.PINPolicyOnce:
		return "once"
	case piv.PINPolicyAlways:
		return "always"
	}
	return fmt.Sprintf("policy %d", p)
}

// TouchPolicyName is the policy as ParseTouchPolicy reads it.
func TouchPolicyName(p piv.TouchPolicy) string {
	switch p {
	case piv.TouchPolicyNever:
		return "never"
	case piv.TouchPolicyAlways:
		return "always"
	case piv.TouchPolicyCached:
		return "cached"
	}
	return fmt.Sprintf("policy %d", p)
}

// ParsePINPolicy reads "never", "once" or "always".
func ParsePINPolicy(s string) (piv.PINPolicy, error) {
	switch s {
	case "never":
		return piv.PINPolicyNever, nil
	case "once":
		return piv.PINPolicyOnce, nil
	case "always":
		return piv.PINPolicyAlways, nil
	}
	return 0, fmt.Errorf("PIN policy %q: use never, once or always", s)
}

// ParseTouchPolicy reads "never", "always" or "cached".
func ParseTouchPolicy(s string) (piv.TouchPolicy, error) {
	switch s {
	case "never":
		return piv.TouchPolicyNever, nil
	case "always":
		return piv.TouchPolicyAlways, nil
	case "cached":
		return piv.TouchPolicyCached, nil
	}
	return 0, fmt.Errorf("touch policy %q: use never, always or cached", s)
}
