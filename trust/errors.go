package trust

import (
	"errors"
	"fmt"
	"strings"
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
	ErrNotNotary          = errors.New("not a notary server")
	ErrBusy               = errors.New("trust dir in use")
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
	ErrExpired            = errors.New("trust data expired")
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
	// Fix says what the user can do, in plain words that name no flag,
	// command or key (the engine does not know which face shows it); may be empty.
	Fix string
	// Action is the fix as data, when the user carries it out in dctwiz
	// itself: the CLI renders it as its flags and commands, the wizard as
	// its keys and screens. "" when Fix says it all.
	Action Action
	Cause  error // the underlying error, for errors.Is/As and debugging
	// OutcomeUnknown: a publish was sent and the server could not be asked
	// afterwards whether it landed. Nobody may say "nothing was published".
	OutcomeUnknown bool
}

// OutcomeUnknown says whether err is a publish whose outcome nobody knows.
func OutcomeUnknown(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.OutcomeUnknown
}

// Action is a fix that the user carries out in dctwiz, as data.
type Action string

// The actions; their names are part of the --json error document.
const (
	ActionTLSCA         Action = "tls-ca"          // trust the server's CA certificate
	ActionServer        Action = "server"          // give or check the server URL
	ActionTrustDir      Action = "trust-dir"       // choose another trust dir
	ActionNotaryLogin   Action = "notary-login"    // give credentials for the notary server
	ActionRegistryLogin Action = "registry-login"  // give credentials for the registry
	ActionChooseRootKey Action = "choose-root-key" // say which root key to use
	ActionConfirm       Action = "confirm"         // confirm a destructive step
	ActionLastPINTry    Action = "last-pin-try"    // confirm spending the PIN's last try
	ActionOverwriteSlot Action = "overwrite-slot"  // replace the slot's key, or choose another slot
	ActionPrepareToken  Action = "prepare-token"   // set a factory-fresh YubiKey's PIN, PUK, management key
	ActionUnblockPIN    Action = "unblock-pin"     // unblock the PIN with the PUK
	ActionResetToken    Action = "reset-token"     // reset the YubiKey's PIV application
	ActionSetUp         Action = "set-up"          // set the repository up first
	ActionAddSigner     Action = "add-signer"      // add a signer (delegation)
	ActionListSigners   Action = "list-signers"    // see the repository's signers
	ActionInspect       Action = "inspect"         // look at the repository's trust data
	ActionRerun         Action = "rerun"           // run the same step again: it converges
	ActionAttestationCA Action = "attestation-ca"  // give the CA that the token's attestation chains to
	ActionRotateTargets Action = "rotate-targets"  // rotate the targets key with the root key
)

// Actions lists every action, for tests that check each face renders them all.
var Actions = []Action{ActionTLSCA, ActionServer, ActionTrustDir, ActionNotaryLogin, ActionRegistryLogin,
	ActionChooseRootKey, ActionConfirm, ActionLastPINTry, ActionOverwriteSlot, ActionPrepareToken,
	ActionUnblockPIN, ActionResetToken, ActionSetUp, ActionAddSigner, ActionListSigners, ActionInspect, ActionRerun, ActionAttestationCA, ActionRotateTargets}

// with sets the error's action.
func (e *Error) with(a Action) *Error {
	e.Action = a
	return e
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

// SayFix says a fix in a face's words: how[action] says how that face
// does the action; it follows the engine's plain words in parentheses, or
// replaces them when it starts with "=". Without a how, the words alone.
func SayFix(action Action, fix string, how map[Action]string) string {
	h, ok := how[action]
	switch {
	case !ok:
		return fix
	case strings.HasPrefix(h, "="):
		return strings.TrimPrefix(h, "=")
	case fix == "":
		return h
	}
	return fix + " (" + h + ")"
}

// FixFor returns the advice carried by err, if it is an engine *Error:
// its action (or "") and its plain words.
func FixFor(err error) (Action, string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Action, e.Fix
	}
	return "", ""
}
