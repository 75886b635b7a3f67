package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/ui"
)

// testbedName is the helper that runs the sandbox's servers and virtual
// YubiKey. It is a separate binary so that dctwiz itself links no server
// code (see deps_test.go); make run builds it beside dctwiz.
const testbedName = "dctwiz-testbed"

func (a *app) sandboxCmd() *cobra.Command {
	var dir, testbedPath, rehearse string
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Rehearse the ceremony in the wizard on a local sandbox: no hardware, no accounts",
		Long: `sandbox starts, on this machine only, a Notary server (over TLS on loopback), a
registry with a sample image (acme/app:1.0), and two virtual YubiKeys as they
come from the factory, the second for a backup root key (through pcscd, which
needs root; without it the wizard offers a file root key). It then runs the wizard against them, with the server URL, its
TLS CA and a sample signer certificate filled in. Every screen says SANDBOX.
When the wizard ends, however it ends, everything the sandbox started or wrote
is removed.

--rehearse rotation rehearses the yearly ceremony instead: the repository is
already set up as a ceremony a year ago left it (root key on the virtual
YubiKey, PIN 135790; signer signpath; targets key deleted), signpath's
certificate ends in 20 days, and its renewed certificate is ready to pick.
--rehearse root-rotation starts on the same repository (its signer's
certificate not due) whose root has a backup: the primary (5000001) is in the
safe, the backup (5000002) and a third, factory-fresh token (5000003) are
inserted. Move the root onto the new token with the backup, add it as another
backup, or remove the primary as lost.

The servers run in ` + testbedName + `, found beside dctwiz or on PATH ('make run'
builds both).`,
		Example: `  make run          # builds dctwiz and ` + testbedName + `, then runs: bin/dctwiz sandbox
  dctwiz sandbox --dir /tmp/rehearsal
  dctwiz sandbox --rehearse rotation        # renew a signer's certificate, rotate keys
  dctwiz sandbox --rehearse root-rotation   # move the root onto a new YubiKey`,
		Args: cobra.NoArgs,
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			// Until the wizard runs (and while cleaning up after it), an
			// interrupt, a kill or a closed terminal ends the sandbox cleanly.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			if rehearse != "setup" && rehearse != "rotation" && rehearse != "root-rotation" {
				return usagef("--rehearse takes setup, rotation or root-rotation, not %q", rehearse)
			}
			return a.runSandbox(ctx, dir, testbedPath, rehearse)
		}),
	}
	cmd.Flags().StringVar(&rehearse, "rehearse", "setup", "the ceremony to rehearse: setup (a new repository), rotation (a repository set up before, whose signer's certificate is due) or root-rotation (a root with a backup, moved onto a third, new YubiKey)")
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the sandbox's state, new or empty (default: a new temporary one); removed at the end either way")
	cmd.Flags().StringVar(&testbedPath, "testbed", "", "path of "+testbedName+" (default: beside dctwiz, else on PATH)")
	return cmd
}

func (a *app) runSandbox(ctx context.Context, dir, testbedPath, rehearse string) (err error) {
	if !a.terminal {
		return usagef("the sandbox runs the wizard, which needs a terminal; headless, see 'make demo' or dctwiz setup --help")
	}
	bedBin, err := findTestbed(testbedPath)
	if err != nil {
		return err
	}
	if dir, err = sandboxDir(dir); err != nil {
		return err
	}
	fmt.Fprintln(a.stderr, "SANDBOX: starting a local Notary server, a registry and virtual YubiKeys (the first run builds notary's server: about a minute) ...")
	bed, env, err := startTestbed(ctx, bedBin, dir, rehearse)
	defer func() {
		if serr := bed.stop(); serr != nil {
			// Say how, before its log goes with the directory.
			log, _ := os.ReadFile(filepath.Join(dir, "sandbox.log"))
			fmt.Fprintf(a.stderr, "SANDBOX: the sandbox helper ended badly (%v):\n%s\n", serr, lastLines(string(log), 8))
		}
		os.RemoveAll(dir)
		fmt.Fprintln(a.stderr, "SANDBOX: stopped the sandbox's servers and virtual YubiKeys, and removed "+dir)
	}()
	if err != nil && ctx.Err() != nil {
		// Interrupted while starting: a stop like any other (exit 3).
		fmt.Fprintln(a.stderr, "SANDBOX: stopped while it was starting.")
		return errStopped
	}
	if err != nil {
		return err
	}
	cfg := sandboxConfig(dir, env)
	if env["YUBIKEY_CA"] != "" {
		if cfg.AttestationRoots, err = loadCAPool(env["YUBIKEY_CA"]); err != nil {
			return err
		}
	}
	if rehearse != "setup" {
		newToken := func(ctx context.Context) error { return bed.insertNewToken(ctx, filepath.Join(dir, "sandbox.env")) }
		if err := a.setUpRehearsal(ctx, &cfg, env, newToken); err != nil {
			if ctx.Err() != nil {
				fmt.Fprintln(a.stderr, "SANDBOX: stopped while it was setting up the rehearsal.")
				return errStopped
			}
			return err
		}
	}
	return a.runWizard(cfg)
}

