package main

import (
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
)

func (a *app) yubikeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "yubikey",
		Short: "Find, prepare, attest and reset YubiKeys (PIV)",
		Long: `yubikey manages the PIV application of YubiKeys that hold root keys.
Secrets come from DCTWIZ_YUBIKEY_PIN and DCTWIZ_YUBIKEY_PUK, else from a
no-echo prompt on a terminal; never from the command line.`,
	}
	var serial uint32
	cmd.PersistentFlags().Uint32Var(&serial, "serial", 0, "the YubiKey's serial (needed when several are connected)")
	cmd.AddCommand(a.yubikeyListCmd(), a.yubikeyStatusCmd(&serial), a.yubikeySetupCmd(&serial),
		a.yubikeyAttestCmd(&serial), a.yubikeyUnblockCmd(&serial), a.yubikeyResetCmd(&serial))
	return cmd
}

func (a *app) openToken(serial uint32) (*yubikey.Token, error) {
	tok, err := yubikey.Open(serial)
	if err != nil {
		return nil, trust.YubiKeyError(err, "YubiKey")
	}
	a.closers = append(a.closers, tok.Close)
	return tok, nil
}

func (a *app) yubikeyListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the connected YubiKeys",
		Args:  cobra.NoArgs,
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.runYubiKeyList()
		}),
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (a *app) yubikeyStatusCmd(serial *uint32) *cobra.Command {
	return &cobra.Command{
		Use:     "status",
		Short:   "Show a YubiKey's PIN and PUK tries, factory credentials and slots",
		Example: `  dctwiz yubikey status --serial 12345678`,
		Args:    cobra.NoArgs,
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.runYubiKeyStatus(*serial)
		}),
	}
}

func (a *app) yubikeySetupCmd(serial *uint32) *cobra.Command {
	return &cobra.Command{
		Use:   "setup",
		Short: "Prepare a new YubiKey: new PIN and PUK, random management key",
		Long: `yubikey setup replaces the factory credentials of a new YubiKey: the PIN
and PUK become yours (DCTWIZ_YUBIKEY_PIN, DCTWIZ_YUBIKEY_PUK, else asked twice
on a terminal), and the management key a random 24-byte key stored on the
token under the PIN, so that nobody needs to know it. It refuses a YubiKey that
no longer has factory credentials.`,
		Example: `  DCTWIZ_YUBIKEY_PIN=... DCTWIZ_YUBIKEY_PUK=... dctwiz yubikey setup --serial 12345678 --yes`,
		Args:    cobra.NoArgs,
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.runYubiKeySetup(*serial)
		}),
	}
}

// newTokenSecret reads a new PIN or PUK from the environment, else twice
// from the terminal.
func (a *app) newTokenSecret(env, what string) (string, error) {
	if v := a.getenv(env); v != "" {
		return v, nil
	}
	if a.prompt == nil {
		return "", &trust.Error{Kind: trust.ErrPassphraseRequired, Input: what,
			Msg: "not given and no terminal to ask on", Fix: "set " + env}
	}
	for {
		v, err := a.prompt.Secret(strings.ToUpper(what[:1]) + what[1:] + " (6-8 characters): ")
		if err != nil {
			return "", err
		}
		again, err := a.prompt.Secret("Repeat it: ")
		if err != nil {
			return "", err
		}
		if v == again {
			return v, nil
		}
		fmt.Fprintln(a.stderr, "The two entries differ; again.")
	}
}

func (a *app) yubikeyAttestCmd(serial *uint32) *cobra.Command {
	var slotName, dir string
	cmd := &cobra.Command{
		Use:   "attest",
		Short: "Write the attestation of a slot's key (slot and device certificates, PEM)",
		Long: `yubikey attest writes the certificate that proves the slot's key was made
on the YubiKey (slot-<slot>-attestation.pem) and the YubiKey's attestation
certificate that signed it (device-attestation.pem). A verifier checks them up
to Yubico's PIV root CA.`,
		Example: `  dctwiz yubikey attest --serial 12345678 --slot 9c -o ./attestation`,
		Args:    cobra.NoArgs,
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.runYubiKeyAttest(*serial, slotName, dir)
		}),
	}
	cmd.Flags().StringVar(&slotName, "slot", "9c", "PIV slot")
	cmd.Flags().StringVarP(&dir, "output", "o", ".", "directory for the PEM files")
	return cmd
}

