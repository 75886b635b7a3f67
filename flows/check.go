package flows

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dctwiz/dctwiz/trust"
)

// RootResignWindow is how long before root.json expires notary's client
// re-signs it on every publish, and so fails every publish (a signer's
// too) that lacks the root key.
const RootResignWindow = 6 * 30 * 24 * time.Hour

// Remedy is the ceremony that fixes a finding, as data: cmd renders it as
// the exact command, the wizard as its maintenance choice.
type Remedy string

// The remedies.
const (
	RemedyRotateTargets Remedy = "rotate-targets" // a targets-key rotation re-signs targets.json and root.json
	RemedyReplaceSigner Remedy = "replace-signer" // the signer's renewed certificate replaces its key
	RemedySignerSigns   Remedy = "signer-signs"   // the signer signs a tag again (its own metadata)
	RemedyRotateRoot    Remedy = "rotate-root"    // a new root certificate: a root rotation
	RemedyServer        Remedy = "server"         // the notary server renews it itself
)

// Expiry is one dated item of a repository's trust data.
type Expiry struct {
	What    string    `json:"what"` // "targets metadata", "targets/releases certificate CN=..."
	Role    string    `json:"role"`
	Signer  string    `json:"signer,omitempty"` // for a signer's certificate or metadata
	Expires time.Time `json:"expires"`
	Remedy  Remedy    `json:"remedy"`
}

// Finding is something the admin must act on, and what fixes it.
type Finding struct {
	Expiry
	Problem string `json:"problem"` // "expires within the window", "expired", ...
}

// CheckResult is one repository's check.
type CheckResult struct {
	GUN      string    `json:"gun"`
	Expiries []Expiry  `json:"expiries"` // everything dated, soonest first
	Findings []Finding `json:"findings"` // what needs a ceremony
	Error    string    `json:"error,omitempty"`
}

// Check looks at a repository's trust data as of now: every expiry, what
// expires within the window (or has expired), root.json inside notary's
// re-sign window, and signers whose keys sign nothing (not in
// targets/releases, where docker signs). Server-managed metadata is listed
// but not flagged: the server renews it.
func Check(in *trust.Inspection, now time.Time, within time.Duration) CheckResult {
	res := CheckResult{GUN: in.GUN, Expiries: []Expiry{}, Findings: []Finding{}}
	for _, r := range in.Roles {
		e := Expiry{What: r.Role + " metadata", Role: r.Role, Expires: r.Expires, Remedy: RemedyRotateTargets}
		switch {
		case r.Role == "snapshot" || r.Role == "timestamp":
			e.Remedy = RemedyServer
		case strings.HasPrefix(r.Role, "targets/"):
			e.Signer, e.Remedy = strings.TrimPrefix(r.Role, "targets/"), RemedySignerSigns
		}
		res.Expiries = append(res.Expiries, e)
	}
	seen := map[string]bool{} // a signer's certificate is in targets/releases and targets/<name>: once
	rootCerts := 0
	for _, c := range in.Certificates {
		if c.Role == "root" {
			rootCerts++
		}
	}
	for _, c := range in.Certificates {
		e := Expiry{What: c.Role + " certificate " + c.Subject, Role: c.Role, Expires: c.NotAfter, Remedy: RemedyRotateRoot}
		if c.Role == "root" && rootCerts > 1 {
			// A primary and its backup have the same subject: the key tells them apart.
			e.What += " (key " + trust.ShortID(c.KeyID) + ")"
		}
		if c.Role != "root" {
			e.Remedy = RemedyReplaceSigner
			e.Signer = signerOfKey(in, c.KeyID, c.Role)
			if e.Signer != "" {
				if seen[e.Signer+"/"+c.KeyID] {
					continue
				}
				seen[e.Signer+"/"+c.KeyID] = true
				e.What = "signer " + e.Signer + "'s certificate " + c.Subject
			}
		}
		res.Expiries = append(res.Expiries, e)
	}
	sort.SliceStable(res.Expiries, func(i, j int) bool { return res.Expiries[i].Expires.Before(res.Expiries[j].Expires) })

	for _, e := range res.Expiries {
		left := e.Expires.Sub(now)
		switch {
		case e.Remedy == RemedyServer:
		case left <= 0:
			res.Findings = append(res.Findings, Finding{e, "expired"})
		case e.Role == "root" && strings.HasSuffix(e.What, "metadata") && left <= RootResignWindow:
			res.Findings = append(res.Findings, Finding{e, "inside notary's 6-month re-sign window: every publish without the root key fails"})
		case left <= within:
			res.Findings = append(res.Findings, Finding{e, "expires within the window"})
		}
	}
	// A signer whose keys are not in targets/releases signs nothing docker
	// looks at (the signers' keys are certificates, as docker adds them).
	releaseKeys := map[string]bool{}
	for _, c := range in.Certificates {
		if c.Role == trust.ReleasesRole {
			releaseKeys[c.KeyID] = true
		}
	}
	for _, s := range in.Signers {
		if slices.ContainsFunc(s.KeyIDs, func(id string) bool { return releaseKeys[id] }) {
			continue
		}
		res.Findings = append(res.Findings, Finding{Expiry{What: "signer " + s.Name, Role: "targets/" + s.Name, Signer: s.Name, Remedy: RemedyReplaceSigner},
			"its keys are not in targets/releases: what it signs, docker does not use"})
	}
	return res
}

// signerOfKey names the signer whose role holds key id ("" if none but releases).
func signerOfKey(in *trust.Inspection, id, role string) string {
	if role != trust.ReleasesRole {
		return strings.TrimPrefix(role, "targets/")
	}
	for _, s := range in.Signers {
		if slices.Contains(s.KeyIDs, id) {
			return s.Name
		}
	}
	return ""
}

// ParseWithin reads a window: "90d", "12w", or a Go duration ("2160h").
func ParseWithin(s string) (time.Duration, error) {
	bad := &trust.Error{Kind: trust.ErrBadInput, Input: s, Msg: "not a duration",
		Fix: "give days, weeks or hours: 90d, 12w, 2160h"}
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return 0, bad
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, bad
	}
	return d, nil
}

// Days says a duration in whole days, for people.
func Days(d time.Duration) string {
	days := int(d.Hours() / 24)
	if d < 0 {
		return fmt.Sprintf("%d days ago", -days)
	}
	return fmt.Sprintf("%d days", days)
}

// Renewal is what renew does for one repository, from its check. When
// only root.json is due, the root key re-signs it with the same keys (the
// root rotation's path: no targets key needed). When targets.json is due,
// a targets-key rotation re-signs targets.json and root.json: notary
// re-signs targets.json only with its key, which setup deleted. What
// needs someone else's key (a signer's renewed certificate) is left, with
// its finding.
type Renewal struct {
	Resign   bool      `json:"resign"`              // root.json or targets.json is due
	RootOnly bool      `json:"root_only,omitempty"` // only root.json: re-signed by the root key alone
	Due      []Finding `json:"due"`                 // what the re-signing renews
	Left     []Finding `json:"left"`                // what renew cannot do
}

// PlanRenewal splits a check's findings into what renew re-signs and what
// it leaves.
func PlanRenewal(res CheckResult) Renewal {
	r := Renewal{Due: []Finding{}, Left: []Finding{}}
	for _, f := range res.Findings {
		if f.Remedy == RemedyRotateTargets {
			r.Resign = true
			r.Due = append(r.Due, f)
			continue
		}
		r.Left = append(r.Left, f)
	}
	r.RootOnly = r.Resign && !slices.ContainsFunc(r.Due, func(f Finding) bool { return f.Role != "root" })
	return r
}
