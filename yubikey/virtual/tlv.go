package virtual

import (
	"errors"
)

// tlv is one BER-TLV element of a PIV message; tags are one or two bytes
// (0x7F49, 0x5FC1xx objects are passed as their full byte strings).
type tlv struct {
	tag   []byte
	value []byte
}

var errTLV = errors.New("malformed TLV")

// parseTLVs reads consecutive TLVs.
func parseTLVs(b []byte) ([]tlv, error) {
	var out []tlv
	for len(b) > 0 {
		tagLen := 1
		if b[0]&0x1f == 0x1f { // multi-byte tag
			tagLen = 2
			for tagLen < len(b) && b[tagLen-1]&0x80 != 0 {
				tagLen++
			}
		}
		if tagLen >= len(b) {
			return nil, errTLV
		}
		tag := b[:tagLen]
		n, hdr, err := parseLength(b[tagLen:])
		if err != nil {
			return nil, err
		}
		start := tagLen + hdr
		if start+n > len(b) {
			return nil, errTLV
		}
		out = append(out, tlv{tag: tag, value: b[start : start+n]})
		b = b[start+n:]
	}
	return out, nil
}

func parseLength(b []byte) (n, size int, err error) {
	if len(b) == 0 {
		return 0, 0, errTLV
	}
	switch {
	case b[0] < 0x80:
		return int(b[0]), 1, nil
	case b[0] == 0x81 && len(b) >= 2:
		return int(b[1]), 2, nil
	case b[0] == 0x82 && len(b) >= 3:
		return int(b[1])<<8 | int(b[2]), 3, nil
	}
	return 0, 0, errTLV
}

// find returns the value of the first TLV with tag.
func find(tlvs []tlv, tag ...byte) ([]byte, bool) {
	for _, t := range tlvs {
		if string(t.tag) == string(tag) {
			return t.value, true
		}
	}
	return nil, false
}

// encode writes one TLV with a BER length.
func encode(tag []byte, value []byte) []byte {
	out := append([]byte{}, tag...)
	switch n := len(value); {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, value...)
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
