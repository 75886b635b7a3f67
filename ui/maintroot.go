package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
)

// maintRoot opens the repositories' root key on its YubiKey (never making
// one), proves it is theirs, and takes the targets key's passphrase when
// the ceremony may make a targets key.
type maintRoot struct {
	st      *state
	phase   mrPhase
	tokens  []yubikey.Info
	scanErr error
	cursor  int
	form    *form
	pin     *field
	again   *field // the PIN again, when one try is left
	slot    *field
	pass    *field // the targets key's passphrase (nil if not needed)
	pass2   *field
	file    bool // the trust dir's root key file instead of a token
	// roots are the repositories' root key IDs as published (canonical).
	roots    map[string][]string
	touching bool
	// resume: after a wrong PIN, the form of this token comes back once
	// its tries left are read anew.
	resume uint32
	// passOnly: the root key is open; the ceremony chosen since needs a
	// targets key passphrase, which the form asks for alone.
	passOnly bool
	// nt is the new token of a root ceremony, once the current key is open.
	nt *newToken
}

type mrPhase int

const (
	mrScanning mrPhase = iota
	mrList
	mrForm
	mrOpening
	mrDone
	mrNew // the new YubiKey of a root ceremony
)

type (
	maintTokensMsg struct {
		list []yubikey.Info
		err  error
	}
	openedMsg struct {
		res   RootKeyResult
		roots map[string][]string
		err   error
	}
)

func newMaintRoot(st *state) *maintRoot { return &maintRoot{st: st} }

func (r *maintRoot) title() string { return "Root key" }
func (r *maintRoot) typing() bool {
	return r.phase == mrForm || (r.phase == mrNew && r.nt.typing())
}
func (r *maintRoot) explain() string {
	return `Every maintenance ceremony is signed by the repositories' root key: it
signs the new root.json that names a new key. Insert the YubiKey that holds
it; its PIN is asked once for the whole ceremony, and each root signature
waits for a touch if the key's touch policy says so. The key is only used,
never made or changed here, and dctwiz checks that it is the root key the
repositories name before anything is published. A ceremony that may make a
targets key asks for a passphrase for it (it is deleted at the end unless
you keep it). f uses a root key file in the trust dir instead.`
}

func (r *maintRoot) keys() keyMap {
	switch r.phase {
	case mrList:
		return bindings(false, keyNext, keyUpDown, keyRescan, keyFileKey, keyBack)
	case mrForm:
		return bindings(true, keyOpenRoot, keyDownText, keyBack)
	case mrDone:
		return bindings(false, keyNext, keyChooseAgain, keyBack)
	case mrNew:
		return r.nt.keys()
	}
	return bindings(false)
}

var (
	keyRescan   = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "look again"))
	keyOpenRoot = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open the root key"))
)

func (r *maintRoot) enter() tea.Cmd {
	switch {
	case r.st.root.ready() && r.st.mnt.makesTargetsKey(r.st) && r.st.targetsPass == "":
		r.passOnly = true
		r.pass = newField("Targets passphrase", "for the new targets key (or the trust dir's, if it holds one)", "", true, validatePassphrase)
		r.pass2 = newField("Again", "the same passphrase", "", true, nil)
		r.form, r.phase = newForm(r.pass, r.pass2), mrForm
		return r.form.focused().input.Focus()
	case r.st.root.ready():
		r.phase = mrDone
		return nil
	case r.phase == mrScanning || r.phase == mrList:
		return r.scan()
	}
	return nil
}

func (r *maintRoot) scan() tea.Cmd {
	r.phase, r.scanErr = mrScanning, nil
	b := r.st.backend
	return r.st.look(func() tea.Msg {
		list, err := b.Tokens()
		return maintTokensMsg{list, err}
	})
}

