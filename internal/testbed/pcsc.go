package testbed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/dctwiz/dctwiz/yubikey"
	"github.com/dctwiz/dctwiz/yubikey/virtual"
)

// vpcd's two card ports (Debian's vsmartcard-vpcd): one reader each. Test
// packages that run at the same time each take their own.
const (
	VPCDPortA = "127.0.0.1:35963"
	VPCDPortB = "127.0.0.1:35964"
)

const pcscdSocket = "/run/pcscd/pcscd.comm"

// EnsurePCSCD makes sure pcscd runs with the vpcd driver: the real path
// piv-go -> libpcsclite -> pcscd -> vpcd -> virtual card. When none runs it
// starts one (this needs root, as on CI); it is left running for the
// other test packages, as a system daemon would be.
func EnsurePCSCD() error {
	if _, err := os.Stat("/usr/lib/pcsc/drivers/serial/libifdvpcd.so"); err != nil {
		return fmt.Errorf("vsmartcard-vpcd is not installed (make test installs pcscd, libpcsclite-dev and vsmartcard-vpcd): %w", err)
	}
	if pcscdUp() {
		return nil
	}
	if os.Geteuid() != 0 {
		return errors.New("pcscd is not running with the vpcd reader and only root can start it: (re)start pcscd, or run make test as root")
	}
	if socketUp() {
		// A pcscd started before vpcd's reader was installed (e.g. by the
		// package scripts) never loads it: restart it.
		if err := stopPCSCD(); err != nil {
			return err
		}
	}
	pcscd, err := exec.LookPath("pcscd")
	if err != nil {
		pcscd = "/usr/sbin/pcscd"
	}
	os.MkdirAll("/run/pcscd", 0o755)
	cmd := exec.Command(pcscd, "--foreground")
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting pcscd: %w", err)
	}
	exited := make(chan struct{})
	startedPCSCD = &daemon{cmd: cmd, exited: exited}
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for !pcscdUp() || !vpcdListening() {
		if time.Now().After(deadline) {
			return errors.New("pcscd did not come up with the vpcd reader in 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// daemon is a process this one started and reaps.
type daemon struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// startedPCSCD is the pcscd this process started, if any.
var startedPCSCD *daemon

// StopStartedPCSCD stops the pcscd that EnsurePCSCD started in this
// process, if it did, and waits until it has exited (a new pcscd refuses
// to start while the old one lives): the sandbox leaves no daemon behind
// that it started.
func StopStartedPCSCD() {
	d := startedPCSCD
	if d == nil {
		return
	}
	startedPCSCD = nil
	stopProcess(d.cmd.Process, os.Interrupt, d.exited)
}

// stopProcess asks a daemon to stop with sig and waits until done is
// closed (its Wait returned); after 10 s it kills it.
func stopProcess(proc *os.Process, sig os.Signal, done <-chan struct{}) {
	proc.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		proc.Kill()
		<-done
	}
}

func pcscdUp() bool { return socketUp() && vpcdListening() }

func socketUp() bool {
	c, err := net.DialTimeout("unix", pcscdSocket, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// stopPCSCD ends the running pcscd (its pid file names it) and waits.
func stopPCSCD() error {
	b, err := os.ReadFile("/run/pcscd/pcscd.pid")
	if err != nil {
		return fmt.Errorf("pcscd runs without the vpcd reader and its pid file cannot be read: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimRight(string(b), "\x00")))
	if err != nil {
		return fmt.Errorf("pcscd's pid file: %w", err)
	}
	if p, err := os.FindProcess(pid); err == nil {
		p.Signal(os.Interrupt)
	}
	for i := 0; i < 50 && socketUp(); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if socketUp() {
		return errors.New("pcscd runs without the vpcd reader and did not stop: restart it by hand")
	}
	// Wait until it has exited: pcscd refuses to start while its pid file
	// names a live process. A stopped daemon nobody reaps lingers as a
	// zombie, whose pid file is stale.
	for i := 0; i < 50; i++ {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil || strings.Contains(string(st), "State:\tZ") {
			os.Remove("/run/pcscd/pcscd.pid")
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("pcscd runs without the vpcd reader and did not exit: restart it by hand")
}

// vpcdListening looks for vpcd's card port among the listening sockets.
// It must not connect: vpcd listens with a backlog of 0 and would take a
// probe for a card, keeping the next real card waiting.
func vpcdListening() bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		// local address 00000000:8C7B (35963), state 0A (LISTEN)
		if len(f) > 3 && strings.HasSuffix(f[1], ":8C7B") && f[3] == "0A" {
			return true
		}
	}
	return false
}

// VirtualToken is a virtual YubiKey inserted into a vpcd reader.
type VirtualToken struct {
	Card   *virtual.Card
	Port   string
	cancel context.CancelFunc
	done   chan struct{}
}

// InsertVirtualYubiKey makes a virtual YubiKey and inserts it into the
// vpcd reader at port, waiting until piv-go can open it by serial.
func InsertVirtualYubiKey(port string, opts virtual.Options) (*VirtualToken, error) {
	card, err := virtual.New(opts)
	if err != nil {
		return nil, err
	}
	return InsertCard(port, card)
}

// InsertCard inserts an existing card (e.g. one removed before). An
// insertion that pcscd has not seen within 5 s is done again, once.
func InsertCard(port string, card *virtual.Card) (*VirtualToken, error) {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		ctx, cancel := context.WithCancel(context.Background())
		vt := &VirtualToken{Card: card, Port: port, cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(vt.done)
			virtual.Insert(ctx, port, card)
		}()
		if err = waitFor(card.Serial(), true, 5*time.Second); err == nil {
			return vt, nil
		}
		vt.Remove()
	}
	return nil, fmt.Errorf("the virtual YubiKey %d did not appear through pcscd: %w", card.Serial(), err)
}

// waitFor waits until pcscd sees the token (present) or no longer does.
// It only probes with shared connections: opening the token exclusively
// while a card comes or goes can leave the reader locked in pcscd.
func waitFor(serial uint32, present bool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for yubikey.Present(serial) != present {
		if time.Now().After(deadline) {
			if present {
				return fmt.Errorf("%w with serial %d", yubikey.ErrNoToken, serial)
			}
			return fmt.Errorf("YubiKey %d is still there", serial)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// Pull takes the card out of the reader without waiting for pcscd to
// notice: for a process that is about to exit.
func (v *VirtualToken) Pull() {
	v.cancel()
	<-v.done
	v.Card.PowerCycle()
}

// Remove pulls the card out of the reader and waits until pcscd has
// noticed, so that the reader can take a card again.
func (v *VirtualToken) Remove() {
	v.cancel()
	<-v.done
	v.Card.PowerCycle()
	waitFor(v.Card.Serial(), false, 5*time.Second)
}
