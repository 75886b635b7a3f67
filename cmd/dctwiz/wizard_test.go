package main

import (
	"strings"
	"testing"
)

// What the wizard is started with is checked before a screen opens: a
// signer name the engine would refuse only after publishing is refused
// here, with exit 2.
func TestWizardFlags(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"wizard", "--delegation", "Not Valid=x.crt"}, `"Not Valid": not a valid signer name`},
		{[]string{"wizard", "--delegation", "releases=x.crt"}, "reserved"},
		{[]string{"wizard", "--delegation", "ci=a.crt", "--delegation", "ci=b.crt"}, "given twice"},
		// --signer, its first name, still works and goes with --delegation.
		{[]string{"wizard", "--delegation", "ci=a.crt", "--signer", "ci=b.crt"}, "given twice"},
		{[]string{"wizard", "--delegation", "ci"}, "give NAME=CERT"},
		{[]string{"wizard", "docker.io/Acme/App"}, "not a valid repository name"},
		{[]string{"wizard", "docker.io/acme/app"}, "the wizard needs a terminal"},
		{[]string{"wizard", "--repos", "-"}, "the wizard reads the terminal; give --repos a file"},
		{[]string{"wizard", "--repos", "/dev/zero"}, "not a regular file"},
	} {
		r := dctwiz(e, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
