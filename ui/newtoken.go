package ui

import (
	"context"
	"crypto/elliptic"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
)

// newToken brings a second YubiKey in: on the maintenance Root key screen
// (the root moved to it, or a backup added), and on setup's YubiKey screen
// (a backup made at setup):
// insert the new token, prepare it if it is factory-fresh, make the root
// key on it (or find the one made on it before) and verify its
// attestation. The current root key has been opened first.
type newToken struct {
	st      *state
	phase   ntPhase
	tokens  []yubikey.Info // the tokens connected, the current one left out
	scanErr error
	cursor  int
	prepare *prepareForm
	pin     *pinEntry
	// preparedPIN is the PIN set by preparing the token here: the key is
	// then made without asking it again.
	preparedPIN string
	touching    bool
	// what the new token becomes, for its screen ("the root moves to",
	// "becomes the backup"), and where its key goes once made.
	role string
	made func(RootKeyResult, yubikey.Info)
}

type ntPhase int

const (
	ntScanning ntPhase = iota
	ntList
	ntPrepare
	ntPIN
	ntWorking
)

type (
	newTokensMsg struct {
		list []yubikey.Info
		err  error
	}
	newPreparedMsg struct{ err error }
	newMadeMsg     struct {
		res RootKeyResult
		err error
	}
)

// newNewToken is the maintenance path's new token.
func newNewToken(st *state) *newToken {
	role := "the root moves to"
	if st.mnt.kind == mAddBackup {
		role = "that becomes the backup"
	}
	return &newToken{st: st, role: role, made: func(res RootKeyResult, t yubikey.Info) {
		st.mnt.newRoot, st.mnt.newToken = &res, t
	}}
}

func (n *newToken) scan() tea.Cmd {
	n.phase, n.scanErr = ntScanning, nil
	b := n.st.backend
	return n.st.look(func() tea.Msg {
		list, err := b.FreeTokens()
		return newTokensMsg{list, err}
	})
}

func (n *newToken) typing() bool { return n.phase == ntPrepare || n.phase == ntPIN }

func (n *newToken) keys() keyMap {
	switch n.phase {
	case ntList:
		return bindings(false, keyMakeRoot, keyUpDown, keyRescan, keyBack)
	case ntPrepare:
		return bindings(true, keySetPIN, keyDownText, keyBack)
	case ntPIN:
		return bindings(true, keyMakeRoot, keyBack)
	}
	return bindings(false)
}

// update handles the new token's messages and keys; finished says the
// step ended: the new root key made (or found) and verified, or esc.
func (n *newToken) update(msg tea.Msg) (cmd tea.Cmd, finished bool) {
	switch msg := msg.(type) {
	case newTokensMsg:
		cur := n.st.root.token.Serial
		n.tokens, n.scanErr, n.phase = nil, msg.err, ntList
		for _, t := range msg.list {
			if t.Serial != cur {
				n.tokens = append(n.tokens, t)
			}
		}
		n.cursor = min(n.cursor, max(len(n.tokens)-1, 0))
		return nil, false
	case newPreparedMsg:
		if msg.err != nil {
			n.phase = ntPrepare
			return showError(msg.err), false
		}
		n.preparedPIN = n.prepare.pin.input.Value()
		n.prepare = nil
		return n.make(n.preparedPIN, false), false
	case touchMsg:
		n.touching = true
		return nil, false
	case newMadeMsg:
		n.touching = false
		if msg.err != nil {
			n.phase = ntList
			return tea.Batch(showError(msg.err), n.scan()), false
		}
		n.made(msg.res, n.tokens[n.cursor])
		return nil, true
	case tea.KeyMsg:
		return n.key(msg)
	}
	switch n.phase {
	case ntPrepare:
		return n.prepare.update(msg), false
	case ntPIN:
		return n.pin.update(msg), false
	}
	return nil, false
}

