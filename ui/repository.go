package ui

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// repository chooses the GUNs, the notary server and its TLS CA, and
// where the root certificate and ceremony record go.
type repository struct {
	st       *state
	form     *form
	checking bool
	checks   []flows.CheckItem
}

type reachMsg struct {
	guns                []trust.GUN
	server, caCert, out string
	checks              []flows.CheckItem
}

func newRepository(st *state) *repository {
	out := st.cfg.OutDir
	if out == "" {
		out = "."
	}
	r := &repository{st: st}
	r.form = newForm(
		newField("Repositories", "docker.io/acme/app (several: separate with spaces, or paste them; @FILE reads a list)", strings.Join(st.cfg.GUNs, " "), false, validateGUNs),
		newField("Notary server", "default: docker's server for each repository", st.cfg.Server, false, validateServer),
		newField("TLS CA file", "optional: a PEM CA the server's certificate chains to", st.cfg.CACert, false, validateCAFile),
		newField("Output dir", "where the root certificate and ceremony record go", out, false, validateDir),
	)
	return r
}

func (r *repository) title() string { return "Repository" }
func (r *repository) typing() bool  { return true }
func (r *repository) explain() string {
	return `A repository is named by its GUN (globally unique name): the registry
host and the image's path, e.g. docker.io/acme/app, lower-case, without
https:// and without a tag. Several repositories, separated by spaces, get
the same root key and signers in one ceremony.

The Notary server holds the repositories' trust data; docker's default is
notary.docker.io for docker.io and https://<registry> elsewhere. Give a TLS
CA file when the server's certificate is not signed by a CA this machine
trusts. The output dir receives the root certificates and the ceremony
record. Enter checks the server before going on.`
}
func (r *repository) keys() keyMap {
	return bindings(true, keyNext, keyDownText, keyBack)
}
func (r *repository) enter() tea.Cmd { return r.form.focused().input.Focus() }

func (r *repository) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case reachMsg:
		r.checking, r.checks = false, msg.checks
		for _, c := range msg.checks {
			if c.Status == flows.CheckFail {
				return nil
			}
		}
		// The settings count only once the server answered.
		st := r.st
		changed := len(st.guns) > 0 && (!slices.Equal(gunNames(st.guns), gunNames(msg.guns)) || st.server != msg.server || st.caCert != msg.caCert)
		st.guns, st.server, st.caCert, st.outDir = msg.guns, msg.server, msg.caCert, msg.out
		if changed && st.maintaining {
			// Other repositories: read them, and check the root key
			// against them, again (from a revisit on the review too).
			st.releaseRoot()
			return goTo(mntStatus)
		}
		return next
	case tea.KeyMsg:
		if r.checking {
			return nil
		}
		switch {
		case key.Matches(msg, keyBack):
			return back
		case key.Matches(msg, keyNext):
			if i, err := r.form.firstError(); err != nil {
				r.form.move(i - r.form.focus)
				return showError(err)
			}
			return r.reach()
		}
		// A failed check stays until the admin edits a field.
		before := r.form.values()
		cmd := r.form.update(msg)
		if !slices.Equal(before, r.form.values()) {
			r.checks = nil
		}
		return cmd
	}
	return r.form.update(msg) // cursor blinks
}

// reach checks the server for the first GUN with these settings.
func (r *repository) reach() tea.Cmd {
	guns, _ := parseGUNs(r.form.fields[0].value())
	msg := reachMsg{guns: guns, server: strings.TrimRight(r.form.fields[1].value(), "/"),
		caCert: r.form.fields[2].value(), out: r.form.fields[3].value()}
	r.checking = true
	st := r.st
	return st.look(func() tea.Msg {
		// Each server the repositories use is checked, once.
		seen := map[string]bool{}
		for _, g := range guns {
			server := msg.server
			if server == "" {
				server = trust.DefaultServerURL(g)
			}
			if seen[server] {
				continue
			}
			seen[server] = true
			for _, it := range environmentChecks(st, msg.server, msg.caCert, g, false) {
				if !slices.Contains(msg.checks, it) {
					msg.checks = append(msg.checks, it)
				}
			}
		}
		return msg
	})
}