func (a *app) yubikeyUnblockCmd(serial *uint32) *cobra.Command {
	return &cobra.Command{
		Use:   "unblock",
		Short: "Set a new PIN with the PUK after the PIN was blocked",
		Args:  cobra.NoArgs,
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.runYubiKeyUnblock(*serial)
		}),
	}
}

func (a *app) yubikeyResetCmd(serial *uint32) *cobra.Command {
	return &cobra.Command{
		Use:   "reset",
		Short: "Reset the YubiKey's PIV application: destroys every key on it",
		Long: `yubikey reset blocks the PIN and PUK and resets the PIV application to
factory state. Every key on the token is destroyed, including a root key:
repositories whose root key it held can then only be recovered by hand.
Confirm by typing the serial (or --yes).`,
		Args: cobra.NoArgs,
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.runYubiKeyReset(*serial)
		}),
	}
}

// runYubiKeyList lists the connected YubiKeys.
func (a *app) runYubiKeyList() error {
	infos, err := yubikey.List()
	if err != nil {
		return trust.YubiKeyError(err, "YubiKeys")
	}
	if infos == nil {
		infos = []yubikey.Info{} // [] in JSON, not null
	}
	return a.output(infos, func() {
		if len(infos) == 0 {
			fmt.Fprintln(a.stdout, "No YubiKey found.")
			return
		}
		rows := [][]string{{"SERIAL", "FIRMWARE", "PIN TRIES", "FACTORY CREDENTIALS", "READER"}}
		for _, i := range infos {
			if i.Problem != "" {
				rows = append(rows, []string{fmt.Sprint(i.Serial), i.Firmware, "-", "-", i.Reader + " (not usable: " + i.Problem + ")"})
				continue
			}
			rows = append(rows, []string{fmt.Sprint(i.Serial), i.Firmware, fmt.Sprint(i.PINTriesLeft), yesNo(i.FactoryDefaults()), i.Reader})
		}
		table(a.stdout, rows)
	})
}

// runYubiKeyStatus shows a YubiKey's tries, credentials and slots.
func (a *app) runYubiKeyStatus(serial uint32) error {
	tok, err := a.openToken(serial)
	if err != nil {
		return err
	}
	info, err := tok.Info()
	if err != nil {
		return trust.YubiKeyError(err, fmt.Sprintf("YubiKey %d", tok.Serial()))
	}
	return a.output(info, func() {
		table(a.stdout, [][]string{
			{"serial", fmt.Sprint(info.Serial)},
			{"firmware", info.Firmware},
			{"reader", info.Reader},
			{"PIN tries left", fmt.Sprint(info.PINTriesLeft)},
			{"PUK tries left", fmt.Sprint(info.PUKTriesLeft)},
			{"factory PIN", yesNo(info.DefaultPIN)},
			{"factory PUK", yesNo(info.DefaultPUK)},
			{"factory management key", yesNo(info.DefaultMgmt)},
		})
		for _, s := range info.Slots {
			fmt.Fprintf(a.stdout, "slot %s: %s, PIN %s, touch %s, made on the token: %s, certificate %s\n",
				s.Slot, s.Algorithm, s.PINPolicy, s.TouchPolicy, yesNo(s.Generated), s.Certificate)
		}
		if info.FactoryDefaults() {
			fmt.Fprintln(a.stdout, "This YubiKey still has factory credentials: prepare it with dctwiz yubikey setup.")
		}
	})
}

