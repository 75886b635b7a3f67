package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/flows"
)

// TestSignerCeremonyOverSeveralRepositories renews, adds and removes a
// signer in two repositories at once, each set up with its targets key
// deleted: one plan and one confirmation, a targets key signed in and
// deleted again per repository, and each read back by the notary CLI.
func TestSignerCeremonyOverSeveralRepositories(t *testing.T) {
	t.Chdir(t.TempDir()) // a failed list, if a repository ever failed
	needBed(t)
	e := newEnv(t)
	guns := []string{newGUN(), newGUN()}
	for _, g := range guns {
		mustOK(t, dctwiz(e, append([]string{"setup", g, "--delegation", "signpath=" + writeCert(t, certSpecAlice),
			"--delete-targets-key", "--yes"}, serverArgs()...)...))
	}
	renewed := writeCert(t, certSpecAlice)
	args := append(append([]string{"delegation", "replace"}, guns...), "signpath", renewed, "--root-key", "file", "--yes", "--json")
	r := mustOK(t, dctwiz(e, append(args, serverArgs()...)...))
	var reps []flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil || len(reps) != 2 {
		t.Fatalf("delegation replace over two repositories: %v\n%s", err, r)
	}
	for i, rep := range reps {
		if rep.GUN != guns[i] || len(rep.Delegations) != 1 || !rep.Delegations[0].Changed || rep.TargetsKey == nil || !rep.TargetsKey.Gone {
			t.Errorf("report %d: %+v", i, rep)
			continue
		}
		newKey := rep.Delegations[0].KeyIDs[0]
		out, err := exec.Command(bins.CLI, "-s", notary.URL, "-d", t.TempDir(), "--tlscacert", notary.CACert, "delegation", "list", guns[i]).CombinedOutput()
		if err != nil || strings.Count(string(out), newKey) != 2 {
			t.Errorf("notary delegation list %s should show %s in targets/releases and targets/signpath: %v\n%s", guns[i], newKey, err, out)
		}
	}
	if n := keyFileCount(t, e["DOCKER_CONFIG"]+"/trust/private"); n != 1 {
		t.Errorf("%d key files in the trust dir, want the root key's alone", n)
	}

	// Added to both, then removed from both, in text mode.
	args = append(append([]string{"delegation", "add"}, guns...), "ci", writeCert(t, certSpecAlice), "--root-key", "file", "--yes")
	r = mustOK(t, dctwiz(e, append(args, serverArgs()...)...))
	if strings.Count(r.stdout, "Added signer ci of ") != 2 {
		t.Errorf("delegation add over two repositories:\n%s", r)
	}
	if strings.Count(r.stderr, "Plan for ") != 1 || !strings.Contains(r.stderr, "Plan for "+guns[0]+", "+guns[1]+":") {
		t.Errorf("the plan does not name both repositories:\n%s", r.stderr)
	}
	args = append(append([]string{"delegation", "remove"}, guns...), "ci", "--root-key", "file", "--yes")
	r = mustOK(t, dctwiz(e, append(args, serverArgs()...)...))
	if strings.Count(r.stdout, "Removed signer ci of ") != 2 {
		t.Errorf("delegation remove over two repositories:\n%s", r)
	}

	// A removal that one repository would refuse (signpath holds the last
	// release key of the second) changes neither: all are checked first.
	mustOK(t, dctwiz(e, append([]string{"delegation", "add", guns[0], "ci", writeCert(t, certSpecAlice), "--root-key", "file", "--yes"}, serverArgs()...)...))
	args = append(append([]string{"delegation", "remove"}, guns...), "signpath", "--root-key", "file", "--yes")
	r = dctwiz(e, append(args, serverArgs()...)...)
	if r.code != 1 || !strings.Contains(r.stderr, guns[1]+": ") || !strings.Contains(r.stderr, "nothing was published to any of the repositories") {
		t.Errorf("a removal the second repository refuses:\n%s", r)
	}
	if in := inspectAsConsumer(t, notary.URL, notary.CACert, guns[0]); len(in.Signers) != 2 {
		t.Errorf("the first repository was changed although the second refused: signers %+v", in.Signers)
	}

	// A bad repository among several: one line, exit 2, nothing published.
	args = append([]string{"delegation", "remove", guns[0], "Not/A/GUN", "signpath", "--root-key", "file", "--yes"}, serverArgs()...)
	if r = dctwiz(e, args...); r.code != 2 || strings.Count(r.stderr, "dctwiz: ") != 1 || strings.Contains(r.stderr, "Plan for") {
		t.Errorf("a bad GUN among several:\n%s", r)
	}
}
