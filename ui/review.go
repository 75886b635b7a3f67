package ui

import (
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// review shows the plan and the key hierarchy before anything is
// published; any earlier screen can be revisited from here.
type review struct {
	st       *state
	starting bool
}

func newReview(st *state) *review { return &review{st: st} }

func (r *review) title() string { return "Review" }
func (r *review) typing() bool  { return false }
func (r *review) explain() string {
	return `Nothing is published before p. This page shows every choice and the key
hierarchy that publishing creates: the root key signs root.json, which names
the other keys; the targets key signs the list of signers (delegations);
targets/releases is the delegation docker signs tags into, and each signer
also gets targets/<name>; the snapshot key (held by the Notary server here)
ties all metadata versions together; the timestamp key (always the
server's) re-signs often, so clients notice stale data. 1-4 revisit a
screen and come back here.`
}
func (r *review) enter() tea.Cmd { return nil }
func (r *review) keys() keyMap {
	return bindings(false, keyPublish, keyJump, keyBack)
}

func (r *review) update(msg tea.Msg) tea.Cmd {
	if m, isStarted := msg.(startedMsg); isStarted {
		r.starting = false
		if m.err != nil {
			return showError(m.err)
		}
		r.st.engine, r.st.ceremonies = m.engine, m.ceremonies
		return next
	}
	k, isKey := msg.(tea.KeyMsg)
	if !isKey || r.starting {
		return nil
	}
	switch {
	case key.Matches(k, keyPublish), key.Matches(k, keyNext):
		return r.start()
	case key.Matches(k, keyBack):
		return back
	case key.Matches(k, keyJump):
		return goTo(screenID(k.Runes[0] - '0'))
	}
	return nil
}

// startedMsg carries the engine and one ceremony per repository.
type startedMsg struct {
	engine     Engine
	ceremonies []*flows.SetupCeremony
	err        error
}

// start makes the engine and one ceremony per repository (in a command:
// making the engine reads the TLS CA), then goes on to publishing.
func (r *review) start() tea.Cmd {
	st := r.st
	switch {
	case len(st.guns) == 0:
		return showError(errors.New("no repository chosen: press 1"))
	case !st.root.ready():
		return showError(errors.New("no root key yet: press 2"))
	case st.targetsPass == "":
		return showError(errors.New("no targets key passphrase yet: press 3"))
	case len(st.signers) == 0:
		return showError(errors.New("no signer yet: press 4"))
	}
	r.starting = true
	server, ca, pass := st.server, st.caCert, trust.Passphrases{Root: st.root.filePass, Targets: st.targetsPass}
	guns, signers, root, roots := st.guns, st.signers, st.root.key, st.cfg.AttestationRoots
	var backup trust.RootKey
	if st.backup != nil {
		backup = st.backup.Key
	}
	certPaths := make([]string, len(guns))
	for i, g := range guns {
		certPaths[i] = rootCertPath(st, g.String())
	}
	return st.work(func() tea.Msg {
		eng, err := st.backend.Engine(server, ca, pass)
		if err != nil {
			return startedMsg{err: err}
		}
		var cers []*flows.SetupCeremony
		for i, g := range guns {
			s := flows.Setup{GUN: g, Root: root, BackupRoot: backup, Signers: signers, RootCertOut: certPaths[i], AttestationRoots: roots}
			c, err := flows.NewSetup(eng, s, func(flows.Event) { st.send(stepMsg{}) })
			if err != nil {
				return startedMsg{err: err}
			}
			cers = append(cers, c)
		}
		return startedMsg{engine: eng, ceremonies: cers}
	})
}

func (r *review) view(width int) string {
	st := r.st
	var b strings.Builder
	b.WriteString(reviewHead(st, 4))
	fmt.Fprintf(&b, "[2] Root key      %s\n", st.root.where())
	if st.backup != nil {
		fmt.Fprintf(&b, "    Backup        YubiKey %d, slot %s: the root role names both\n", st.backupToken.Serial, st.backup.Info.Slot)
	}
	passState := "passphrase set"
	if st.targetsPass == "" {
		passState = "no passphrase yet"
	}
	fmt.Fprintf(&b, "[3] Targets key   new, in the trust dir (%s)\n", passState)
	names := make([]string, len(st.signers))
	for i, s := range st.signers {
		names[i] = s.Name
	}
	fmt.Fprintf(&b, "[4] Signers       %s\n\n", strings.Join(names, ", "))
	b.WriteString(styleTitle.Render("Steps, for each repository") + "\n")
	for i, s := range (flows.Setup{Signers: st.signers, TestTag: "later", DeleteTargetsKey: true}).Plan() {
		title := s.Title
		switch s.ID {
		case flows.StepTestSign:
			title = "Test-sign a tag you choose, verify it as a consumer would"
		case flows.StepDeleteTargetsKey:
			title += ", once you confirm"
		}
		fmt.Fprintf(&b, " %d. %s\n", i+1, title)
	}
	b.WriteString("\n" + keyTree(st, nil))
	return b.String()
}

// reviewHead is the top of both reviews: nothing published yet, the keys
// that revisit the screens 1 to last, and the repositories.
func reviewHead(st *state, last int) string {
	server := st.server
	if server == "" {
		server = "docker's default for each repository"
	}
	return fmt.Sprintf("Nothing is published yet. Press 1-%d to change a choice, p to publish.\n"+
		"[1] Repositories  %s\n    Server        %s\n", last, strings.Join(st.gunStrings(), ", "), server)
}
