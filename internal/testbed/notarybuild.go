// Package testbed runs the real parts that dctwiz is tested against: notary's
// own server and CLI built from the pinned module, go-containerregistry's
// registry, and a proxy that can cut connections. Tests and the sandbox use
// it; the dctwiz binary's engine never imports notary's server packages.
package testbed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// NotaryModule is the notary release dctwiz is built on. The server and CLI
// of the test bed are built from exactly this module.
const NotaryModule = "github.com/theupdateframework/notary@v0.7.0"

// The v0.7.0 server reads a multipart part's role from part.FileName().
// Since Go 1.17 FileName applies filepath.Base, so "targets/releases.json"
// arrives as "releases" and every delegation publish fails with
// "invalid role: releases" (notary issue 1630). The fix upstream (PR 1635)
// is in no release, so the test bed patches its private copy of the module
// at build time: the role is read from the raw Content-Disposition filename.
// The project's go.mod and the dctwiz binary stay on the unmodified module.
const (
	fix1630File = "server/handlers/default.go"
	fix1630Old  = `data.RoleName(strings.TrimSuffix(part.FileName(), ".json"))`
	fix1630New  = `data.RoleName(strings.TrimSuffix(rawPartFileName(part), ".json"))`
	fix1630Func = `

// rawPartFileName returns the multipart filename parameter as sent, without
// the filepath.Base that Go >= 1.17 applies in Part.FileName (notary issue 1630).
func rawPartFileName(part *multipart.Part) string {
	_, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}
`
)

// The v0.7.0 server's "local" trust service (the test bed's: no
// notary-signer) keeps its keys in a map without a lock: two publishes at
// once (a batch with --parallel) crash the server with "concurrent map
// read and map write". Production servers sign through notary-signer,
// which is safe. The test bed wraps the local service in a lock.
const (
	fixLocalSignerFile = "cmd/notary-server/config.go"
	fixLocalSignerOld  = `return signed.NewEd25519(), data.ED25519Key, nil`
	fixLocalSignerNew  = `return &lockedKeyService{inner: signed.NewEd25519()}, data.ED25519Key, nil`
	fixLocalSignerFunc = `

// lockedKeyService serialises the local trust service, whose key map has
// no lock of its own (dctwiz test bed).
type lockedKeyService struct {
	mu    sync.Mutex
	inner signed.CryptoService
}

func (l *lockedKeyService) Create(role data.RoleName, gun data.GUN, algorithm string) (data.PublicKey, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inner.Create(role, gun, algorithm)
}

func (l *lockedKeyService) AddKey(role data.RoleName, gun data.GUN, key data.PrivateKey) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inner.AddKey(role, gun, key)
}

func (l *lockedKeyService) GetKey(keyID string) data.PublicKey {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inner.GetKey(keyID)
}

func (l *lockedKeyService) GetPrivateKey(keyID string) (data.PrivateKey, data.RoleName, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inner.GetPrivateKey(keyID)
}

func (l *lockedKeyService) RemoveKey(keyID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inner.RemoveKey(keyID)
}

func (l *lockedKeyService) ListKeys(role data.RoleName) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inner.ListKeys(role)
}

func (l *lockedKeyService) ListAllKeys() map[string]data.RoleName {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inner.ListAllKeys()
}
`
)

// notary-signer stores its private keys encrypted with jose2go (JWE,
// PBES2). v0.7.0 pins a 2017 jose2go, open to the PBES2 iteration-count
// denial of service fixed in 1.6.0 (CVE-2023-50658); the test bed's signer
// is built with 1.7.0, as a deployment built today would be. The CLI and
// the server do not link it.
const signerJose = "github.com/dvsekhvalnov/jose2go@v1.7.0"

// NotaryBinaries are the notary server, signer and CLI built for the test
// bed.
type NotaryBinaries struct {
	Server string
	Signer string
	CLI    string
}

