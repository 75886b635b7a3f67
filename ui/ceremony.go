package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// ceremonyPicker chooses the maintenance ceremony, proposing the one the
// status screen's most urgent finding needs, then its signer and, for a
// signer added or renewed, the certificate.
type ceremonyPicker struct {
	st     *state
	stage  pickStage
	cursor int
	// signer stage: the existing signers (replace, remove), or a name typed (add)
	names  []string
	sCur   int
	name   *form
	picker *certPicker
	cert   *trust.Certificate // picked, shown before it is taken
	// The choice being made: it replaces the maintenance's choice only
	// once complete (a signer backed out of is never kept).
	kind   maintKind
	signer string
	// the root key a lost token held (Remove a lost YubiKey)
	rootIDs   []string
	rCur      int
	removeKey string
	rootWhere map[string]uint32 // root key ID -> the inserted YubiKey that holds it
	looked    bool              // the inserted tokens were read
	lookSeq   int               // the latest look; an older answer is dropped
	lookErr   error             // the look failed: the list stays bare
}

// rootWhereMsg says which inserted YubiKey holds which root key.
type rootWhereMsg struct {
	seq   int
	where map[string]uint32
	err   error // the tokens or the certificates could not be read: no proposal
}

type pickStage int

const (
	pickCeremony pickStage = iota
	pickSigner
	pickCert
	pickConfirmCert
	pickRootKey
)

func newCeremonyPicker(st *state) *ceremonyPicker { return &ceremonyPicker{st: st} }

func (c *ceremonyPicker) title() string { return "Ceremony" }
func (c *ceremonyPicker) typing() bool {
	return (c.stage == pickSigner && c.name != nil) || (c.stage == pickCert && c.picker != nil && c.picker.typed != nil)
}
func (c *ceremonyPicker) explain() string {
	return `Choose what to do to the repositories. A signer's certificate is renewed
every year or so: the renewed certificate's key replaces the old one in
targets/releases (where docker signs) and targets/<name>. Removing a signer
takes its keys out of both. These need the targets key: when the trust dir
has none (it was deleted after setup), the root key signs in a new one for
the change, and it is deleted again at the end. Rotating the targets key
also renews targets.json; renewing expiring metadata does that where
root.json or targets.json expire within 180 days. Snapshot and timestamp
keys stay with the notary server. The root ceremonies move the root to a
new YubiKey, add a backup YubiKey (either token then signs alone), or
remove a lost one; the new token is inserted beside the current one, and
the new root.json is signed by both, so consumers follow.`
}

func (c *ceremonyPicker) keys() keyMap {
	switch {
	case c.stage == pickConfirmCert:
		return bindings(false, keyTakeCert, keyBack)
	case c.stage == pickRootKey:
		return bindings(false, keyNext, keyUpDown, keyBack)
	case c.stage == pickSigner && c.name != nil:
		return bindings(true, keyNext, keyBack)
	case c.stage == pickCert && c.picker != nil && c.picker.typed != nil:
		return bindings(true, keyNext, keyBack)
	case c.stage == pickCert:
		return bindings(false, keyPick, keyUpDown, keyParentDir, keyTypePath, keyBack)
	}
	return bindings(false, keyNext, keyUpDown, keyBack)
}

func (c *ceremonyPicker) enter() tea.Cmd {
	m := &c.st.mnt
	if m.kind == "" {
		// First visit: the proposed ceremony is highlighted.
		kind, _, _ := m.proposal()
		if kind == "" && c.st.cfg.Rehearse == "root-rotation" {
			kind = mRotateRoot
		}
		c.cursor = max(slices.IndexFunc(maintChoices, func(ch maintChoice) bool { return ch.kind == kind }), 0)
	}
	c.stage = pickCeremony
	return nil
}

func (c *ceremonyPicker) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case pickedMsg:
		return c.load(msg.path)
	case rootWhereMsg:
		if msg.seq != c.lookSeq {
			return nil
		}
		c.rootWhere, c.looked, c.lookErr = msg.where, true, msg.err
		if msg.err != nil {
			return nil // the list stays bare: nothing is proposed
		}
		// The lost key is the one no inserted token holds: proposed.
		if i := slices.IndexFunc(c.rootIDs, func(id string) bool { return msg.where[id] == 0 }); i >= 0 && c.st.mnt.removeKey == "" {
			c.rCur = i
		}
		return nil
	case tea.KeyMsg:
		return c.key(msg)
	}
	switch {
	case c.stage == pickSigner && c.name != nil:
		return c.name.update(msg)
	case c.stage == pickCert && c.picker != nil:
		return c.picker.forward(msg)
	}
	return nil
}