// startForm asks for what opening the key needs.
func (r *maintRoot) startForm() tea.Cmd {
	r.passOnly = false // the whole form: the root key is opened again
	var fields []*field
	if r.file {
		r.pin = newField("Root passphrase", "the trust dir's root key's passphrase", "", true, nil)
		r.again, r.slot = nil, nil
		fields = append(fields, r.pin)
	} else {
		t := r.tokens[r.cursor]
		r.pin = newField("PIN", fmt.Sprintf("YubiKey %d: %d tries left", t.Serial, t.PINTriesLeft), "", true, nil)
		fields = append(fields, r.pin)
		r.again = nil
		if t.PINTriesLeft == 1 {
			r.again = newField("PIN again", "the last try: type it twice", "", true, nil)
			fields = append(fields, r.again)
		}
		r.slot = newField("Slot", "where the root key is: 9c unless you chose another at setup", rootSlotOf(t), false, validateSlot)
		fields = append(fields, r.slot)
	}
	var kept [2]string // a passphrase typed before a wrong PIN stays
	if r.pass != nil {
		kept = [2]string{r.pass.input.Value(), r.pass2.input.Value()}
	}
	r.pass, r.pass2 = nil, nil
	if r.st.mnt.makesTargetsKey(r.st) {
		r.pass = newField("Targets passphrase", "for the new targets key (or the trust dir's, if it holds one)", kept[0], true, validatePassphrase)
		r.pass2 = newField("Again", "the same passphrase", kept[1], true, nil)
		fields = append(fields, r.pass, r.pass2)
	}
	r.form = newForm(fields...)
	r.phase = mrForm
	return r.form.focused().input.Focus()
}

// rootSlotOf is the slot that holds a root key on t (9c if none is seen).
func rootSlotOf(t yubikey.Info) string {
	for _, s := range t.Slots {
		if s.Key && strings.Contains(s.Certificate, "root") {
			return s.Slot
		}
	}
	return "9c"
}

func validateSlot(s string) (string, error) {
	if _, err := yubikey.ParseSlot(strings.TrimSpace(s)); err != nil {
		return "", fmt.Errorf("%q is not a PIV slot: 9a, 9c, 9d, 9e or 82-95", s)
	}
	return "", nil
}

func (r *maintRoot) update(msg tea.Msg) tea.Cmd {
	if cmd, handled, finished := r.nt.route(msg, r.phase == mrNew); handled {
		if finished && r.phase == mrNew {
			r.phase = mrDone
		}
		return cmd
	}
	switch msg := msg.(type) {
	case maintTokensMsg:
		r.tokens, r.scanErr, r.phase = msg.list, msg.err, mrList
		r.cursor = min(r.cursor, max(len(r.tokens)-1, 0))
		if serial := r.resume; serial != 0 {
			r.resume = 0
			for i, t := range r.tokens {
				if t.Serial == serial && t.Problem == "" && t.PINTriesLeft > 0 {
					r.cursor = i
					return r.startForm()
				}
			}
		}
		return nil
	case touchMsg:
		r.touching = true
		return nil
	case openedMsg:
		r.touching = false
		if msg.err != nil {
			r.phase = mrForm
			if errors.Is(msg.err, trust.ErrWrongPIN) || errors.Is(msg.err, trust.ErrPINBlocked) {
				// A wrong PIN is never sent again: the tries left are read
				// anew, and the PIN is typed anew.
				r.resume = r.tokens[r.cursor].Serial
				return tea.Batch(showError(msg.err), r.scan())
			}
			return showError(msg.err)
		}
		st := r.st
		st.root = rootChoice{token: r.tokens[r.cursor], slot: msg.res.Info.Slot, key: msg.res.Key, info: msg.res.Info,
			attestation: msg.res.Attestation, closer: closerFunc(msg.res.Close)}
		r.roots, r.phase = msg.roots, mrDone
		return nil
	case tea.KeyMsg:
		return r.key(msg)
	}
	if r.phase == mrForm {
		return r.form.update(msg)
	}
	return nil
}

