package testbed

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Postgres is a private PostgreSQL cluster on loopback, as production
// notary servers and signers use for storage: its own data directory,
// TLS with the test bed's CA, and password (md5) logins. Debian's
// postgresql package provides the programs. Close stops it and removes
// its files.
type Postgres struct {
	Addr string // 127.0.0.1:PORT

	bin  string // the directory of initdb, postgres and psql
	dir  string // the data directory (owned by the server's user)
	cred *syscall.Credential
	cmd  *exec.Cmd
	log  *lockedWriter
	done chan struct{}
	once sync.Once
}

// postgresBinDir finds Debian's PostgreSQL programs (the newest version
// installed), or initdb on PATH.
func postgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if fileExists(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL is not installed (Debian: apt-get install postgresql; make test installs it as root)")
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// serverCredential is who runs the cluster: PostgreSQL refuses to run as
// root, so as root it runs as Debian's postgres user.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user (Debian's postgresql package makes it): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// StartPostgres makes and starts a cluster whose server certificate is
// tlsFiles' (for 127.0.0.1, signed by its CA).
func StartPostgres(ctx context.Context, tlsFiles TLSFiles) (*Postgres, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	// Its own temporary directory: the bed's is private to this user,
	// and the cluster's user must reach its data.
	dir, err := os.MkdirTemp("", "dctwiz-postgres-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{bin: bin, dir: dir, cred: cred, log: &lockedWriter{w: &bytes.Buffer{}}, done: make(chan struct{})}
	if err := p.init(ctx, tlsFiles); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	started, err := onFreePort(func(addr string) (*Postgres, error) {
		p.done = make(chan struct{})
		return p, p.start(addr)
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return started, nil
}

func (p *Postgres) init(ctx context.Context, tlsFiles TLSFiles) error {
	data := filepath.Join(p.dir, "data")
	// The server's key must belong to the server's user, mode 0600.
	key, _ := os.ReadFile(tlsFiles.ServerKey)
	crt, _ := os.ReadFile(tlsFiles.ServerCert)
	if err := os.WriteFile(filepath.Join(p.dir, "server.key"), key, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(p.dir, "server.crt"), crt, 0o644); err != nil {
		return err
	}
	if err := p.own(p.dir, "server.key", "server.crt"); err != nil {
		return err
	}
	// Unix sockets go in the data dir; logins over TCP need TLS and a
	// password. md5, not scram: notary v0.7.0's lib/pq (2015) predates
	// SCRAM.
	if out, err := p.run(ctx, "initdb", "-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=reject",
		"--no-sync", "--encoding=UTF8", "--locale=C"); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, lastLines(out, 10))
	}
	hba := "local all all trust\nhostssl all all 127.0.0.1/32 md5\n"
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return err
	}
	return p.own(data, "pg_hba.conf")
}

// own gives files in dir (and dir) to the cluster's user.
func (p *Postgres) own(dir string, names ...string) error {
	if p.cred == nil {
		return nil
	}
	for _, n := range append([]string{""}, names...) {
		if err := os.Chown(filepath.Join(dir, n), int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			return err
		}
	}
	return nil
}

func (p *Postgres) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

func (p *Postgres) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return p.command(ctx, name, args...).CombinedOutput()
}

func (p *Postgres) start(addr string) error {
	host, port, _ := net.SplitHostPort(addr)
	data := filepath.Join(p.dir, "data")
	// fsync off: the test bed's data is thrown away; what notary asks of
	// the database (transactions, constraints) is unchanged.
	p.cmd = p.command(context.Background(), "postgres", "-D", data,
		"-c", "listen_addresses="+host, "-c", "port="+port, "-c", "unix_socket_directories="+p.dir,
		"-c", "ssl=on", "-c", "ssl_cert_file="+filepath.Join(p.dir, "server.crt"),
		"-c", "ssl_key_file="+filepath.Join(p.dir, "server.key"),
		"-c", "password_encryption=md5", "-c", "fsync=off", "-c", "max_connections=200")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	// Its backends share the output pipe: a postmaster killed alone must
	// not keep Wait waiting on them.
	p.cmd.WaitDelay = 5 * time.Second
	if err := startChild(p.cmd); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	done := p.done
	go func() { p.cmd.Wait(); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := p.run(context.Background(), "pg_isready", "-h", p.dir, "-p", port, "-U", "postgres")
		if err == nil {
			p.Addr = addr
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("postgres exited:\n%s", lastLines([]byte(p.Log()), 10))
		default:
		}
		if time.Now().After(deadline) {
			p.stop()
			return fmt.Errorf("postgres on %s did not come up: %s\n%s", addr, out, lastLines([]byte(p.Log()), 10))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Database makes a login role owning a new database, runs the migration
// files in order as that role, and returns the lib/pq URL notary's
// configuration takes (TLS verified against caFile).
func (p *Postgres) Database(ctx context.Context, name string, migrations []string, caFile string) (string, error) {
	secret := make([]byte, 16)
	rand.Read(secret)
	password := hex.EncodeToString(secret)
	_, port, _ := net.SplitHostPort(p.Addr)
	psql := func(db string, args ...string) error {
		all := append([]string{"-h", p.dir, "-p", port, "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-q"}, args...)
		if out, err := p.run(ctx, "psql", all...); err != nil {
			return fmt.Errorf("psql %s: %v\n%s", db, err, lastLines(out, 10))
		}
		return nil
	}
	if err := psql("postgres", "-c", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", name, password),
		"-c", fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, name)); err != nil {
		return "", err
	}
	args := []string{"-c", "SET ROLE " + name}
	for _, m := range migrations {
		// The cluster's user reads the files: pass them on stdin's stead
		// as commands, since the module cache may be private to root.
		b, err := os.ReadFile(m)
		if err != nil {
			return "", err
		}
		args = append(args, "-c", string(b))
	}
	if err := psql(name, args...); err != nil {
		return "", err
	}
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=verify-full&sslrootcert=%s", name, password, p.Addr, name, caFile), nil
}

// Query runs sql in database db as the superuser and returns psql's
// unaligned, tuple-only output: one row per line, fields split by |.
func (p *Postgres) Query(ctx context.Context, db, sql string) (string, error) {
	_, port, _ := net.SplitHostPort(p.Addr)
	out, err := p.command(ctx, "psql", "-h", p.dir, "-p", port, "-U", "postgres", "-d", db, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql).Output()
	if err != nil {
		return "", fmt.Errorf("psql %s: %v", db, err)
	}
	return string(out), nil
}

// Log returns what the cluster printed, for failure messages.
func (p *Postgres) Log() string { return p.log.String() }

func (p *Postgres) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	// SIGINT is PostgreSQL's fast shutdown: it ends its backends too.
	stopProcess(p.cmd.Process, syscall.SIGINT, p.done)
}

// Close stops the cluster and removes its files.
func (p *Postgres) Close() {
	p.once.Do(func() {
		p.stop()
		os.RemoveAll(p.dir)
	})
}
