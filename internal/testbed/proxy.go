package testbed

import (
	"net"
	"sync"
	"sync/atomic"
)

// Fault says what the proxy does to an upload: a client write larger than
// any request line, which on a notary connection is a publish (the POST
// of signed metadata). TLS hides the method, not the size.
type Fault int32

const (
	// PassAll forwards everything.
	PassAll Fault = iota
	// CutBeforeUpload closes the connection instead of forwarding the
	// upload: the server goes away before it sees the publish.
	CutBeforeUpload
	// CutAfterUpload forwards the upload, then closes the connection before
	// the answer reaches the client: the server committed, the client
	// never hears of it.
	CutAfterUpload
	// CutAfterUploadThenDown is CutAfterUpload, and then the server is
	// gone: every connection after the cut is refused, so the client
	// cannot ask what landed (the outcome is unknown to it).
	CutAfterUploadThenDown
)

// uploadBytes is larger than a GET, smaller than a signed root.json and
// targets.json. The first client write of a connection, the TLS
// ClientHello, can be as large (post-quantum key shares) and is never taken
// for an upload.
const uploadBytes = 1500

// Proxy forwards TCP connections from a loopback port to a target and can
// inject Faults.
type Proxy struct {
	Addr   string
	target string
	l      net.Listener
	fault  atomic.Int32
	cuts   atomic.Int32
	down   atomic.Bool
	wg     sync.WaitGroup
}

// StartProxy listens on a free loopback port and forwards to target.
func StartProxy(target string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: l.Addr().String(), target: target, l: l}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// SetFault changes what happens to the next uploads.
func (p *Proxy) SetFault(f Fault) { p.fault.Store(int32(f)); p.down.Store(false) }

// Cuts counts the connections the proxy has cut.
func (p *Proxy) Cuts() int { return int(p.cuts.Load()) }

// Close stops accepting; open connections end with their peers.
func (p *Proxy) Close() {
	p.l.Close()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	if p.down.Load() {
		client.Close()
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	var closeOnce sync.Once
	closeBoth := func() {
		closeOnce.Do(func() { client.Close(); server.Close() })
	}
	defer closeBoth()
	uploaded := make(chan struct{})
	var uploadedOnce sync.Once

	go func() { // server -> client
		defer closeBoth()
		buf := make([]byte, 32*1024)
		for {
			n, err := server.Read(buf)
			if n > 0 {
				select {
				case <-uploaded:
					switch Fault(p.fault.Load()) {
					case CutAfterUpload:
						p.cuts.Add(1)
						return
					case CutAfterUploadThenDown:
						p.cuts.Add(1)
						p.down.Store(true)
						return
					}
				default:
				}
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()

	buf := make([]byte, 64*1024)
	for writes := 0; ; writes++ {
		n, err := client.Read(buf)
		if n > 0 {
			if n >= uploadBytes && writes > 0 {
				switch Fault(p.fault.Load()) {
				case CutBeforeUpload:
					p.cuts.Add(1)
					return
				case CutAfterUpload, CutAfterUploadThenDown:
					uploadedOnce.Do(func() { close(uploaded) })
				}
			}
			if _, werr := server.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