func (c *ceremonyPicker) key(msg tea.KeyMsg) tea.Cmd {
	switch c.stage {
	case pickCeremony:
		if cur, moved := moveCursor(msg, c.cursor, len(maintChoices)); moved {
			c.cursor = cur
			return nil
		}
		switch {
		case key.Matches(msg, keyBack):
			return back
		case key.Matches(msg, keyNext):
			return c.choose(maintChoices[c.cursor].kind)
		}
	case pickSigner:
		if key.Matches(msg, keyBack) {
			c.stage, c.name = pickCeremony, nil
			return nil
		}
		if c.name != nil {
			if key.Matches(msg, keyNext) {
				if _, err := c.name.fields[0].check(); err != nil {
					return showError(err)
				}
				c.signer = c.name.fields[0].value()
				return c.startCert()
			}
			return c.name.update(msg)
		}
		if cur, moved := moveCursor(msg, c.sCur, len(c.names)); moved {
			c.sCur = cur
			return nil
		}
		if key.Matches(msg, keyNext) && len(c.names) > 0 {
			c.signer = c.names[c.sCur]
			if c.kind.needsCert() {
				return c.startCert()
			}
			return c.commit(nil)
		}
	case pickCert:
		if key.Matches(msg, keyBack) && c.picker.typed == nil {
			return c.choose(c.kind)
		}
		return c.picker.update(msg)
	case pickRootKey:
		if cur, moved := moveCursor(msg, c.rCur, len(c.rootIDs)); moved {
			c.rCur = cur
			return nil
		}
		switch {
		case key.Matches(msg, keyBack):
			c.stage = pickCeremony
			return nil
		case key.Matches(msg, keyNext):
			c.removeKey = c.rootIDs[c.rCur]
			return c.commit(nil)
		}
	case pickConfirmCert:
		switch {
		case key.Matches(msg, keyBack):
			c.stage, c.cert = pickCert, nil
			return nil
		case key.Matches(msg, keyNext):
			return c.commit(c.cert)
		}
	}
	return nil
}

// choose takes a ceremony and asks what it needs next.
func (c *ceremonyPicker) choose(kind maintKind) tea.Cmd {
	m := &c.st.mnt
	c.kind = kind
	if kind == mRemoveRoot {
		return c.chooseRootKey()
	}
	if !kind.signerKind() {
		return c.commit(nil)
	}
	// The signer chosen before is offered again for the same ceremony.
	c.signer = ""
	if kind == m.kind {
		c.signer = m.signer
	}
	c.stage = pickSigner
	if kind == mAddSigner {
		c.name = newForm(newField("Signer name", "lower-case letters, digits, _ and -", c.signer, false, c.validateNewName))
		return c.name.focused().input.Focus()
	}
	c.name, c.names = nil, m.signerNames()
	if len(c.names) == 0 {
		c.stage = pickCeremony
		return showError(errors.New("these repositories have no signer to renew or remove: choose Add a signer"))
	}
	_, proposed, _ := m.proposal()
	c.sCur = max(slices.Index(c.names, c.signer), slices.Index(c.names, proposed), 0)
	return nil
}

// chooseRootKey lists the root keys of the repository, to pick the one
// a lost token held. Root key IDs differ between repositories (each has
// its own certificate), so this is one repository at a time.
func (c *ceremonyPicker) chooseRootKey() tea.Cmd {
	m := &c.st.mnt
	if len(m.inspections) != 1 || m.inspections[0] == nil {
		return showError(errors.New("remove a lost YubiKey from one repository at a time (each has its own root certificates): press esc twice and choose one repository"))
	}
	c.rootIDs = nil
	for _, a := range m.inspections[0].AdministrativeKeys {
		if a.Name == "Root" {
			c.rootIDs = a.KeyIDs
		}
	}
	if len(c.rootIDs) < 2 {
		return showError(errors.New("the root has one key: it cannot be removed; choose Move the root to a new YubiKey, or Add a backup YubiKey first"))
	}
	c.rCur, c.stage = max(slices.Index(c.rootIDs, m.removeKey), 0), pickRootKey
	c.rootWhere, c.looked, c.lookErr = nil, false, nil
	c.lookSeq++
	return c.locateRootKeys(c.lookSeq)
}

