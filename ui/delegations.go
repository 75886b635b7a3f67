package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// delegations adds the signers' certificates: each is picked with a file
// picker, previewed, and named (docker's signer name, validated).
type delegations struct {
	st      *state
	phase   delPhase
	cursor  int
	picker  *certPicker
	pending *trust.Certificate // picked, being named
	name    *form
	loaded  bool
}

type delPhase int

const (
	delList delPhase = iota
	delPicking
	delNaming
)

type certsLoadedMsg struct {
	signers []flows.Signer
	err     error
}

func newDelegations(st *state) *delegations { return &delegations{st: st} }

// pickerStart is where the picker opens: beside a prefilled signer's
// certificate, else the working directory.
func (d *delegations) pickerStart() string {
	if len(d.st.cfg.Signers) > 0 {
		if abs, err := filepath.Abs(filepath.Dir(d.st.cfg.Signers[0].Path)); err == nil {
			return abs
		}
	}
	if wd, err := os.Getwd(); err == nil {
		return wd
	}
	return "/"
}

func (d *delegations) title() string { return "Delegations" }
func (d *delegations) explain() string {
	return `A delegation lets another key sign the repository's tags. docker signs
into targets/releases; each signer's certificate is added there and as its
own role targets/<name>, which docker trust inspect shows by that name.
The signer keeps its private key (a signing service's HSM, a CI's key): only
the certificate comes here. Signer names are lower-case letters, digits,
'_' and '-', starting with a letter or digit; "releases" is taken.
Certificates must be valid now, ECDSA P-256/P-384 or RSA of 2048 bits or
more, and not signed with SHA-1.`
}
func (d *delegations) typing() bool {
	return d.phase == delNaming || (d.phase == delPicking && d.picker.typed != nil)
}
func (d *delegations) keys() keyMap {
	switch {
	case d.phase == delPicking && d.picker.typed != nil:
		return bindings(true, keyNext, keyBack)
	case d.phase == delPicking:
		return bindings(false, keyPick, keyTypePath, keyUp, keyDown, keyParentDir, keyOpen, keyBack)
	case d.phase == delNaming:
		return bindings(true, keyNext, keyBack)
	}
	return bindings(false, keyNext, keyAdd, keyRemove, keyUp, keyDown, keyBack)
}

func (d *delegations) enter() tea.Cmd {
	if d.loaded {
		return nil
	}
	d.loaded = true
	files, now := d.st.cfg.Signers, d.st.now()
	return d.st.look(func() tea.Msg {
		var out []flows.Signer
		for _, f := range files {
			if err := trust.ValidSignerName(f.Name); err != nil {
				return certsLoadedMsg{out, err}
			}
			c, err := trust.LoadCertificate(f.Path, now)
			if err != nil {
				return certsLoadedMsg{out, err}
			}
			out = append(out, flows.Signer{Name: f.Name, Cert: c})
		}
		return certsLoadedMsg{out, nil}
	})
}

func (d *delegations) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case certsLoadedMsg:
		d.st.signers = append(d.st.signers, msg.signers...)
		d.st.signersLoaded = true
		if msg.err != nil {
			return showError(msg.err)
		}
		return nil
	case pickedMsg:
		return d.preview(msg.path)
	case tea.KeyMsg:
		return d.key(msg)
	}
	switch d.phase {
	case delPicking:
		return d.picker.forward(msg)
	case delNaming:
		return d.name.update(msg)
	}
	return nil
}

func (d *delegations) key(msg tea.KeyMsg) tea.Cmd {
	switch d.phase {
	case delList:
		var moved bool
		if d.cursor, moved = moveCursor(msg, d.cursor, len(d.st.signers)); moved {
			return nil
		}
		switch {
		case key.Matches(msg, keyAdd):
			d.phase = delPicking
			if d.picker == nil {
				d.picker = newCertPicker(d.pickerStart())
			}
			return nil
		case key.Matches(msg, keyRemove) && len(d.st.signers) > 0:
			d.st.signers = append(d.st.signers[:d.cursor], d.st.signers[d.cursor+1:]...)
			d.cursor = max(min(d.cursor, len(d.st.signers)-1), 0)
		case key.Matches(msg, keyBack):
			return back
		case key.Matches(msg, keyNext):
			if len(d.st.signers) == 0 {
				return showError(errors.New("add at least one signer's certificate: once the targets key is deleted, only signers can sign"))
			}
			return next
		}
		return nil
	case delPicking:
		if d.picker.typed == nil && key.Matches(msg, keyBack) {
			d.phase = delList
			return nil
		}
		return d.picker.update(msg)
	case delNaming:
		switch {
		case key.Matches(msg, keyBack):
			d.phase, d.pending = delPicking, nil
			return nil
		case key.Matches(msg, keyNext):
			name := d.name.fields[0].value()
			if _, err := d.name.fields[0].check(); err != nil {
				return showError(err)
			}
			d.st.signers = append(d.st.signers, flows.Signer{Name: name, Cert: d.pending})
			d.cursor = len(d.st.signers) - 1
			d.phase, d.pending = delList, nil
			return nil
		}
		return d.name.update(msg)
	}
	return nil
}

