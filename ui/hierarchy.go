package ui

import (
	"fmt"

	"github.com/charmbracelet/lipgloss/tree"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// keyTree pictures a repository's keys and where each lives: planned
// (before publishing) or as they are now, from the ceremony's report.
func keyTree(st *state, rep *flows.Report) string {
	id := func(k trust.KeyInfo) string { return "" }
	if rep != nil && rep.Init != nil {
		id = func(k trust.KeyInfo) string { return trust.ShortID(k.ID) + "  " }
	}
	var root, targets, snapshot, timestamp trust.KeyInfo
	if rep != nil && rep.Init != nil {
		root, targets, snapshot, timestamp = rep.Init.Root, rep.Init.Targets, rep.Init.Snapshot, rep.Init.Timestamp
	}
	rootWhere := st.root.where()
	if !st.root.fileKey && st.root.token.Serial != 0 {
		rootWhere = fmt.Sprintf("YubiKey %d slot %s (%s, touch %s)", st.root.token.Serial, st.root.slot, st.root.info.Curve, st.root.info.TouchPolicy)
	}
	targetsWhere := "trust dir, passphrase-protected: deleted at the end"
	switch {
	case rep != nil && rep.TargetsKey != nil && rep.TargetsKey.Gone:
		targetsWhere = "DELETED (its public key stays published)"
	case rep != nil && kept(rep):
		targetsWhere = "trust dir, KEPT (passphrase-protected)"
	case rep != nil && rep.Init != nil:
		targetsWhere = "trust dir, to be deleted"
	}
	releases := tree.Root("targets/releases")
	for _, s := range st.signers {
		releases.Child(fmt.Sprintf("%-9s %s  %s certificate", s.Name, trust.ShortID(s.Cert.KeyID), s.Cert.KeyType))
	}
	if bk := st.backup; bk != nil {
		rootWhere += fmt.Sprintf(", and backup YubiKey %d slot %s", st.backupToken.Serial, bk.Info.Slot)
	}
	t := tree.Root("root       "+id(root)+rootWhere).Child(
		tree.Root("targets    "+id(targets)+targetsWhere).Child(releases),
		"snapshot   "+id(snapshot)+"Notary server (server-managed)",
		"timestamp  "+id(timestamp)+"Notary server",
	)
	return t.String() + "\n"
}

// kept says whether the ceremony ended without deleting the targets key.
func kept(rep *flows.Report) bool {
	for _, s := range rep.Steps {
		if s.Step == flows.StepDeleteTargetsKey && s.Status == flows.Skipped {
			return true
		}
	}
	return false
}
