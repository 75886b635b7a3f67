package ui

import (
	"crypto/elliptic"
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
)

// yubikeyScreen picks the token, prepares a factory-fresh one, chooses
// the slot and policies, and makes the root key on it; or, behind a
// warning, chooses a file root key instead.
type yubikeyScreen struct {
	st     *state
	phase  ykPhase
	tokens []yubikey.Info
	err    error
	cursor int

	prepare     *prepareForm // a factory-fresh token's new PIN and PUK
	settings    *keySettings // the slot, curve, policies and PIN
	fileKey     *fileKeyForm // a file root key's passphrase, behind a warning
	weak        weakGuard
	newPIN      string // the PIN just set by preparing the token ...
	newPINOf    uint32 // ... with this serial
	touching    bool
	touchSerial uint32 // the token that waits
	// resume: after a rescan (a wrong PIN), back to this token's settings.
	resume uint32
	// backup brings a second token in for a backup root key (b).
	backup *newToken
}

type ykPhase int

const (
	ykNew ykPhase = iota // not visited yet: nothing runs
	ykScanning
	ykList
	ykPreparing
	ykPrepareForm
	ykSettings
	ykCreating
	ykDone
	ykBackup // a second token for a backup root key
	ykFileWarning
)

type (
	tokensMsg struct {
		list []yubikey.Info
		err  error
	}
	preparedMsg struct{ err error }
	createdMsg  struct {
		res RootKeyResult
		err error
	}
	// touchMsg: a token waits to be touched before it signs.
	touchMsg struct{ serial uint32 }
)

func newYubiKey(st *state) *yubikeyScreen {
	return &yubikeyScreen{st: st, settings: newKeySettings()}
}

func (y *yubikeyScreen) title() string { return "YubiKey" }
func (y *yubikeyScreen) explain() string {
	return `The root key is the repository's anchor: whoever holds it can replace every
other key. It is made on a YubiKey through its PIV application and never
leaves it. Slot 9c (Digital Signature) is where notary keeps root keys.

A new YubiKey still has its factory PIN (123456), PUK (12345678) and
management key: preparing it sets your own PIN and PUK (6 to 8 ASCII
characters each; the PUK unblocks a blocked PIN) and a random management
key kept on the token behind the PIN. Three wrong PINs block the PIN.

PIN policy: "once" asks for the PIN once per ceremony, "always" before every
signature. Touch policy: "always" needs a finger on the key for every
signature, so nobody signs remotely. The attestation is a certificate chain
from Yubico's CA proving the key was generated on this token and cannot be
exported. A file root key (f) is only for rehearsals.`
}
func (y *yubikeyScreen) typing() bool {
	if y.phase == ykBackup {
		return y.backup.typing()
	}
	return y.phase == ykPrepareForm || y.phase == ykFileWarning || (y.phase == ykSettings && y.settings.onPIN())
}

func (y *yubikeyScreen) keys() keyMap {
	switch y.phase {
	case ykList:
		return bindings(false, keyNext, keyUp, keyDown, keyRetry, keyFileKey, keyBack)
	case ykPrepareForm:
		return bindings(true, keySetPIN, keyDownText, keyBack)
	case ykFileWarning:
		return bindings(true, keyNext, keyDownText, keyBack)
	case ykSettings:
		return bindings(y.typing(), keyMakeRoot, keyLeft, keyUpText, keyDownText, keyBack)
	case ykDone:
		if !y.st.root.fileKey && y.st.backup == nil {
			return bindings(false, keyNext, keyAddBackup, keyChooseAgain, keyBack)
		}
		return bindings(false, keyNext, keyChooseAgain, keyBack)
	case ykBackup:
		return y.backup.keys()
	}
	return bindings(false)
}

func (y *yubikeyScreen) enter() tea.Cmd {
	if y.st.root.ready() {
		y.phase = ykDone
		return nil
	}
	if y.phase == ykNew || y.phase == ykList {
		return y.scan()
	}
	return nil
}

