package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/trust"
)

// Exit codes: the contract scripts depend on.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
	// exitStopped: the wizard was left before the ceremony finished (a
	// quit, ctrl+c, a signal, a closed terminal); what is published was printed.
	exitStopped = 3
)

// errStopped is a wizard left before the ceremony finished: its outcome
// is already printed, so it adds no error line, only the exit code.
var errStopped = errors.New("the ceremony was stopped before it finished")

// app holds the process's I/O and environment, so tests run the CLI
// in-process exactly as main does.
type app struct {
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	getenv   func(string) string
	terminal bool     // stdin and stderr are a terminal: the wizard can run
	prompt   prompter // asks on the terminal; nil: no terminal to ask on

	// global flags
	server   string
	trustDir string
	caCert   string
	json     bool
	yes      bool
	debug    bool
	timeout  time.Duration

	// failureReport, when a command sets it, goes into the --json error
	// document as "report" (setup's steps so far), so stdout still holds one document.
	failureReport any

	// closers release what a command opened (a YubiKey), however it ends.
	closers []func() error

	// The command running, its positional arguments and, of those, the
	// GUNs (a prefix): for the command that reruns what failed.
	cmd     *cobra.Command
	posArgs []string
	gunArgs []string

	// A ceremony over several repositories: how many at a time
	// (--parallel), whether lines name their repository, and the live
	// display on a terminal. outMu keeps the repositories' lines whole.
	parallel int
	batch    bool
	outMu    sync.Mutex
	live     *liveDisplay
}

// usageError marks failures of the invocation itself (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func (a *app) run(args []string) int {
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)

	// A CI system ends a job with SIGTERM, a closed terminal sends SIGHUP:
	// each stops the command as ctrl+c does, and the report still comes.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if tp, ok := a.prompt.(*terminalPrompter); ok {
		tp.interrupted = ctx.Done() // ctrl+c ends a prompt that waits
	}
	err := root.ExecuteContext(ctx)
	for _, closeIt := range a.closers {
		closeIt()
	}
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errStopped) {
		return exitStopped
	}
	if errors.Is(err, errFindings) {
		return exitFail // the report says what and why
	}
	var ran ranError
	if !errors.As(err, &ran) {
		// Cobra refused the command line: unknown flag, command or arguments.
		// It may have stopped before reading --json.
		a.json = a.json || wantsJSON(args)
		a.printError(usageError{err}, "see 'dctwiz --help'")
		return exitUsage
	}
	a.printError(ran.err, fixLine(ran.err))
	var u usageError
	if errors.As(ran.err, &u) {
		return exitUsage
	}
	return exitFail
}

// wantsJSON finds --json among the arguments (before a "--").
func wantsJSON(args []string) bool {
	for _, arg := range args {
		if arg == "--" {
			return false
		}
		if arg == "--json" || arg == "--json=true" {
			return true
		}
	}
	return false
}

// ranError marks errors returned by a command's own code, as opposed to
// cobra's parsing.
type ranError struct{ err error }

func (r ranError) Error() string { return r.err.Error() }
func (r ranError) Unwrap() error { return r.err }

// action adapts a command body: it sets up logging and wraps its error.
func (a *app) action(body func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.cmd, a.posArgs = cmd, args
		// notary logs through the global logrus; its lines are not for users.
		logrus.SetOutput(io.Discard)
		if a.debug {
			logrus.SetOutput(a.stderr)
			logrus.SetLevel(logrus.DebugLevel)
		}
		if a.timeout <= 0 { // before anything is asked, opened or locked
			return ranError{usagef("--timeout %s: give a duration above zero, such as 30s or 2m", a.timeout)}
		}
		// dctwiz alone without a terminal only prints help: no lock for that.
		if cmd.Annotations[lockAnnotation] != "" && (cmd.HasParent() || a.terminal) {
			release, err := trust.LockTrustDir(a.trustDirPath(), cmd.CommandPath(), lockWait)
			if err != nil {
				return ranError{err}
			}
			a.closers = append(a.closers, func() error { release(); return nil })
		}
		if err := body(cmd, args); err != nil {
			return ranError{err}
		}
		return nil
	}
}

