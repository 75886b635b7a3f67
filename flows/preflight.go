package flows

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
)

// Environment is what the pre-flight checklist asks of the engine.
type Environment interface {
	Reach(ctx context.Context, gun trust.GUN) error
	Credentials(ctx context.Context, gun trust.GUN) (string, error)
	ServerURL(gun trust.GUN) string
	TrustDir() string
}

var _ Environment = (*trust.Client)(nil)

// CheckStatus is one checklist item's outcome.
type CheckStatus string

// Check outcomes: Warn is something to look at that does not stop the ceremony.
const (
	CheckOK   CheckStatus = "ok"
	CheckWarn CheckStatus = "warn"
	CheckFail CheckStatus = "fail"
	// CheckLater: cannot be checked yet (no repository chosen).
	CheckLater CheckStatus = "later"
)

// CheckItem is one line of the environment checklist.
type CheckItem struct {
	Name   string      `json:"name"`
	Status CheckStatus `json:"status"`
	Detail string      `json:"detail"`
	Fix    string      `json:"fix,omitempty"` // plain words, no flag or key
	// Action is the fix as data (trust.Action): each face renders it.
	Action trust.Action `json:"action,omitempty"`
}

// PreflightOptions say what the checklist looks at besides the server.
type PreflightOptions struct {
	// Tokens lists the YubiKeys; nil skips the YubiKey check.
	Tokens func() ([]yubikey.Info, error)
	// NoLogin: the server is known to take no login (the sandbox's), so
	// finding no credentials is not worth a warning.
	NoLogin bool
}

// Preflight checks what the setup ceremony needs before it starts: the
// notary server answers over TLS (for gun, if one is chosen), credentials
// for it, a usable YubiKey, and a writable trust dir. It changes nothing
// but creating the trust dir.
func Preflight(ctx context.Context, env Environment, gun trust.GUN, opts PreflightOptions) []CheckItem {
	var out []CheckItem
	if gun.IsZero() {
		out = append(out,
			CheckItem{Name: "Notary server reachable over TLS", Status: CheckLater, Detail: "checked once the repository is chosen"},
			CheckItem{Name: "Notary credentials", Status: CheckLater, Detail: "checked once the repository is chosen"})
	} else {
		server := env.ServerURL(gun)
		if err := env.Reach(ctx, gun); err != nil {
			out = append(out, failed("Notary server reachable over TLS", err))
		} else {
			out = append(out, CheckItem{Name: "Notary server reachable over TLS", Status: CheckOK, Detail: server})
		}
		switch src, err := env.Credentials(ctx, gun); {
		case err != nil:
			out = append(out, failed("Notary credentials", err))
		case src == "" && opts.NoLogin:
			out = append(out, CheckItem{Name: "Notary credentials", Status: CheckOK, Detail: "none needed: this server takes no login"})
		case src == "":
			out = append(out, CheckItem{Name: "Notary credentials", Status: CheckWarn, Detail: "none found for " + gun.Registry(),
				Fix: "docker login " + gun.Registry() + " (or set NOTARY_AUTH), unless the server needs no login"})
		default:
			out = append(out, CheckItem{Name: "Notary credentials", Status: CheckOK, Detail: "from " + src})
		}
	}
	if opts.Tokens != nil {
		out = append(out, tokenCheck(opts.Tokens))
	}
	out = append(out, trustDirCheck(env.TrustDir()))
	return out
}

func tokenCheck(tokens func() ([]yubikey.Info, error)) CheckItem {
	item := CheckItem{Name: "YubiKey found"}
	list, err := tokens()
	usable := 0
	for _, t := range list {
		if t.Problem == "" {
			usable++
		}
	}
	switch {
	case err != nil && !errors.Is(err, yubikey.ErrNoToken):
		item.Status, item.Detail, item.Fix = CheckFail, err.Error(), "start pcscd (systemctl start pcscd) and insert the YubiKey"
	case usable == 0 && len(list) > 0:
		item.Status, item.Detail, item.Fix = CheckFail, fmt.Sprintf("YubiKey %d: %s", list[0].Serial, list[0].Problem), "insert a YubiKey 5 (firmware 5.3 or later)"
	case usable == 0:
		item.Status, item.Detail, item.Fix = CheckFail, "no YubiKey connected", "insert the YubiKey that will hold the root key"
	case usable == 1:
		item.Status, item.Detail = CheckOK, fmt.Sprintf("YubiKey %d, firmware %s", list[0].Serial, list[0].Firmware)
	default:
		item.Status, item.Detail = CheckOK, fmt.Sprintf("%d YubiKeys: you pick one", usable)
	}
	return item
}

func trustDirCheck(dir string) CheckItem {
	item := CheckItem{Name: "Trust dir writable", Detail: dir}
	err := os.MkdirAll(dir, 0o700)
	if err == nil {
		err = probe(dir)
	}
	if err != nil {
		item.Status, item.Fix, item.Action = CheckFail, "choose a writable trust dir, or fix its permissions", trust.ActionTrustDir
		item.Detail = dir + ": " + err.Error()
		return item
	}
	item.Status = CheckOK
	return item
}

// failed is a checklist item that failed with err, with err's fix.
func failed(name string, err error) CheckItem {
	action, fix := trust.FixFor(err)
	return CheckItem{Name: name, Status: CheckFail, Detail: err.Error(), Fix: fix, Action: action}
}