func (r *maintRoot) key(msg tea.KeyMsg) tea.Cmd {
	switch r.phase {
	case mrList:
		if cur, moved := moveCursor(msg, r.cursor, len(r.tokens)); moved {
			r.cursor = cur
			return nil
		}
		switch {
		case key.Matches(msg, keyBack):
			return back
		case key.Matches(msg, keyRescan):
			return r.scan()
		case key.Matches(msg, keyFileKey):
			r.file = true
			return r.startForm()
		case key.Matches(msg, keyNext):
			if len(r.tokens) == 0 {
				return showError(errors.New("no YubiKey found: insert the one with the root key and press r"))
			}
			t := r.tokens[r.cursor]
			switch {
			case t.Problem != "":
				return showError(fmt.Errorf("YubiKey %d cannot be used: %s", t.Serial, t.Problem))
			case t.FactoryDefaults():
				return showError(fmt.Errorf("YubiKey %d still has its factory PIN: it holds no root key of a ceremony; insert the one that does", t.Serial))
			}
			r.file = false
			return r.startForm()
		}
	case mrForm:
		switch {
		case key.Matches(msg, keyBack) && r.passOnly:
			return back
		case key.Matches(msg, keyBack):
			r.file = false
			return r.scan()
		case key.Matches(msg, keyNext):
			return r.open()
		}
		return r.form.update(msg)
	case mrDone:
		switch {
		case key.Matches(msg, keyBack):
			return back
		case key.Matches(msg, keyChooseAgain):
			r.release()
			return r.scan()
		case key.Matches(msg, keyNext) && r.st.mnt.kind.needsNewToken() && r.st.mnt.newRoot == nil:
			if r.st.root.fileKey {
				return showError(errors.New("a new YubiKey takes over from a root key on a YubiKey: open the current root key on its token (c)"))
			}
			r.nt, r.phase = newNewToken(r.st), mrNew
			return r.nt.scan()
		case key.Matches(msg, keyNext):
			return next
		}
	}
	return nil
}

// release lets go of the token opened before.
func (r *maintRoot) release() { r.st.releaseRoot() }

// open checks the form, then opens the root key and reads which root
// keys the repositories name, in one command.
func (r *maintRoot) open() tea.Cmd {
	if i, err := r.form.firstError(); err != nil {
		r.form.move(i - r.form.focus)
		return showError(err)
	}
	if r.passOnly {
		if r.pass.input.Value() != r.pass2.input.Value() {
			return showError(errors.New("the two targets passphrases differ: type the same passphrase twice"))
		}
		r.st.targetsPass, r.passOnly, r.phase = r.pass.input.Value(), false, mrDone
		return nil
	}
	secret := r.pin.input.Value()
	if secret == "" {
		return showError(errors.New("type the " + r.pin.label))
	}
	lastTry := false
	if r.again != nil {
		if r.again.input.Value() != secret {
			return showError(errors.New("the two PINs differ: with one try left, type the same PIN twice"))
		}
		lastTry = true
	}
	if r.pass != nil {
		if r.pass.input.Value() != r.pass2.input.Value() {
			return showError(errors.New("the two targets passphrases differ: type the same passphrase twice"))
		}
		r.st.targetsPass = r.pass.input.Value()
	} else {
		r.st.targetsPass = ""
	}
	st := r.st
	if r.file {
		st.root = rootChoice{fileKey: true, filePass: secret, key: trust.FileRootKey("")}
		r.phase = mrDone
		return nil
	}
	slot, _ := yubikey.ParseSlot(strings.TrimSpace(r.slot.value()))
	serial := r.tokens[r.cursor].Serial
	opts := trust.YubiKeyRootOptions{Serial: serial, Slot: slot, PIN: secret, AllowLastTry: lastTry,
		AttestationRoots: st.cfg.AttestationRoots, OnTouch: func() { st.send(touchMsg{serial}) }}
	guns, server, ca := st.guns, st.server, st.caCert
	r.phase = mrOpening
	return st.work(func() tea.Msg {
		ctx, cancel := context.WithTimeout(st.ctx, 60*time.Second)
		defer cancel()
		res, err := st.backend.OpenYubiKeyRoot(ctx, opts)
		if err != nil {
			return openedMsg{err: err}
		}
		roots, err := publishedRoots(ctx, st, server, ca, guns)
		if err == nil {
			err = theirRoot(res.Info, roots)
		}
		if err != nil {
			res.Close()
			return openedMsg{err: err}
		}
		return openedMsg{res: res, roots: roots}
	})
}

// publishedRoots are the root key IDs (of the bare public keys) each
// repository's root.json names.
func publishedRoots(ctx context.Context, st *state, server, ca string, guns []trust.GUN) (map[string][]string, error) {
	eng, err := st.backend.Engine(server, ca, trust.Passphrases{})
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, g := range guns {
		certs, err := eng.RootCertificates(ctx, g)
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			out[g.String()] = append(out[g.String()], c.CanonicalID)
		}
	}
	return out, nil
}

