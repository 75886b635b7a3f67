package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
)

// The maintenance path: repositories already set up get one of the
// rotation or renewal ceremonies, the same ones the headless `dctwiz
// rotate`, `delegation` and `renew` commands run (flows.RotateSteps and
// flows.SignerSteps).

// maintKind is a maintenance ceremony the admin can choose.
type maintKind string

const (
	mReplaceSigner   maintKind = "replace-signer"
	mAddSigner       maintKind = "add-signer"
	mRemoveSigner    maintKind = "remove-signer"
	mRotateTargets   maintKind = "rotate-targets"
	mRenew           maintKind = "renew"
	mRotateSnapshot  maintKind = "rotate-snapshot"
	mRotateTimestamp maintKind = "rotate-timestamp"
	mRotateRoot      maintKind = "rotate-root"
	mAddBackup       maintKind = "add-backup"
	mRemoveRoot      maintKind = "remove-root"
)

// maintChoice is one line of the ceremony picker.
type maintChoice struct {
	kind  maintKind
	title string
	what  string // what it does, in a line or two
}

// maintChoices are the maintenance ceremonies, most frequent first.
var maintChoices = []maintChoice{
	{mReplaceSigner, "Renew a signer's certificate",
		"the signer's renewed certificate replaces its key in targets/releases and targets/<name>"},
	{mAddSigner, "Add a signer", "a new signer in targets/releases and targets/<name>"},
	{mRemoveSigner, "Remove a signer", "the signer's keys out of targets/releases and targets/<name>, e.g. after a compromise"},
	{mRotateTargets, "Rotate the targets key", "a new targets key, signed in by the root key; signers and signed tags stay"},
	{mRenew, "Renew expiring metadata", "re-signs what expires within 180 days: root.json alone with the root key; targets.json (and root.json) by a targets key rotation"},
	{mRotateSnapshot, "Rotate the snapshot key", "the notary server makes a new snapshot key and keeps it"},
	{mRotateTimestamp, "Rotate the timestamp key", "the notary server makes a new timestamp key and keeps it"},
	{mRotateRoot, "Move the root to a new YubiKey", "a new root key on another token, cross-signed by the current one; clients follow"},
	{mAddBackup, "Add a backup YubiKey", "a second root key on another token: either one alone can sign"},
	{mRemoveRoot, "Remove a lost YubiKey", "its root key out of the root role, signed by the token that remains"},
}

func (k maintKind) choice() maintChoice {
	for _, c := range maintChoices {
		if c.kind == k {
			return c
		}
	}
	return maintChoice{kind: k, title: string(k)}
}

// signerKind says whether the ceremony changes a signer.
func (k maintKind) signerKind() bool {
	return k == mReplaceSigner || k == mAddSigner || k == mRemoveSigner
}

// needsNewToken says whether the ceremony makes a root key on a new YubiKey.
func (k maintKind) needsNewToken() bool { return k == mRotateRoot || k == mAddBackup }

// rootKind says whether the ceremony changes the root role.
func (k maintKind) rootKind() bool { return k.needsNewToken() || k == mRemoveRoot }

// needsCert says whether the ceremony takes a signer certificate.
func (k maintKind) needsCert() bool { return k == mReplaceSigner || k == mAddSigner }

// makesTargetsKey says whether the ceremony may make a targets key (so a
// passphrase for it is needed): always for a targets rotation, and for a
// signer change when the trust dir has none.
func (k maintKind) makesTargetsKey() bool {
	return k == mRotateTargets || k == mRenew || k.signerKind()
}

// renewWithin is how far ahead `renew` looks, as the headless command does.
const renewWithin = 180 * 24 * time.Hour

// checkWithin is the status table's window, as `dctwiz check`'s default.
const checkWithin = 90 * 24 * time.Hour

// maintenance is what the maintenance path has read and chosen.
type maintenance struct {
	// What the status screen read, in the order of st.guns.
	inspections []*trust.Inspection
	checks      []flows.CheckResult
	readAt      time.Time

	kind     maintKind
	signer   string             // the signer to add, remove or renew
	cert     *trust.Certificate // add, replace
	certPath string

	// The root ceremonies: the new token's root key (made, attested), and
	// the root key ID a lost token held.
	newRoot   *RootKeyResult
	newToken  yubikey.Info
	removeKey string

	ceremonies []ceremony // one per repository the ceremony changes
	skipped    []string   // repositories it leaves alone, with why
}