// sandboxDir makes the sandbox's directory: a new temporary one, or the
// one given if it is new or empty, since all of it is removed at the end.
func sandboxDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "dctwiz-sandbox-")
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return "", &trust.Error{Kind: trust.ErrBadInput, Input: dir, Msg: "is not empty, and the sandbox removes its directory at the end",
			Fix: "give a new or empty --dir, or none"}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", &trust.Error{Kind: trust.ErrBadInput, Input: dir, Cause: err, Msg: "cannot make the sandbox directory", Fix: "choose a writable --dir"}
	}
	return filepath.Abs(dir)
}

// sandboxConfig fills in what a newcomer cannot know.
func sandboxConfig(dir string, env map[string]string) ui.Config {
	out := filepath.Join(dir, "out")
	os.MkdirAll(out, 0o700)
	cfg := ui.Config{
		Sandbox:  true,
		GUNs:     []string{env["REGISTRY_HOST"] + "/acme/app"},
		Server:   env["NOTARY_URL"],
		CACert:   env["NOTARY_CA"],
		TrustDir: filepath.Join(dir, "trust"),
		OutDir:   out,
		Signers:  []ui.SignerFile{{Name: "signpath", Path: filepath.Join(dir, "signpath.crt")}},
	}
	note := fmt.Sprintf("Notary server %s, registry %s with acme/app:1.0", env["NOTARY_URL"], env["REGISTRY_HOST"])
	if s := env["YUBIKEY_SERIAL"]; s != "" {
		cfg.AttestationCA = env["YUBIKEY_CA"]
		note += ", and a factory-fresh virtual YubiKey " + s + " (factory PIN 123456, PUK 12345678)"
		if s2 := env["YUBIKEY_SERIAL_2"]; s2 != "" {
			note += "; a second one, " + s2 + ", for a backup root key (b on the YubiKey screen)"
		}
		note += "."
	} else {
		note += "; no virtual YubiKey (" + env["YUBIKEY_PROBLEM"] + "): rehearse with a file root key."
	}
	cfg.SandboxNote = note
	return cfg
}

func findTestbed(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), testbedName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(testbedName); err == nil {
		return p, nil
	}
	return "", &trust.Error{Kind: trust.ErrBadInput, Input: testbedName, Msg: "not found beside dctwiz or on PATH",
		Fix: "run 'make run' in dctwiz's source tree, or build it: go build -o bin/" + testbedName + " ./internal/testbed/cmd/" + testbedName}
}

// testbedProc is the running sandbox helper.
type testbedProc struct {
	cmd    *exec.Cmd
	exited chan error // receives once the helper has exited
	// lifeline is the write end of the helper's stdin: when dctwiz ends,
	// however it ends (even SIGKILL), the kernel closes it, and the helper,
	// reading EOF, tears the sandbox down. dctwiz writes to it only to ask
	// for the root-rotation rehearsal's new token.
	lifeline *os.File
}