// theirRoot refuses a token key that is not every repository's root key:
// signing with it would publish nothing and cost touches.
func theirRoot(info trust.YubiKeyRootInfo, roots map[string][]string) error {
	for gun, ids := range roots {
		if !slices.Contains(ids, info.KeyID) {
			return &trust.Error{Kind: trust.ErrNoRootKey, Input: fmt.Sprintf("YubiKey %d slot %s", info.Serial, info.Slot),
				Msg: fmt.Sprintf("its key %s is not the root key of %s (%s)", trust.ShortID(info.KeyID), gun, shortIDList(ids)),
				Fix: "insert the YubiKey that holds this repository's root key, or choose its slot"}
		}
	}
	return nil
}

func (r *maintRoot) view(width int) string {
	var b strings.Builder
	switch r.phase {
	case mrScanning:
		b.WriteString("{spinner} looking for YubiKeys ...\n")
	case mrList:
		b.WriteString("Insert the YubiKey that holds the repositories' root key and choose it:\n\n")
		if len(r.tokens) == 0 {
			msg := "no YubiKey found"
			if r.scanErr != nil && !errors.Is(r.scanErr, yubikey.ErrNoToken) {
				msg = errorText(r.scanErr)
			}
			b.WriteString(fail(msg) + "\n    fix: insert the YubiKey (is pcscd running?) and press r; f uses a root key file\n")
		}
		for i, t := range r.tokens {
			fmt.Fprintf(&b, "%sYubiKey %d, firmware %s, PIN tries left %d\n", gutter(i == r.cursor), t.Serial, t.Firmware, t.PINTriesLeft)
			for _, s := range t.Slots {
				if s.Key {
					fmt.Fprintf(&b, "     slot %s: %s key %s\n", s.Slot, s.Algorithm, s.Certificate)
				}
			}
		}
	case mrForm, mrOpening:
		switch {
		case r.passOnly:
			b.WriteString("The root key is open. The ceremony chosen also needs a passphrase for a\ntargets key it may make:\n\n")
		case r.file:
			b.WriteString("The root key file in the trust dir " + r.st.trustDirShown() + ":\n\n")
		default:
			t := r.tokens[r.cursor]
			fmt.Fprintf(&b, "YubiKey %d: its PIN is checked once, for the whole ceremony.\n\n", t.Serial)
		}
		b.WriteString(r.form.view(width))
		if r.phase == mrOpening {
			b.WriteString("\n{spinner} opening the root key and checking it against the repositories ...\n")
			if r.touching {
				b.WriteString(styleBox.Render(touchPrompt(r.tokens[r.cursor].Serial, "it checks its root key")) + "\n")
			}
		}
	case mrNew:
		b.WriteString(r.nt.view(width))
	case mrDone:
		if r.st.root.fileKey {
			b.WriteString(warn("The trust dir's root key file signs the ceremony (its passphrase is checked\n  when it is first used).") + "\n")
		} else {
			b.WriteString(rootKeyReport(r.st))
			b.WriteString(ok("It is the root key of "+strings.Join(r.st.gunStrings(), ", ")) + "\n")
		}
		if r.st.targetsPass != "" {
			b.WriteString(ok("Targets key passphrase set") + "\n")
		}
		m := r.st.mnt
		switch {
		case m.newRoot != nil:
			made := "made"
			if !m.newRoot.Info.Made {
				made = "found (made on it earlier)"
			}
			fmt.Fprintf(&b, "%s\n  public key ID %s\n", ok(fmt.Sprintf("New root key %s on YubiKey %d, slot %s (%s)", made, m.newToken.Serial, m.newRoot.Info.Slot, m.newRoot.Info.Curve)), m.newRoot.Info.KeyID)
			if m.newRoot.Attestation != nil {
				b.WriteString(ok("Attestation verified: made on that token, cannot be exported") + "\n")
			}
			b.WriteString("\nPress enter to review the ceremony; c chooses the keys again.\n")
		case m.kind.needsNewToken():
			b.WriteString("\nPress enter to insert the new YubiKey and make its root key.\n")
		default:
			b.WriteString("\nPress enter to review the ceremony; c chooses another key.\n")
		}
	}
	return b.String()
}