// preview loads the picked certificate and asks for the signer's name.
func (d *delegations) preview(path string) tea.Cmd {
	c, err := trust.LoadCertificate(path, d.st.now())
	if err != nil {
		return showError(fmt.Errorf("%s was not added: %w", filepath.Base(path), err))
	}
	for _, s := range d.st.signers {
		if s.Cert.Fingerprint == c.Fingerprint {
			return showError(fmt.Errorf("%s is already added, as signer %q", path, s.Name))
		}
	}
	d.pending = c
	d.phase = delNaming
	d.name = newForm(newField("Signer name", "lower-case letters, digits, _ and -", signerNameFrom(c), false, d.validateName))
	return d.name.focused().input.Focus()
}

func (d *delegations) validateName(s string) (string, error) {
	s = strings.TrimSpace(s)
	var names []string
	for _, sig := range d.st.signers {
		names = append(names, sig.Name)
	}
	if err := trust.CheckSignerNames(append(names, s)...); err != nil {
		return "", err
	}
	return "docker trust inspect will show this name; it becomes targets/" + s, nil
}

var nonName = regexp.MustCompile(`[^a-z0-9_-]+`)

// signerNameFrom derives a signer name from the certificate's subject:
// its common name, lower-cased, with other characters as '-'.
func signerNameFrom(c *trust.Certificate) string {
	cn := c.X509.Subject.CommonName
	if cn == "" && len(c.X509.Subject.Organization) > 0 {
		cn = c.X509.Subject.Organization[0]
	}
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(cn), "-"), "-_")
	if name == "" || name == "releases" {
		name = "signer"
	}
	return name
}

func (d *delegations) view(width int) string {
	var b strings.Builder
	switch d.phase {
	case delList:
		b.WriteString("Signers sign the repository's tags through docker's targets/releases\ndelegation. Add each signer's certificate (a signing service's, a CI's).\n\n")
		if len(d.st.signers) == 0 {
			b.WriteString(styleDim.Render("  no signer yet: press a to add a certificate") + "\n")
		}
		for i, s := range d.st.signers {
			cur := gutter(i == d.cursor)
			b.WriteString(cur + styleTitle.Render(s.Name) + "  " + styleDim.Render(s.Cert.Path) + "\n")
			b.WriteString(certPreview(s.Cert, "    "))
		}
	case delPicking:
		b.WriteString(d.picker.view(width))
	case delNaming:
		b.WriteString(styleTitle.Render(d.pending.Path) + "\n")
		b.WriteString(certPreview(d.pending, "  ") + "\n")
		b.WriteString(d.name.view(width))
	}
	return b.String()
}

// certPreview shows what an admin checks before trusting a certificate.
func certPreview(c *trust.Certificate, indent string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%ssubject     %s\n", indent, c.Subject)
	fmt.Fprintf(&b, "%skey         %s, key ID %s\n", indent, c.KeyType, trust.ShortID(c.KeyID))
	fmt.Fprintf(&b, "%sSHA-256     %s\n%s            %s\n", indent, groupHex(c.Fingerprint[:32]), indent, groupHex(c.Fingerprint[32:]))
	fmt.Fprintf(&b, "%sexpires     %s\n", indent, c.NotAfter.UTC().Format("2006-01-02"))
	for _, w := range c.Warnings {
		b.WriteString(indent + warn(w) + "\n")
	}
	return b.String()
}

// groupHex spaces a hex string in groups of four for reading aloud.
func groupHex(h string) string {
	var parts []string
	for len(h) > 4 {
		parts = append(parts, h[:4])
		h = h[4:]
	}
	return strings.Join(append(parts, h), " ")
}
