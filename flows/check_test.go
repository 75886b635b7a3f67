package flows_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

func TestCheckFlagsWhatNeedsACeremony(t *testing.T) {
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	days := func(n int) time.Time { return now.Add(time.Duration(n) * 24 * time.Hour) }
	in := &trust.Inspection{GUN: "registry.example.com/acme/app",
		Signers: []trust.Signer{{Name: "signpath", KeyIDs: []string{"k1"}}, {Name: "stale", KeyIDs: []string{"k9"}}},
		Roles: []trust.RoleExpiry{
			{Role: "root", Expires: days(150)}, // inside the 6-month re-sign window
			{Role: "targets", Expires: days(60)},
			{Role: "targets/releases", Expires: days(2000)},
			{Role: "snapshot", Expires: days(10)}, // the server's: listed, not flagged
			{Role: "timestamp", Expires: days(5)},
		},
		Certificates: []trust.CertExpiry{
			{Role: "root", KeyID: "r", Subject: "CN=registry.example.com/acme/app", NotAfter: days(3000)},
			{Role: "targets/releases", KeyID: "k1", Subject: "CN=signpath", NotAfter: days(-1)}, // expired
			{Role: "targets/signpath", KeyID: "k1", Subject: "CN=signpath", NotAfter: days(-1)},
		},
	}
	res := flows.Check(in, now, 90*24*time.Hour)
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s", f.What, f.Signer, f.Remedy, f.Problem[:7]))
	}
	// The signer's certificate is in targets/releases and targets/signpath: listed once.
	want := []string{
		"signer signpath's certificate CN=signpath|signpath|replace-signer|expired",
		"targets metadata||rotate-targets|expires",
		"root metadata||rotate-targets|inside ",
		"signer stale|stale|replace-signer|its key",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("findings\n%v\nwant\n%v", got, want)
	}
	if len(res.Expiries) != 7 || !res.Expiries[0].Expires.Equal(days(-1)) || res.Expiries[6].What != "root certificate CN=registry.example.com/acme/app" {
		t.Errorf("expiries %+v", res.Expiries)
	}
	// A generous window flags the rest; a healthy repository flags nothing.
	if res := flows.Check(in, now, 4000*24*time.Hour); len(res.Findings) != 6 {
		t.Errorf("with a 4000-day window: %d findings, want 6: %+v", len(res.Findings), res.Findings)
	}
	healthy := &trust.Inspection{GUN: in.GUN, Roles: []trust.RoleExpiry{{Role: "root", Expires: days(3650)}, {Role: "targets", Expires: days(1095)}, {Role: "timestamp", Expires: days(14)}}}
	if res := flows.Check(healthy, now, 90*24*time.Hour); len(res.Findings) != 0 {
		t.Errorf("a healthy repository: %+v", res.Findings)
	}
}

func TestParseWithin(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "12w": 12 * 7 * 24 * time.Hour, "2160h": 2160 * time.Hour, "0d": 0} {
		if got, err := flows.ParseWithin(in); err != nil || got != want {
			t.Errorf("ParseWithin(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "90", "d", "-1d", "1y", "ninety days"} {
		if _, err := flows.ParseWithin(bad); err == nil {
			t.Errorf("ParseWithin(%q) accepted", bad)
		}
	}
}
