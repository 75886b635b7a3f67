package ui

import (
	"errors"
	"fmt"

	"github.com/dctwiz/dctwiz/yubikey"
)

// The YubiKey screen's forms, each with its fields by name.

// prepareForm sets a factory-fresh token's PIN and PUK, each typed twice.
type prepareForm struct {
	*form
	pin, pinAgain, puk, pukAgain *field
}

func newPrepareForm() *prepareForm {
	p := &prepareForm{
		pin:      newField("New PIN", "6 to 8 ASCII characters", "", true, validatePIN),
		pinAgain: newField("PIN again", "", "", true, nil),
		puk:      newField("New PUK", "6 to 8 ASCII characters, unblocks the PIN", "", true, validatePUK),
		pukAgain: newField("PUK again", "", "", true, nil),
	}
	p.form = newForm(p.pin, p.pinAgain, p.puk, p.pukAgain)
	return p
}

// check returns the PIN and PUK, or what is wrong with them (and moves
// the focus to the first field in error).
func (p *prepareForm) check() (pin, puk string, err error) {
	if i, err := p.firstError(); err != nil {
		p.move(i - p.focus)
		return "", "", err
	}
	pin, puk = p.pin.input.Value(), p.puk.input.Value()
	switch {
	case pin != p.pinAgain.input.Value():
		return "", "", errors.New("the two PINs differ: type the same PIN twice")
	case puk != p.pukAgain.input.Value():
		return "", "", errors.New("the two PUKs differ: type the same PUK twice")
	}
	if err := yubikey.CheckPUKNotPIN(pin, puk); err != nil {
		return "", "", err
	}
	return pin, puk, nil
}

// pinEntry takes the PIN of a prepared token: twice when one try is left,
// so that a typo cannot block it.
type pinEntry struct {
	*form
	pin   *field
	again *field // nil unless this is the last try
}

func newPINEntry(triesLeft int) *pinEntry {
	e := &pinEntry{pin: newField("PIN", fmt.Sprintf("%d tries left", triesLeft), "", true, nil)}
	fields := []*field{e.pin}
	if triesLeft == 1 {
		e.again = newField("PIN again", "the last try: type it twice", "", true, nil)
		fields = append(fields, e.again)
	}
	e.form = newForm(fields...)
	e.pin.input.Blur()
	return e
}

// check returns the PIN, and whether the admin confirmed the last try.
func (e *pinEntry) check() (pin string, lastTry bool, err error) {
	pin = e.pin.input.Value()
	switch {
	case pin == "":
		return "", false, errors.New("type the YubiKey's PIN")
	case e.again == nil:
		return pin, false, nil
	case e.again.input.Value() != pin:
		return "", false, errors.New("the two PINs differ: with one try left, type the same PIN twice")
	}
	return pin, true, nil
}

// fileKeyForm takes the passphrase of a file root key, twice.
type fileKeyForm struct {
	*form
	pass, again *field
}

func newFileKeyForm() *fileKeyForm {
	f := &fileKeyForm{
		pass:  newField("Root passphrase", "at least 8 characters", "", true, validatePassphrase),
		again: newField("Again", "the same passphrase", "", true, nil),
	}
	f.form = newForm(f.pass, f.again)
	return f
}

// check returns the passphrase, or what is wrong with it.
func (f *fileKeyForm) check() (string, error) {
	if _, err := f.pass.check(); err != nil {
		return "", err
	}
	if f.pass.input.Value() != f.again.input.Value() {
		return "", errors.New("the two passphrases differ: type the same passphrase twice")
	}
	return f.pass.input.Value(), nil
}

func validatePIN(s string) (string, error) {
	if err := yubikey.CheckPIN(s); err != nil {
		return "", err
	}
	return "", nil
}

func validatePUK(s string) (string, error) { return "", yubikey.CheckPUK(s) }
