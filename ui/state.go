package ui

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
	"github.com/dctwiz/dctwiz/yubikey"
)

// Config is what the wizard starts with: flags, environment, or the
// sandbox filling in what a newcomer cannot know.
type Config struct {
	Sandbox  bool
	GUNs     []string // repositories to prefill
	Server   string   // notary server URL; "" = docker's default for each GUN
	CACert   string   // PEM CA for TLS to the server and registry
	TrustDir string
	OutDir   string // where the root certificate and ceremony record go
	// Signers are certificates to prefill on the delegations screen.
	Signers []SignerFile
	// AttestationCA names the CA that AttestationRoots holds (nil: Yubico's).
	AttestationCA    string
	AttestationRoots *x509.CertPool
	// SandboxNote says what the sandbox set up (shown on the welcome screen).
	SandboxNote string
	Now         func() time.Time
	// ContinueCommand renders where a ceremony stopped as the headless
	// command that continues it (cmd's command line); nil: none is shown.
	ContinueCommand func(ResumePoint) ContinueCommand
	// Maintain starts with maintenance chosen on the welcome screen (the
	// sandbox's rotation rehearsals).
	Maintain bool
	// Rehearse names the sandbox's rehearsal ("root-rotation": its
	// ceremony is the one highlighted when nothing else is due).
	Rehearse string
}

// SignerFile is a signer certificate to prefill.
type SignerFile struct {
	Name string
	Path string
}

// rootChoice is how the root key will be (or was) made.
type rootChoice struct {
	fileKey     bool   // a passphrase-protected file key (behind a warning)
	filePass    string // its passphrase
	token       yubikey.Info
	slot        string
	key         trust.RootKey // made and attested
	info        trust.YubiKeyRootInfo
	attestation *trust.YubiKeyAttestation
	closer      io.Closer
}

// tokenChoice is what the YubiKey screen has chosen so far: the token,
// the slot and the settings of a key not made yet.
type tokenChoice struct {
	serial                  uint32
	slot, curve, pin, touch string // as the screen names them: 9c, P-384, once, always
}

// ready says whether the root key exists (YubiKey) or is chosen (file).
func (r rootChoice) ready() bool { return r.key != nil }

func (r rootChoice) where() string {
	if r.fileKey {
		return "file in the trust dir (passphrase-protected)"
	}
	if r.token.Serial != 0 {
		return fmt.Sprintf("YubiKey %d, slot %s", r.token.Serial, r.slot)
	}
	return "YubiKey (not chosen yet)"
}

// state is what the screens share: the admin's choices, then the
// ceremonies' progress. Secrets stay here in memory, never in a file.
type state struct {
	cfg     Config
	backend Backend
	now     func() time.Time

	guns   []trust.GUN
	server string
	caCert string
	outDir string

	root rootChoice
	// backup is setup's backup root key on a second YubiKey (nil: none).
	backup      *RootKeyResult
	backupToken yubikey.Info
	chosen      tokenChoice // the YubiKey screen's choices, for the continue commands
	targetsPass string
	signers     []flows.Signer
	// signersLoaded: the delegations screen has loaded the prefilled
	// signers; before that, the configured ones are the choice.
	signersLoaded bool

	// maintaining: the admin chose to maintain repositories set up before.
	maintaining bool
	mnt         maintenance

	engine     Engine
	ceremonies []*flows.SetupCeremony // one per GUN, in order
	testTags   map[string]string      // the tag each repository was test-signed with
	tagChoice  map[string]string      // the tag highlighted on the test-signing screen
	recordMD   string
	recordJSON string

	// events carries progress from running commands to the root model.
	events chan tea.Msg
	// inflight counts the engine and token commands started and not yet
	// answered; only the root model's goroutine touches it. It is what
	// "busy" means: quitting waits while it is above zero.
	inflight int
	// running counts the same commands while they execute, for the wait
	// after the program has ended (a closed terminal ends it at once).
	running sync.WaitGroup
	// stopping: a quit waits for the running step; start no other.
	stopping bool
	// ctx is what engine and token work runs under; cancel cuts a step
	// that hangs (a second stop), whose outcome is then unknown.
	ctx    context.Context
	cancel context.CancelFunc
}