func (n *newToken) key(msg tea.KeyMsg) (tea.Cmd, bool) {
	switch n.phase {
	case ntList:
		if cur, moved := moveCursor(msg, n.cursor, len(n.tokens)); moved {
			n.cursor = cur
			return nil, false
		}
		switch {
		case key.Matches(msg, keyBack):
			return nil, true
		case key.Matches(msg, keyRescan):
			return n.scan(), false
		case key.Matches(msg, keyNext):
			if len(n.tokens) == 0 {
				return showError(errors.New("no other YubiKey found: insert the new one and press r")), false
			}
			t := n.tokens[n.cursor]
			switch {
			case t.Problem != "":
				return showError(fmt.Errorf("YubiKey %d cannot be used: %s", t.Serial, t.Problem)), false
			case t.FactoryDefaults():
				n.prepare, n.phase = newPrepareForm(), ntPrepare
				return n.prepare.focused().input.Focus(), false
			}
			n.pin, n.phase = newPINEntry(t.PINTriesLeft), ntPIN
			return n.pin.pin.input.Focus(), false
		}
	case ntPrepare:
		switch {
		case key.Matches(msg, keyBack):
			n.phase = ntList
			return nil, false
		case key.Matches(msg, keyNext):
			pin, puk, err := n.prepare.check()
			if err != nil {
				return showError(err), false
			}
			n.phase = ntWorking
			serial, b := n.tokens[n.cursor].Serial, n.st.backend
			return n.st.work(func() tea.Msg { return newPreparedMsg{b.PrepareToken(serial, pin, puk)} }), false
		}
		return n.prepare.update(msg), false
	case ntPIN:
		switch {
		case key.Matches(msg, keyBack):
			n.phase = ntList
			return nil, false
		case key.Matches(msg, keyNext):
			pin, lastTry, err := n.pin.check()
			if err != nil {
				return showError(err), false
			}
			return n.make(pin, lastTry), false
		}
		return n.pin.update(msg), false
	}
	return nil, false
}

// make makes the root key on the new token (slot 9c, the setup's
// defaults), or finds the one made on it before, and verifies its attestation.
func (n *newToken) make(pin string, lastTry bool) tea.Cmd {
	st := n.st
	serial := n.tokens[n.cursor].Serial
	opts := trust.YubiKeyRootOptions{Serial: serial, Slot: yubikey.SlotSignature, PIN: pin, AllowLastTry: lastTry,
		Curve: elliptic.P256(), PINPolicy: trust.DefaultYubiKeyPINPolicy, TouchPolicy: trust.DefaultYubiKeyTouchPolicy,
		AttestationRoots: st.cfg.AttestationRoots, OnTouch: func() { st.send(touchMsg{serial}) }}
	n.phase = ntWorking
	return st.work(func() tea.Msg {
		ctx, cancel := context.WithTimeout(st.ctx, 60*time.Second)
		defer cancel()
		res, err := st.backend.YubiKeyRoot(ctx, opts)
		return newMadeMsg{res, err}
	})
}

// route hands msg to the step when it is the step's: its commands'
// answers whatever shows (n may be nil: then they are dropped), and every
// other message while it shows. handled says the screen is done with msg;
// finished says the step ended (its key made, or left with esc).
func (n *newToken) route(msg tea.Msg, showing bool) (cmd tea.Cmd, handled, finished bool) {
	switch msg.(type) {
	case newTokensMsg, newPreparedMsg, newMadeMsg:
		if n == nil {
			return nil, true, false
		}
	default:
		if !showing {
			return nil, false, false
		}
	}
	cmd, finished = n.update(msg)
	return cmd, true, finished
}

func (n *newToken) view(width int) string {
	var b strings.Builder
	what := n.role
	switch n.phase {
	case ntScanning:
		b.WriteString("{spinner} looking for the new YubiKey ...\n")
	case ntList:
		fmt.Fprintf(&b, "Now insert the new YubiKey, the one %s, beside the current one, and choose it:\n\n", what)
		if len(n.tokens) == 0 {
			msg := "no other YubiKey found"
			if n.scanErr != nil && !errors.Is(n.scanErr, yubikey.ErrNoToken) {
				msg = errorText(n.scanErr)
			}
			b.WriteString(fail(msg) + "\n    fix: insert the new YubiKey (a second reader, or a USB port) and press r\n")
		}
		for i, t := range n.tokens {
			state := fmt.Sprintf("PIN tries left %d", t.PINTriesLeft)
			if t.FactoryDefaults() {
				state += ", factory-fresh"
			}
			fmt.Fprintf(&b, "%sYubiKey %d, firmware %s, %s\n", gutter(i == n.cursor), t.Serial, t.Firmware, state)
		}
	case ntPrepare:
		fmt.Fprintf(&b, "YubiKey %d still has its factory PIN, PUK and management key. Set its own\nPIN and PUK (each typed twice); a random management key is stored on it.\n\n", n.tokens[n.cursor].Serial)
		b.WriteString(n.prepare.view(width))
	case ntPIN:
		fmt.Fprintf(&b, "YubiKey %d: its PIN, to make the new root key on it (slot 9c).\n\n", n.tokens[n.cursor].Serial)
		b.WriteString(n.pin.view(width))
	case ntWorking:
		b.WriteString("{spinner} preparing the YubiKey and making the root key on it ...\n")
		if n.touching {
			b.WriteString(styleBox.Render(touchPrompt(n.tokens[n.cursor].Serial, "the new root key is being made on it")) + "\n")
		}
	}
	return b.String()
}
