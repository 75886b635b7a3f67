// Command virtual-yubikey runs a software YubiKey 5 PIV token and inserts
// it into vsmartcard's virtual reader (vpcd), so that pcscd, piv-go,
// yubico-piv-tool and dctwiz see it as a card. For tests and the sandbox:
// its attestation CA is its own, not Yubico's.
//
//	go run ./cmd/virtual-yubikey [--serial N] [--firmware 5.4.3] [--vpcd 127.0.0.1:35963] [--state FILE]
package main

import (
	"context"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dctwiz/dctwiz/yubikey/virtual"
)

func main() {
	serial := flag.Uint("serial", 1000001, "serial number")
	firmware := flag.String("firmware", "5.4.3", "firmware version: 5.4.3 has a 3DES factory management key, 5.7.x an AES-192 one")
	vpcd := flag.String("vpcd", virtual.DefaultVPCD, "address of vpcd's card port")
	statePath := flag.String("state", "", "keep the token's state in this file (0600), to survive restarts")
	touch := flag.Duration("touch-delay", 500*time.Millisecond, "how long the simulated touch takes")
	caOut := flag.String("ca-out", "", "write the token's attestation CA (its own, not Yubico's) to this PEM file")
	trace := flag.Bool("trace", false, "print every APDU on stderr (they carry PINs: debugging only)")
	flag.Parse()
	var traceTo *os.File
	if *trace {
		traceTo = os.Stderr
	}

	card, err := virtual.New(virtual.Options{Serial: uint32(*serial), Firmware: *firmware, Path: *statePath, TouchDelay: *touch, Trace: traceOrNil(traceTo),
		OnSaveError: func(err error) { fmt.Fprintln(os.Stderr, "virtual-yubikey: saving state:", err) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, "virtual-yubikey:", err)
		os.Exit(1)
	}
	if *caOut != "" {
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: card.AttestationCA()})
		if err := os.WriteFile(*caOut, pemBytes, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "virtual-yubikey:", err)
			os.Exit(1)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "virtual-yubikey: serial %d, inserting into vpcd at %s (interrupt to remove)\n", card.Serial(), *vpcd)
	for ctx.Err() == nil {
		if err := virtual.Insert(ctx, *vpcd, card); err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "virtual-yubikey: vpcd connection ended:", err)
		}
		card.PowerCycle()
	}
}

func traceOrNil(f *os.File) io.Writer {
	if f == nil {
		return nil
	}
	return f
}
