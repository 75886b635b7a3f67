package yubikey

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ebfe/scard"
)

// credentialMetadata is what GET METADATA says of the PIN, the PUK and the
// management key (firmware 5.3 and later) without any PIN: whether each
// is still the factory one, and the PUK tries left.
type credentialMetadata struct {
	serial                              uint32
	pinDefault, pukDefault, mgmtDefault bool
	pukLeft                             int // -1: not known
	pinMax                              int // the PIN's try counter when full
	mgmtAlgorithm                       string
}

// readCredentialMetadata asks the reader's card directly over PC/SC: piv-go has no
// call for these objects and holds the card exclusively while open, so
// this runs before piv-go opens it.
func readCredentialMetadata(reader string) (credentialMetadata, error) {
	md := credentialMetadata{pukLeft: -1, pinMax: 3}
	ctx, err := scard.EstablishContext()
	if err != nil {
		return md, err
	}
	defer ctx.Release()
	card, err := ctx.Connect(reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		return md, err
	}
	defer card.Disconnect(scard.LeaveCard)
	if _, err := apdu(card, []byte{0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08}); err != nil {
		return md, fmt.Errorf("%w: %v", errNoPIV, err)
	}
	serial, err := apdu(card, []byte{0x00, 0xf8, 0x00, 0x00, 0x00})
	if err != nil || len(serial) != 4 {
		return md, fmt.Errorf("reading the serial: %v (firmware before 5?)", err)
	}
	md.serial = uint32(serial[0])<<24 | uint32(serial[1])<<16 | uint32(serial[2])<<8 | uint32(serial[3])
	for _, ref := range []byte{0x80, 0x81, 0x9b} {
		resp, err := apdu(card, []byte{0x00, 0xf7, 0x00, ref, 0x00})
		if err != nil {
			return md, fmt.Errorf("GET METADATA %x: %w (firmware before 5.3?)", ref, err)
		}
		def, retries := parseCredentialMetadata(resp)
		switch ref {
		case 0x80:
			md.pinDefault = def
			if retries != nil {
				md.pinMax = int(retries[0])
			}
		case 0x81:
			md.pukDefault = def
			if retries != nil {
				md.pukLeft = int(retries[1])
			}
		case 0x9b:
			md.mgmtDefault = def
			if len(resp) >= 3 && resp[0] == 0x01 {
				md.mgmtAlgorithm = map[byte]string{0x03: "3DES", 0x08: "AES-128", 0x0a: "AES-192", 0x0c: "AES-256"}[resp[2]]
			}
		}
	}
	return md, nil
}

// errNoPIV: the reader is empty or its card has no PIV application.
var errNoPIV = errors.New("no PIV application")

// apdu sends one command and returns the data of a 9000 answer.
func apdu(card *scard.Card, cmd []byte) ([]byte, error) {
	resp, err := card.Transmit(cmd)
	if err != nil {
		return nil, err
	}
	if len(resp) < 2 || !bytes.Equal(resp[len(resp)-2:], []byte{0x90, 0x00}) {
		return nil, fmt.Errorf("status %x", resp[max(0, len(resp)-2):])
	}
	return resp[:len(resp)-2], nil
}

// parseCredentialMetadata reads tag 05 (is default) and 06 (total, left).
func parseCredentialMetadata(b []byte) (isDefault bool, retries []byte) {
	for len(b) >= 2 {
		tag, n := b[0], int(b[1])
		if len(b) < 2+n {
			break
		}
		v := b[2 : 2+n]
		switch {
		case tag == 0x05 && n == 1:
			isDefault = v[0] == 1
		case tag == 0x06 && n == 2:
			retries = v
		}
		b = b[2+n:]
	}
	return isDefault, retries
}

// Present says whether a YubiKey with serial is in a reader, with a short
// shared connection: it never holds the card, so it cannot get in the way
// of a program that has the token open.
func Present(serial uint32) bool {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return false
	}
	readers, err := ctx.ListReaders()
	ctx.Release()
	if err != nil {
		return false
	}
	for _, r := range readers {
		if md, err := readCredentialMetadata(r); err == nil && md.serial == serial {
			return true
		}
	}
	return false
}
