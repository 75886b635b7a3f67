// Command dctwiz-testbed runs the test bed until interrupted: the patched
// notary server over TLS on loopback and a registry with images pushed to
// it. It writes what clients need as shell variables to --env-file. The
// timing script uses it; so can a developer poking at dctwiz by hand.
package main

import (
	"bufio"
	"context"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dctwiz/dctwiz/internal/testbed"
	"github.com/dctwiz/dctwiz/yubikey"
	"github.com/dctwiz/dctwiz/yubikey/virtual"
)

func main() {
	dir := flag.String("dir", "", "state directory (default: a new temporary one)")
	envFile := flag.String("env-file", "", "write shell variables for clients to this file")
	push := flag.String("push", "acme/app", "comma-separated repositories to push one image to, as :1.0")
	signer := flag.String("signer-cert", "", "also write a signer certificate (PEM) to this file")
	withYubiKey := flag.Bool("yubikey", false, "also insert a prepared virtual YubiKey through pcscd (starting pcscd needs root); skipped with a warning when pcscd cannot run")
	factory := flag.Bool("factory-yubikey", false, "with --yubikey: leave the virtual YubiKey as it leaves the factory (the wizard prepares it), and stop a pcscd started for it on exit")
	lifeline := flag.Bool("lifeline", false, "stop when standard input reaches its end: the parent closed it, or died")
	removeDir := flag.String("remove-on-exit", "", "with --lifeline: when the parent is gone, remove this directory once everything has stopped")
	rehearse := flag.String("rehearse", "", `"rotation": the signer certificate ends in 20 days, its renewed one is written beside it (NAME-renewed.crt), and the virtual YubiKey is prepared (its PIN in the env file) for dctwiz to set the repository up on; "root-rotation": two prepared virtual YubiKeys, one in each of vpcd's readers (the primary and its backup, for dctwiz to set the repository up on), and a third, factory-fresh one that the line "insert-new-token" on standard input puts into the primary's reader (the primary goes to the safe)`)
	flag.Parse()
	// The signals stay caught until the process exits: a stop must never
	// unregister them (NotifyContext's stop does), or the SIGTERM that
	// dctwiz sends after closing the lifeline would kill this process in the
	// middle of stopping, leaving its notary-server running.
	sigCtx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stopSignals()
	ctx, stop := context.WithCancel(sigCtx)
	var parentGone atomic.Bool
	parent := os.Getppid()
	requests := make(chan string, 4)
	if *lifeline {
		// EOF means the parent closed the pipe or died. Before that it may
		// ask for a token to be changed, a line at a time.
		go func() {
			sc := bufio.NewScanner(os.Stdin)
			for sc.Scan() {
				select {
				case requests <- sc.Text():
				default:
				}
			}
			parentGone.Store(true)
			fmt.Fprintln(os.Stderr, "dctwiz-testbed: the parent is gone: stopping")
			stop()
		}()
	}
	go func() {
		// Stopping takes a second; one that hangs (a driver) is cut short.
		<-ctx.Done()
		time.Sleep(10 * time.Second)
		fmt.Fprintln(os.Stderr, "dctwiz-testbed: stopping took more than 10 s; exiting")
		if *removeDir != "" && (parentGone.Load() || os.Getppid() != parent) {
			os.RemoveAll(*removeDir)
		}
		os.Exit(1)
	}()
	if *rehearse != "" && *rehearse != "rotation" && *rehearse != "root-rotation" {
		fmt.Fprintln(os.Stderr, "dctwiz-testbed: --rehearse takes rotation or root-rotation")
		os.Exit(2)
	}
	err := run(ctx, *dir, *envFile, *push, *signer, *withYubiKey, *factory, *rehearse, requests)
	stop()
	// Only once the parent is gone (its lifeline closed, or this process
	// was handed to another parent): a helper that failed to start leaves
	// its log for the parent to read.
	if *removeDir != "" && (parentGone.Load() || os.Getppid() != parent) {
		os.RemoveAll(*removeDir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dctwiz-testbed:", err)
		os.Exit(1)
	}
}

// The sandbox token's credentials: published here on purpose, it is a
// rehearsal token with a CA of its own.
const (
	sandboxSerial  = 5000001
	sandboxSerial2 = 5000002 // the second token: a backup (factory-fresh for setup, prepared for root-rotation)
	sandboxSerial3 = 5000003 // the root-rotation rehearsal's new token
	sandboxPIN     = "135790"
	sandboxPUK     = "24681357"
)

func run(ctx context.Context, dir, envFile, push, signer string, withYubiKey, factory bool, rehearse string, requests <-chan string) error {
	rotation := rehearse == "rotation"
	if dir == "" {
		d, err := os.MkdirTemp("", "dctwiz-testbed-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	bins, err := testbed.BuildNotary(ctx)
	if err != nil {
		return err
	}
	notary, err := testbed.StartNotaryServer(ctx, dir)
	if err != nil {
		return err
	}
	defer notary.Close()
	stopping := make(chan struct{})
	defer close(stopping)
	go func() {
		select {
		case <-notary.Exited(): // a server that dies says why, in the bed's log
			fmt.Fprintf(os.Stderr, "dctwiz-testbed: notary-server exited:\n%s\n", notary.Log())
		case <-stopping:
		}
	}()
	reg, err := testbed.StartRegistry()
	if err != nil {
		return err
	}
	defer reg.Close()

	vars := []string{
		"NOTARY_URL=" + notary.URL,
		"NOTARY_CA=" + notary.CACert,
		"NOTARY_HOST=" + notary.Host(),
		"NOTARY_CLI=" + bins.CLI,
		"REGISTRY_HOST=" + reg.Host,
	}
	img, err := testbed.RandomImage()
	if err != nil {
		return err
	}
	for _, repo := range strings.Split(push, ",") {
		if repo = strings.TrimSpace(repo); repo == "" {
			continue
		}
		if _, err := reg.PushImage(ctx, img, repo, "1.0"); err != nil {
			return err
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	size, err := img.Size()
	if err != nil {
		return err
	}
	vars = append(vars, "IMAGE_DIGEST="+digest.String(), fmt.Sprintf("IMAGE_SIZE=%d", size))
	if signer != "" {
		spec := testbed.CertSpec{CommonName: "signpath"}
		if rotation {
			// The yearly ceremony is due: the certificate ends in 20 days,
			// and the signing service has issued its successor (a new key).
			spec.NotBefore, spec.NotAfter = time.Now().AddDate(-1, 0, 20), time.Now().AddDate(0, 0, 20).Add(12*time.Hour)
		}
		if _, _, err := testbed.WriteCert(filepath.Dir(signer), filepath.Base(signer), spec); err != nil {
			return err
		}
		if rotation {
			renewed := strings.TrimSuffix(signer, filepath.Ext(signer)) + "-renewed" + filepath.Ext(signer)
			if _, _, err := testbed.WriteCert(filepath.Dir(renewed), filepath.Base(renewed), testbed.CertSpec{CommonName: "signpath",
				NotAfter: time.Now().AddDate(1, 0, 20)}); err != nil {
				return err
			}
			vars = append(vars, "REHEARSAL=rotation", "RENEWED_SIGNER_CERT="+renewed)
		}
	}
	// newToken inserts the root-rotation rehearsal's new token, once asked;
	// what it inserts is pulled out last.
	var newToken func() error
	var cleanups []func()
	defer func() {
		for _, c := range cleanups {
			c()
		}
	}()
	if withYubiKey {
		yk, err := insertYubiKey(dir, testbed.VPCDPortA, sandboxSerial, !factory, "")
		if err != nil {
			fmt.Fprintln(os.Stderr, "dctwiz-testbed: no virtual YubiKey (the root key will be a file key):", err)
			vars = append(vars, "YUBIKEY_PROBLEM="+strconv.Quote(err.Error()))
		} else {
			if factory || rehearse != "" {
				defer testbed.StopStartedPCSCD()
			}
			// Pulled, not removed: waiting for pcscd to see the card go can
			// hang in the driver, and nothing reuses this reader's card.
			defer yk.Pull()
			// The servers stop first, so a card that is slow to go never
			// leaves them running.
			defer reg.Close()
			defer notary.Close()
			vars = append(vars, fmt.Sprintf("YUBIKEY_SERIAL=%d", sandboxSerial),
				"YUBIKEY_CA="+filepath.Join(dir, "yubikey-attestation-ca.pem"))
			if !factory {
				vars = append(vars, "YUBIKEY_PIN="+sandboxPIN)
			}
			// A second token in the other reader: factory-fresh for setup's
			// backup, prepared for the root-rotation rehearsal (the backup
			// dctwiz sets the repository up with). Its CA joins the bundle.
			if factory || rehearse == "root-rotation" {
				second, err := insertYubiKey(dir, testbed.VPCDPortB, sandboxSerial2, !factory, "yubikey-attestation-ca.pem")
				if err != nil {
					return err
				}
				defer second.Pull()
				vars = append(vars, fmt.Sprintf("YUBIKEY_SERIAL_2=%d", sandboxSerial2))
			}
			if rehearse == "root-rotation" {
				// The token the root moves to, factory-fresh: made now (its CA
				// in the bundle), inserted when dctwiz asks, in the primary's place.
				third, err := virtual.New(virtual.Options{Serial: sandboxSerial3})
				if err != nil {
					return err
				}
				if err := appendCA(dir, third); err != nil {
					return err
				}
				newToken = func() error {
					yk.Remove() // the primary goes to the safe
					vt, err := testbed.InsertCard(testbed.VPCDPortA, third)
					if err != nil {
						return err
					}
					cleanups = append(cleanups, vt.Pull)
					return nil
				}
				vars = append(vars, fmt.Sprintf("YUBIKEY_SERIAL_3=%d", sandboxSerial3), "REHEARSAL=root-rotation")
			}
		}
	}
	text := strings.Join(vars, "\n") + "\n"
	if envFile != "" {
		if err := writeWhole(envFile, text); err != nil {
			return err
		}
	} else {
		fmt.Print(text)
	}
	fmt.Fprintln(os.Stderr, "dctwiz-testbed: running; interrupt to stop")
	for {
		select {
		case <-ctx.Done():
			return nil
		case req := <-requests:
			// The answer goes to a file beside the env file, written whole.
			answer := "NEW_TOKEN=inserted"
			switch {
			case req != "insert-new-token" || newToken == nil:
				answer = "NEW_TOKEN_ERROR=" + strconv.Quote("no such request here: "+req)
			default:
				if err := newToken(); err != nil {
					answer = "NEW_TOKEN_ERROR=" + strconv.Quote(err.Error())
				}
				newToken = nil
			}
			if err := writeWhole(envFile+".new-token", answer+"\n"); err != nil {
				return err
			}
		}
	}
}

// writeWhole writes path through a temporary file, so that a reader never
// sees half of it.
func writeWhole(path, text string) error {
	if err := os.WriteFile(path+".tmp", []byte(text), 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// appendCA adds card's attestation CA to the bundle in dir.
func appendCA(dir string, card *virtual.Card) error {
	path := filepath.Join(dir, "yubikey-attestation-ca.pem")
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(old, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: card.AttestationCA()})...), 0o644)
}

// insertYubiKey starts pcscd if needed and inserts a virtual YubiKey into
// the reader at port, prepared or factory-fresh, writing its attestation
// CA to dir (appended to appendTo, a CA bundle, when given).
func insertYubiKey(dir, port string, serial uint32, prepare bool, appendTo string) (*testbed.VirtualToken, error) {
	if err := testbed.EnsurePCSCD(); err != nil {
		return nil, err
	}
	vt, err := testbed.InsertVirtualYubiKey(port, virtual.Options{Serial: serial})
	if err != nil {
		return nil, err
	}
	if prepare {
		tok, err := yubikey.Open(serial)
		if err != nil {
			vt.Remove()
			return nil, err
		}
		err = tok.Prepare(sandboxPIN, sandboxPUK)
		tok.Close()
		if err != nil {
			vt.Remove()
			return nil, err
		}
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vt.Card.AttestationCA()})
	if appendTo != "" {
		old, err := os.ReadFile(filepath.Join(dir, appendTo))
		if err != nil {
			vt.Remove()
			return nil, err
		}
		ca = append(old, ca...)
	}
	if err := os.WriteFile(filepath.Join(dir, "yubikey-attestation-ca.pem"), ca, 0o644); err != nil {
		vt.Remove()
		return nil, err
	}
	return vt, nil
}
