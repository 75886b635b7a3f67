package ui

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/dctwiz/dctwiz/flows"
)

// ResumePoint is where one repository's ceremony stopped, as data: the
// wizard's choices so far. The wizard does not know the command line;
// cmd turns a ResumePoint into the headless command that continues from
// there (Config.ContinueCommand), and the wizard lays that command out.
type ResumePoint struct {
	GUN string
	// OnlyDeletion: everything else is done; only the targets key's
	// deletion is left.
	OnlyDeletion bool
	// Server is "" for docker's default; paths are absolute, so that the
	// command works from any directory.
	Server, CACert, TrustDir string
	Root                     RootKeyPoint
	AttestationCA            string
	Signers                  []SignerFile
	RootCertOut              string
	TestTag                  string // "" = no tag chosen yet
	// BackupRoot is setup's backup root key ("yubikey:SERIAL"; "" = none).
	BackupRoot string
	// Maintenance is set when the ceremony is a maintenance one: the
	// command is that ceremony's, not setup's.
	Maintenance *MaintenancePoint
}

// MaintenancePoint is where a maintenance ceremony stopped.
type MaintenancePoint struct {
	// Ceremony is the headless command's name: "rotate targets",
	// "delegation replace", "renew", ...
	Ceremony string
	Signer   string // delegation add, remove, replace
	Cert     string // delegation add, replace: the certificate file
	// Verify: the change is published; only the consumers' verification
	// was left, which reading the repository as a consumer does.
	Verify bool
	// DeleteTargetsKey: the targets key the ceremony signed in is to go.
	DeleteTargetsKey bool
	// A root ceremony's keys: the new token ("yubikey:SERIAL"), a backup
	// token added, or the root key ID a lost token held.
	NewRootKey, AddBackup, RemoveRootKey string
}

// RootKeyPoint is the root key as chosen so far.
type RootKeyPoint struct {
	File   bool   // a passphrase-protected file key in the trust dir
	Serial uint32 // the YubiKey; 0 = none chosen yet
	Slot   string // "9c"; "" = the default
	// Curve, PINPolicy and TouchPolicy are set while the key is still to
	// be made ("P-384", "once", "cached"); a key that exists is used as it is.
	Curve, PINPolicy, TouchPolicy string
}

// ContinueCommand is a command that continues a ceremony: its words,
// shell-quoted, and a note on what it leaves out ("" if nothing).
type ContinueCommand struct {
	Words []string
	Note  string
}

// resumePoints are where each repository's ceremony stands, for those
// not finished. Every step up to the test signature converges, so setup
// runs again until then (skipping what is done); after it only the
// deletion is left.
func resumePoints(st *state) []ResumePoint {
	if st.maintaining {
		return maintResumePoints(st)
	}
	var out []ResumePoint
	for i, g := range st.guns {
		p := resumePoint(st, g.String())
		if i < len(st.ceremonies) {
			next, ok := st.ceremonies[i].Next()
			if !ok {
				continue
			}
			p.OnlyDeletion = next.Phase == flows.PhaseFinish
		}
		out = append(out, p)
	}
	return out
}

// resumePoint is gun's ceremony with the choices made so far.
func resumePoint(st *state, gun string) ResumePoint {
	p := ResumePoint{GUN: gun, Server: st.server, CACert: absPath(st.caCert), TrustDir: absPath(st.cfg.TrustDir),
		RootCertOut: absPath(rootCertPath(st, gun)), TestTag: st.testTags[gun]}
	if p.TestTag == "" {
		p.TestTag = st.tagChoice[gun]
	}
	switch c := st.chosen; {
	case st.root.fileKey:
		p.Root.File = true
	case st.root.key != nil:
		// Made (or found) on the token: it is used as it is.
		p.Root.Serial, p.Root.Slot = st.root.token.Serial, st.root.slot
	case c.serial != 0:
		// Chosen, not made yet: make it as chosen.
		p.Root = RootKeyPoint{Serial: c.serial, Slot: c.slot, Curve: c.curve, PINPolicy: c.pin, TouchPolicy: c.touch}
	}
	if !p.Root.File {
		p.AttestationCA = absPath(st.cfg.AttestationCA)
	}
	if st.backup != nil {
		p.BackupRoot = fmt.Sprintf("yubikey:%d", st.backupToken.Serial)
	}
	for _, s := range chosenSigners(st) {
		p.Signers = append(p.Signers, SignerFile{Name: s.Name, Path: absPath(s.Path)})
	}
	return p
}

