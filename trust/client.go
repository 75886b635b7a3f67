// Package trust is dctwiz's engine: Docker Content Trust operations on a
// Notary v1 server, built on notary's client library and
// go-containerregistry. It never prints or prompts: passphrases, PINs and
// credentials are inputs, results are values, failures are *Error values.
package trust

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Passphrases are the secrets that unlock keys in the trust dir. Each is
// used only for keys of its role; an empty one means "not given".
type Passphrases struct {
	Root       string // the root key (file root keys only)
	Targets    string // the repository's targets key
	Delegation string // delegation (signer) keys, e.g. for targets/releases
}

// PassphraseFunc gives the passphrase of a role's key, "root", "targets"
// or "delegation", when the engine first needs it, as notary's own
// PassRetriever does; isNew says the key is being made (a prompt asks
// twice). An error stops the step before anything is sent. The client
// keeps each answer for its life: the caller is asked once per role.
type PassphraseFunc func(role string, isNew bool) (string, error)

// MinPassphraseLength is notary's rule for new keys.
const MinPassphraseLength = 8

// Client runs trust operations against one notary server (or, without
// WithServer, the server docker would use for each GUN). It is safe for
// use by one ceremony at a time.
type Client struct {
	server       string
	trustDir     string
	caFile       string
	base         http.RoundTripper
	notaryAuth   authn.Authenticator
	registryAuth authn.Authenticator
	keychain     authn.Keychain
	passFunc     PassphraseFunc

	mu         sync.Mutex
	transports map[string]http.RoundTripper // by server URL + GUN

	memo    metaMemo       // trust data this process already read (see memo.go)
	puller  *remote.Puller // the registry's transports, reused (registry.go)
	timeout time.Duration  // each request's limit (timeout.go)
	// unlocked are the keys this process decrypted (keystore.go).
	unlocked unlockedKeys

	// passMu guards passCache, and makes the engine ask for one passphrase
	// at a time; it is not mu, so a prompt never holds up the network.
	passMu    sync.Mutex
	passCache map[string]string // the answers passFunc gave, by role
}

// Option configures a Client.
type Option func(*Client)

// WithServer sets the notary server URL for every GUN.
func WithServer(url string) Option { return func(c *Client) { c.server = strings.TrimRight(url, "/") } }

// WithTrustDir sets the trust dir (docker's ~/.docker/trust layout).
func WithTrustDir(dir string) Option { return func(c *Client) { c.trustDir = dir } }

// WithCACert adds a PEM CA file to the system roots for TLS to the notary
// server and the registry.
func WithCACert(path string) Option { return func(c *Client) { c.caFile = path } }

// WithTransport replaces the base HTTP transport (tests use it to reach
// servers through a fault-injecting proxy). WithCACert is then ignored.
func WithTransport(rt http.RoundTripper) Option { return func(c *Client) { c.base = rt } }

// WithPassphrases sets the key passphrases, collected beforehand.
func WithPassphrases(p Passphrases) Option {
	return WithPassphraseFunc(func(role string, _ bool) (string, error) { return p.forRole(role), nil })
}

// WithPassphraseFunc asks for each role's passphrase when it is first needed.
func WithPassphraseFunc(f PassphraseFunc) Option { return func(c *Client) { c.passFunc = f } }

// passphrase is role's passphrase: the one given before, else passFunc's
// answer; "" when none is given.
func (c *Client) passphrase(role string, isNew bool) (string, error) {
	c.passMu.Lock()
	defer c.passMu.Unlock()
	if p, ok := c.passCache[role]; ok {
		return p, nil
	}
	if c.passFunc == nil {
		return "", nil
	}
	p, err := c.passFunc(role, isNew)
	if err != nil {
		return "", err
	}
	if c.passCache == nil {
		c.passCache = map[string]string{}
	}
	c.passCache[role] = p
	return p, nil
}

// WithNotaryAuth sets the credentials for the notary server, overriding
// the docker config (NOTARY_AUTH in the CLI).
func WithNotaryAuth(a authn.Authenticator) Option { return func(c *Client) { c.notaryAuth = a } }

// WithRegistryAuth sets the credentials for the registry, overriding the
// docker config (REGISTRY_AUTH in the CLI).
func WithRegistryAuth(a authn.Authenticator) Option { return func(c *Client) { c.registryAuth = a } }

// WithKeychain replaces the docker-config keychain used for credentials.
func WithKeychain(k authn.Keychain) Option { return func(c *Client) { c.keychain = k } }