// ceremony is what the screens need of any ceremony the wizard runs:
// flows.SetupCeremony, flows.RotateCeremony and flows.SignerCeremony.
type ceremony interface {
	Report() *flows.Report
	Plan() []flows.PlannedStep
	Next() (flows.PlannedStep, bool)
	RunThrough(ctx context.Context, last flows.StepID) error
	RunPhase(ctx context.Context, phase flows.Phase) error
	Check(ctx context.Context) error
}

// active are the ceremonies of the path the wizard is on.
func (s *state) active() []ceremony {
	if s.maintaining {
		return s.mnt.ceremonies
	}
	out := make([]ceremony, len(s.ceremonies))
	for i, c := range s.ceremonies {
		out[i] = c
	}
	return out
}

// inspection is gun's inspection as the status screen read it (nil if none).
func (m *maintenance) inspection(gun string) *trust.Inspection {
	for _, in := range m.inspections {
		if in != nil && in.GUN == gun {
			return in
		}
	}
	return nil
}

// signerNames are the signers of every repository read, in order.
func (m *maintenance) signerNames() []string {
	var names []string
	for _, in := range m.inspections {
		if in == nil {
			continue
		}
		for _, s := range in.Signers {
			if !slices.Contains(names, s.Name) {
				names = append(names, s.Name)
			}
		}
	}
	return names
}

// proposal is the ceremony that fixes the most urgent finding, and why.
func (m *maintenance) proposal() (kind maintKind, signer, why string) {
	for _, c := range m.checks {
		for _, f := range c.Findings {
			switch f.Remedy {
			case flows.RemedyReplaceSigner:
				return mReplaceSigner, f.Signer, fmt.Sprintf("%s: %s %s", c.GUN, f.What, f.Problem)
			case flows.RemedyRotateTargets:
				return mRenew, "", fmt.Sprintf("%s: %s %s", c.GUN, f.What, f.Problem)
			case flows.RemedyRotateRoot:
				return mRotateRoot, "", fmt.Sprintf("%s: %s %s", c.GUN, f.What, f.Problem)
			}
		}
	}
	return "", "", ""
}

// renewal is what renew does to gun, as the status screen read it
// (nothing, for a repository it could not read).
func (m *maintenance) renewal(gun string, now time.Time) flows.Renewal {
	in := m.inspection(gun)
	if in == nil {
		return flows.Renewal{}
	}
	return flows.PlanRenewal(flows.Check(in, now, renewWithin))
}

// renewsRootOnly says whether a renewal re-signs root.json alone in
// every repository it changes: the root key alone, no targets key made.
func (m *maintenance) renewsRootOnly(st *state) bool {
	if m.kind != mRenew {
		return false
	}
	for _, g := range st.guns {
		if r := m.renewal(g.String(), st.now()); r.Resign && !r.RootOnly {
			return false
		}
	}
	return true
}

// makesTargetsKey says whether the chosen ceremony may make a targets key
// (so a passphrase for it is needed); a renewal of root.json alone makes none.
func (m *maintenance) makesTargetsKey(st *state) bool {
	return m.kind.makesTargetsKey() && !m.renewsRootOnly(st)
}

