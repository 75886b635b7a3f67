package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/internal/testbed"
)

// TestReposFile: --repos takes the fleet's list from a file or standard
// input, after the GUN arguments, on the commands that take several
// repositories. A bad line stops the command before anything is asked or
// published, with one error naming the line.
func TestReposFile(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	a, b, c := newGUN(), newGUN(), newGUN()
	for _, g := range []string{a, b} {
		mustOK(t, dctwiz(e, append([]string{"setup", g, "--delegation", "signpath=" + writeCert(t, certSpecAlice)}, serverArgs()...)...))
	}
	list := filepath.Join(t.TempDir(), "repos.txt")
	os.WriteFile(list, []byte("# the fleet\n"+a+"\n\n"+b+"   # the API\n"), 0o644)

	// check: the list from a file, and from standard input after an argument.
	var doc checkDocument
	r := mustOK(t, dctwiz(newEnv(t), append([]string{"check", "--repos", list, "--json"}, serverArgs()...)...))
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Repositories) != 2 || doc.Repositories[0].GUN != a || doc.Repositories[1].GUN != b {
		t.Errorf("check --repos FILE: %v\n%s", err, r)
	}
	r = dctwizIn(newEnv(t), b+"\n", append([]string{"check", a, "--repos", "-", "--json"}, serverArgs()...)...)
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 || len(doc.Repositories) != 2 || doc.Repositories[1].GUN != b {
		t.Errorf("check GUN --repos -: %v\n%s", err, r)
	}

	// A signer added to every listed repository, as one ceremony.
	r = mustOK(t, dctwiz(e, append([]string{"delegation", "add", "--repos", list, "ci", writeCert(t, testbed.CertSpec{CommonName: "bob"}), "--yes", "--json"}, serverArgs()...)...))
	for _, g := range []string{a, b} {
		if roles := delegationRoles(t, e, g); !strings.Contains(strings.Join(roles, " "), "targets/ci") {
			t.Errorf("%s after delegation add --repos: %v", g, roles)
		}
	}

	// Bad lists: one error naming the line, exit 2, nothing published.
	bad := filepath.Join(t.TempDir(), "bad.txt")
	for name, tc := range map[string]struct{ list, says string }{
		"a tag":        {c + "\n" + a + ":1.0\n", "bad.txt line 2"},
		"listed twice": {c + "\n" + c + "\n", "bad.txt line 2: " + c + " is listed on line 1 already"},
		"empty":        {"# nothing\n", "names no repository"},
	} {
		os.WriteFile(bad, []byte(tc.list), 0o644)
		r := dctwiz(e, append([]string{"delegation", "add", "--repos", bad, "qa", writeCert(t, testbed.CertSpec{CommonName: "bob"})}, serverArgs()...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.says) || strings.Count(r.stderr, "\n") > 2 {
			t.Errorf("%s:\n%s", name, r)
		}
	}
	assertNoTrustData(t, c)
	if r := dctwiz(e, append([]string{"check", a, "--repos", list}, serverArgs()...)...); r.code != 2 || !strings.Contains(r.stderr, a+" is given twice") {
		t.Errorf("a GUN given as an argument and in the list:\n%s", r)
	}
	if r := dctwiz(e, "check"); r.code != 2 || !strings.Contains(r.stderr, "no repository given") {
		t.Errorf("check without a repository:\n%s", r)
	}
	if r := dctwiz(e, "check", "--repos", "/dev/zero"); r.code != 2 || !strings.Contains(r.stderr, "not a regular file") {
		t.Errorf("check --repos /dev/zero:\n%s", r)
	}
}
