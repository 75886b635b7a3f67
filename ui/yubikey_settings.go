package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/yubikey"
)

// keySettings are the slot, curve and policies of the root key, chosen
// with left/right, and the PIN that unlocks the token.
type keySettings struct {
	slot, curve, pinPolicy, touch *choice
	row                           int       // the highlighted row: a choice, or the PIN after them
	pin                           *pinEntry // nil: the PIN just set unlocks the token
}

func newKeySettings() *keySettings {
	return &keySettings{
		slot:      &choice{label: "Slot", options: []string{"9c", "9a", "9d", "9e"}, notes: []string{"Digital Signature (notary's slot)", "PIV Authentication", "Key Management", "Card Authentication"}},
		curve:     &choice{label: "Curve", options: []string{"P-256", "P-384"}, notes: []string{"ECDSA, what docker and notary expect", "ECDSA, larger"}},
		pinPolicy: &choice{label: "PIN policy", options: []string{"once", "always", "never"}, notes: []string{"the PIN once per ceremony", "the PIN for every signature", "no PIN: whoever holds the token can sign"}},
		touch:     &choice{label: "Touch policy", options: []string{"always", "cached", "never"}, notes: []string{"a touch for every signature (recommended)", "one touch covers 15 seconds", "no touch: anyone with the PIN can sign"}},
	}
}

// choices are the rows chosen with left/right, in screen order.
func (k *keySettings) choices() []*choice { return []*choice{k.slot, k.curve, k.pinPolicy, k.touch} }

// onPIN says whether the PIN row is highlighted.
func (k *keySettings) onPIN() bool { return k.pin != nil && k.row == len(k.choices()) }

// rows counts the rows, the PIN's included.
func (k *keySettings) rows() int {
	if k.pin != nil {
		return len(k.choices()) + 1
	}
	return len(k.choices())
}

// choice is one setting chosen with left/right.
type choice struct {
	label   string
	options []string
	notes   []string
	i       int
}

func (c *choice) value() string { return c.options[c.i] }

// set chooses the option v, if it is one.
func (c *choice) set(v string) {
	for i, o := range c.options {
		if o == v {
			c.i = i
		}
	}
}

// key moves between the rows, changes the highlighted choice, or types
// into the PIN; a slot that holds a key keeps the curve and policies it
// was made with.
func (k *keySettings) key(msg tea.KeyMsg, token yubikey.Info) tea.Cmd {
	onPIN := k.onPIN()
	switch {
	case key.Matches(msg, keyDownText) && !(onPIN && k.pin.focus < len(k.pin.fields)-1):
		k.row = min(k.row+1, k.rows()-1)
	case key.Matches(msg, keyUpText) && !(onPIN && k.pin.focus > 0):
		k.row = max(k.row-1, 0)
	case !onPIN && (key.Matches(msg, keyLeft) || key.Matches(msg, keyRight)):
		if k.row > 0 && k.slotKey(token) != nil {
			return showError(fmt.Errorf("slot %s already holds a key: its curve and policies were fixed when it was made; choose an empty slot (the first row) for a new key with other settings", k.slot.value()))
		}
		c := k.choices()[k.row]
		step := 1
		if key.Matches(msg, keyLeft) {
			step = len(c.options) - 1
		}
		c.i = (c.i + step) % len(c.options)
		k.followSlot(token)
	case onPIN:
		return k.pin.update(msg)
	}
	if k.pin != nil {
		if k.onPIN() {
			return k.pin.focused().input.Focus()
		}
		k.pin.focused().input.Blur()
	}
	return nil
}

// slotKey is what the chosen slot of the token holds, if anything.
func (k *keySettings) slotKey(token yubikey.Info) *yubikey.SlotInfo {
	for _, s := range token.Slots {
		if s.Slot == k.slot.value() && (s.Key || s.Certificate != "") {
			return &s
		}
	}
	return nil
}

// followSlot shows the key already in the chosen slot with the curve and
// policies it was made with: those cannot change without a new key.
func (k *keySettings) followSlot(token yubikey.Info) {
	s := k.slotKey(token)
	if s == nil {
		return
	}
	k.curve.set(strings.TrimPrefix(s.Algorithm, "ECDSA "))
	k.pinPolicy.set(s.PINPolicy)
	k.touch.set(s.TouchPolicy)
}

// reusable says whether the slot's key is a root key made on the token,
// which dctwiz uses as it is, and if not, why not.
func reusable(s *yubikey.SlotInfo) (bool, string) {
	switch {
	case !s.Key:
		return false, "a certificate without a key"
	case isRootCert(s.Certificate) && s.Generated, s.Certificate == "" && s.Generated:
		return true, ""
	case isRootCert(s.Certificate):
		return false, "a root key that was imported, not made on the token: a copy may exist elsewhere"
	}
	return false, "another key (" + s.Algorithm + ", " + s.Certificate + ")"
}

// isRootCert says whether a slot certificate's subject has CN root, as the
// engine checks it (notary's convention).
func isRootCert(subject string) bool {
	for _, rdn := range strings.Split(subject, ",") {
		if strings.TrimSpace(rdn) == "CN=root" {
			return true
		}
	}
	return false
}

// view shows the rows, what the slot already holds, and the PIN.
func (k *keySettings) view(token yubikey.Info, width int) string {
	var b strings.Builder
	slot := k.slotKey(token)
	for i, c := range k.choices() {
		cur := gutter(i == k.row)
		if i > 0 && slot != nil {
			fmt.Fprintf(&b, "%s%s    %s    %s\n", cur, padRight(c.label, 12), padRight(c.value(), 6), styleDim.Render("as the key in the slot has it"))
			continue
		}
		fmt.Fprintf(&b, "%s%s  ‹ %s ›  %s\n", cur, padRight(c.label, 12), padRight(c.value(), 6), styleDim.Render(c.notes[c.i]))
	}
	if slot != nil {
		if ok, why := reusable(slot); ok {
			b.WriteString(warn(fmt.Sprintf("Slot %s already holds a root key made on this token: it is used as it is.", slot.Slot)) + "\n" +
				styleDim.Render("  Its curve and policies cannot change without a new key, which would orphan\n  the repositories it signs. For a new key, choose an empty slot.") + "\n")
		} else {
			b.WriteString(fail(fmt.Sprintf("Slot %s holds %s: the wizard never overwrites it; choose an empty slot.", slot.Slot, why)) + "\n")
		}
	}
	if k.pin == nil {
		b.WriteString(styleDim.Render("\n  The PIN you just set unlocks the token.") + "\n")
		return b.String()
	}
	v := k.pin.view(width)
	b.WriteString("\n" + gutter(k.onPIN()) + strings.TrimPrefix(strings.TrimPrefix(v, "  "), styleCursor.Render(markCursor)+" "))
	return b.String()
}
