package main

import (
	"strings"

	"github.com/dctwiz/dctwiz/trust"
)

const rootKeyHelp = `where the root key comes from: "file" (the trust dir's root key, created if there is none) or "file:PATH" (a notary/docker root key file)`

// rootKey reads --root-key and collects the root passphrase it needs.
func (a *app) rootKey(c *trust.Client, value string) (trust.RootKey, string, error) {
	kind, arg, _ := strings.Cut(value, ":")
	switch kind {
	case "file":
		isNew := false
		if arg == "" {
			ids, err := c.LocalRootKeys()
			if err != nil {
				return nil, "", err
			}
			isNew = len(ids) == 0
		}
		pass, err := a.passphrase(rootSecret, isNew)
		return trust.FileRootKey(arg), pass, err
	case "yubikey":
		return nil, "", usagef("--root-key yubikey: YubiKey root keys are not in this build yet; use --root-key file")
	}
	return nil, "", usagef("--root-key %q: use file or file:PATH", value)
}