func (y *yubikeyScreen) scan() tea.Cmd {
	y.phase, y.err = ykScanning, nil
	b := y.st.backend
	return y.st.look(func() tea.Msg {
		list, err := b.Tokens()
		return tokensMsg{list, err}
	})
}

func (y *yubikeyScreen) chosen() yubikey.Info { return y.tokens[y.cursor] }

func (y *yubikeyScreen) update(msg tea.Msg) tea.Cmd {
	if cmd, handled, finished := y.backup.route(msg, y.phase == ykBackup); handled {
		if finished && y.phase == ykBackup {
			y.phase = ykDone
		}
		return cmd
	}
	switch msg := msg.(type) {
	case tokensMsg:
		y.tokens, y.err, y.phase = msg.list, msg.err, ykList
		y.cursor = min(y.cursor, max(len(y.tokens)-1, 0))
		if y.resume != 0 {
			for i, t := range y.tokens {
				if t.Serial == y.resume && t.Problem == "" && !t.FactoryDefaults() {
					y.cursor = i
					y.startSettings()
				}
			}
			y.resume = 0
		}
		return nil
	case preparedMsg:
		if msg.err != nil {
			y.phase = ykPrepareForm
			return showError(msg.err)
		}
		y.newPIN, y.newPINOf = y.prepare.pin.input.Value(), y.chosen().Serial
		y.prepare = nil
		y.tokens[y.cursor].DefaultPIN, y.tokens[y.cursor].DefaultPUK, y.tokens[y.cursor].DefaultMgmt = false, false, false
		y.startSettings()
		return nil
	case touchMsg:
		y.touching, y.touchSerial = true, msg.serial
		return nil
	case createdMsg:
		y.touching = false
		if msg.err != nil {
			y.phase = ykSettings
			if errors.Is(msg.err, trust.ErrWrongPIN) || errors.Is(msg.err, trust.ErrPINBlocked) {
				// A wrong PIN is never sent again: type it anew, with the
				// tries left read from the token again.
				y.resume = y.chosen().Serial
				if y.newPINOf == y.resume {
					y.newPIN, y.newPINOf = "", 0
				}
				return tea.Batch(showError(msg.err), y.scan())
			}
			return showError(msg.err)
		}
		r := &y.st.root
		r.key, r.info, r.attestation = msg.res.Key, msg.res.Info, msg.res.Attestation
		r.slot = msg.res.Info.Slot
		r.closer = closerFunc(msg.res.Close)
		y.phase = ykDone
		return nil
	case tea.KeyMsg:
		cmd := y.key(msg)
		y.note()
		return cmd
	}
	return y.forward(msg)
}

// forward hands other messages (cursor blinks) to the active form.
func (y *yubikeyScreen) forward(msg tea.Msg) tea.Cmd {
	switch {
	case y.phase == ykPrepareForm:
		return y.prepare.update(msg)
	case y.phase == ykFileWarning:
		return y.fileKey.update(msg)
	case y.phase == ykSettings && y.settings.pin != nil:
		return y.settings.pin.update(msg)
	}
	return nil
}

