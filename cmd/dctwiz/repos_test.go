package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/internal/testbed"
)

// TestReposFile: --repos takes the fleet's list from a file or standard
// input, after the GUN arguments, on the commands that take several
// repositories. A bad line stops the command before anything is asked or
// published, with one error naming the line.
func TestReposFile(t *testing.T) {
	needBed(t)
	t.Chdir(t.TempDir()) // where a failed list goes
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
	var doc2 checkDocument
	if err := json.Unmarshal([]byte(r.stdout), &doc2); err != nil || r.code != 0 || len(doc2.Repositories) != 2 || doc2.Repositories[0].GUN != a || doc2.Repositories[1].GUN != b {
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

	// The query commands and the targets key's deletion, over the list.
	var ins []map[string]any
	r = mustOK(t, dctwizIn(newEnv(t), b+"\n", append([]string{"inspect", a, "--repos", "-", "--json"}, serverArgs()...)...))
	if err := json.Unmarshal([]byte(r.stdout), &ins); err != nil || len(ins) != 2 || ins[1]["gun"] != b {
		t.Errorf("inspect GUN --repos -: %v\n%s", err, r)
	}
	certDir := t.TempDir()
	mustOK(t, dctwiz(newEnv(t), append([]string{"root-cert", "export", "--repos", list, "-o", certDir}, serverArgs()...)...))
	if files, _ := filepath.Glob(filepath.Join(certDir, "*-root.crt")); len(files) != 2 {
		t.Errorf("root-cert export --repos -o DIR wrote %v", files)
	}
	// A repository without trust data does not stop the others.
	r = dctwiz(newEnv(t), append([]string{"inspect", a, c}, serverArgs()...)...)
	if r.code != 1 || !strings.Contains(r.stdout, "Signatures for "+a) || !strings.Contains(r.stderr, "1 of 2 repositories failed: "+c) {
		t.Errorf("inspect of a repository and one without trust data:\n%s", r)
	}
	r = mustOK(t, dctwiz(e, append([]string{"targets-key", "delete", "--repos", list, "--yes", "--json"}, serverArgs()...)...))
	if strings.Count(r.stdout, `"gun": "`) != 2 || keyFileCount(t, filepath.Join(e["DOCKER_CONFIG"], "trust", "private")) != 1 {
		t.Errorf("targets-key delete --repos: the root key alone should be left\n%s", r)
	}

	if r := dctwiz(e, append([]string{"check", a, "--repos", list}, serverArgs()...)...); r.code != 2 || !strings.Contains(r.stderr, a+" is given twice") {
		t.Errorf("a GUN given as an argument and in the list:\n%s", r)
	}
	if r := dctwiz(e, append([]string{"check", "--repos", list, "--parallel", "0"}, serverArgs()...)...); r.code != 2 || !strings.Contains(r.stderr, "--parallel 0: give 1 or more") {
		t.Errorf("check --parallel 0:\n%s", r)
	}
	if r := dctwiz(e, "check"); r.code != 2 || !strings.Contains(r.stderr, "no repository given") {
		t.Errorf("check without a repository:\n%s", r)
	}
	if r := dctwiz(e, "check", "--repos", "/dev/zero"); r.code != 2 || !strings.Contains(r.stderr, "not a regular file") {
		t.Errorf("check --repos /dev/zero:\n%s", r)
	}
}

// TestBatchCarriesOnPastAFailedRepository: the server refuses every
// publish for one repository of three. The other two are rotated; the
// command names the failed one with why, writes its GUN to a file, exits 1
// and prints the command that reruns only it, which then completes it.
func TestBatchCarriesOnPastAFailedRepository(t *testing.T) {
	needBed(t)
	t.Chdir(t.TempDir()) // the failed list is written to the working directory
	e := newEnv(t)
	guns := []string{newGUN(), newGUN(), newGUN()}
	for _, g := range guns {
		mustOK(t, dctwiz(e, append([]string{"setup", g, "--delegation", "signpath=" + writeCert(t, certSpecAlice)}, serverArgs()...)...))
	}
	proxy, err := testbed.StartRefusingProxy(notary.URL, &notary.TLS, notary.CACert)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Refuse(guns[1])
	through := []string{"--server", proxy.URL, "--tlscacert", notary.CACert}
	targetsKeys := func() []string {
		var ids []string
		for _, g := range guns {
			in := inspectAsConsumer(t, notary.URL, notary.CACert, g)
			for _, k := range in.AdministrativeKeys {
				if k.Name == "Repository" {
					ids = append(ids, strings.Join(k.KeyIDs, ","))
				}
			}
		}
		return ids
	}
	before := targetsKeys()
	r := dctwiz(e, append(append([]string{"rotate", "targets"}, guns...), append(through, "--yes")...)...)
	after := targetsKeys()
	if r.code != 1 || !strings.Contains(r.stderr, "1 of 3 repositories failed: "+guns[1]) || !strings.Contains(r.stderr, "carrying on with the others") {
		t.Fatalf("a batch with one repository refused:\n%s", r)
	}
	if after[0] == before[0] || after[1] != before[1] || after[2] == before[2] {
		t.Errorf("targets keys %v -> %v: want the first and third rotated, the refused one not", before, after)
	}
	// The failed list holds the refused GUN alone; the printed command reruns only it.
	files, _ := filepath.Glob("dctwiz-failed-*.txt")
	if len(files) != 1 {
		t.Fatalf("failed lists %v", files)
	}
	if list, _ := os.ReadFile(files[0]); !strings.Contains(string(list), guns[1]+"\n") || strings.Contains(string(list), guns[0]) || strings.Contains(string(list), guns[2]) {
		t.Errorf("the failed list:\n%s", list)
	}
	_, rerun, found := strings.Cut(r.stderr, "rerun only those (every step converges): ")
	rerun, _, _ = strings.Cut(rerun, "\n")
	words := strings.Fields(rerun)
	if !found || len(words) < 2 || words[0] != "dctwiz" || slices.Contains(words, guns[0]) || !slices.Contains(words, "--repos") {
		t.Fatalf("the rerun command %q\n%s", rerun, r)
	}
	proxy.Allow(guns[1])
	mustOK(t, dctwiz(e, words[1:]...))
	if again := targetsKeys(); again[0] != after[0] || again[1] == before[1] || again[2] != after[2] {
		t.Errorf("after the rerun: targets keys %v, want only the second changed since %v", again, after)
	}
}

// TestSetupSeveralRepositories: one setup ceremony over three
// repositories (one argument, two from --repos -): one root key for all,
// a certificate file each in the --root-cert-out directory, one record
// listing all three, and every repository read by the notary CLI.
func TestSetupSeveralRepositories(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	t.Chdir(t.TempDir()) // where a failed list would go
	guns := []string{newGUN(), newGUN(), newGUN()}
	certs, records := t.TempDir(), t.TempDir()
	signer := "signpath=" + writeCert(t, certSpecAlice)
	r := mustOK(t, dctwizIn(e, guns[1]+"\n"+guns[2]+"\n", append([]string{"setup", guns[0], "--repos", "-",
		"--delegation", signer, "--root-cert-out", certs, "--delete-targets-key", "--yes",
		"--record", records, "--json"}, serverArgs()...)...))
	var reps []flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil || len(reps) != 3 {
		t.Fatalf("setup of three repositories --json: %v\n%s", err, r)
	}
	for i, rep := range reps {
		if rep.GUN != guns[i] || rep.Init == nil || len(rep.RootCerts) != 1 || rep.TargetsKey == nil || !rep.TargetsKey.Gone {
			t.Errorf("report %d: %+v", i, rep)
			continue
		}
		if rep.RootCerts[0].CanonicalID != reps[0].RootCerts[0].CanonicalID {
			t.Errorf("%s has another root key (%s) than %s (%s)", rep.GUN, rep.RootCerts[0].CanonicalID, reps[0].GUN, reps[0].RootCerts[0].CanonicalID)
		}
		if _, err := os.Stat(rep.RootCertFile); err != nil || filepath.Dir(rep.RootCertFile) != certs {
			t.Errorf("%s's root certificate file %q: %v", rep.GUN, rep.RootCertFile, err)
		}
		out, err := exec.Command(bins.CLI, "-s", notary.URL, "--tlscacert", notary.CACert, "-d", t.TempDir(), "delegation", "list", rep.GUN).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "targets/releases") {
			t.Errorf("notary delegation list %s: %v\n%s", rep.GUN, err, out)
		}
	}
	if n := keyFileCount(t, filepath.Join(e["DOCKER_CONFIG"], "trust", "private")); n != 1 {
		t.Errorf("%d key files in the trust dir, want the one root key", n)
	}
	jss, _ := filepath.Glob(filepath.Join(records, "dctwiz-ceremony-*.json"))
	if len(jss) != 1 {
		t.Fatalf("records %v, want one", jss)
	}
	if rec, _ := os.ReadFile(jss[0]); strings.Count(string(rec), `"gun": "`) < 3 {
		t.Errorf("the record does not list the three repositories:\n%s", rec)
	}
	// A rerun converges: nothing to do in any of them.
	r = mustOK(t, dctwizIn(e, guns[1]+"\n"+guns[2]+"\n", append([]string{"setup", guns[0], "--repos", "-",
		"--delegation", signer, "--yes", "--json"}, serverArgs()...)...))
	if strings.Count(r.stdout, `"already_done": true`) != 3 {
		t.Errorf("the rerun of the three setups:\n%s", r)
	}
}

