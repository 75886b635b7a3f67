package trust

import (
	"errors"
	"fmt"
)

// Kinds of failure a caller can branch on with errors.Is. Every error the
// engine returns is an *Error that wraps one of these.
var (
	ErrBadInput           = errors.New("bad input")
	ErrBadGUN             = errors.New("not a repository name (GUN)")
	ErrBadCertificate     = errors.New("unusable certificate")
	ErrBadSignerName      = errors.New("invalid signer name")
	ErrPassphraseRequired = errors.New("passphrase required")
	ErrWeakPassphrase     = errors.New("passphrase too short")
	ErrWrongPassphrase    = errors.New("wrong passphrase")
	ErrServerUnreachable  = errors.New("notary server unreachable")
	ErrInterrupted        = errors.New("interrupted")
	ErrTLS                = errors.New("TLS verification failed")
	ErrUnauthorized       = errors.New("not authorized")
	ErrNotInitialized     = errors.New("no trust data")
	ErrAlreadyInitialized = errors.New("already initialized")
	ErrRegistry           = errors.New("registry error")
	ErrTagNotFound        = errors.New("tag not found")
	ErrTagAlreadySigned   = errors.New("tag already signed")
	ErrNoTargetsKey       = errors.New("targets key not in the key store")
	ErrNoRootKey          = errors.New("root key not available")
	ErrVerification       = errors.New("trust data does not verify")
	ErrNotFound           = errors.New("not found")
	ErrNeedsConfirmation  = errors.New("needs confirmation")
	ErrNoSigner           = errors.New("no signer")
	ErrYubiKey            = errors.New("YubiKey problem")
	ErrWrongPIN           = errors.New("wrong PIN")
	ErrPINBlocked         = errors.New("PIN blocked")
	ErrPublish            = errors.New("publish failed")
)

// Error is what the engine returns: what failed, for which input, and what
// to do about it, wrapping one of the Err* kinds (and the cause, if any).
type Error struct {
	Kind  error  // one of the Err* values above
	Input string // the input the failure is about: a GUN, a file, a tag
	Msg   string // what went wrong, one line, no trailing period
	Fix   string // what the user can do, one line; may be empty
	Cause error  // the underlying error, for errors.Is/As and debugging
}

func (e *Error) Error() string {
	if e.Input != "" {
		return fmt.Sprintf("%s: %s", e.Input, e.Msg)
	}
	return e.Msg
}

// Unwrap lets errors.Is match the kind and errors.As reach the cause.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Kind, e.Cause}
	}
	return []error{e.Kind}
}

func newError(kind error, input, fix, format string, args ...any) *Error {
	return &Error{Kind: kind, Input: input, Msg: fmt.Sprintf(format, args...), Fix: fix}
}

func wrapError(kind error, cause error, input, fix, format string, args ...any) *Error {
	e := newError(kind, input, fix, format, args...)
	e.Cause = cause
	return e
}

// FixFor returns the advice carried by err, if it is an engine *Error.
func FixFor(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fix
	}
	return ""
}
