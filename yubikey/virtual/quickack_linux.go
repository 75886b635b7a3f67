package virtual

import (
	"net"
	"syscall"
)

// quickAck asks the kernel to acknowledge what arrives on conn at once.
// pcscd's vpcd driver sends each APDU as two writes (length, then body);
// with Nagle on its side and delayed acknowledgements on this one, every
// APDU would wait about 40 ms for the second write. Linux turns quick
// acknowledgement off again by itself, so it is set before every read.
func quickAck(conn net.Conn) {
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