// locksTrustDir marks the commands that write keys or publish: one of
// them at a time per trust dir (queries such as check and inspect run
// beside them). A second waits lockWait for the first, then says who
// holds the trust dir.
var locksTrustDir = map[string]string{lockAnnotation: "yes"}

const (
	lockAnnotation = "dctwiz-locks-trust-dir"
	lockWait       = 5 * time.Second
)

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:         "dctwiz",
		Annotations: locksTrustDir,
		Short:       "Set up and administer Docker Content Trust repositories",
		Long: `dctwiz runs the Docker Content Trust (Notary v1) key ceremony for image
repositories: root and targets keys, server-managed snapshot key, signer
delegations, root certificate export, a test signature verified as a consumer
would verify it, and deletion of the local targets key.

On a terminal, dctwiz alone starts the wizard, which walks through the ceremony
screen by screen; 'dctwiz sandbox' rehearses it on this machine only. The
commands below run the same steps headless, for scripts and CI.

Passphrases come from NOTARY_ROOT_PASSPHRASE, NOTARY_TARGETS_PASSPHRASE and
NOTARY_DELEGATION_PASSPHRASE (or docker's DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE
and DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE), else from a no-echo prompt on
a terminal; never from the command line.`,
		Example: `  # The wizard, on a terminal (or rehearse it first: dctwiz sandbox):
  dctwiz

  # The whole ceremony for one repository, headless:
  export NOTARY_ROOT_PASSPHRASE=... NOTARY_TARGETS_PASSPHRASE=...
  dctwiz setup docker.io/acme/app --delegation signpath=signpath.cer \
      --root-cert-out acme-app-root.crt --test-tag latest --delete-targets-key --yes

  # What a repository's trust data says:
  dctwiz inspect docker.io/acme/app --json`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
	}
	// On a terminal, dctwiz alone starts the wizard; elsewhere it shows help.
	root.RunE = a.action(func(cmd *cobra.Command, args []string) error {
		if !a.terminal {
			return cmd.Help()
		}
		cfg, err := a.wizardConfig(nil, wizardFlags{outDir: "."})
		if err != nil {
			return err
		}
		return a.runWizard(cfg)
	})
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	pf := root.PersistentFlags()
	pf.StringVar(&a.server, "server", "", "notary server URL (default: $DOCKER_CONTENT_TRUST_SERVER, else https://notary.docker.io for docker.io, else https://<registry>)")
	pf.StringVar(&a.trustDir, "trust-dir", "", "trust dir with keys and cached trust data (default: $DOCKER_CONFIG/trust, else ~/.docker/trust)")
	pf.StringVar(&a.caCert, "tlscacert", "", "PEM file of a CA to trust for the notary server and registry, besides the system's")
	pf.BoolVar(&a.json, "json", false, "print the result as one JSON document on stdout")
	pf.BoolVarP(&a.yes, "yes", "y", false, "confirm destructive steps without a prompt (needed when no terminal can prompt)")
	pf.BoolVar(&a.debug, "debug", false, "show notary's debug log on stderr")
	pf.DurationVar(&a.timeout, "timeout", trust.DefaultTimeout, "the longest one request to the notary server or the registry may take (connect, TLS, answer)")

	root.AddCommand(
		a.setupCmd(),
		a.initCmd(),
		a.delegationCmd(),
		a.rootCertCmd(),
		a.testSignCmd(),
		a.targetsKeyCmd(),
		a.rotateCmd(),
		a.checkCmd(),
		a.renewCmd(),
		a.inspectCmd(),
		a.yubikeyCmd(),
		a.wizardCmd(),
		a.sandboxCmd(),
	)
	a.refuseUnknownSubcommands(root)
	return root
}

// refuseUnknownSubcommands makes every command group (delegation, rotate,
// yubikey, ...) refuse an unknown subcommand with exit 2, where cobra
// would print the group's help and exit 0: a script's typo must fail.
func (a *app) refuseUnknownSubcommands(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		a.refuseUnknownSubcommands(sub)
	}
	if cmd.HasParent() && cmd.HasSubCommands() && cmd.RunE == nil && cmd.Run == nil {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = a.action(func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q: see '%s --help'", args[0], c.CommandPath(), c.CommandPath())
			}
			return c.Help()
		})
	}
}