func (y *yubikeyScreen) key(msg tea.KeyMsg) tea.Cmd {
	switch y.phase {
	case ykList:
		var moved bool
		if y.cursor, moved = moveCursor(msg, y.cursor, len(y.tokens)); moved {
			return nil
		}
		switch {
		case key.Matches(msg, keyRetry):
			return y.scan()
		case key.Matches(msg, keyFileKey):
			y.phase = ykFileWarning
			y.fileKey = newFileKeyForm()
			return y.fileKey.focused().input.Focus()
		case key.Matches(msg, keyBack):
			return back
		case key.Matches(msg, keyNext):
			return y.choose()
		}
	case ykPrepareForm:
		switch {
		case key.Matches(msg, keyBack):
			y.phase = ykList
			return nil
		case key.Matches(msg, keyNext):
			return y.runPrepare()
		}
		return y.prepare.update(msg)
	case ykSettings:
		return y.settingsKey(msg)
	case ykDone:
		switch {
		case key.Matches(msg, keyAddBackup) && !y.st.root.fileKey && y.st.backup == nil:
			st := y.st
			y.backup = &newToken{st: st, role: "that becomes the backup (keep it in another safe)", made: func(res RootKeyResult, t yubikey.Info) {
				st.backup, st.backupToken = &res, t
			}}
			y.phase = ykBackup
			return y.backup.scan()
		case key.Matches(msg, keyNext):
			return next
		case key.Matches(msg, keyBack):
			return back
		case key.Matches(msg, keyChooseAgain):
			// Another token, slot or a file key: release this one first.
			if c := y.st.root.closer; c != nil {
				c.Close()
			}
			if b := y.st.backup; b != nil && b.Close != nil {
				b.Close()
			}
			y.st.root, y.st.backup = rootChoice{}, nil
			y.newPIN, y.newPINOf = "", 0
			return y.scan()
		}
	case ykFileWarning:
		switch {
		case key.Matches(msg, keyBack):
			y.phase = ykList
			return nil
		case key.Matches(msg, keyNext):
			return y.acceptFileKey()
		}
		return y.fileKey.update(msg)
	}
	return nil
}

// choose takes the highlighted token: prepare it if it is factory-fresh.
func (y *yubikeyScreen) choose() tea.Cmd {
	if len(y.tokens) == 0 {
		return showError(errors.New("no YubiKey to choose: insert one and press r"))
	}
	t := y.chosen()
	if t.Problem != "" {
		return showError(fmt.Errorf("YubiKey %d cannot hold the root key: %s", t.Serial, t.Problem))
	}
	if t.FactoryDefaults() {
		y.phase = ykPrepareForm
		y.prepare = newPrepareForm()
		return y.prepare.focused().input.Focus()
	}
	y.startSettings()
	if y.settings.pin == nil {
		return nil
	}
	return y.settings.pin.focused().input.Focus()
}

func (y *yubikeyScreen) runPrepare() tea.Cmd {
	pin, puk, err := y.prepare.check()
	if err != nil {
		return showError(err)
	}
	y.phase = ykPreparing
	b, serial := y.st.backend, y.chosen().Serial
	return y.st.work(func() tea.Msg { return preparedMsg{b.PrepareToken(serial, pin, puk)} })
}

func (y *yubikeyScreen) startSettings() {
	y.phase, y.settings.row = ykSettings, 0
	y.settings.followSlot(y.chosen())
	defer y.note()
	y.settings.pin = nil
	if y.newPIN == "" || y.newPINOf != y.chosen().Serial {
		y.settings.pin = newPINEntry(y.chosen().PINTriesLeft)
	}
}

func (y *yubikeyScreen) settingsKey(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, keyBack):
		y.phase = ykList
		return nil
	case key.Matches(msg, keyNext):
		return y.create()
	}
	return y.settings.key(msg, y.chosen())
}

