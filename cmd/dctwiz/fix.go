package main

import "github.com/dctwiz/dctwiz/trust"

// fixLine is an error's fix as the CLI says it: the engine's plain words
// with its action rendered as this CLI's flags and commands.
func fixLine(err error) string {
	action, fix := trust.FixFor(err)
	return renderFix(action, fix)
}

func renderFix(action trust.Action, fix string) string { return trust.SayFix(action, fix, cliFixes) }

// cliFixes say how each action is done with this CLI.
var cliFixes = map[trust.Action]string{
	trust.ActionTLSCA:         "--tlscacert FILE",
	trust.ActionServer:        "--server URL, or $DOCKER_CONTENT_TRUST_SERVER",
	trust.ActionTrustDir:      "--trust-dir DIR",
	trust.ActionNotaryLogin:   "docker login, or NOTARY_AUTH set to base64 of user:password",
	trust.ActionRegistryLogin: "docker login, or REGISTRY_AUTH set to base64 of user:password",
	trust.ActionChooseRootKey: "--root-key file:PATH, or yubikey[:SERIAL]",
	trust.ActionConfirm:       "--yes, or confirm on a terminal",
	trust.ActionLastPINTry:    "--last-pin-try, or type the PIN twice on a terminal",
	trust.ActionOverwriteSlot: "--slot SLOT, or --overwrite-slot",
	trust.ActionPrepareToken:  "dctwiz yubikey setup",
	trust.ActionUnblockPIN:    "dctwiz yubikey unblock",
	trust.ActionResetToken:    "dctwiz yubikey reset",
	trust.ActionSetUp:         "dctwiz setup GUN, or dctwiz init GUN",
	trust.ActionAddSigner:     "--delegation NAME=CERT in setup, or dctwiz delegation add GUN NAME CERT",
	trust.ActionListSigners:   "dctwiz delegation list GUN",
	trust.ActionInspect:       "dctwiz inspect GUN",
	trust.ActionRerun:         "the same command",
	trust.ActionAttestationCA: "--attestation-ca FILE",
	trust.ActionRotateTargets: "--root-key SPEC on this command, or dctwiz rotate targets GUN --root-key SPEC first",
}
