package ui

import "github.com/dctwiz/dctwiz/trust"

// wizardFix is an error's fix as the wizard says it: the engine's plain
// words, with its action as this wizard's screens and keys (an admin at
// the wizard has no flags to pass).
func wizardFix(err error) string {
	action, fix := trust.FixFor(err)
	return renderFix(action, fix)
}

func renderFix(action trust.Action, fix string) string { return trust.SayFix(action, fix, wizardFixes) }

// wizardFixes say how each action is done in the wizard; "=" starts a
// sentence that replaces the engine's words.
var wizardFixes = map[trust.Action]string{
	trust.ActionTLSCA:         "the TLS CA field on the Repository screen",
	trust.ActionServer:        "the Notary server field on the Repository screen",
	trust.ActionTrustDir:      "start the wizard again with another trust dir",
	trust.ActionNotaryLogin:   "docker login in another terminal, then try again",
	trust.ActionRegistryLogin: "docker login in another terminal, then try again",
	trust.ActionChooseRootKey: "on the YubiKey (or Root key) screen",
	trust.ActionConfirm:       "type what the screen asks for",
	trust.ActionLastPINTry:    "type the PIN twice on the YubiKey (or Root key) screen",
	trust.ActionOverwriteSlot: "=choose an empty slot on the YubiKey screen: the wizard never overwrites a key",
	trust.ActionPrepareToken:  "=press c to choose the YubiKey again: the YubiKey screen prepares a factory-fresh one",
	trust.ActionUnblockPIN:    "dctwiz yubikey unblock in another terminal, then press c to choose the YubiKey again",
	trust.ActionResetToken:    "dctwiz yubikey reset in another terminal, then press c to choose the YubiKey again",
	trust.ActionSetUp:         "=go on with this ceremony: it sets the repository up",
	trust.ActionAddSigner:     "on the Signers screen, or with the maintenance ceremony Add a signer",
	trust.ActionListSigners:   "dctwiz delegation list GUN in another terminal",
	trust.ActionInspect:       "dctwiz inspect GUN in another terminal",
	trust.ActionRerun:         "=run the step again: it finds out what reached the server and goes on",
	trust.ActionAttestationCA: "start the wizard again with the token's attestation CA",
	trust.ActionRotateTargets: "with the maintenance ceremony Rotate the targets key (the first screen's second choice)",
}
