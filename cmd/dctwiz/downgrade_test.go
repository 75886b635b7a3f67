package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestNoDowngradeToHTTP: for an https:// server URL on a loopback or
// private address, go-containerregistry would also try plain http. No
// request may reach a plain-http listener there: credentials and trust
// data would travel in the clear.
func TestNoDowngradeToHTTP(t *testing.T) {
	needBed(t)
	var requests atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer plain.Close()
	url := strings.Replace(plain.URL, "http://", "https://", 1)
	e := newEnv(t).with("NOTARY_AUTH", "YWxpY2U6c2VjcmV0") // alice:secret must not leak
	for _, args := range [][]string{
		{"inspect", newGUN()},
		{"root-cert", "export", newGUN()},
		{"init", newGUN()},
	} {
		r := dctwiz(e, append(args, "--server", url)...)
		if r.code != 1 {
			t.Errorf("%s against a plain-http listener: exit %d\n%s", args[0], r.code, r)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached the plain-http listener", n)
	}
}
