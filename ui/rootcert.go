package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// rootCert shows the exported root certificate and what to do with it.
type rootCert struct{ st *state }

func newRootCert(st *state) *rootCert { return &rootCert{st: st} }

func (r *rootCert) title() string { return "Root certificate" }
func (r *rootCert) typing() bool  { return false }
func (r *rootCert) explain() string {
	return `The root certificate holds the root key's public half, signed by the root
key (CN = the repository). Its SHA-256 fingerprint identifies it when read
aloud or compared; the key ID is what notary's trust pinning and signing
services pin. Pinning means a client refuses trust data signed by any other
root key, instead of trusting the first root it sees.`
}
func (r *rootCert) enter() tea.Cmd { return nil }
func (r *rootCert) keys() keyMap   { return bindings(false, keyNext) }

func (r *rootCert) update(msg tea.Msg) tea.Cmd {
	if k, isKey := msg.(tea.KeyMsg); isKey && key.Matches(k, keyNext) {
		return next
	}
	return nil
}

func (r *rootCert) view(width int) string {
	var b strings.Builder
	for _, c := range r.st.ceremonies {
		rep := c.Report()
		if len(rep.RootCerts) == 0 {
			continue
		}
		cert := rep.RootCerts[0]
		b.WriteString(styleTitle.Render(rep.GUN) + "\n")
		fmt.Fprintf(&b, "  written to   %s\n", rep.RootCertFile)
		fmt.Fprintf(&b, "  key ID       %s\n", cert.KeyID)
		fmt.Fprintf(&b, "  fingerprint  %s\n", groupHex(cert.Fingerprint[:32]))
		fmt.Fprintf(&b, "               %s (SHA-256)\n", groupHex(cert.Fingerprint[32:]))
		fmt.Fprintf(&b, "  valid until  %s\n", cert.NotAfter.UTC().Format("2006-01-02"))
		if a := rep.Attestation; a != nil && a.Verified {
			fmt.Fprintf(&b, "  %s\n", ok(fmt.Sprintf("attested: made on YubiKey %d slot %s", a.Serial, a.Slot)))
			if a.File != "" {
				fmt.Fprintf(&b, "  attestation  %s\n", a.File)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString(`What to do with it:
 • Upload it to the signing service (e.g. SignPath) as the repository's
   root certificate, so that it can check what it signs into.
 • Pin it where clients can pin (notary's trust_pinning, a signing
   service): they refuse trust data signed by any other root key. The
   docker client trusts a repository's root key on first use.
 • Keep a copy with the ceremony record; it holds no secret.
`)
	return b.String()
}
