package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// certPicker lists a directory for a certificate file. Every entry says
// in words what it is (a folder ends in '/', a file that cannot be picked
// says why), so it reads the same without colour; t types a path instead.
type certPicker struct {
	dir     string
	entries []pickEntry
	cursor  int
	err     error // the directory could not be read
	typed   *form // a path being typed, or nil
}

type pickEntry struct {
	name string
	dir  bool
	why  string // why the file cannot be picked; "" if it can
}

// certExts are the endings a signer certificate file has.
var certExts = []string{".crt", ".pem", ".cer", ".der"}

const pickerRows = 8

func newCertPicker(dir string) *certPicker {
	p := &certPicker{}
	p.open(dir)
	return p
}

// open lists dir: folders first, then files, hidden ones left out.
func (p *certPicker) open(dir string) {
	p.dir, p.cursor, p.entries, p.err = dir, 0, nil, nil
	list, err := os.ReadDir(dir)
	if err != nil {
		p.err = err
		return
	}
	var dirs, files []pickEntry
	for _, e := range list {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&os.ModeSymlink != 0 {
			if st, err := os.Stat(filepath.Join(dir, name)); err == nil {
				isDir = st.IsDir()
			}
		}
		if isDir {
			dirs = append(dirs, pickEntry{name: name, dir: true})
			continue
		}
		files = append(files, pickEntry{name: name, why: whyNotCert(name)})
	}
	p.entries = append(dirs, files...)
}

// whyNotCert says why a file name is not offered as a certificate.
func whyNotCert(name string) string {
	if slices.Contains(certExts, strings.ToLower(filepath.Ext(name))) {
		return ""
	}
	return "not a certificate file: " + strings.Join(certExts, " ")
}

// pickedMsg is a certificate file chosen in the picker.
type pickedMsg struct{ path string }

// update handles a key; it returns a pickedMsg command once a file is
// chosen, or an error for a file that cannot be.
func (p *certPicker) update(msg tea.KeyMsg) tea.Cmd {
	if p.typed != nil {
		switch {
		case key.Matches(msg, keyBack):
			p.typed = nil
			return nil
		case key.Matches(msg, keyNext):
			path := expandHome(p.typed.fields[0].value())
			if _, err := p.typed.fields[0].check(); err != nil {
				return showError(err)
			}
			p.typed = nil
			return func() tea.Msg { return pickedMsg{path} }
		}
		return p.typed.update(msg)
	}
	if c, moved := moveCursor(msg, p.cursor, len(p.entries)); moved {
		p.cursor = c
		return nil
	}
	switch {
	case key.Matches(msg, keyTypePath):
		p.typed = newForm(newField("Certificate", "a path, e.g. ~/certs/signpath.cer", "", false, validateCertPath))
		return p.typed.focused().input.Focus()
	case key.Matches(msg, keyParentDir):
		p.open(filepath.Dir(p.dir))
		return nil
	case key.Matches(msg, keyOpen), key.Matches(msg, keyNext):
		if len(p.entries) == 0 {
			return nil
		}
		e := p.entries[p.cursor]
		path := filepath.Join(p.dir, e.name)
		switch {
		case e.dir:
			p.open(path)
			return nil
		case key.Matches(msg, keyOpen):
			return nil
		case e.why != "":
			return showError(fmt.Errorf("%s: %s; press t to type the path of a certificate with another name", e.name, e.why))
		}
		return func() tea.Msg { return pickedMsg{path} }
	}
	return nil
}

// forward hands a non-key message (a cursor blink) to the typed path.
func (p *certPicker) forward(msg tea.Msg) tea.Cmd {
	if p.typed != nil {
		return p.typed.update(msg)
	}
	return nil
}

func (p *certPicker) view(width int) string {
	var b strings.Builder
	if p.typed != nil {
		b.WriteString("Type the certificate's path (any name; a leading ~ is your home):\n\n")
		b.WriteString(p.typed.view(width))
		return b.String()
	}
	b.WriteString("Pick the signer's certificate (" + strings.Join(certExts, ", ") + ") in\n" + styleDim.Render(p.dir+"/") + "\n\n")
	if p.err != nil {
		b.WriteString(fail("cannot read this folder: "+plainText(p.err.Error())) + "\n")
		return b.String()
	}
	if len(p.entries) == 0 {
		b.WriteString(styleDim.Render("  (an empty folder: ← goes up, t types a path)") + "\n")
	}
	from := max(0, min(p.cursor-pickerRows/2, len(p.entries)-pickerRows))
	for i := from; i < len(p.entries) && i < from+pickerRows; i++ {
		e := p.entries[i]
		line := e.name
		switch {
		case e.dir:
			line += "/"
		case e.why != "":
			line = styleDim.Render(line + "  (" + e.why + ")")
		}
		b.WriteString(gutter(i == p.cursor) + line + "\n")
	}
	if len(p.entries) > pickerRows {
		b.WriteString(styleDim.Render(fmt.Sprintf("  (%d of %d entries)", min(pickerRows, len(p.entries)), len(p.entries))) + "\n")
	}
	return b.String()
}

// validateCertPath checks a typed certificate path.
func validateCertPath(s string) (string, error) {
	path := expandHome(strings.TrimSpace(s))
	if path == "" {
		return "", fmt.Errorf("type the path of the signer's certificate file")
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return "", fmt.Errorf("%s: no such file", path)
	case st.IsDir():
		return "", fmt.Errorf("%s is a folder: give the certificate file in it", path)
	}
	return "", nil
}

// expandHome turns a leading ~/ into the home directory.
func expandHome(path string) string {
	if rest, found := strings.CutPrefix(path, "~/"); found {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return path
}
