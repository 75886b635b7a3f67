package ui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// maintReview shows the maintenance ceremony's plan and each repository's
// keys before and after, before anything is published.
type maintReview struct {
	st       *state
	starting bool
}

var keyJump3 = key.NewBinding(key.WithKeys("1", "2", "3"), key.WithHelp("1-3", "revisit a screen"))

func newMaintReview(st *state) *maintReview { return &maintReview{st: st} }

func (r *maintReview) title() string { return "Review" }
func (r *maintReview) typing() bool  { return false }
func (r *maintReview) explain() string {
	return `Nothing is published before p. This page shows the ceremony, the steps it
runs for each repository and each repository's keys now and after. First
each repository is read as a consumer who trusted it before; after the
publish it is verified as a new consumer and as that earlier one, so a
ceremony that would strand your consumers is caught at once. Every step
converges: after a failure, r runs it again and what already reached the
server is recognised. 1-3 revisit a screen and come back here.`
}
func (r *maintReview) enter() tea.Cmd { return nil }
func (r *maintReview) keys() keyMap   { return bindings(false, keyPublish, keyJump3, keyBack) }

// maintStartedMsg carries the engine and one ceremony per repository changed.
type maintStartedMsg struct {
	engine     Engine
	ceremonies []ceremony
	skipped    []string
	err        error
}

func (r *maintReview) update(msg tea.Msg) tea.Cmd {
	if m, isStarted := msg.(maintStartedMsg); isStarted {
		r.starting = false
		if m.err != nil {
			return showError(m.err)
		}
		r.st.engine, r.st.mnt.ceremonies, r.st.mnt.skipped = m.engine, m.ceremonies, m.skipped
		return next
	}
	k, isKey := msg.(tea.KeyMsg)
	if !isKey || r.starting {
		return nil
	}
	switch {
	case key.Matches(k, keyPublish):
		return r.start()
	case key.Matches(k, keyBack):
		return back
	case key.Matches(k, keyJump3):
		return goTo(map[string]screenID{"1": mntRepository, "2": mntCeremony, "3": mntRootKey}[k.String()])
	}
	return nil
}

// start makes the engine and the ceremonies (in a command: making the
// engine reads the TLS CA), then goes on to publishing.
func (r *maintReview) start() tea.Cmd {
	st := r.st
	m := &st.mnt
	switch {
	case len(st.guns) == 0:
		return showError(errors.New("no repository chosen: press 1"))
	case m.kind == "":
		return showError(errors.New("no ceremony chosen: press 2"))
	case m.kind.signerKind() && m.signer == "", m.kind.needsCert() && m.cert == nil:
		return showError(errors.New("the signer or its certificate is not chosen yet: press 2"))
	case !st.root.ready():
		return showError(errors.New("the root key is not open yet: press 3"))
	case m.makesTargetsKey(st) && st.targetsPass == "":
		return showError(errors.New("this ceremony may make a targets key and has no passphrase for it yet: press 3"))
	case m.kind.needsNewToken() && m.newRoot == nil:
		return showError(errors.New("the new YubiKey's root key is not made yet: press 3"))
	case m.kind == mRemoveRoot && m.removeKey == "":
		return showError(errors.New("the lost YubiKey's root key is not chosen yet: press 2"))
	}
	if m.kind == mRemoveSigner {
		if gun := m.lastReleaseSigner(); gun != "" {
			return showError(&trust.Error{Kind: trust.ErrNoSigner, Input: m.signer,
				Msg: "holds the last key of targets/releases of " + gun + ": its tags would stop verifying and nobody could sign new ones",
				Fix: "add the signer that replaces it first", Action: trust.ActionAddSigner})
		}
	}
	r.starting = true
	server, ca := st.server, st.caCert
	pass := trust.Passphrases{Root: st.root.filePass, Targets: st.targetsPass}
	root := st.root.key
	return st.work(func() tea.Msg {
		eng, err := st.backend.Engine(server, ca, pass)
		if err != nil {
			return maintStartedMsg{err: err}
		}
		cers, skipped, err := m.newCeremonies(st, eng, root)
		if err != nil {
			return maintStartedMsg{err: err}
		}
		// What cannot finish is refused here, before anything is published
		// (the last release signer removed, with nobody to sign after it).
		ctx, cancel := context.WithTimeout(st.ctx, 60*time.Second)
		defer cancel()
		for _, c := range cers {
			if err := c.Check(ctx); err != nil {
				return maintStartedMsg{err: fmt.Errorf("%s: %w", c.Report().GUN, err)}
			}
		}
		return maintStartedMsg{engine: eng, ceremonies: cers, skipped: skipped}
	})
}

