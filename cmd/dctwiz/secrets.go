package main

import (
	"fmt"
	"strings"

	"github.com/dctwiz/dctwiz/trust"
)

// A passphrase source: the environment variables that may hold it, in
// order, and how a prompt names the key.
type secret struct {
	env  []string
	name string
}

var (
	rootSecret       = secret{[]string{"NOTARY_ROOT_PASSPHRASE", "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE"}, "root key"}
	targetsSecret    = secret{[]string{"NOTARY_TARGETS_PASSPHRASE", "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"}, "targets (repository) key"}
	delegationSecret = secret{[]string{"NOTARY_DELEGATION_PASSPHRASE", "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"}, "signer (delegation) key"}
)

// passphraseFor answers the engine's question for a role's passphrase.
func (a *app) passphraseFor(role string, isNew bool) (string, error) {
	switch role {
	case "root":
		return a.passphrase(rootSecret, isNew)
	case "targets":
		return a.passphrase(targetsSecret, isNew)
	}
	return a.passphrase(delegationSecret, isNew)
}

// fromEnv returns a secret from the environment, or "".
func (a *app) fromEnv(s secret) string {
	for _, name := range s.env {
		if v := a.getenv(name); v != "" {
			return v
		}
	}
	return ""
}

// passphrase gets a secret from the environment, else from a no-echo
// prompt on the terminal (twice for a new key), else fails with what to set.
func (a *app) passphrase(s secret, isNew bool) (string, error) {
	if v := a.fromEnv(s); v != "" {
		return v, nil
	}
	if a.prompt == nil {
		return "", &trust.Error{Kind: trust.ErrPassphraseRequired, Input: s.name,
			Msg: "no passphrase given and no terminal to ask on",
			Fix: fmt.Sprintf("set %s (or run dctwiz on a terminal)", s.env[0])}
	}
	what := "Passphrase for the " + s.name
	if isNew {
		what = "Passphrase for the new " + s.name + fmt.Sprintf(" (%d+ characters)", trust.MinPassphraseLength)
	}
	for {
		p, err := a.prompt.Secret(what + ": ")
		if err != nil {
			return "", err
		}
		if !isNew {
			return p, nil
		}
		if len(p) < trust.MinPassphraseLength {
			fmt.Fprintf(a.stderr, "Too short: use at least %d characters.\n", trust.MinPassphraseLength)
			continue
		}
		again, err := a.prompt.Secret("Repeat it: ")
		if err != nil {
			return "", err
		}
		if again == p {
			return p, nil
		}
		fmt.Fprintln(a.stderr, "The two entries differ; again.")
	}
}

// confirm asks before a destructive step: --yes, else the admin types the
// expected text on a terminal, else the command is refused (exit 2).
func (a *app) confirm(what, expect string) error {
	if a.yes {
		return nil
	}
	if a.prompt == nil {
		return usagef("%s needs confirmation: pass --yes (no terminal to ask on)", what)
	}
	got, err := a.prompt.Line(fmt.Sprintf("%s.\nType %q to confirm: ", what, expect))
	if err != nil {
		return err
	}
	if strings.TrimSpace(got) != expect {
		return usagef("not confirmed: %s was not done", what)
	}
	return nil
}