// TestTestSignSeveralTags: test-sign takes several GUN:TAG; a tag the
// registry lacks fails alone, the others are signed and verified.
func TestTestSignSeveralTags(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	a, b := newGUN(), newGUN()
	for _, g := range []string{a, b} {
		mustOK(t, dctwiz(e, append([]string{"init", g}, serverArgs()...)...))
		if _, err := reg.PushRandomImage(context.Background(), strings.TrimPrefix(g, reg.Host+"/"), "1.0"); err != nil {
			t.Fatal(err)
		}
	}
	r := dctwiz(e, append([]string{"test-sign", a + ":1.0", b + ":nope", b + ":1.0"}, serverArgs()...)...)
	if r.code != 1 || strings.Count(r.stdout, "verified it, and removed the test signature") != 2 ||
		!strings.Contains(r.stderr, "1 of 3 test signatures failed: "+b+":nope") {
		t.Errorf("test-sign of three tags, one missing:\n%s", r)
	}
	if r := dctwiz(e, append([]string{"test-sign", a + ":1.0", b + ":1.0", "--root-cert", "x.crt"}, serverArgs()...)...); r.code != 2 || !strings.Contains(r.stderr, "give one GUN:TAG with it") {
		t.Errorf("--root-cert with several tags:\n%s", r)
	}
}

