package ui

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// ceremonyRecord is the ceremony record for the admin's files. It holds
// no secret: key IDs, fingerprints, where each key lives, what was done.
type ceremonyRecord struct {
	Ceremony     string               `json:"ceremony"`
	Date         time.Time            `json:"date"`
	Sandbox      bool                 `json:"sandbox,omitempty"`
	Server       string               `json:"server"`
	RootKey      recordRootKey        `json:"root_key"`
	Signers      []*trust.Certificate `json:"signers"`
	Repositories []*flows.Report      `json:"repositories"`
	Inspections  []*trust.Inspection  `json:"inspections,omitempty"`
}

type recordRootKey struct {
	Where       string `json:"where"`
	Serial      uint32 `json:"yubikey_serial,omitempty"`
	Slot        string `json:"slot,omitempty"`
	Curve       string `json:"curve,omitempty"`
	PINPolicy   string `json:"pin_policy,omitempty"`
	TouchPolicy string `json:"touch_policy,omitempty"`
	Attested    bool   `json:"attested"`
}

func buildRecord(st *state, inspections []*trust.Inspection) ceremonyRecord {
	rec := ceremonyRecord{Ceremony: "setup", Date: st.now().UTC().Truncate(time.Second), Sandbox: st.cfg.Sandbox,
		Server: st.server, Inspections: inspections}
	if rec.Server == "" && len(st.guns) > 0 {
		rec.Server = trust.DefaultServerURL(st.guns[0])
	}
	r := st.root
	rec.RootKey = recordRootKey{Where: r.where(), Attested: r.attestation != nil}
	if !r.fileKey {
		rec.RootKey.Serial, rec.RootKey.Slot, rec.RootKey.Curve = r.token.Serial, r.slot, r.info.Curve
		rec.RootKey.PINPolicy, rec.RootKey.TouchPolicy = r.info.PINPolicy, r.info.TouchPolicy
	}
	for _, s := range st.signers {
		rec.Signers = append(rec.Signers, s.Cert)
	}
	for _, c := range st.ceremonies {
		rec.Repositories = append(rec.Repositories, c.Report())
	}
	return rec
}

// writeRecord writes the record as JSON and Markdown to dir; it returns
// the two paths.
func writeRecord(dir string, rec ceremonyRecord, md string) (string, string, error) {
	base := filepath.Join(dir, "dctwiz-ceremony-"+rec.Date.Format("20060102-150405"))
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(base+".md", []byte(md), 0o644); err != nil {
		return "", "", err
	}
	return base + ".md", base + ".json", nil
}

// recordMarkdown is the record for people: what a second admin signs off.
func recordMarkdown(st *state, rec ceremonyRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Docker Content Trust setup ceremony, %s\n\n", rec.Date.Format("2006-01-02 15:04 MST"))
	if rec.Sandbox {
		b.WriteString("**SANDBOX rehearsal**: local test server, registry and virtual YubiKey.\n\n")
	}
	fmt.Fprintf(&b, "- Notary server: %s\n- Root key: %s\n", rec.Server, rec.RootKey.Where)
	if rec.RootKey.Serial != 0 {
		fmt.Fprintf(&b, "- Root key: ECDSA %s, PIN policy %s, touch policy %s, attestation verified: %t\n",
			rec.RootKey.Curve, rec.RootKey.PINPolicy, rec.RootKey.TouchPolicy, rec.RootKey.Attested)
	}
	b.WriteString("\n## Signers\n\n| name | subject | key | key ID | expires |\n|---|---|---|---|---|\n")
	for _, s := range st.signers {
		fmt.Fprintf(&b, "| %s | %s | %s | `%s` | %s |\n", s.Name, s.Cert.Subject, s.Cert.KeyType, s.Cert.KeyID, s.Cert.NotAfter.UTC().Format("2006-01-02"))
	}
	for i, rep := range rec.Repositories {
		fmt.Fprintf(&b, "\n## %s\n\n| step | status | note |\n|---|---|---|\n", rep.GUN)
		for _, s := range rep.Steps {
			note := s.Note
			if s.Error != "" {
				note = s.Error
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", s.Step, s.Status, note)
		}
		if rep.Init != nil {
			b.WriteString("\n| key | ID | lives in |\n|---|---|---|\n")
			for _, k := range []struct {
				role string
				info trust.KeyInfo
			}{{"root", rep.Init.Root}, {"targets", rep.Init.Targets}, {"snapshot", rep.Init.Snapshot}, {"timestamp", rep.Init.Timestamp}} {
				where := k.info.Location
				if k.role == "targets" && rep.TargetsKey != nil && rep.TargetsKey.Gone {
					where = "deleted (public key published)"
				}
				fmt.Fprintf(&b, "| %s | `%s` | %s |\n", k.role, k.info.ID, where)
			}
		}
		for _, c := range rep.RootCerts {
			fmt.Fprintf(&b, "\nRoot certificate: `%s` (%s), SHA-256 fingerprint `%s`, valid until %s.\n",
				rep.RootCertFile, c.Subject, c.Fingerprint, c.NotAfter.UTC().Format("2006-01-02"))
		}
		if a := rep.Attestation; a != nil {
			fmt.Fprintf(&b, "Attestation: YubiKey %d slot %s, verified %t against %s (%s).\n", a.Serial, a.Slot, a.Verified, a.Roots, a.File)
		}
		if ts := rep.TestSign; ts != nil {
			fmt.Fprintf(&b, "Test signature: %s:%s, digest `%s`, verified as a consumer pinned to the root certificate; removed: %t.\n",
				rep.GUN, ts.Tag, ts.Verified.Digest, !ts.Kept && !ts.Existing)
		}
		if i < len(rec.Inspections) && rec.Inspections[i] != nil {
			b.WriteString("\n| expires | what |\n|---|---|\n")
			for _, r := range rec.Inspections[i].Roles {
				fmt.Fprintf(&b, "| %s | %s metadata (version %d) |\n", r.Expires.UTC().Format("2006-01-02"), r.Role, r.Version)
			}
			for _, c := range rec.Inspections[i].Certificates {
				fmt.Fprintf(&b, "| %s | %s certificate %s |\n", c.NotAfter.UTC().Format("2006-01-02"), c.Role, c.Subject)
			}
		}
	}
	b.WriteString("\nThe root key's YubiKey goes into the safe now. Sign-off: ____________________\n")
	return b.String()
}
