package virtual

import (
	"bytes"
	"testing"
)

// FuzzTransmit sends arbitrary APDUs, twice, to a factory-fresh card
// after selecting the PIV application: every answer ends with a status
// word, nothing panics, and the card still answers GET SERIAL after.
func FuzzTransmit(f *testing.F) {
	for _, apdu := range [][]byte{
		{0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08},             // SELECT PIV
		{0x00, 0xfd, 0x00, 0x00},                                                 // GET VERSION
		{0x00, 0xf8, 0x00, 0x00},                                                 // GET SERIAL
		{0x00, 0x20, 0x00, 0x80, 0x08, '1', '2', '3', '4', '5', '6', 0xff, 0xff}, // VERIFY
		{0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c, 0x03, 0x5f, 0xc1, 0x0a},             // GET DATA
		{0x00, 0x87, 0x03, 0x9b, 0x04, 0x7c, 0x02, 0x80, 0x00},                   // GENERAL AUTHENTICATE
		{0x10, 0xdb, 0x3f, 0xff, 0x02, 0x5c, 0x03},                               // a chained PUT DATA
		{0x00, 0xc0, 0x00, 0x00},                                                 // GET RESPONSE
		{},
		{0x00},
		{0x00, 0x47, 0x00, 0x9a, 0x05, 0xac, 0x03, 0x80, 0x01, 0x11}, // GENERATE
	} {
		f.Add(apdu)
	}
	f.Fuzz(func(t *testing.T, apdu []byte) {
		c, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if resp := c.Transmit([]byte{0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08}); len(resp) < 2 {
			t.Fatalf("SELECT answered %x", resp)
		}
		for _, part := range [][]byte{apdu, apdu} { // twice: chaining and pending state
			if resp := c.Transmit(part); len(resp) < 2 {
				t.Fatalf("APDU %x answered %x: no status word", part, resp)
			}
		}
		// The card still answers a well-formed command.
		if resp := c.Transmit([]byte{0x00, 0xf8, 0x00, 0x00}); len(resp) < 2 {
			t.Fatalf("after %x, GET SERIAL answered %x", apdu, resp)
		}
	})
}

// FuzzParseTLVs: what parses re-encodes to the same bytes (for the
// definite lengths the card uses), and nothing reads out of bounds.
func FuzzParseTLVs(f *testing.F) {
	f.Add([]byte{0x7c, 0x02, 0x80, 0x00})
	f.Add([]byte{0x5c, 0x03, 0x5f, 0xc1, 0x0a})
	f.Add([]byte{0x53, 0x82, 0x00, 0x01, 0xaa})
	f.Add([]byte{0x7f, 0x49, 0x81, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		tlvs, err := parseTLVs(b)
		if err != nil {
			return
		}
		var out []byte
		for _, e := range tlvs {
			out = append(out, encode(e.tag, e.value)...)
		}
		// Lengths may be written longer than needed (0x81 0x05): compare
		// by parsing the encoding again.
		again, err := parseTLVs(out)
		if err != nil || len(again) != len(tlvs) {
			t.Fatalf("%x parsed to %d TLVs, re-encoded %x parses to %d (%v)", b, len(tlvs), out, len(again), err)
		}
		for i := range tlvs {
			if !bytes.Equal(again[i].tag, tlvs[i].tag) || !bytes.Equal(again[i].value, tlvs[i].value) {
				t.Fatalf("TLV %d changed: %x -> %x", i, tlvs[i], again[i])
			}
		}
	})
}