// startTestbed starts the helper and waits for its settings file.
func startTestbed(ctx context.Context, bin, dir, rehearse string) (*testbedProc, map[string]string, error) {
	proc := &testbedProc{}
	envFile := filepath.Join(dir, "sandbox.env")
	logPath := filepath.Join(dir, "sandbox.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return proc, nil, err
	}
	defer logFile.Close()
	args := []string{"--dir", filepath.Join(dir, "bed"), "--env-file", envFile, "--push", "acme/app",
		"--signer-cert", filepath.Join(dir, "signpath.crt"), "--yubikey", "--lifeline", "--remove-on-exit", dir}
	if rehearse != "setup" {
		args = append(args, "--rehearse", rehearse) // a prepared token: dctwiz sets the repository up on it
	} else {
		args = append(args, "--factory-yubikey") // the wizard prepares it
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	lifeRead, lifeWrite, err := os.Pipe()
	if err != nil {
		return proc, nil, err
	}
	defer lifeRead.Close() // the helper holds its own copy
	cmd.Stdin, proc.lifeline = lifeRead, lifeWrite
	// Its own process group keeps the terminal's ctrl+c away from it (the
	// wizard decides when it ends). If dctwiz is killed, the lifeline ends
	// it. (Not Pdeathsig: it fires when the thread that started the child
	// ends, and Go ends threads of its own accord.)
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		lifeWrite.Close()
		return proc, nil, &trust.Error{Kind: trust.ErrBadInput, Input: bin, Cause: err, Msg: "cannot start the sandbox helper"}
	}
	proc.cmd, proc.exited = cmd, make(chan error, 1)
	go func() { proc.exited <- cmd.Wait() }()
	deadline := time.After(5 * time.Minute)
	for {
		if env, err := readEnvFile(envFile); err == nil {
			return proc, env, nil
		}
		select {
		case <-proc.exited:
			proc.cmd = nil
			proc.lifeline.Close()
			log, _ := os.ReadFile(logPath)
			return proc, nil, &trust.Error{Kind: trust.ErrBadInput, Input: testbedName,
				Msg: "the sandbox did not start: " + lastLine(string(log)), Fix: "run 'make deps' (as root), then try again"}
		case <-deadline:
			return proc, nil, &trust.Error{Kind: trust.ErrBadInput, Input: testbedName, Msg: "the sandbox did not start within 5 minutes"}
		case <-ctx.Done():
			return proc, nil, &trust.Error{Kind: trust.ErrBadInput, Input: testbedName, Msg: "stopped while the sandbox was starting"}
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop ends the helper, which removes its virtual YubiKey and stops its
// servers (and a pcscd it started); a helper that hangs is killed. It
// returns how the helper ended: an error if it failed or crashed.
func (p *testbedProc) stop() error {
	if p == nil || p.cmd == nil {
		return nil
	}
	p.lifeline.Close()
	askToStop(p.cmd.Process)
	var err error
	select {
	case err = <-p.exited:
	case <-time.After(20 * time.Second):
		killGroup(p.cmd.Process)
		err = <-p.exited
	}
	// Whatever the helper left in its process group (a notary-server, if
	// it crashed before stopping it) goes too: nothing outlives the sandbox.
	killGroup(p.cmd.Process)
	p.cmd = nil
	return err
}

// readEnvFile reads the helper's KEY=VALUE lines (written atomically).
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, found := strings.Cut(sc.Text(), "=")
		if !found {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		env[k] = v
	}
	return env, sc.Err()
}

// lastLines is s's last n lines.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// insertNewToken asks the helper to put the root-rotation rehearsal's
// new, factory-fresh token in the primary's place (the primary goes to the
// safe), and waits for its answer beside the env file.
func (p *testbedProc) insertNewToken(ctx context.Context, envFile string) error {
	answerFile := envFile + ".new-token"
	if _, err := fmt.Fprintln(p.lifeline, "insert-new-token"); err != nil {
		return err
	}
	deadline := time.After(30 * time.Second)
	for {
		if env, err := readEnvFile(answerFile); err == nil {
			if msg := env["NEW_TOKEN_ERROR"]; msg != "" {
				return &trust.Error{Kind: trust.ErrBadInput, Input: testbedName, Msg: "the new virtual YubiKey could not be inserted: " + msg}
			}
			return nil
		}
		select {
		case <-p.exited:
			p.cmd = nil // reaped: nothing left to stop
			p.lifeline.Close()
			return &trust.Error{Kind: trust.ErrBadInput, Input: testbedName, Msg: "the sandbox helper ended while inserting the new virtual YubiKey"}
		case <-deadline:
			return &trust.Error{Kind: trust.ErrBadInput, Input: testbedName, Msg: "the new virtual YubiKey was not inserted within 30 s"}
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
