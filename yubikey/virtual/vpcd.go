package virtual

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// vpcd (vsmartcard's pcscd reader driver) listens for a virtual card; the
// card connects and they exchange messages framed by a 2-byte big-endian
// length. A 1-byte message is a control; anything else is a command APDU
// to answer with a response APDU.
const (
	vpcdPowerOff = 0x00
	vpcdPowerOn  = 0x01
	vpcdReset    = 0x02
	vpcdGetATR   = 0x04
)

// DefaultVPCD is where Debian's vsmartcard-vpcd waits for its first card.
const DefaultVPCD = "127.0.0.1:35963"

// ATR is a YubiKey 5's answer to reset, so that tools that look at it
// take the card for one.
var ATR = []byte{0x3b, 0xfd, 0x13, 0x00, 0x00, 0x81, 0x31, 0xfe, 0x15, 0x80, 0x73, 0xc0,
	0x21, 0xc0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4b, 0x65, 0x79, 0x40}

// Insert connects the card to vpcd at addr (the card is "inserted" into
// the virtual reader) and serves it until ctx ends or vpcd goes away; then
// the card is "removed". It retries the connection until ctx ends, so it
// can start before pcscd does.
func Insert(ctx context.Context, addr string, c *Card) error {
	var conn net.Conn
	for {
		var err error
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", addr)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer conn.Close()
	go func() { <-ctx.Done(); conn.Close() }()
	err := serveVPCD(quickAckReader{conn}, c)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func serveVPCD(conn io.ReadWriter, c *Card) error {
	var hdr [2]byte
	for {
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
		if _, err := io.ReadFull(conn, msg); err != nil {
			return err
		}
		var reply []byte
		if len(msg) == 1 {
			switch msg[0] {
			case vpcdPowerOff, vpcdPowerOn, vpcdReset:
				c.PowerCycle()
				continue // controls other than GetATR get no answer
			case vpcdGetATR:
				reply = ATR
			default:
				return fmt.Errorf("vpcd: unknown control %#x", msg[0])
			}
		} else {
			reply = c.Transmit(msg)
		}
		out := make([]byte, 2+len(reply))
		binary.BigEndian.PutUint16(out, uint16(len(reply)))
		copy(out[2:], reply)
		if _, err := conn.Write(out); err != nil {
			return err
		}
	}
}

// quickAckReader acknowledges what it reads at once (see quickAck).
type quickAckReader struct{ net.Conn }

func (q quickAckReader) Read(p []byte) (int, error) {
	quickAck(q.Conn)
	return q.Conn.Read(p)
}
