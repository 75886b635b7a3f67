package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

// testCA makes a CA and a server certificate it signed for name.
func testCA(t *testing.T, name string) (*x509.CertPool, *x509.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, leaf
}

// With a CA file, the server is verified against it and then the
// system's CAs, and the errors read as crypto/tls's: a wrong name is a
// wrong name, not an unknown CA.
func TestVerifyPeerWithACAFile(t *testing.T) {
	pool, leaf := testCA(t, "notary.test")
	other, _ := testCA(t, "notary.test")
	for _, tc := range []struct {
		name       string
		ca         *x509.CertPool
		serverName string
		want       func(error) bool
	}{
		{"trusted by the CA file", pool, "notary.test", func(err error) bool { return err == nil }},
		{"another host name", pool, "registry.test", func(err error) bool {
			var h x509.HostnameError
			return errors.As(err, &h)
		}},
		// An IP address is checked too (crypto/tls reports no server name
		// for one: the name comes from the address dialled).
		{"an IP address the certificate does not name", pool, "10.0.0.5", func(err error) bool {
			var h x509.HostnameError
			return errors.As(err, &h)
		}},
		{"a CA that did not sign it", other, "notary.test", func(err error) bool {
			var u x509.UnknownAuthorityError
			var v *tls.CertificateVerificationError
			return errors.As(err, &u) && errors.As(err, &v)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyPeer(tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}, tc.serverName, tc.ca)
			if !tc.want(err) {
				t.Errorf("verifyPeer: %v", err)
			}
		})
	}
	if err := verifyPeer(tls.ConnectionState{}, "notary.test", pool); err == nil {
		t.Error("no certificate at all was accepted")
	}
}

// tlsError words each verification failure by what would fix it.
func TestTLSErrorWords(t *testing.T) {
	_, leaf := testCA(t, "notary.test")
	for _, tc := range []struct {
		name string
		err  error
		says string
	}{
		{"another name", &tls.CertificateVerificationError{Err: x509.HostnameError{Certificate: leaf, Host: "10.0.0.5"}},
			"the server's TLS certificate is for notary.test, not 10.0.0.5"},
		{"an unknown CA", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{Cert: leaf}},
			"the server's TLS certificate is not trusted"},
		{"expired", &tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Cert: leaf, Reason: x509.Expired}},
			"the server's TLS certificate is valid from " + leaf.NotBefore.UTC().Format("2006-01-02") + " to " + leaf.NotAfter.UTC().Format("2006-01-02") + ", not now"},
	} {
		e := tlsError(tc.err, "https://notary.test", "server")
		if e == nil || !errors.Is(e, ErrTLS) || !strings.Contains(e.Error(), tc.says) {
			t.Errorf("%s: %v; want %q", tc.name, e, tc.says)
		}
	}
	if e := tlsError(errors.New("connection refused"), "https://notary.test", "server"); e != nil {
		t.Errorf("a refused connection read as a TLS failure: %v", e)
	}
}