func (r *repository) view(width int) string {
	var b strings.Builder
	b.WriteString("Which image repositories get Docker Content Trust, and where is their\nNotary server? Each repository is a GUN: registry/namespace/name.\n\n")
	b.WriteString(r.form.view(width))
	if guns, err := parseGUNs(r.form.fields[0].value()); err == nil && len(guns) > 0 {
		b.WriteString("\n")
		for _, g := range guns {
			srv := r.form.fields[1].value()
			if srv == "" {
				srv = trust.DefaultServerURL(g)
			}
			b.WriteString(ok(g.String()) + styleDim.Render("  server "+srv) + "\n")
		}
	}
	if r.checking {
		b.WriteString("\n{spinner} checking the server ...\n")
	}
	if len(r.checks) > 0 {
		b.WriteString("\n" + checklist(r.checks))
	}
	return b.String()
}

// parseGUNs reads the repositories typed or pasted (separated by spaces
// or commas); @FILE reads a repository list (one GUN per line, # comments).
func parseGUNs(s string) ([]trust.GUN, error) {
	var out []trust.GUN
	seen := map[string]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		guns := make([]trust.GUN, 1)
		var err error
		if path, list := strings.CutPrefix(f, "@"); list {
			guns, err = repoList(path)
		} else {
			guns[0], err = trust.ParseGUN(f)
		}
		if err != nil {
			return nil, err
		}
		for _, g := range guns {
			if seen[g.String()] {
				return nil, fmt.Errorf("%s is listed twice", g)
			}
			seen[g.String()] = true
			out = append(out, g)
		}
	}
	return out, nil
}

// repoLists caches the repository lists read for @FILE, by path, size and
// modification time: the field is validated and drawn on every keystroke,
// and a list is read again only when it changed.
var repoLists = struct {
	sync.Mutex
	m map[string]repoListRead
}{m: map[string]repoListRead{}}

type repoListRead struct {
	size int64
	mod  time.Time
	guns []trust.GUN
	err  error
}

// repoList reads the repository list at path (standard input is the
// terminal's here: refused).
func repoList(path string) ([]trust.GUN, error) {
	if path == "-" || path == "" {
		return nil, errors.New("@ takes a file: the wizard reads the terminal, not a list on standard input")
	}
	st, err := os.Stat(path)
	if err != nil {
		return trust.ReadRepoList(path, nil) // says why, naming the path
	}
	repoLists.Lock()
	defer repoLists.Unlock()
	if r, ok := repoLists.m[path]; ok && r.size == st.Size() && r.mod.Equal(st.ModTime()) {
		return r.guns, r.err
	}
	guns, err := trust.ReadRepoList(path, nil)
	repoLists.m[path] = repoListRead{size: st.Size(), mod: st.ModTime(), guns: guns, err: err}
	return guns, err
}

func validateGUNs(s string) (string, error) {
	guns, err := parseGUNs(s)
	if err != nil {
		return "", err
	}
	if len(guns) == 0 {
		return "", errors.New("name at least one repository, e.g. docker.io/acme/app")
	}
	return "", nil
}

func validateServer(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "empty: docker's default (notary.docker.io for docker.io)", nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%q is not a server URL: give https://host[:port]", s)
	}
	if u.Scheme == "http" {
		return "", fmt.Errorf("%q is not TLS: a notary server is reached over https", s)
	}
	return "", nil
}

func validateCAFile(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "empty: the system's CAs", nil
	}
	if _, err := os.Stat(s); err != nil {
		return "", fmt.Errorf("%s: no such file", s)
	}
	return "", nil
}

func validateDir(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("give a directory for the root certificate and ceremony record")
	}
	if st, err := os.Stat(s); err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s: not a directory", s)
	}
	if abs, _ := filepath.Abs(s); abs != s {
		return abs, nil
	}
	return "", nil
}

// gunNames are the GUNs as strings, to compare two lists.
func gunNames(guns []trust.GUN) []string {
	out := make([]string, len(guns))
	for i, g := range guns {
		out[i] = g.String()
	}
	return out
}