// New makes a Client. The trust dir defaults to ~/.docker/trust and
// credentials to those of ~/.docker/config.json.
func New(opts ...Option) (*Client, error) {
	c := &Client{keychain: DockerConfigKeychain(""), transports: map[string]http.RoundTripper{}}
	for _, o := range opts {
		o(c)
	}
	if c.server != "" {
		if err := checkServerURL(c.server); err != nil {
			return nil, err
		}
	}
	if c.trustDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, newError(ErrBadInput, "", "choose a trust dir", "cannot find the home directory for the default trust dir").with(ActionTrustDir)
		}
		c.trustDir = filepath.Join(home, ".docker", "trust")
	}
	if c.base == nil {
		rt, err := tlsTransport(c.caFile)
		if err != nil {
			return nil, err
		}
		c.base = rt
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	c.base = timeoutTransport{inner: c.base, limit: c.timeout}
	return c, nil
}

// checkServerURL refuses a notary server URL that is not https://host, or
// that carries credentials: those would travel in the clear, or show in
// process lists, logs and errors (this one shows the URL without them).
func checkServerURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return newError(ErrBadInput, "server URL", "give the notary server as https://host[:port]", "%q is not a notary server URL", redactURL(raw))
	}
	if u.User != nil {
		return newError(ErrBadInput, u.Redacted(), "give the credentials in NOTARY_AUTH (base64 of user:password) or a docker login, not in the URL",
			"the server URL carries credentials").with(ActionServer)
	}
	if u.Scheme != "https" {
		return newError(ErrBadInput, u.String(), "give the server as https://host[:port]",
			"not TLS: a notary server is reached over https (over %s, credentials and trust data would travel in the clear)", u.Scheme).with(ActionServer)
	}
	return nil
}

// redactURL is raw without a password, even when it does not parse.
func redactURL(raw string) string {
	if at := strings.LastIndex(raw, "@"); at >= 0 {
		if i := strings.Index(raw, "://"); i >= 0 && i < at {
			return raw[:i+3] + "…" + raw[at:]
		}
		return "…" + raw[at:]
	}
	return raw
}

// TrustDir is where keys and cached trust data live.
func (c *Client) TrustDir() string { return c.trustDir }

// ServerURL is the notary server used for gun.
func (c *Client) ServerURL(gun GUN) string {
	if c.server != "" {
		return c.server
	}
	return DefaultServerURL(gun)
}

// tlsTransport trusts the system's CAs and, when caFile is given, that CA
// too. The system's CAs are read only when a server's certificate needs
// them: reading them costs a short command a fifth of its time.
func tlsTransport(caFile string) (http.RoundTripper, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return t, nil // nil RootCAs: Go reads the system's CAs at the first handshake
	}
	pemBytes, err := ReadInputFile(caFile)
	if err != nil {
		return nil, wrapError(ErrBadInput, err, caFile, "check the TLS CA certificate's path", "cannot read the TLS CA certificate: %s", shortCause(err)).with(ActionTLSCA)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, newError(ErrBadInput, caFile, "give a PEM file with the CA certificate of the notary server", "no PEM certificate in the TLS CA file")
	}
	// crypto/tls verifies against one pool; this verifies against the CA
	// file, then the system's, with the same checks (chain, host name).
	// The host comes from the address dialled: for an IP address crypto/tls
	// leaves ConnectionState.ServerName empty, and an empty name is no check.
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		raw, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		conn := tls.Client(raw, &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host, InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error { return verifyPeer(cs, host, pool) }})
		if err := conn.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	}
	return t, nil
}

// verifyPeer verifies the server's chain and name against ca, else
// against the system's CAs. The error is crypto/tls's own kind, so that
// an untrusted CA and a wrong name read as they do without a CA file.
func verifyPeer(cs tls.ConnectionState, host string, ca *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	if host == "" {
		return errors.New("tls: no host name to verify the server's certificate against")
	}
	opts := x509.VerifyOptions{DNSName: host, Intermediates: x509.NewCertPool(), Roots: ca}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	leaf := cs.PeerCertificates[0]
	caErr := verifyLeaf(leaf, opts)
	if caErr == nil {
		return nil
	}
	opts.Roots = nil // the system's
	err := verifyLeaf(leaf, opts)
	if err == nil {
		return nil
	}
	var nameErr x509.HostnameError
	if errors.As(caErr, &nameErr) {
		err = caErr // the CA file's chain holds: the name is what is wrong
	}
	return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
}

