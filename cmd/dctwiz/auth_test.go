package main

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/internal/testbed"
)

// TestTokenAuth puts docker's token authentication in front of the real
// notary server and registry, and checks where dctwiz takes credentials
// from: the docker config entry of the GUN's registry, NOTARY_AUTH, and
// REGISTRY_AUTH.
func TestTokenAuth(t *testing.T) {
	needBed(t)
	const user, pass = "alice", "s3cret-pass"
	notaryProxy, err := testbed.StartAuthProxy(notary.URL, &notary.TLS, notary.CACert, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	defer notaryProxy.Close()
	regProxy, err := testbed.StartAuthProxy("http://"+reg.Host, nil, "", user, pass)
	if err != nil {
		t.Fatal(err)
	}
	defer regProxy.Close()
	through := []string{"--server", notaryProxy.URL, "--tlscacert", notary.CACert}
	basic := func(u, p string) string { return base64.StdEncoding.EncodeToString([]byte(u + ":" + p)) }

	repo := "acme/auth" + strings.TrimPrefix(newGUN(), reg.Host+"/acme/cli")
	if _, err := reg.PushRandomImage(context.Background(), repo, "1.0"); err != nil {
		t.Fatal(err)
	}
	gun := regProxy.Addr + "/" + repo // the registry behind auth

	// No credentials anywhere: a clear refusal.
	r := dctwiz(newEnv(t), append([]string{"init", gun}, through...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "refused the credentials") || !strings.Contains(r.stderr, "NOTARY_AUTH") {
		t.Fatalf("init without credentials:\n%s", r)
	}

	// Credentials in the docker config for the GUN's registry serve both
	// the notary server (docker's convention) and the registry.
	e := newEnv(t)
	config := `{"auths":{"` + regProxy.Addr + `":{"auth":"` + basic(user, pass) + `"}}}`
	if err := os.WriteFile(filepath.Join(e["DOCKER_CONFIG"], "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	mustOK(t, dctwiz(e, append([]string{"init", gun}, through...)...))
	mustOK(t, dctwiz(e, append([]string{"test-sign", gun + ":1.0"}, through...)...))
	wantScope := "repository:" + gun + ":push,pull"
	found := false
	for _, s := range notaryProxy.Scopes() {
		found = found || s == wantScope
	}
	if !found {
		t.Errorf("the notary token scopes %v do not include %q", notaryProxy.Scopes(), wantScope)
	}

	// NOTARY_AUTH and REGISTRY_AUTH override the docker config.
	r = dctwiz(e.with("NOTARY_AUTH", basic(user, "wrong")), append([]string{"inspect", gun}, through...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "refused the credentials") {
		t.Errorf("inspect with a wrong NOTARY_AUTH:\n%s", r)
	}
	r = dctwiz(e.with("REGISTRY_AUTH", basic(user, "wrong")), append([]string{"test-sign", gun + ":1.0"}, through...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "registry refused access") {
		t.Errorf("test-sign with a wrong REGISTRY_AUTH:\n%s", r)
	}
	mustOK(t, dctwiz(newEnv(t).with("NOTARY_AUTH", basic(user, pass)), append([]string{"inspect", gun}, through...)...))
}