// newCeremonies makes the chosen ceremony for each repository it
// changes; a renewal leaves out those with nothing due.
func (m *maintenance) newCeremonies(st *state, eng Engine, root trust.RootKey) ([]ceremony, []string, error) {
	var out []ceremony
	var skipped []string
	events := func(flows.Event) { st.send(stepMsg{}) }
	for _, g := range st.guns {
		var c ceremony
		var err error
		switch m.kind {
		case mReplaceSigner, mAddSigner, mRemoveSigner:
			change := map[maintKind]string{mReplaceSigner: flows.SignerReplace, mAddSigner: flows.SignerAdd, mRemoveSigner: flows.SignerRemove}[m.kind]
			c, err = flows.NewSignerChange(eng, &flows.SignerChange{GUN: g, Root: root, Change: change, Name: m.signer, Cert: m.cert}, events)
		case mRotateRoot, mAddBackup, mRemoveRoot:
			change := trust.RootChange{Remove: []string{m.removeKey}}
			switch m.kind {
			case mRotateRoot:
				change = trust.RootChange{Add: []trust.RootKey{m.newRoot.Key}}
			case mAddBackup:
				change = trust.RootChange{Keep: []string{trust.KeepAll}, Add: []trust.RootKey{m.newRoot.Key}}
			}
			c, err = flows.NewRootRotate(eng, &flows.RootRotate{GUN: g, Root: root, Change: change, RootCertOut: rootCertPath(st, g.String())}, events)
		case mRenew:
			switch r := m.renewal(g.String(), st.now()); {
			case !r.Resign:
				skipped = append(skipped, g.String()+": nothing due within 180 days")
				continue
			case r.RootOnly:
				c, err = flows.NewRootRenew(eng, &flows.RootRenew{GUN: g, Root: root}, events)
			default:
				c, err = flows.NewRotate(eng, &flows.Rotate{GUN: g, Root: root, Role: flows.RoleTargets}, events)
			}
		default:
			role := map[maintKind]string{mRotateTargets: flows.RoleTargets, mRotateSnapshot: flows.RoleSnapshot, mRotateTimestamp: flows.RoleTimestamp}[m.kind]
			c, err = flows.NewRotate(eng, &flows.Rotate{GUN: g, Root: root, Role: role}, events)
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, skipped, fmt.Errorf("nothing to renew: no repository's root.json or targets.json expires within 180 days (press 2 to choose another ceremony)")
	}
	return out, skipped, nil
}

// ceremonyName names the chosen ceremony in the record and the outcome,
// as the headless command is named.
func (m *maintenance) ceremonyName() string {
	return map[maintKind]string{mReplaceSigner: "delegation replace", mAddSigner: "delegation add", mRemoveSigner: "delegation remove",
		mRotateTargets: "rotate targets", mRenew: "renew", mRotateSnapshot: "rotate snapshot", mRotateTimestamp: "rotate timestamp",
		mRotateRoot: "rotate root", mAddBackup: "rotate root", mRemoveRoot: "rotate root"}[m.kind]
}

// describe is the chosen ceremony in a line, with its signer.
func (m *maintenance) describe() string {
	t := m.kind.choice().title
	switch m.kind {
	case mReplaceSigner, mRemoveSigner:
		return t + ": " + m.signer
	case mAddSigner:
		return t + ": " + m.signer
	case mRotateRoot, mAddBackup:
		if m.newRoot != nil {
			return fmt.Sprintf("%s: YubiKey %d", t, m.newToken.Serial)
		}
	case mRemoveRoot:
		return t + ": root key " + trust.ShortID(m.removeKey)
	}
	return t
}

// consumerNotice says what a consumer of the repository notices.
func (m *maintenance) consumerNotice() string {
	switch m.kind {
	case mReplaceSigner:
		return "Tags signed with the old key stay valid; new tags must be signed with the renewed certificate's key."
	case mAddSigner:
		return "Nothing until the new signer signs a tag; tags signed so far stay valid."
	case mRemoveSigner:
		return "Tags signed only by this signer stop verifying: they must be signed again by another signer."
	case mRotateTargets:
		return "Nothing: clients follow the new targets key through root.json, which the root key signs; signed tags stay valid."
	case mRenew:
		return "Nothing: clients follow the re-signed root.json (and, where targets.json is due, the new targets key it names); signed tags stay valid and pins to the root certificate keep working."
	case mRemoveRoot:
		return "Docker and notary clients that trusted the repository follow (the new root.json is signed by the remaining root key). The remaining key keeps its certificate, so pins to it keep working; a client pinned only to the removed key's ID, starting from an empty cache, fails until given the remaining ID (the summary shows it)."
	case mRotateRoot:
		return "Docker and notary clients that trusted the repository follow (the new root.json is signed by the current root key). A client pinned to the old root key ID, starting from an empty cache, fails until given the new ID: the summary shows it, and the new root certificate is written to the output dir."
	case mAddBackup:
		return "Nothing: the current root key and its certificate stay, so pins to it keep working; the new root certificate file holds both."
	}
	return "Nothing: clients follow the new key through root.json, which the root key signs."
}

// hierarchyNow pictures gun's keys as the status screen read them.
func hierarchyNow(in *trust.Inspection) string {
	if in == nil {
		return ""
	}
	var signers []string
	for _, s := range in.Signers {
		signers = append(signers, fmt.Sprintf("%-9s %s", s.Name, shortIDList(s.KeyIDs)))
	}
	return keyLines(adminKeys(in, "Root"), adminKeys(in, "Repository"), signers)
}

// hierarchyAfter pictures what the ceremony changes in gun's keys.
// signer says where the root key that signs the change is.
func (m *maintenance) hierarchyAfter(in *trust.Inspection, signer string) string {
	if in == nil {
		return ""
	}
	certID := "(no certificate chosen)"
	if m.cert != nil {
		certID = trust.ShortID(m.cert.KeyID)
	}
	targets := adminKeys(in, "Repository")
	switch m.kind {
	case mRotateTargets, mRenew:
		if m.kind == mRenew && m.renewal(in.GUN, m.readAt).RootOnly {
			targets += " (unchanged: root.json alone is re-signed, same root keys)"
			break
		}
		targets = "NEW key (replaces " + targets + "), deleted at the end if you confirm"
	case mReplaceSigner, mAddSigner, mRemoveSigner:
		targets += " (or one signed in for the change, then deleted)"
	}
	var signers []string
	found := false
	for _, s := range in.Signers {
		keys := shortIDList(s.KeyIDs)
		if s.Name == m.signer {
			found = true
			switch m.kind {
			case mReplaceSigner:
				keys = "NEW " + certID + " (replaces " + keys + ")"
			case mRemoveSigner:
				keys = "REMOVED (was " + keys + ")"
			}
		}
		signers = append(signers, fmt.Sprintf("%-9s %s", s.Name, keys))
	}
	if m.kind == mAddSigner && !found {
		signers = append(signers, fmt.Sprintf("%-9s NEW %s", m.signer, certID))
	}
	rootLine := adminKeys(in, "Root") + " (signs the change: " + signer + ")"
	newKey := "(the new YubiKey's key)"
	if m.newRoot != nil {
		newKey = fmt.Sprintf("YubiKey %d (public key %s)", m.newToken.Serial, trust.ShortID(m.newRoot.Info.KeyID))
	}
	switch m.kind {
	case mRotateRoot:
		rootLine = "NEW " + newKey + " (replaces " + adminKeys(in, "Root") + "; " + signer + " signs the change too)"
	case mAddBackup:
		rootLine = adminKeys(in, "Root") + " and the backup, NEW " + newKey + " (" + signer + " signs the change too)"
	case mRemoveRoot:
		rootLine = adminKeys(in, "Root") + " without " + trust.ShortID(m.removeKey) + " (REMOVED; " + signer + " signs the change)"
	}
	out := keyLines(rootLine, targets, signers)
	switch m.kind {
	case mRotateSnapshot:
		out += "snapshot   NEW key, made and kept by the notary server\n"
	case mRotateTimestamp:
		out += "timestamp  NEW key, made and kept by the notary server\n"
	}
	return out
}

// adminKeys are the short IDs of the Root or Repository (targets) keys.
func adminKeys(in *trust.Inspection, name string) string {
	for _, a := range in.AdministrativeKeys {
		if a.Name == name {
			return shortIDList(a.KeyIDs)
		}
	}
	return "?"
}

// keyLines draws root, targets and the signers under it as a tree.
func keyLines(root, targets string, signers []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "root       %s\n└─ targets %s\n", root, targets)
	for i, l := range signers {
		branch := "├─"
		if i == len(signers)-1 {
			branch = "└─"
		}
		fmt.Fprintf(&b, "   %s %s\n", branch, l)
	}
	return b.String()
}

func shortIDList(ids []string) string {
	if len(ids) == 0 {
		return "(no key)"
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = trust.ShortID(id)
	}
	return strings.Join(out, ", ")
}

// lastReleaseSigner is the first repository in which the chosen signer's
// keys are all the keys of targets/releases ("" if none): removing it
// there leaves no release signer. The wizard refuses that; the headless
// command can do it with --yes.
func (m *maintenance) lastReleaseSigner() string {
	for _, in := range m.inspections {
		if in == nil {
			continue
		}
		var mine []string
		for _, s := range in.Signers {
			if s.Name == m.signer {
				mine = s.KeyIDs
			}
		}
		releases := 0
		others := false
		for _, c := range in.Certificates {
			if c.Role == trust.ReleasesRole {
				releases++
				others = others || !slices.Contains(mine, c.KeyID)
			}
		}
		if releases > 0 && len(mine) > 0 && !others {
			return in.GUN
		}
	}
	return ""
}