// create makes the root key on the token, in a command; the token asks
// for touches through the state's event channel.
func (y *yubikeyScreen) create() tea.Cmd {
	if s := y.settings.slotKey(y.chosen()); s != nil {
		if ok, why := reusable(s); !ok {
			return showError(fmt.Errorf("slot %s holds %s: the wizard never overwrites a key; choose an empty slot", s.Slot, why))
		}
	}
	pin := ""
	if y.newPINOf == y.chosen().Serial {
		pin = y.newPIN
	}
	lastTry := false
	if s := y.settings; s.pin != nil {
		var err error
		if pin, lastTry, err = s.pin.check(); err != nil {
			s.row = len(s.choices())
			return tea.Batch(s.pin.focused().input.Focus(), showError(err))
		}
	}
	set := y.settings
	slot, _ := yubikey.ParseSlot(set.slot.value())
	pinPolicy, _ := yubikey.ParsePINPolicy(set.pinPolicy.value())
	touch, _ := yubikey.ParseTouchPolicy(set.touch.value())
	curve := elliptic.P256()
	if set.curve.value() == "P-384" {
		curve = elliptic.P384()
	}
	st := y.st
	r := &st.root
	r.fileKey, r.token, r.slot = false, y.chosen(), set.slot.value()
	serial := r.token.Serial
	opts := trust.YubiKeyRootOptions{Serial: r.token.Serial, Slot: slot, PIN: pin, Curve: curve, PINPolicy: pinPolicy,
		TouchPolicy: touch, AllowLastTry: lastTry, AttestationRoots: st.cfg.AttestationRoots,
		OnTouch: func() { st.send(touchMsg{serial}) }}
	y.phase = ykCreating
	return st.work(func() tea.Msg {
		res, err := st.backend.YubiKeyRoot(st.ctx, opts)
		return createdMsg{res, err}
	})
}

func (y *yubikeyScreen) acceptFileKey() tea.Cmd {
	pass, err := y.fileKey.check()
	if err != nil {
		return showError(err)
	}
	if err := y.weak.check(pass); err != nil {
		return showError(err)
	}
	y.st.root = rootChoice{fileKey: true, filePass: pass, key: trust.FileRootKey("")}
	y.phase = ykDone
	return next
}

// note keeps the token and settings chosen so far, for the commands that
// continue headless after a quit.
func (y *yubikeyScreen) note() {
	if (y.phase != ykSettings && y.phase != ykCreating) || len(y.tokens) == 0 {
		return
	}
	s := y.settings
	y.st.chosen = tokenChoice{serial: y.chosen().Serial, slot: s.slot.value(), curve: s.curve.value(),
		pin: s.pinPolicy.value(), touch: s.touch.value()}
}

func (y *yubikeyScreen) view(width int) string {
	var b strings.Builder
	switch y.phase {
	case ykScanning:
		b.WriteString("{spinner} looking for YubiKeys ...\n")
	case ykList:
		b.WriteString("The root key is made on a YubiKey and never leaves it. Choose the token:\n\n")
		b.WriteString(y.tokenList())
	case ykPrepareForm, ykPreparing:
		t := y.chosen()
		fmt.Fprintf(&b, "YubiKey %d still has its factory PIN, PUK or management key: anyone\ncould use it. Set your own PIN and PUK; dctwiz also sets a random\nmanagement key, stored on the token behind the PIN.\n\n", t.Serial)
		b.WriteString(y.prepare.view(width))
		b.WriteString(styleDim.Render("\nKeep the PUK apart from the PIN: it unblocks a blocked PIN.") + "\n")
		if y.phase == ykPreparing {
			b.WriteString("\n{spinner} preparing the YubiKey ...\n")
		}
	case ykSettings, ykCreating:
		t := y.chosen()
		fmt.Fprintf(&b, "YubiKey %d, firmware %s, PIN tries left: %d\n\n", t.Serial, t.Firmware, t.PINTriesLeft)
		b.WriteString(y.settings.view(t, width))
		if y.phase == ykCreating {
			b.WriteString("\n{spinner} making the root key on the YubiKey ...\n")
			if y.touching {
				b.WriteString(styleBox.Render(touchPrompt(y.touchSerial, "its light is blinking")) + "\n")
			}
		}
	case ykBackup:
		b.WriteString(y.backup.view(width))
	case ykDone:
		b.WriteString(rootKeyReport(y.st))
		if bk := y.st.backup; bk != nil {
			fmt.Fprintf(&b, "%s\n  public key ID %s\n", ok(fmt.Sprintf("Backup root key made on YubiKey %d, slot %s (%s), attested", y.st.backupToken.Serial, bk.Info.Slot, bk.Info.Curve)), bk.Info.KeyID)
			b.WriteString("  the root role names both keys: either token alone can sign later\n")
		} else if !y.st.root.fileKey {
			b.WriteString(styleDim.Render("\nb adds a backup root key on a second YubiKey (recommended: one lost token\nthen does not lock the repository; keep the two in different safes).") + "\n")
		}
	case ykFileWarning:
		b.WriteString(styleBox.Width(min(width-2, 76)).Render(styleFail.Render("WARNING: a file root key is not what this ceremony is for.")+`
The root key controls the repository for years. In a file it can be
copied with its passphrase, and nobody would know. Use it only to
rehearse, or where no YubiKey can be had; keep the file offline.`) + "\n\n")
		b.WriteString(y.fileKey.view(width))
	}
	return b.String()
}