func verifyLeaf(leaf *x509.Certificate, opts x509.VerifyOptions) error {
	_, err := leaf.Verify(opts)
	return err
}

// BasicAuthFromEnv decodes NOTARY_AUTH / REGISTRY_AUTH style credentials:
// base64 of "user:password".
func BasicAuthFromEnv(varName, value string) (authn.Authenticator, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil {
		return nil, newError(ErrBadInput, varName, "set it to base64 of user:password", "not valid base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" {
		return nil, newError(ErrBadInput, varName, "set it to base64 of user:password", "does not decode to user:password")
	}
	return &authn.Basic{Username: user, Password: pass}, nil
}

// notaryTransport returns an authorised transport for the notary server of
// gun: the docker registry token flow (ping, challenge, token with scope
// repository:<gun>:push,pull), with credentials from NOTARY_AUTH or the
// docker config entry for the GUN's registry. The ping also tells
// unreachable, TLS and auth failures apart before notary sees them.
func (c *Client) notaryTransport(ctx context.Context, gun GUN) (http.RoundTripper, error) {
	server := c.ServerURL(gun)
	key := server + " " + gun.String()
	c.mu.Lock()
	rt, ok := c.transports[key]
	c.mu.Unlock()
	if ok {
		return withContext(ctx, rt), nil
	}
	serverURL, err := url.Parse(server)
	if err != nil || serverURL.Host == "" || serverURL.Scheme != "https" { // New refused the rest
		return nil, newError(ErrBadInput, server, "give the notary server as https://host[:port]", "not a notary server URL")
	}
	reg, err := name.NewRegistry(serverURL.Host)
	if err != nil {
		return nil, wrapError(ErrBadInput, err, server, "give the notary server as https://host[:port]", "not a notary server URL")
	}
	auth, _, err := c.notaryCredentials(ctx, gun)
	if err != nil {
		auth = authn.Anonymous
	}
	scopes := []string{"repository:" + gun.String() + ":push,pull"}
	// go-containerregistry races http against https for loopback and
	// private hosts; the guard keeps every request on the server's scheme.
	guarded := schemeGuard{inner: c.base, allow: func(u *url.URL) bool { return u.Scheme == serverURL.Scheme }}
	rt, err = transport.NewWithContext(ctx, reg, auth, guarded, scopes)
	if err != nil {
		return nil, classifyNetwork(err, server)
	}
	// Outside the token transport, so that it can refresh an expired token
	// before a 401 counts as a refusal.
	rt = &statusTransport{inner: rt}
	c.mu.Lock()
	c.transports[key] = rt
	c.mu.Unlock()
	return withContext(ctx, rt), nil
}

// notaryCredentials are the credentials for gun's notary server and where
// they come from: "NOTARY_AUTH", "docker config", or "" (anonymous).
func (c *Client) notaryCredentials(ctx context.Context, gun GUN) (authn.Authenticator, string, error) {
	if c.notaryAuth != nil {
		return c.notaryAuth, "NOTARY_AUTH", nil
	}
	auth, err := authn.Resolve(ctx, c.keychain, gunRegistry(gun))
	if err != nil {
		return nil, "", err
	}
	if auth == authn.Anonymous {
		return auth, "", nil
	}
	return auth, "docker config", nil
}

// gunRegistry is the registry whose docker-config credentials docker uses
// for a GUN's notary server.
func gunRegistry(gun GUN) name.Registry {
	reg, _ := name.NewRegistry(gun.repo.RegistryStr())
	return reg
}

// withContext attaches ctx to every request notary makes: notary's client
// has no context of its own.
func withContext(ctx context.Context, rt http.RoundTripper) http.RoundTripper {
	return ctxTransport{ctx: ctx, inner: rt}
}

type ctxTransport struct {
	ctx   context.Context
	inner http.RoundTripper
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.inner.RoundTrip(req.WithContext(t.ctx))
}

// schemeGuard refuses requests that allow rejects: it keeps a request for
// an https server from going out over plain http.
type schemeGuard struct {
	inner http.RoundTripper
	allow func(*url.URL) bool
}

func (g schemeGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if !g.allow(req.URL) {
		// A redirect (or go-containerregistry's fallback) to plain http:
		// credentials and trust data stay on TLS.
		return nil, fmt.Errorf("refused to go to %s://%s (a redirect away from TLS, or plain http)", req.URL.Scheme, req.URL.Host)
	}
	return g.inner.RoundTrip(req)
}

// isLoopback says whether host (host[:port]) is this machine.
func isLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// statusTransport turns 401 and 403 answers into errors that keep their
// meaning: notary reports them as a generic "server unavailable".
type statusTransport struct{ inner http.RoundTripper }

func (t *statusTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err == nil && req.URL.Path != "/v2/" && strings.Contains(req.URL.Path, "/_trust/") &&
		(resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		resp.Body.Close()
		return nil, &authError{status: resp.StatusCode}
	}
	return resp, err
}

type authError struct{ status int }

func (e *authError) Error() string { return fmt.Sprintf("notary server answered %d", e.status) }

// classifyNetwork turns a transport failure into an engine error.
func classifyNetwork(err error, server string) error {
	var aerr *authError
	var terr *transport.Error
	var tout *TimeoutError
	if e := tlsError(err, server, "server"); e != nil {
		return e
	}
	switch {
	case errors.Is(err, context.Canceled):
		// Stopped from here (ctrl+c, a quit): the server may be fine.
		return wrapError(ErrInterrupted, err, server, "run the same command again: it finds out what reached the server", "interrupted before the server answered")
	case errors.As(err, &tout):
		return wrapError(ErrServerUnreachable, err, server, "check that the server is up and reachable, then run the same command again (with a longer time limit if the server is only slow)",
			"no answer within %s", tout.Limit)
	case errors.Is(err, context.DeadlineExceeded):
		return wrapError(ErrServerUnreachable, err, server, "check that the server is up and reachable, then run the same command again", "no answer in time")
	case errors.As(err, &aerr):
		return wrapError(ErrUnauthorized, err, server, "log in to the notary server", "the notary server refused the credentials (HTTP %d)", aerr.status).with(ActionNotaryLogin)
	case errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden):
		return wrapError(ErrUnauthorized, err, server, "log in to the notary server", "the notary server refused the credentials (HTTP %d)", terr.StatusCode).with(ActionNotaryLogin)
	case errors.As(err, &terr) && terr.StatusCode >= 500:
		return wrapError(ErrServerUnreachable, err, server, "try again later, or check the server's logs",
			"the notary server answered HTTP %d (an error of its own)", terr.StatusCode)
	default:
		return wrapError(ErrServerUnreachable, err, server, "check the server URL and that the server is up", "cannot reach the notary server: %s", shortCause(err)).with(ActionServer)
	}
}

// tlsError explains a failed TLS verification of a server (whose is
// "server" or "registry"), or returns nil for other errors.
func tlsError(err error, input, whose string) *Error {
	var verr *tls.CertificateVerificationError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var ierr x509.CertificateInvalidError
	switch {
	case errors.As(err, &ierr) && ierr.Reason == x509.Expired && ierr.Cert != nil:
		// Another CA would not help: the certificate's dates are wrong (or
		// this machine's clock is).
		return wrapError(ErrTLS, err, input, fmt.Sprintf("have the %s's certificate renewed, or check this machine's clock", whose),
			"the %s's TLS certificate is valid from %s to %s, not now", whose, ierr.Cert.NotBefore.UTC().Format("2006-01-02"), ierr.Cert.NotAfter.UTC().Format("2006-01-02"))
	case errors.As(err, &herr) && herr.Certificate != nil:
		// Named before an unknown CA: crypto/x509 checks the name first,
		// and trusting another CA would not help.
		return wrapError(ErrTLS, err, input, fmt.Sprintf("reach the %s by a name its certificate gives, or have its certificate name %s", whose, herr.Host),
			"the %s's TLS certificate is for %s, not %s", whose, certNames(herr.Certificate), herr.Host)
	case errors.As(err, &verr), errors.As(err, &uerr), errors.As(err, &herr):
		return wrapError(ErrTLS, err, input, fmt.Sprintf("trust the %s's CA certificate", whose), "the %s's TLS certificate is not trusted", whose).with(ActionTLSCA)
	}
	return nil
}

// certNames lists the host names and addresses a certificate is for, or
// its subject when it names none.
func certNames(c *x509.Certificate) string {
	names := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no host name (subject " + c.Subject.String() + ")"
	}
	if len(names) > 4 {
		names = append(names[:4], fmt.Sprintf("%d more", len(names)-4))
	}
	return strings.Join(names, ", ")
}

// shortCause keeps the last, most specific part of a nested error message
// (of the first error, when go-containerregistry joins the https and http
// attempts to a loopback server with "; ").
func shortCause(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "; ")
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		return msg[i+2:]
	}
	return msg
}
