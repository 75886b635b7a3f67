package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/ui"
)

// wizardFlags are what the wizard can be started with.
type wizardFlags struct {
	outDir   string
	signers  []string
	oldName  []string // --signer, the first name of --delegation
	attestCA string
	repos    reposFlag
}

func (a *app) wizardCmd() *cobra.Command {
	var f wizardFlags
	cmd := &cobra.Command{
		Use:         "wizard [GUN...]",
		Annotations: locksTrustDir,
		Short:       "Walk through a ceremony screen by screen: setup, or maintenance (the default on a terminal)",
		Long: `wizard runs a ceremony as an interactive terminal wizard. Its first screen
asks what you are there to do.

Set up new repositories: environment checklist, repository, YubiKey (prepare,
slot and policies, root key with attestation), targets key passphrase,
signers' certificates, review, publish, root certificate, test signature,
targets key deletion, and a summary with a ceremony record (Markdown and
JSON). It runs the same steps as 'dctwiz setup'.

Maintain repositories set up before: each repository's status (what expires
when, as 'dctwiz check' lists it) and the ceremony proposed for it; renew a
signer's certificate, add or remove a signer, rotate the targets, snapshot or
timestamp key, or renew expiring metadata; the root key opened on its
YubiKey; review with the keys before and after; publish; verification as a
new consumer and as one that trusted the repositories before; the targets key
signed in deleted again; summary and record. It runs the same steps as
'dctwiz delegation replace|add|remove', 'dctwiz rotate' and 'dctwiz renew'.

Quitting at any point says what was published and which headless command
continues from there.

Running dctwiz without a command on a terminal starts the wizard. To rehearse
on this machine only, run 'dctwiz sandbox' (setup) or 'dctwiz sandbox --rehearse
rotation' (the yearly renewal of a signer's certificate).`,
		Example: `  dctwiz
  dctwiz wizard docker.io/acme/app --delegation signpath=signpath.cer --out-dir ~/ceremony
  dctwiz wizard registry.example.com/team/app --server https://notary.example.com --tlscacert ca.pem`,
		RunE: a.action(func(cmd *cobra.Command, args []string) (err error) {
			if f.repos.path == "-" {
				return usagef("--repos -: the wizard reads the terminal; give --repos a file")
			}
			if f.repos.path != "" {
				if args, err = f.repos.guns(a, args); err != nil {
					return err
				}
			}
			cfg, err := a.wizardConfig(args, f)
			if err != nil {
				return err
			}
			return a.runWizard(cfg)
		}),
	}
	cmd.Flags().StringVar(&f.outDir, "out-dir", ".", "where the root certificate and the ceremony record are written")
	// --delegation, as in setup; --signer was its first name.
	cmd.Flags().StringArrayVar(&f.signers, "delegation", nil, "prefill a signer as NAME=CERT (repeatable), as setup's --delegation")
	cmd.Flags().StringArrayVar(&f.oldName, "signer", nil, "the same as --delegation")
	cmd.Flags().MarkHidden("signer")
	f.repos.register(cmd.Flags())
	cmd.Flags().StringVar(&f.attestCA, "attestation-ca", "", "verify YubiKey attestations against this CA (PEM) instead of Yubico's PIV root CA")
	return cmd
}

func (a *app) wizardConfig(args []string, f wizardFlags) (ui.Config, error) {
	cfg := ui.Config{GUNs: args, CACert: a.caCert, TrustDir: a.trustDirPath(), OutDir: f.outDir}
	cfg.Server = a.server
	if cfg.Server == "" {
		cfg.Server = a.getenv("DOCKER_CONTENT_TRUST_SERVER")
	}
	for _, g := range args {
		if _, err := parseGUNArg(g); err != nil {
			return cfg, err
		}
	}
	specs, err := parseDelegations(append(f.signers, f.oldName...))
	if err != nil {
		return cfg, err
	}
	for _, d := range specs {
		cfg.Signers = append(cfg.Signers, ui.SignerFile{Name: d.name, Path: d.path})
	}
	if f.attestCA != "" {
		pool, err := loadCAPool(f.attestCA)
		if err != nil {
			return cfg, err
		}
		cfg.AttestationCA, cfg.AttestationRoots = f.attestCA, pool
	}
	return cfg, nil
}

// runWizard runs the wizard on this terminal and prints where things
// stand when it ends. It returns errStopped unless the ceremony finished.
func (a *app) runWizard(cfg ui.Config) error {
	if !a.terminal || !term.IsTerminal(int(os.Stdout.Fd())) {
		return usagef("the wizard needs a terminal; scripts run the same ceremony with 'dctwiz setup' (see dctwiz setup --help)")
	}
	newEngine := func(server, caCert string, pass trust.Passphrases) (*trust.Client, error) {
		return a.clientFor(server, caCert, cfg.TrustDir, trust.WithPassphrases(pass))
	}
	cfg.ContinueCommand = continueCommand
	model := ui.New(cfg, ui.NewBackend(newEngine))
	// The wizard handles signals itself: an interrupt, a kill or a closed
	// terminal (SIGHUP) is a confirmed quit, which waits for a running
	// step, releases the YubiKey and says where things stand.
	p := tea.NewProgram(model, tea.WithAltScreen(), tea.WithInput(os.Stdin), tea.WithOutput(os.Stdout), tea.WithoutSignalHandler())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		var hardStop *time.Timer
		for range sigs {
			p.Send(ui.Stop{})
			if hardStop == nil {
				// The model quits within its own limits; should its loop not
				// answer at all, the program is ended from here all the same.
				hardStop = time.AfterFunc(ui.QuitCutOffAfter+ui.QuitGiveUpAfter+5*time.Second, p.Kill)
			}
		}
	}()
	// A closed terminal sends SIGHUP only to the session's leader: a
	// shell that ignores it (nohup, a trap, some multiplexers) leaves the
	// wizard running on a terminal that is gone. It notices by itself.
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go watchTerminal(os.Stdin, stopWatch, func() { p.Send(ui.Stop{}) })
	_, err := p.Run()
	// A closed terminal ends the program at once, without the model's
	// quit: wait for a step still running before saying where things stand.
	model.Settle()
	fmt.Fprint(a.stdout, model.Outcome())
	switch {
	case err != nil && !errors.Is(err, tea.ErrProgramKilled):
		fmt.Fprintln(a.stderr, "dctwiz: the wizard stopped:", err)
		return errStopped
	case !model.Finished():
		return errStopped
	}
	return nil
}

// watchTerminal calls gone once when f stops being a terminal: after a
// hang-up, the kernel answers every terminal request on it with EIO.
func watchTerminal(f *os.File, stop <-chan struct{}, gone func()) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if !term.IsTerminal(int(f.Fd())) {
				gone()
				return
			}
		}
	}
}
