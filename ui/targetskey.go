package ui

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/trust"
)

// targetsKey collects the passphrase of the new targets key, twice.
type targetsKey struct {
	st   *state
	form *form
}

func newTargetsKey(st *state) *targetsKey {
	return &targetsKey{st: st, form: newForm(
		newField("Passphrase", "at least 8 characters; a few words work well", "", true, validatePassphrase),
		newField("Again", "the same passphrase", "", true, nil),
	)}
}

func (t *targetsKey) title() string { return "Targets key" }
func (t *targetsKey) typing() bool  { return true }
func (t *targetsKey) busy() bool    { return false }
func (t *targetsKey) keys() keyMap  { return bindings(true, keyNext, keyDownText, keyBack) }

// enter starts with empty fields: a revisit types the passphrase anew.
func (t *targetsKey) enter() tea.Cmd {
	for _, f := range t.form.fields {
		f.input.Reset()
	}
	t.form.move(-t.form.focus)
	return t.form.focused().input.Focus()
}

func (t *targetsKey) update(msg tea.Msg) tea.Cmd {
	if k, isKey := msg.(tea.KeyMsg); isKey {
		switch {
		case key.Matches(k, keyBack):
			return back
		case key.Matches(k, keyNext):
			if t.form.focus == 0 {
				t.form.move(1)
				return nil
			}
			f := t.form.fields
			if _, err := f[0].check(); err != nil {
				t.form.move(-t.form.focus)
				return showError(err)
			}
			if f[0].input.Value() != f[1].input.Value() {
				return showError(errors.New("the two passphrases differ: type the same passphrase twice"))
			}
			t.st.targetsPass = f[0].input.Value()
			return next
		}
	}
	return t.form.update(msg)
}

func (t *targetsKey) view(width int) string {
	var b strings.Builder
	b.WriteString(`The targets key signs the repository's list of signers. It is made in the
trust dir, encrypted with this passphrase, and deleted at the end of the
ceremony, once the signers can sign. Changing the signers later takes a
new targets key, which the root key on the YubiKey authorises.

`)
	b.WriteString(t.form.view(width))
	pass := t.form.fields[0].input.Value()
	if pass != "" {
		b.WriteString("\n  strength: " + strengthHint(pass) + "\n")
	}
	if again := t.form.fields[1].input.Value(); again != "" {
		if again == pass {
			b.WriteString("  " + ok("the two passphrases match") + "\n")
		} else if !strings.HasPrefix(pass, again) {
			b.WriteString("  " + fail("the two passphrases differ") + "\n")
		}
	}
	return b.String()
}

func validatePassphrase(s string) (string, error) {
	if len(s) < trust.MinPassphraseLength {
		return "", fmt.Errorf("a passphrase has at least %d characters", trust.MinPassphraseLength)
	}
	return "", nil
}

// strengthHint estimates a passphrase's strength from its length and
// character classes: a hint, not a promise.
func strengthHint(p string) string {
	classes := 0
	for _, is := range []func(rune) bool{unicode.IsLower, unicode.IsUpper, unicode.IsDigit, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}} {
		if strings.IndexFunc(p, is) >= 0 {
			classes++
		}
	}
	words := len(strings.FieldsFunc(p, func(r rune) bool { return r == ' ' || r == '-' }))
	n := len([]rune(p))
	switch {
	case n < trust.MinPassphraseLength:
		return fail(fmt.Sprintf("too short (%d of at least %d characters)", n, trust.MinPassphraseLength))
	case n >= 20 && (classes >= 2 || words >= 4):
		return ok("strong")
	case n >= 12 && classes >= 3, n >= 16:
		return ok("good")
	default:
		return warn("weak: longer is better, e.g. four unrelated words")
	}
}