func newState(cfg Config, b Backend) *state {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &state{ctx: ctx, cancel: cancel, cfg: cfg, backend: b, now: now, server: cfg.Server, caCert: cfg.CACert, outDir: cfg.OutDir,
		testTags: map[string]string{}, tagChoice: map[string]string{}, events: make(chan tea.Msg, 64)}
}

// releaseRoot lets go of the root key chosen so far (and its token), and
// of the targets passphrase that went with it: what is chosen next is
// checked anew.
func (s *state) releaseRoot() {
	for _, c := range s.tokenClosers() {
		c()
	}
	s.root, s.chosen, s.targetsPass = rootChoice{}, tokenChoice{}, ""
	s.mnt.newRoot, s.backup = nil, nil
}

// tokenClosers release the tokens the ceremony holds open: the root key's,
// and a new root key's (a root ceremony).
func (s *state) tokenClosers() []func() error {
	var out []func() error
	if c := s.root.closer; c != nil {
		out = append(out, c.Close)
	}
	if n := s.mnt.newRoot; n != nil && n.Close != nil {
		out = append(out, n.Close)
	}
	if b := s.backup; b != nil && b.Close != nil {
		out = append(out, b.Close)
	}
	return out
}

// published says whether any repository reached the server.
// outcomeUnknown says whether a publish may have reached the server
// unseen: cut off while it ran, or failed where the server could not be
// asked afterwards.
func (s *state) outcomeUnknown() bool {
	for _, c := range s.active() {
		for _, st := range c.Report().Steps {
			cutOff := st.Status == flows.Started || (st.Status == flows.Failed && st.Interrupted)
			if st.OutcomeUnknown || (cutOff && flows.Publishes(st.Step)) {
				return true
			}
		}
	}
	return false
}

func (s *state) published() bool {
	for _, c := range s.active() {
		if c.Report().Published() {
			return true
		}
	}
	return false
}

// gunStrings lists the chosen repositories.
func (s *state) gunStrings() []string { return gunNames(s.guns) }

// workDone carries an engine or token command's result back, and marks
// that work as ended.
type workDone struct{ msg tea.Msg }

// work makes fn an engine or token command that changes something (a
// publish, a key made, a token prepared): quitting waits for it, and its
// result goes back to the screen that started it. It is counted when it
// is made, so Settle never misses one that has not started yet.
func (s *state) work(fn func() tea.Msg) tea.Cmd {
	s.inflight++
	s.running.Add(1)
	return func() tea.Msg {
		defer s.running.Done()
		return workDone{fn()}
	}
}

// look makes fn a command that only reads (a checklist, a token scan, the
// registry's tags): a quit does not wait for it, and cancels it.
func (s *state) look(fn func() tea.Msg) tea.Cmd { return fn }

// send hands a message from a running command to the root model.
func (s *state) send(msg tea.Msg) { s.events <- msg }

// listen waits for the next message from a running command.
func listen(ch chan tea.Msg) tea.Cmd {
	return func() tea.Msg { return eventMsg{<-ch} }
}

// eventMsg wraps a message that came through state.events.
type eventMsg struct{ msg tea.Msg }

// fileSafe turns a GUN into a file-name part: docker.io/acme/app -> docker.io-acme-app.
func fileSafe(gun string) string {
	return strings.NewReplacer("/", "-", ":", "-").Replace(gun)
}

// rootCertPath is where the root certificate of gun is written.
func rootCertPath(st *state, gun string) string {
	return filepath.Join(st.outDir, fileSafe(gun)+"-root.crt")
}

// trustDirShown names the trust dir for people.
func (s *state) trustDirShown() string {
	if s.cfg.TrustDir != "" {
		return s.cfg.TrustDir
	}
	return "~/.docker/trust"
}