// BenchmarkSetupBatch times one `dctwiz setup --repos` over 10 new
// repositories (signer, root certificate each), in process, against the
// fixed notary server: the batch's cost per repository.
func BenchmarkSetupBatch(b *testing.B) {
	const batch = 10
	bed.Get(b)
	b.Chdir(b.TempDir())
	cert := filepath.Join(b.TempDir(), "signer.crt")
	if _, _, err := testbed.WriteCert(filepath.Dir(cert), filepath.Base(cert), certSpecAlice); err != nil {
		b.Fatal(err)
	}
	e := env{"NOTARY_ROOT_PASSPHRASE": rootPass, "NOTARY_TARGETS_PASSPHRASE": targetsPass, "DOCKER_CONFIG": b.TempDir()}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		var guns []string
		for range batch {
			guns = append(guns, newGUN())
		}
		b.StartTimer()
		if r := dctwizIn(e, strings.Join(guns, "\n"), append([]string{"setup", "--repos", "-", "--delegation", "signpath=" + cert,
			"--root-cert-out", b.TempDir()}, serverArgs()...)...); r.code != 0 {
			b.Fatalf("setup --repos: %s", r)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*batch), "ms/repository")
}

// TestParallelBatch: a setup over ten repositories, four at a time. Every
// one is published with the one root key, the reports keep the list's
// order, and each progress line names its repository. On a terminal the
// lines give way to the live display: a bar and a line per repository.
func TestParallelBatch(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	t.Chdir(t.TempDir())
	var guns []string
	for range 10 {
		guns = append(guns, newGUN())
	}
	list := filepath.Join(t.TempDir(), "repos.txt")
	if err := os.WriteFile(list, []byte(strings.Join(guns, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	signer := "signpath=" + writeCert(t, certSpecAlice)
	args := append([]string{"setup", "--repos", list, "--delegation", signer, "--parallel", "4"}, serverArgs()...)
	r := mustOK(t, dctwiz(e, args...))
	for _, g := range guns {
		if !strings.Contains(r.stderr, g+" [1/5] ") || !strings.Contains(r.stderr, g+" done\n") {
			t.Errorf("the progress lines do not name %s:\n%s", g, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "Set up 10 repositories:\n") || strings.Count(r.stdout, ": published, targets key ") != 10 {
		t.Errorf("the batch's result is not a line per repository:\n%s", r.stdout)
	}
	// Side by side: some repository starts while another is still at work.
	working, overlapped := map[string]bool{}, false
	for _, line := range strings.Split(r.stderr, "\n") {
		gun, rest, _ := strings.Cut(line, " ")
		switch {
		case strings.HasPrefix(rest, "[1/5] ") && strings.HasSuffix(rest, "..."):
			overlapped = overlapped || len(working) > 0
			working[gun] = true
		case rest == "done":
			delete(working, gun)
		}
	}
	if !overlapped {
		t.Errorf("with --parallel 4 no repository started while another was at work:\n%s", r.stderr)
	}
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(line, "[") {
			t.Errorf("a progress line that names no repository: %q", line)
		}
	}
	// Published, in order, under one root key: the rerun finds each done.
	r = mustOK(t, dctwiz(e, append(args, "--json")...))
	var reps []flows.Report
	if err := json.Unmarshal([]byte(r.stdout), &reps); err != nil || len(reps) != len(guns) {
		t.Fatalf("the rerun's --json: %v\n%s", err, r)
	}
	for i, rep := range reps {
		if rep.GUN != guns[i] || rep.Init == nil || !rep.Init.AlreadyDone || len(rep.RootCerts) != 1 ||
			rep.RootCerts[0].CanonicalID != reps[0].RootCerts[0].CanonicalID {
			t.Errorf("report %d: %s, init %+v, root certificates %+v; want %s already done with %s's root key", i, rep.GUN, rep.Init, rep.RootCerts, guns[i], guns[0])
		}
	}
	out, err := exec.Command(bins.CLI, "-s", notary.URL, "--tlscacert", notary.CACert, "-d", t.TempDir(), "delegation", "list", guns[9]).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "targets/releases") {
		t.Errorf("notary delegation list %s: %v\n%s", guns[9], err, out)
	}

	// On a terminal: the live display, not a scrolling log.
	var stdout, stderr bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return e[k] }, terminal: true}
	if code := a.run(args); code != 0 {
		t.Fatalf("on a terminal: exit %d\n%s", code, stderr.String())
	}
	shown := stderr.String()
	if !strings.Contains(shown, "9 more repositories, 4 at a time") || !strings.Contains(shown, "9/9") || !strings.Contains(shown, markOKForTest+" "+guns[9]) {
		t.Errorf("the live display's last frame lacks the count or the repositories:\n%s", shown)
	}
	if strings.Contains(shown, guns[9]+" [1/5]") {
		t.Errorf("on a terminal the batch still printed its log:\n%s", shown)
	}

	if r := dctwiz(e, append(args, "--parallel", "0")...); r.code != 2 || !strings.Contains(r.stderr, "--parallel 0") {
		t.Errorf("--parallel 0:\n%s", r)
	}
}

// markOKForTest is ui's mark for a repository done.
const markOKForTest = "✓"
