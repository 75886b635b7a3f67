package virtual

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Factory credentials of every YubiKey.
const (
	DefaultPIN = "123456"
	DefaultPUK = "12345678"
)

// DefaultManagementKey is the factory management key (3DES before firmware
// 5.7, AES-192 from 5.7: the same 24 bytes).
var DefaultManagementKey = []byte{
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
}

// Algorithm bytes of the PIV protocol.
const (
	alg3DES   = 0x03
	algAES128 = 0x08
	algAES192 = 0x0a
	algAES256 = 0x0c
	algECP256 = 0x11
	algECP384 = 0x14
)

// state is everything a YubiKey keeps across power cycles; it is what
// the state file holds.
type state struct {
	Serial     uint32            `json:"serial"`
	Version    [3]byte           `json:"version"`
	PIN        string            `json:"pin"`
	PUK        string            `json:"puk"`
	PINLeft    int               `json:"pin_left"`
	PINMax     int               `json:"pin_max"`
	PUKLeft    int               `json:"puk_left"`
	PUKMax     int               `json:"puk_max"`
	MgmtAlg    byte              `json:"mgmt_alg"`
	MgmtKey    []byte            `json:"mgmt_key"`
	MgmtTouch  bool              `json:"mgmt_touch"`
	Keys       map[byte]*slotKey `json:"keys"`
	Objects    map[string][]byte `json:"objects"`     // by object ID in hex, e.g. "5fc10a"
	DeviceKey  []byte            `json:"device_key"`  // PKCS#8: the attestation key (slot f9)
	DeviceCert []byte            `json:"device_cert"` // DER, issued by CACert
	CAKey      []byte            `json:"ca_key"`      // PKCS#8 of the virtual attestation root
	CACert     []byte            `json:"ca_cert"`     // DER
}

type slotKey struct {
	Alg         byte   `json:"alg"`
	PKCS8       []byte `json:"pkcs8"`
	PINPolicy   byte   `json:"pin_policy"`
	TouchPolicy byte   `json:"touch_policy"`
	Generated   bool   `json:"generated"` // made on the card (attestable), not imported
}

func (k *slotKey) private() (*ecdsa.PrivateKey, error) {
	key, err := x509.ParsePKCS8PrivateKey(k.PKCS8)
	if err != nil {
		return nil, err
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("slot key is %T", key)
	}
	return ec, nil
}

// parseVersion reads "5.4.3".
func parseVersion(s string) ([3]byte, error) {
	var v [3]byte
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("firmware %q: want major.minor.patch", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 {
			return v, fmt.Errorf("firmware %q: want major.minor.patch", s)
		}
		v[i] = byte(n)
	}
	return v, nil
}

// atLeast compares firmware versions.
func (s *state) atLeast(major, minor byte) bool {
	return s.Version[0] > major || (s.Version[0] == major && s.Version[1] >= minor)
}

// defaultMgmtAlg follows Yubico: firmware 5.7 and later ship an AES-192
// management key, earlier ones 3DES.
func (s *state) defaultMgmtAlg() byte {
	if s.atLeast(5, 7) {
		return algAES192
	}
	return alg3DES
}

// factoryReset puts the PIV application back to factory state, keeping
// the device identity (serial, firmware, attestation key and CA).
func (s *state) factoryReset() {
	s.PIN, s.PUK = DefaultPIN, DefaultPUK
	s.PINLeft, s.PINMax, s.PUKLeft, s.PUKMax = 3, 3, 3, 3
	s.MgmtAlg, s.MgmtKey, s.MgmtTouch = s.defaultMgmtAlg(), append([]byte{}, DefaultManagementKey...), false
	s.Keys = map[byte]*slotKey{}
	s.Objects = map[string][]byte{}
	if s.DeviceCert != nil {
		s.Objects[attestationObject] = deviceCertObject(s.DeviceCert)
	}
}

// attestationObject holds the device attestation certificate (slot f9).
const attestationObject = "5fff01"

// deviceCertObject wraps a certificate as PIV stores it: 70 cert, 71 00 (not
// compressed), FE (no error detection code).
func deviceCertObject(der []byte) []byte {
	return concat(encode([]byte{0x70}, der), []byte{0x71, 0x01, 0x00, 0xfe, 0x00})
}

// newState makes a factory-fresh token with its own attestation CA.
func newState(serial uint32, version [3]byte) (*state, error) {
	s := &state{Serial: serial, Version: version}
	s.factoryReset()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "dctwiz virtual YubiKey attestation CA (not Yubico)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	s.CACert, err = x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	if s.CAKey, err = x509.MarshalPKCS8PrivateKey(caKey); err != nil {
		return nil, err
	}
	devKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(s.CACert)
	devTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(int64(serial)),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("Virtual YubiKey PIV Attestation %d", serial)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	s.DeviceCert, err = x509.CreateCertificate(rand.Reader, devTmpl, caCert, &devKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	if s.DeviceKey, err = x509.MarshalPKCS8PrivateKey(devKey); err != nil {
		return nil, err
	}
	s.Objects[attestationObject] = deviceCertObject(s.DeviceCert)
	return s, nil
}

func loadState(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &state{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Keys == nil {
		s.Keys = map[byte]*slotKey{}
	}
	if s.Objects == nil {
		s.Objects = map[string][]byte{}
	}
	return s, nil
}

// save writes the state atomically, readable by its owner only: it holds
// private keys and PINs, as the chip of a real token does.
func (s *state) save(path string) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