// BuildNotary builds notary-server (with the issue 1630 fix and the local
// signer's lock), notary-signer and the notary CLI from the pinned module, once per machine: the result is cached under
// the user cache dir, keyed by module, patch and Go version. Concurrent
// callers (test packages run in parallel) wait on a file lock.
func BuildNotary(ctx context.Context) (NotaryBinaries, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256([]byte(NotaryModule + fix1630Old + fix1630New + fix1630Func +
		fixLocalSignerOld + fixLocalSignerNew + fixLocalSignerFunc + signerJose + runtime.Version()))
	dir := filepath.Join(cache, "dctwiz", "notary-"+hex.EncodeToString(sum[:6]))
	bins := NotaryBinaries{
		Server: filepath.Join(dir, "bin", "notary-server"),
		Signer: filepath.Join(dir, "bin", "notary-signer"),
		CLI:    filepath.Join(dir, "bin", "notary"),
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return bins, fmt.Errorf("test bed: cannot create the notary build cache %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return bins, fmt.Errorf("test bed: cannot lock the notary build cache: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return bins, fmt.Errorf("test bed: cannot lock the notary build cache: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	if fileExists(bins.Server) && fileExists(bins.Signer) && fileExists(bins.CLI) {
		return bins, nil
	}
	if err := buildNotary(ctx, dir); err != nil {
		return bins, fmt.Errorf("test bed: cannot build the notary server, signer and CLI from %s: %w", NotaryModule, err)
	}
	return bins, nil
}

func buildNotary(ctx context.Context, dir string) error {
	modDir, err := moduleDir(ctx, NotaryModule)
	if err != nil {
		return err
	}
	src := filepath.Join(dir, "src")
	if err := os.RemoveAll(src); err != nil {
		return err
	}
	if err := copyTree(modDir, src); err != nil {
		return fmt.Errorf("copying the module: %w", err)
	}
	// The module zip keeps vendor/modules.txt but not the vendored code:
	// build from the module proxy instead.
	if err := os.RemoveAll(filepath.Join(src, "vendor")); err != nil {
		return err
	}
	for _, f := range []sourceFix{fix1630, fixLocalSigner} {
		if err := f.apply(src); err != nil {
			return err
		}
	}
	out := filepath.Join(dir, "bin.tmp")
	os.RemoveAll(out)
	for _, args := range [][]string{
		{"mod", "edit", "-require=" + signerJose},
		{"build", "-o", out + string(filepath.Separator), "./cmd/notary-server", "./cmd/notary-signer", "./cmd/notary"},
	} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", args[0], err, lastLines(b, 20))
		}
	}
	final := filepath.Join(dir, "bin")
	os.RemoveAll(final)
	return os.Rename(out, final)
}

// sourceFix is one change to the module's source: old replaced by new
// (exactly one occurrence), imports added, code appended.
type sourceFix struct {
	name, file, old, new, imports, appended string
}

var (
	fix1630 = sourceFix{name: "the issue 1630 fix", file: fix1630File, old: fix1630Old, new: fix1630New,
		imports: "\t\"mime\"\n\t\"mime/multipart\"\n", appended: fix1630Func}
	fixLocalSigner = sourceFix{name: "the local signer fix", file: fixLocalSignerFile, old: fixLocalSignerOld, new: fixLocalSignerNew,
		imports: "\t\"sync\"\n", appended: fixLocalSignerFunc}
)

// apply makes the change in src; it fails loudly if the source no longer
// looks as expected, rather than build a server that lacks it.
func (f sourceFix) apply(src string) error {
	path := filepath.Join(src, f.file)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := string(b)
	if strings.Count(text, f.old) != 1 || !strings.Contains(text, "import (\n") {
		return fmt.Errorf("%s does not apply to %s: the source is not v0.7.0's", f.name, f.file)
	}
	text = strings.Replace(text, f.old, f.new, 1)
	text = strings.Replace(text, "import (\n", "import (\n"+f.imports, 1)
	return os.WriteFile(path, []byte(text+f.appended), 0o644)
}

func moduleDir(ctx context.Context, mod string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %v: %s", mod, err, strings.TrimSpace(stderr.String()))
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(b, &info); err != nil {
		return "", err
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", mod, info.Error)
	}
	return info.Dir, nil
}

func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