func (y *yubikeyScreen) tokenList() string {
	var b strings.Builder
	if len(y.tokens) == 0 {
		msg := "no YubiKey found"
		if y.err != nil && !errors.Is(y.err, yubikey.ErrNoToken) {
			msg = errorText(y.err)
		}
		b.WriteString(fail(msg) + "\n    fix: insert the YubiKey (is pcscd running?) and press r\n")
		if y.st.cfg.Sandbox {
			b.WriteString("\nSANDBOX: the virtual YubiKey needs pcscd, which needs root. Press f to\nrehearse with a file root key instead.\n")
		}
		return b.String()
	}
	for i, t := range y.tokens {
		cur := gutter(i == y.cursor)
		state := fmt.Sprintf("PIN tries left %d", t.PINTriesLeft)
		switch {
		case t.Problem != "":
			state = styleFail.Render("unusable: " + t.Problem)
		case t.FactoryDefaults():
			state += ", " + styleWarn.Render("factory PIN/PUK/management key: to prepare")
		default:
			state += ", prepared"
		}
		fmt.Fprintf(&b, "%sYubiKey %d, firmware %s\n     %s\n", cur, t.Serial, t.Firmware, state)
		for _, s := range t.Slots {
			if s.Key {
				fmt.Fprintf(&b, "     slot %s: %s key %s\n", s.Slot, s.Algorithm, s.Certificate)
			}
		}
	}
	return b.String()
}

// rootKeyReport says where the root key is and what its attestation proved.
func rootKeyReport(st *state) string {
	r := st.root
	if r.fileKey {
		return warn("The root key will be a passphrase-protected file in the trust dir\n  "+st.trustDirShown()) + "\n  (made when the repository is first published).\n"
	}
	var b strings.Builder
	if r.info.Made {
		b.WriteString(ok(fmt.Sprintf("Root key made on YubiKey %d, slot %s (ECDSA %s)", r.info.Serial, r.info.Slot, r.info.Curve)) + "\n")
	} else {
		b.WriteString(ok(fmt.Sprintf("Root key found on YubiKey %d, slot %s (ECDSA %s), made there earlier", r.info.Serial, r.info.Slot, r.info.Curve)) + "\n")
	}
	fmt.Fprintf(&b, "  public key ID %s\n", r.info.KeyID)
	fmt.Fprintf(&b, "  PIN policy %s, touch policy %s (as the token has them)\n", r.info.PINPolicy, r.info.TouchPolicy)
	if r.attestation != nil {
		roots := "Yubico's PIV root CA"
		if st.cfg.AttestationCA != "" {
			roots = st.cfg.AttestationCA
		}
		b.WriteString(ok("Attestation verified: the key was generated on this token and cannot be\n  exported") + "\n")
		fmt.Fprintf(&b, "  device certificate: %s\n  verified against: %s\n", r.attestation.DeviceCert.Subject.CommonName, roots)
	}
	return b.String()
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// touchPrompt asks for a touch, naming the token that waits: a root
// ceremony can have two tokens inserted.
func touchPrompt(serial uint32, why string) string {
	if serial == 0 {
		return "Touch your YubiKey now: " + why + "."
	}
	return fmt.Sprintf("Touch YubiKey %d now: %s.", serial, why)
}