func (r *maintReview) view(width int) string {
	st := r.st
	m := st.mnt
	var b strings.Builder
	b.WriteString(reviewHead(st, 3))
	fmt.Fprintf(&b, "[2] Ceremony      %s\n", m.describe())
	if m.cert != nil {
		fmt.Fprintf(&b, "    Certificate   %s, key %s, ends %s\n", filepath.Base(m.cert.Path), trust.ShortID(m.cert.KeyID), m.cert.NotAfter.UTC().Format("2006-01-02"))
	}
	fmt.Fprintf(&b, "[3] Root key      %s\n", st.root.where())
	if st.targetsPass != "" {
		b.WriteString("    Targets key   passphrase set (for a targets key the ceremony makes)\n")
	}
	b.WriteString("\n" + styleTitle.Render("What consumers notice") + "\n" + m.consumerNotice() + "\n")
	if m.kind == mRenew {
		for _, g := range st.guns {
			switch r := m.renewal(g.String(), st.now()); {
			case !r.Resign:
				b.WriteString(styleDim.Render(g.String()+": nothing due within 180 days: left as it is") + "\n")
			case r.RootOnly:
				b.WriteString(g.String() + ": root.json alone is due: the root key re-signs it with the same keys (no targets key)\n")
			}
		}
	}
	for _, g := range st.guns {
		in := m.inspection(g.String())
		if in == nil {
			continue
		}
		b.WriteString("\n" + styleTitle.Render("Keys of "+g.String()) + "\n")
		b.WriteString("now:\n" + indent(hierarchyNow(in), "  "))
		b.WriteString("after:\n" + indent(m.hierarchyAfter(in, st.root.where()), "  "))
	}
	b.WriteString("\n" + styleTitle.Render("Steps, for each repository") + "\n")
	for i, s := range maintPlan(m.kind, m.renewsRootOnly(st)) {
		fmt.Fprintf(&b, " %d. %s\n", i+1, s)
	}
	return b.String()
}

// maintPlan lists the ceremony's steps, as the step tables name them.
func maintPlan(kind maintKind, rootOnly bool) []string {
	var plan []flows.PlannedStep
	switch {
	case rootOnly:
		plan = (&flows.RootRenew{}).Plan()
	case kind.signerKind():
		plan = (&flows.SignerChange{}).Plan()
	case kind == mRotateSnapshot:
		plan = (&flows.Rotate{Role: flows.RoleSnapshot}).Plan()
	case kind == mRotateTimestamp:
		plan = (&flows.Rotate{Role: flows.RoleTimestamp}).Plan()
	case kind.rootKind():
		plan = (&flows.RootRotate{RootCertOut: "the output dir"}).Plan()
	default:
		plan = (&flows.Rotate{Role: flows.RoleTargets, DeleteTargetsKey: true}).Plan()
	}
	var out []string
	for _, s := range plan {
		if s.Skip != "" {
			continue
		}
		title := s.Title
		if s.ID == flows.StepDeleteTargetsKey && !kind.signerKind() {
			title += ", once you confirm"
		}
		out = append(out, title)
	}
	return out
}

// indent puts prefix before every line of s.
func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}