// client builds the engine from the global flags and environment, once
// per command: it asks for each key's passphrase when the engine first
// needs it (passphraseFor: the environment, else a prompt).
func (a *app) client() (*trust.Client, error) {
	server := a.server
	if server == "" {
		server = a.getenv("DOCKER_CONTENT_TRUST_SERVER")
	}
	return a.clientFor(server, a.caCert, a.trustDirPath(), trust.WithPassphraseFunc(a.passphraseFor))
}

// clientFor builds an engine for this server ("" = docker's default for
// each GUN), CA and trust dir, with credentials from the environment.
func (a *app) clientFor(server, caCert, trustDir string, more ...trust.Option) (*trust.Client, error) {
	if a.timeout <= 0 {
		return nil, usagef("--timeout %s: give a duration above zero, such as 30s or 2m", a.timeout)
	}
	opts := append([]trust.Option{trust.WithKeychain(trust.DockerConfigKeychain(a.getenv("DOCKER_CONFIG"))), trust.WithTimeout(a.timeout)}, more...)
	if server != "" {
		opts = append(opts, trust.WithServer(server))
	}
	opts = append(opts, trust.WithTrustDir(trustDir))
	if caCert != "" {
		opts = append(opts, trust.WithCACert(caCert))
	}
	if v := a.getenv("NOTARY_AUTH"); v != "" {
		auth, err := trust.BasicAuthFromEnv("NOTARY_AUTH", v)
		if err != nil {
			return nil, err
		}
		opts = append(opts, trust.WithNotaryAuth(auth))
	}
	if v := a.getenv("REGISTRY_AUTH"); v != "" {
		auth, err := trust.BasicAuthFromEnv("REGISTRY_AUTH", v)
		if err != nil {
			return nil, err
		}
		opts = append(opts, trust.WithRegistryAuth(auth))
	}
	return trust.New(opts...)
}

// trustDirPath follows docker: $DOCKER_CONFIG/trust, else ~/.docker/trust.
func (a *app) trustDirPath() string {
	if a.trustDir != "" {
		return a.trustDir
	}
	if d := a.getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "trust")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".docker", "trust")
	}
	return ""
}

// gunAndClient reads the GUN argument and builds an engine for a command
// that needs no passphrase.
func (a *app) gunAndClient(arg string) (trust.GUN, *trust.Client, error) {
	gun, err := parseGUNArg(arg)
	if err != nil {
		return gun, nil, err
	}
	c, err := a.client()
	return gun, c, err
}

// parseGUNArgs reads several GUN arguments; the first bad one is a usage error.
func parseGUNArgs(args []string) ([]trust.GUN, error) {
	guns := make([]trust.GUN, 0, len(args))
	for _, arg := range args {
		gun, err := parseGUNArg(arg)
		if err != nil {
			return nil, err
		}
		guns = append(guns, gun)
	}
	return guns, nil
}

func parseGUNArg(s string) (trust.GUN, error) {
	g, err := trust.ParseGUN(s)
	if err != nil {
		return g, usageError{err}
	}
	return g, nil
}

// printError writes the one or two lines a failure gets on stderr and,
// with --json, an error document on stdout.
func (a *app) printError(err error, fix string) {
	msg := strings.TrimSpace(err.Error())
	fmt.Fprintf(a.stderr, "dctwiz: %s\n", msg)
	if fix != "" {
		fmt.Fprintf(a.stderr, "  fix: %s\n", fix)
	}
	if a.json {
		e := map[string]string{"kind": kindOf(err), "message": msg, "fix": fix}
		if action, _ := trust.FixFor(err); action != "" {
			e["action"] = string(action) // the fix as data, for scripts
		}
		doc := map[string]any{"error": e}
		if a.failureReport != nil {
			doc["report"] = a.failureReport
		}
		writeJSON(a.stdout, doc)
	}
}
