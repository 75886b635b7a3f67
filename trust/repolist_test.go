package trust_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dctwiz/dctwiz/trust"
)

func TestParseRepoList(t *testing.T) {
	good := "# the fleet\n\ndocker.io/acme/app\n  acme/api   # Docker Hub's short form\nregistry.example.com:5000/team/web\n"
	guns, err := trust.ParseRepoList("repos.txt", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range guns {
		got = append(got, g.String())
	}
	if strings.Join(got, " ") != "docker.io/acme/app docker.io/acme/api registry.example.com:5000/team/web" {
		t.Errorf("parsed %v", got)
	}
	// Each bad list is one error naming the line, and no GUN at all.
	for _, tc := range []struct {
		name, list, where, says string
		kind                    error
	}{
		{"a tag", "acme/app\nacme/api:1.0\n", "repos.txt line 2", "a repository name has no tag", trust.ErrBadGUN},
		{"two on a line", "acme/app acme/api\n", "repos.txt line 1", "more than one word", trust.ErrBadGUN},
		{"a URL", "\n\nhttps://docker.io/acme/app\n", "repos.txt line 3", "no scheme", trust.ErrBadGUN},
		{"listed twice", "acme/app\ndocker.io/acme/app\n", "repos.txt line 2", "line 1 already", trust.ErrBadInput},
		{"empty", "# nothing yet\n\n", "repos.txt", "names no repository", trust.ErrBadInput},
		{"a line too long", strings.Repeat("a", 70000), "repos.txt", "cannot read", trust.ErrBadInput},
	} {
		guns, err := trust.ParseRepoList("repos.txt", []byte(tc.list))
		var e *trust.Error
		if guns != nil || !errors.Is(err, tc.kind) || !errors.As(err, &e) || e.Input != tc.where || !strings.Contains(err.Error(), tc.says) || e.Fix == "" {
			t.Errorf("%s: %v, %v; want %v at %q saying %q, with a fix", tc.name, guns, err, tc.kind, tc.where, tc.says)
		}
	}
}

func TestReadRepoList(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "repos.txt")
	os.WriteFile(list, []byte("acme/app\n"), 0o644)
	if guns, err := trust.ReadRepoList(list, nil); err != nil || len(guns) != 1 {
		t.Errorf("a file: %v, %v", guns, err)
	}
	if _, err := trust.ReadRepoList("-", nil); !errors.Is(err, trust.ErrBadInput) {
		t.Errorf("standard input where there is none: %v", err)
	}
	if guns, err := trust.ReadRepoList("-", strings.NewReader("acme/app\nacme/api\n")); err != nil || len(guns) != 2 {
		t.Errorf("standard input: %v, %v", guns, err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, trust.MaxRepoList+1), 0o644)
	for name, path := range map[string]string{"a directory": dir, "a FIFO (would block)": fifo, "/dev/zero (endless)": "/dev/zero",
		"too large": big, "missing": filepath.Join(dir, "none")} {
		if _, err := trust.ReadRepoList(path, nil); !errors.Is(err, trust.ErrBadInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := trust.ReadRepoList("-", strings.NewReader(strings.Repeat("acme/app\n", trust.MaxRepoList/9+1))); !errors.Is(err, trust.ErrBadInput) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("standard input beyond the limit: %v", err)
	}
}