// locateRootKeys reads which inserted YubiKey holds which of the root
// keys, so that the list can say it: the lost token's key is the one no
// inserted token holds. It only reads; a failure leaves the list bare.
func (c *ceremonyPicker) locateRootKeys(seq int) tea.Cmd {
	st := c.st
	gun, server, ca := st.mnt.inspections[0].GUN, st.server, st.caCert
	// The ceremony's own token, if its root key is open already, is held
	// by this program and not listed: it holds the key it opened.
	held, heldKey := st.root.token.Serial, st.root.info.KeyID
	return st.look(func() tea.Msg {
		ctx, cancel := context.WithTimeout(st.ctx, 30*time.Second)
		defer cancel()
		g, err := trust.ParseGUN(gun)
		if err != nil {
			return rootWhereMsg{seq: seq, err: err}
		}
		eng, err := st.backend.Engine(server, ca, trust.Passphrases{})
		if err != nil {
			return rootWhereMsg{seq: seq, err: err}
		}
		certs, err := eng.RootCertificates(ctx, g)
		if err != nil {
			return rootWhereMsg{seq: seq, err: err}
		}
		tokens, err := st.backend.FreeTokens()
		if err != nil {
			return rootWhereMsg{seq: seq, err: err}
		}
		where := map[string]uint32{}
		holds := func(serial uint32, id string) {
			for _, cert := range certs {
				if cert.CanonicalID == id {
					where[cert.KeyID] = serial
				}
			}
		}
		if held != 0 && heldKey != "" {
			holds(held, heldKey)
		}
		for _, t := range tokens {
			for _, s := range t.Slots {
				if id, ok := trust.PublicKeyID(s.PublicKey); ok {
					holds(t.Serial, id)
				}
			}
		}
		return rootWhereMsg{seq: seq, where: where}
	})
}

// commit makes the complete choice the ceremony's, and goes on.
func (c *ceremonyPicker) commit(cert *trust.Certificate) tea.Cmd {
	m := &c.st.mnt
	if !c.kind.needsNewToken() && m.newRoot != nil {
		// A new token's key made for another ceremony: let the token go.
		if m.newRoot.Close != nil {
			m.newRoot.Close()
		}
		m.newRoot = nil
	}
	m.removeKey = ""
	if c.kind == mRemoveRoot {
		m.removeKey = c.removeKey
	}
	m.kind, m.signer, m.cert, m.certPath = c.kind, "", nil, ""
	if c.kind.signerKind() {
		m.signer = c.signer
	}
	if cert != nil {
		m.cert, m.certPath = cert, cert.Path
	}
	return next
}

func (c *ceremonyPicker) validateNewName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := trust.ValidSignerName(s); err != nil {
		return "", err
	}
	if slices.Contains(c.st.mnt.signerNames(), s) {
		return "", fmt.Errorf("%s is a signer already: choose Renew a signer's certificate to give it a new key", s)
	}
	return "it becomes targets/" + s + " and joins targets/releases", nil
}

// startCert opens the certificate picker where the prefilled certificate
// is (the sandbox's renewed one), else in the working directory.
func (c *ceremonyPicker) startCert() tea.Cmd {
	m := &c.st.mnt
	dir, file := ".", ""
	for _, s := range c.st.cfg.Signers {
		if s.Name == c.signer || file == "" {
			dir, file = filepath.Dir(s.Path), filepath.Base(s.Path)
		}
	}
	if m.certPath != "" && m.kind == c.kind && m.signer == c.signer {
		dir, file = filepath.Dir(m.certPath), filepath.Base(m.certPath)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	} else if wd, err := os.Getwd(); err == nil {
		dir = wd
	}
	c.picker = newCertPicker(dir)
	if i := slices.IndexFunc(c.picker.entries, func(e pickEntry) bool { return e.name == file }); i >= 0 {
		c.picker.cursor = i
	}
	c.stage = pickCert
	return nil
}

