package yubikey

import (
	"errors"
	"fmt"
)

// Failures callers branch on with errors.Is / errors.As.
var (
	ErrNoToken         = errors.New("no YubiKey found")
	ErrSeveralTokens   = errors.New("several YubiKeys found")
	ErrFactoryDefaults = errors.New("the YubiKey still has factory credentials")
	ErrNotFactory      = errors.New("the YubiKey no longer has factory credentials")
	ErrSlotOccupied    = errors.New("the slot already holds a key")
	ErrNoKey           = errors.New("the slot holds no key")
	ErrNoCertificate   = errors.New("the slot holds no certificate")
	ErrPINBlocked      = errors.New("the PIN is blocked")
	ErrPUKBlocked      = errors.New("the PUK is blocked")
	ErrBadPIN          = errors.New("not an acceptable PIN")
	ErrRemoved         = errors.New("the YubiKey was removed")
)

// WrongPINError is a PIN that the token refused; it cost one try.
type WrongPINError struct{ Left int }

func (e WrongPINError) Error() string {
	if e.Left == 1 {
		return "wrong PIN: one try left before the PIN is blocked"
	}
	return fmt.Sprintf("wrong PIN: %d tries left", e.Left)
}

// WrongPUKError is a PUK that the token refused; it cost one try.
type WrongPUKError struct{ Left int }

func (e WrongPUKError) Error() string {
	return fmt.Sprintf("wrong PUK: %d tries left", e.Left)
}
