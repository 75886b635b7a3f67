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
	weak weakGuard
}

func newTargetsKey(st *state) *targetsKey {
	return &targetsKey{st: st, form: newForm(
		newField("Passphrase", "at least 8 characters; a few words work well", "", true, validatePassphrase),
		newField("Again", "the same passphrase", "", true, nil),
	)}
}

func (t *targetsKey) title() string { return "Targets key" }
func (t *targetsKey) typing() bool  { return true }
func (t *targetsKey) keys() keyMap  { return bindings(true, keyNext, keyDownText, keyBack) }
func (t *targetsKey) explain() string {
	return `The targets key signs the repository's list of signers (targets.json and
the delegations). It is made in the trust dir, encrypted with this
passphrase, used while the signers are added and the test tag is signed,
and then deleted. The passphrase is held in memory only, never written.
A passphrase has at least 8 characters; a few unrelated words are strong
and easy to type. A weak one is taken only after a second enter.`
}

// enter shows the passphrase chosen so far (masked) on a revisit, so
// that enter keeps it and esc goes back with nothing lost.
func (t *targetsKey) enter() tea.Cmd {
	for _, f := range t.form.fields {
		f.input.SetValue(t.st.targetsPass)
		f.input.CursorEnd()
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
			if err := t.weak.check(f[0].input.Value()); err != nil {
				return showError(err)
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

// weakGuard takes a weak passphrase only when enter is pressed twice on it.
type weakGuard struct{ warned string }

func (w *weakGuard) check(pass string) error {
	if !isWeak(pass) || w.warned == pass {
		return nil
	}
	w.warned = pass
	return errors.New("this passphrase is weak (short, few kinds of characters): press enter again to use it anyway, or type a longer one, e.g. four unrelated words")
}

// isWeak is strengthHint's "weak".
func isWeak(p string) bool {
	n, classes, words := passphraseTraits(p)
	return n >= trust.MinPassphraseLength && !(n >= 20 && (classes >= 2 || words >= 4)) && !(n >= 12 && classes >= 3) && n < 16
}

// passphraseTraits counts characters, character classes and words.
func passphraseTraits(p string) (n, classes, words int) {
	for _, is := range []func(rune) bool{unicode.IsLower, unicode.IsUpper, unicode.IsDigit, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}} {
		if strings.IndexFunc(p, is) >= 0 {
			classes++
		}
	}
	words = len(strings.FieldsFunc(p, func(r rune) bool { return r == ' ' || r == '-' }))
	return len([]rune(p)), classes, words
}

func validatePassphrase(s string) (string, error) {
	if len([]rune(s)) < trust.MinPassphraseLength {
		return "", fmt.Errorf("a passphrase has at least %d characters", trust.MinPassphraseLength)
	}
	return "", nil
}

// strengthHint estimates a passphrase's strength from its length and
// character classes: a hint, not a promise.
func strengthHint(p string) string {
	n, classes, words := passphraseTraits(p)
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
