package flows

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dctwiz/dctwiz/trust"
)

// Record is the ceremony record for the admin's files, written by the
// wizard and by `dctwiz setup --record`. It holds no secret: key IDs,
// fingerprints, where each key lives, what was done, what expires when.
type Record struct {
	Ceremony     string              `json:"ceremony"`
	Date         time.Time           `json:"date"`
	Sandbox      bool                `json:"sandbox,omitempty"`
	Server       string              `json:"server"`
	RootKey      RecordRootKey       `json:"root_key"`
	Signers      []RecordSigner      `json:"signers"`
	Repositories []*Report           `json:"repositories"`
	Inspections  []*trust.Inspection `json:"inspections,omitempty"`
}

// RecordRootKey says where the root key lives.
type RecordRootKey struct {
	Where       string `json:"where"`
	Serial      uint32 `json:"yubikey_serial,omitempty"`
	Slot        string `json:"slot,omitempty"`
	Curve       string `json:"curve,omitempty"`
	PINPolicy   string `json:"pin_policy,omitempty"`
	TouchPolicy string `json:"touch_policy,omitempty"`
	Attested    bool   `json:"attested"`
}

// RecordSigner is a signer's name and certificate.
type RecordSigner struct {
	Name string `json:"name"`
	*trust.Certificate
}

// NewRecord records ceremonies of one kind ("setup", "rotate targets")
// that shared a root key, signers and server; inspections (one per
// report, or none) add what expires when.
func NewRecord(ceremony string, date time.Time, server string, root RecordRootKey, signers []Signer, reports []*Report, inspections []*trust.Inspection) *Record {
	rec := &Record{Ceremony: ceremony, Date: date.UTC().Truncate(time.Second), Server: server, RootKey: root,
		Signers: []RecordSigner{}, Repositories: reports, Inspections: inspections}
	for _, s := range signers {
		rec.Signers = append(rec.Signers, RecordSigner{Name: s.Name, Certificate: s.Cert})
	}
	return rec
}

// RootKeyRecord says where root lives, with the token's details when it
// is a YubiKey that was opened.
func RootKeyRecord(root trust.RootKey) RecordRootKey {
	var r RecordRootKey
	if root == nil {
		return r
	}
	r.Where = root.String()
	if y, ok := root.(*trust.YubiKeyRootKey); ok && y.Info().Serial != 0 {
		r = YubiKeyRecord(r.Where, y.Info(), y.Attestation() != nil)
	}
	return r
}

// YubiKeyRecord is a root key on a YubiKey as the record shows it.
func YubiKeyRecord(where string, info trust.YubiKeyRootInfo, attested bool) RecordRootKey {
	return RecordRootKey{Where: where, Serial: info.Serial, Slot: info.Slot, Curve: info.Curve,
		PINPolicy: info.PINPolicy, TouchPolicy: info.TouchPolicy, Attested: attested}
}

// Write writes the record as JSON and Markdown into dir, named by its
// date; it returns the two paths.
func (rec *Record) Write(dir string) (mdPath, jsonPath string, err error) {
	base := filepath.Join(dir, "dctwiz-ceremony-"+rec.Date.Format("20060102-150405"))
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", "", err
	}
	if err := trust.WriteOutputFile(base+".json", append(js, '\n'), 0o644); err != nil {
		return "", "", recordError(base+".json", err)
	}
	if err := trust.WriteOutputFile(base+".md", []byte(rec.Markdown()), 0o644); err != nil {
		return "", "", recordError(base+".md", err)
	}
	return base + ".md", base + ".json", nil
}

func recordError(path string, err error) error {
	why := err.Error()
	var pe *fs.PathError
	var te *trust.Error
	switch {
	case errors.As(err, &pe):
		why = pe.Err.Error() // "no space left on device": the path is the Input
	case errors.As(err, &te):
		why = te.Msg // "the path exists and is a directory"
	}
	return &trust.Error{Kind: trust.ErrBadInput, Input: path, Cause: err, Msg: "cannot write the ceremony record: " + why,
		Fix: "choose a writable directory for the record"}
}

// Markdown is the record for people: what a second admin signs off.
func (rec *Record) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Docker Content Trust %s ceremony, %s\n\n", rec.Ceremony, rec.Date.Format("2006-01-02 15:04 MST"))
	if rec.Sandbox {
		b.WriteString("**SANDBOX rehearsal**: local test server, registry and virtual YubiKey.\n\n")
	}
	fmt.Fprintf(&b, "- Notary server: %s\n- Root key: %s\n", rec.Server, rec.RootKey.Where)
	if rec.RootKey.Serial != 0 {
		fmt.Fprintf(&b, "- Root key: ECDSA %s, PIN policy %s, touch policy %s, attestation verified: %t\n",
			rec.RootKey.Curve, rec.RootKey.PINPolicy, rec.RootKey.TouchPolicy, rec.RootKey.Attested)
	}
	if len(rec.Signers) > 0 {
		b.WriteString("\n## Signers\n\n| name | subject | key | key ID | expires |\n|---|---|---|---|---|\n")
		for _, s := range rec.Signers {
			fmt.Fprintf(&b, "| %s | %s | %s | `%s` | %s |\n", s.Name, s.Subject, s.KeyType, s.KeyID, s.NotAfter.UTC().Format("2006-01-02"))
		}
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
		writeKeys(&b, rep)
		if r := rep.Rotation; r != nil {
			gone := "kept in the trust dir"
			if rep.TargetsKey != nil && rep.TargetsKey.Gone {
				gone = "deleted from the trust dir again"
			}
			fmt.Fprintf(&b, "\nTargets key rotated: `%s` replaced by `%s` (%s), signed in by the root key.\n", strings.Join(r.OldKeyIDs, "`, `"), r.NewKeyID, gone)
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

// writeKeys is the table of the repository's keys and where each lives.
func writeKeys(b *strings.Builder, rep *Report) {
	if rep.Init == nil {
		return
	}
	b.WriteString("\n| key | ID | lives in |\n|---|---|---|\n")
	for _, k := range []struct {
		role string
		info trust.KeyInfo
	}{{"root", rep.Init.Root}, {"targets", rep.Init.Targets}, {"snapshot", rep.Init.Snapshot}, {"timestamp", rep.Init.Timestamp}} {
		where := k.info.Location
		if k.role == "targets" && rep.TargetsKey != nil && rep.TargetsKey.Gone {
			where = "deleted (public key published)"
		}
		fmt.Fprintf(b, "| %s | `%s` | %s |\n", k.role, k.info.ID, where)
	}
}

// SoonestExpiries names what expires first in a repository, signed
// metadata and certificates: the dates to put in a calendar.
func SoonestExpiries(in *trust.Inspection, n int) []string {
	type item struct {
		when time.Time
		what string
	}
	var items []item
	for _, r := range in.Roles {
		// The server renews snapshot and timestamp metadata itself.
		if r.Role != "snapshot" && r.Role != "timestamp" {
			items = append(items, item{r.Expires, r.Role + " metadata"})
		}
	}
	for _, c := range in.Certificates {
		items = append(items, item{c.NotAfter, c.Role + " certificate"})
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].when.Before(items[j].when) })
	var out []string
	for i := 0; i < len(items) && i < n; i++ {
		out = append(out, fmt.Sprintf("%s %s", items[i].when.UTC().Format("2006-01-02"), items[i].what))
	}
	return out
}