// runYubiKeySetup replaces a new YubiKey's factory credentials.
func (a *app) runYubiKeySetup(serial uint32) error {
	tok, err := a.openToken(serial)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("YubiKey %d", tok.Serial())
	if err := a.confirm("Replacing the factory PIN, PUK and management key of "+name, fmt.Sprint(tok.Serial())); err != nil {
		return err
	}
	pin, err := a.newTokenSecret("DCTWIZ_YUBIKEY_PIN", "new YubiKey PIN")
	if err != nil {
		return err
	}
	puk, err := a.newTokenSecret("DCTWIZ_YUBIKEY_PUK", "new YubiKey PUK")
	if err != nil {
		return err
	}
	if err := tok.Prepare(pin, puk); err != nil {
		return trust.YubiKeyError(err, name)
	}
	return a.output(map[string]any{"serial": tok.Serial(), "prepared": true}, func() {
		fmt.Fprintf(a.stdout, "%s is prepared: new PIN and PUK, and a random management key stored on it under the PIN.\n", name)
	})
}

// runYubiKeyAttest writes the attestation of a slot's key.
func (a *app) runYubiKeyAttest(serial uint32, slotName, dir string) error {
	slot, err := yubikey.ParseSlot(slotName)
	if err != nil {
		return usageError{err}
	}
	tok, err := a.openToken(serial)
	if err != nil {
		return err
	}
	slotCert, devCert, err := tok.Attest(slot)
	if err != nil {
		return trust.YubiKeyError(err, fmt.Sprintf("YubiKey %d slot %s", tok.Serial(), slotName))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &trust.Error{Kind: trust.ErrBadInput, Input: dir, Cause: err, Msg: "cannot create the directory"}
	}
	files := map[string][]byte{
		filepath.Join(dir, "slot-"+slotName+"-attestation.pem"): slotCert.Raw,
		filepath.Join(dir, "device-attestation.pem"):            devCert.Raw,
	}
	var written []string
	for path, der := range files {
		if err := trust.WriteOutputFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			return err
		}
		written = append(written, path)
	}
	return a.output(map[string]any{"serial": tok.Serial(), "slot": slotName, "files": written}, func() {
		fmt.Fprintf(a.stdout, "Wrote the attestation of YubiKey %d slot %s: %s\n", tok.Serial(), slotName, strings.Join(written, ", "))
	})
}

// runYubiKeyUnblock sets a new PIN with the PUK.
func (a *app) runYubiKeyUnblock(serial uint32) error {
	tok, err := a.openToken(serial)
	if err != nil {
		return err
	}
	puk := a.getenv("DCTWIZ_YUBIKEY_PUK")
	if puk == "" {
		if a.prompt == nil {
			return &trust.Error{Kind: trust.ErrPassphraseRequired, Input: "YubiKey PUK", Msg: "not given and no terminal to ask on", Fix: "set DCTWIZ_YUBIKEY_PUK"}
		}
		if puk, err = a.prompt.Secret("YubiKey PUK: "); err != nil {
			return err
		}
	}
	pin, err := a.newTokenSecret("DCTWIZ_YUBIKEY_PIN", "new YubiKey PIN")
	if err != nil {
		return err
	}
	if err := tok.Unblock(puk, pin); err != nil {
		return trust.YubiKeyError(err, fmt.Sprintf("YubiKey %d", tok.Serial()))
	}
	fmt.Fprintf(a.stderr, "YubiKey %d: the PIN is unblocked and set to the new one.\n", tok.Serial())
	return nil
}

// runYubiKeyReset resets the PIV application, once confirmed.
func (a *app) runYubiKeyReset(serial uint32) error {
	tok, err := a.openToken(serial)
	if err != nil {
		return err
	}
	s := fmt.Sprint(tok.Serial())
	if err := a.confirm("Resetting YubiKey "+s+" destroys every key on it", s); err != nil {
		return err
	}
	if err := tok.Reset(); err != nil {
		return trust.YubiKeyError(err, "YubiKey "+s)
	}
	fmt.Fprintf(a.stdout, "YubiKey %s is reset to factory state.\n", s)
	return nil
}
