package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryIsClientOnly: the dctwiz binary links notary's client, never
// its server, signer, utils or commands (and so none of their 38 modules:
// bugsnag, gorm, an old viper, database drivers).
func TestBinaryIsClientOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	client := false
	for _, p := range deps {
		for _, banned := range []string{
			"github.com/theupdateframework/notary/server",
			"github.com/theupdateframework/notary/signer",
			"github.com/theupdateframework/notary/utils",
			"github.com/theupdateframework/notary/cmd",
			"github.com/bugsnag/", "github.com/jinzhu/gorm", "github.com/spf13/viper",
		} {
			if strings.HasPrefix(p, banned) {
				t.Errorf("dctwiz links %s", p)
			}
		}
		client = client || p == "github.com/theupdateframework/notary/client"
	}
	if !client {
		t.Error("dctwiz does not link notary's client: the check above proves nothing")
	}
}