// continueCommand renders a resume point through the Config's renderer;
// nil when there is none.
func continueCommand(st *state, p ResumePoint) *ContinueCommand {
	if st.cfg.ContinueCommand == nil {
		return nil
	}
	c := st.cfg.ContinueCommand(p)
	if len(c.Words) == 0 {
		return nil
	}
	return &c
}

// chosenSigners are the signers the wizard has, or, before their
// certificates were loaded, the ones it was started with.
func chosenSigners(st *state) []SignerFile {
	if !st.signersLoaded {
		return st.cfg.Signers
	}
	out := make([]SignerFile, len(st.signers))
	for i, s := range st.signers {
		out[i] = SignerFile{Name: s.Name, Path: s.Cert.Path}
	}
	return out
}

// absPath makes a path work from any directory the command is run in.
func absPath(p string) string {
	if p == "" {
		return ""
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// formatCommand lays a command's shell-quoted words out for copying:
// broken between words with a trailing backslash, never inside one; an
// option stays on the line of its value.
func formatCommand(words []string, width int, indent string) string {
	var units []string
	for i := 0; i < len(words); i++ {
		u := words[i]
		if strings.HasPrefix(u, "--") && i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") {
			v := words[i+1]
			i++
			if len(indent)+4+len(u)+1+len(v)+2 > width {
				// Too long for one line together: the value gets its own.
				units = append(units, u)
				u = v
			} else {
				u += " " + v
			}
		}
		units = append(units, u)
	}
	var lines []string
	line := indent + units[0]
	for _, u := range units[1:] {
		if len(line)+1+len(u)+2 > width {
			lines = append(lines, line+" \\")
			line = indent + "    " + u
			continue
		}
		line += " " + u
	}
	return strings.Join(append(lines, line), "\n")
}

// maintResumePoints are where each maintenance ceremony stands, for
// those not finished. A publish step converges when rerun, so the same
// command continues it; once published, what is left is the consumers'
// verification and the new targets key's deletion.
func maintResumePoints(st *state) []ResumePoint {
	var out []ResumePoint
	m := st.mnt
	for _, c := range m.ceremonies {
		next, ok := c.Next()
		if !ok {
			continue
		}
		rep := c.Report()
		p := ResumePoint{GUN: rep.GUN, Server: st.server, CACert: absPath(st.caCert), TrustDir: absPath(st.cfg.TrustDir)}
		switch {
		case st.root.fileKey:
			p.Root.File = true
		case st.root.key != nil:
			p.Root.Serial, p.Root.Slot = st.root.token.Serial, st.root.slot
			p.AttestationCA = absPath(st.cfg.AttestationCA)
		}
		mp := &MaintenancePoint{Ceremony: m.ceremonyName(), Signer: m.signer, Cert: absPath(m.certPath), RemoveRootKey: m.removeKey}
		if m.newRoot != nil {
			spec := fmt.Sprintf("yubikey:%d", m.newToken.Serial)
			if m.kind == mAddBackup {
				mp.AddBackup = spec
			} else {
				mp.NewRootKey = spec
			}
		}
		p.Maintenance = mp
		// A targets key is left to delete: a targets rotation's new one
		// (deleting it is recommended), or one a signer change signed in.
		targetsKeyToGo := m.kind == mRotateTargets || (m.kind == mRenew && !m.renewal(rep.GUN, m.readAt).RootOnly) || (m.kind.signerKind() && rep.Rotation != nil)
		switch next.Phase {
		case flows.PhasePublish:
			// The same command converges: rerun whole.
			mp.DeleteTargetsKey = targetsKeyToGo
		case flows.PhaseVerify:
			mp.Verify = true
			if targetsKeyToGo && madeTargetsKey(rep) {
				// After the check, the targets key it made still has to go.
				out = append(out, p)
				p.OnlyDeletion = true
			}
		case flows.PhaseFinish:
			if !targetsKeyToGo {
				continue
			}
			p.OnlyDeletion = true
		}
		out = append(out, p)
	}
	return out
}