// load reads the picked certificate and checks it as a signer's.
func (c *ceremonyPicker) load(path string) tea.Cmd {
	m := &c.st.mnt
	cert, err := trust.LoadCertificate(path, c.st.now())
	if err != nil {
		return showError(err) // it names the file
	}
	if err := flows.CheckSigners([]flows.Signer{{Name: c.signer, Cert: cert}}); err != nil {
		return showError(err)
	}
	for _, in := range m.inspections {
		for _, s := range in.Signers {
			if s.Name == c.signer && slices.Contains(s.KeyIDs, cert.KeyID) && c.kind == mReplaceSigner {
				return showError(fmt.Errorf("%s is the certificate %s has already: pick its renewed certificate", filepath.Base(path), c.signer))
			}
		}
	}
	c.cert, c.stage = cert, pickConfirmCert
	return nil
}

func (c *ceremonyPicker) view(width int) string {
	m := c.st.mnt
	var b strings.Builder
	switch c.stage {
	case pickCeremony:
		kind, signer, _ := m.proposal()
		b.WriteString("Which ceremony? It runs on every repository chosen (" + strings.Join(c.st.gunStrings(), ", ") + ").\n\n")
		for i, ch := range maintChoices {
			line := ch.title
			if ch.kind == kind {
				p := "proposed"
				if signer != "" {
					p += " for " + signer
				}
				line += "  " + styleWarn.Render("("+p+")")
			}
			b.WriteString(gutter(i == c.cursor) + line + "\n")
			if i == c.cursor {
				// Only the highlighted one says what it does: the list fits the screen.
				b.WriteString("    " + styleDim.Render(ch.what) + "\n")
			}
		}
	case pickSigner:
		b.WriteString(styleTitle.Render(c.kind.choice().title) + "\n\n")
		if c.name != nil {
			b.WriteString("The new signer's name (docker trust inspect shows it):\n\n" + c.name.view(width))
			break
		}
		b.WriteString("Which signer?\n\n")
		for i, n := range c.names {
			b.WriteString(gutter(i == c.sCur) + n + signerCertLine(m, n) + "\n")
		}
	case pickCert:
		what := "its renewed certificate"
		if c.kind == mAddSigner {
			what = "its certificate"
		}
		fmt.Fprintf(&b, "%s: %s, %s\n\n", styleTitle.Render(c.kind.choice().title), c.signer, what)
		b.WriteString(c.picker.view(width))
	case pickRootKey:
		b.WriteString(styleTitle.Render(c.kind.choice().title) + "\n\nWhich root key did the lost YubiKey hold? The other one signs its removal.\n\n")
		for i, id := range c.rootIDs {
			b.WriteString(gutter(i == c.rCur) + id + "\n")
			switch serial := c.rootWhere[id]; {
			case c.lookErr != nil:
			case !c.looked:
				b.WriteString(styleDim.Render("     {spinner} looking at the inserted YubiKeys ...") + "\n")
			case serial != 0:
				b.WriteString(styleDim.Render(fmt.Sprintf("     on YubiKey %d, inserted: it can sign the removal", serial)) + "\n")
			default:
				b.WriteString(styleDim.Render("     on no YubiKey inserted now") + "\n")
			}
		}
	case pickConfirmCert:
		fmt.Fprintf(&b, "%s: %s\n\n", styleTitle.Render(c.kind.choice().title), c.signer)
		b.WriteString(styleTitle.Render(c.cert.Path) + "\n" + certPreview(c.cert, "  "))
		b.WriteString("\nCompare the SHA-256 with the one the signer gave you. Enter takes this\ncertificate, esc picks another.\n")
	}
	return b.String()
}

// signerCertLine is when a signer's certificate ends, as read.
func signerCertLine(m maintenance, name string) string {
	for _, c := range m.checks {
		for _, e := range c.Expiries {
			if e.Signer == name && strings.Contains(e.What, "certificate") {
				return styleDim.Render(fmt.Sprintf("  certificate ends %s (%s)", e.Expires.Format("2006-01-02"), flows.Days(e.Expires.Sub(m.readAt))))
			}
		}
	}
	return ""
}
