package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/flows"
)

func TestCheckForCron(t *testing.T) {
	needBed(t)
	e := newEnv(t)
	gun := newGUN()
	mustOK(t, dctwiz(e, append([]string{"setup", gun, "--delegation", "signpath=" + writeCert(t, certSpecAlice)}, serverArgs()...)...))

	// A new repository: nothing within 90 days (the server renews its timestamp).
	r := dctwiz(newEnv(t), append([]string{"check", gun}, serverArgs()...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "✓ nothing expires within 90d") || !strings.Contains(r.stdout, "timestamp metadata (renewed by the server)") ||
		!strings.Contains(r.stdout, "signer signpath's certificate CN=alice") || strings.Count(r.stdout, "CN=alice") != 1 {
		t.Fatalf("check of a new repository:\n%s", r)
	}

	// A window of 4000 days flags targets.json, root.json and the signer's
	// certificate, each with the command that renews it; exit 1, no error line.
	r = dctwiz(newEnv(t), append([]string{"check", gun, newGUN(), "--within", "4000d", "--json"}, serverArgs()...)...)
	var doc checkDocument
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 1 || doc.OK || len(doc.Repositories) != 2 || strings.Contains(r.stderr, "dctwiz:") {
		t.Fatalf("check --within 4000d --json: %v\n%s", err, r)
	}
	remedies := map[string]flows.Remedy{}
	for _, f := range doc.Repositories[0].Findings {
		remedies[f.What] = f.Remedy
	}
	if remedies["targets metadata"] != flows.RemedyRotateTargets || remedies["root metadata"] != flows.RemedyRotateTargets ||
		remedies["signer signpath's certificate CN=alice,O=Acme"] != flows.RemedyReplaceSigner {
		t.Errorf("findings %+v", doc.Repositories[0].Findings)
	}
	if doc.Repositories[1].Error == "" || !strings.Contains(doc.Repositories[1].Error, "no trust data") {
		t.Errorf("a repository without trust data: %+v", doc.Repositories[1])
	}
	r = dctwiz(newEnv(t), append([]string{"check", gun, "--within", "4000d"}, serverArgs()...)...)
	if r.code != 1 || !strings.Contains(r.stdout, "fix: dctwiz renew "+gun+" --root-key SPEC") || !strings.Contains(r.stdout, "fix: dctwiz delegation replace "+gun+" signpath RENEWED-CERT") {
		t.Errorf("check --within 4000d:\n%s", r)
	}
	// renew: nothing due within 30 days (no confirmation needed); within
	// 4000 days root.json and targets.json are re-signed by a targets-key
	// rotation, and the signer's certificate is left with its command.
	r = dctwiz(e, append([]string{"renew", gun, "--within", "30d"}, serverArgs()...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "nothing to renew within 30d") {
		t.Errorf("renew --within 30d:\n%s", r)
	}
	versions := func() map[string]int {
		v := map[string]int{}
		var in struct {
			Roles []struct {
				Role    string
				Version int
			}
		}
		out := mustOK(t, dctwiz(newEnv(t), append([]string{"inspect", gun, "--json"}, serverArgs()...)...))
		json.Unmarshal([]byte(out.stdout), &in)
		for _, r := range in.Roles {
			v[r.Role] = r.Version
		}
		return v
	}
	before := versions()
	r = dctwiz(e, append([]string{"renew", gun, "--within", "4000d", "--yes"}, serverArgs()...)...)
	after := versions()
	if r.code != 0 || !strings.Contains(r.stdout, "root.json and targets.json re-signed") || !strings.Contains(r.stdout, "still due: signer signpath's certificate") ||
		after["root"] != before["root"]+1 || after["targets"] <= before["targets"] {
		t.Errorf("renew --within 4000d: versions %v -> %v\n%s", before, after, r)
	}

	// Bad usage is exit 2.
	if r := dctwiz(newEnv(t), "check", gun, "--within", "soon"); r.code != 2 {
		t.Errorf("check --within soon:\n%s", r)
	}
}
