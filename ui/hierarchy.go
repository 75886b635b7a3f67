package ui

import (
	"fmt"

	"github.com/charmbracelet/lipgloss/tree"

	"github.com/dctwiz/dctwiz/flows"
)

// keyTree pictures a repository's keys and where each lives: planned
// (before publishing) or as they are now, from the ceremony's report.
func keyTree(st *state, rep *flows.Report) string {
	rootWhere := st.root.where()
	if !st.root.fileKey && st.root.token.Serial != 0 {
		rootWhere += fmt.Sprintf(", ECDSA %s, touch %s", st.root.curve, st.root.touchPolicy)
	}
	root := "root       " + rootWhere
	targets := "targets    trust dir, passphrase-protected: deleted at the end"
	snapshot, timestamp := "snapshot   Notary server (server-managed)", "timestamp  Notary server"
	if rep != nil && rep.Init != nil {
		root += " · " + shortID(rep.Init.Root.ID)
		targets = "targets    " + shortID(rep.Init.Targets.ID) + " trust dir"
		snapshot = "snapshot   " + shortID(rep.Init.Snapshot.ID) + " Notary server"
		timestamp = "timestamp  " + shortID(rep.Init.Timestamp.ID) + " Notary server"
	}
	if rep != nil && rep.TargetsKey != nil && rep.TargetsKey.Gone {
		targets += ": private key DELETED (public key stays published)"
	} else if rep != nil && rep.Init != nil {
		targets += ", to be deleted"
	}
	releases := tree.Root("targets/releases  docker's signers")
	for _, s := range st.signers {
		releases.Child(fmt.Sprintf("%-10s %s, %s (certificate only: its private key is the signer's)", s.Name, s.Cert.KeyType, shortID(s.Cert.KeyID)))
	}
	t := tree.Root(root).Child(
		tree.Root(targets).Child(releases),
		snapshot,
		timestamp,
	)
	return t.String() + "\n"
}
