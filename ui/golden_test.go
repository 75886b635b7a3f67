package ui

import (
	"testing"

	"github.com/charmbracelet/x/exp/teatest"
)

// TestGolden renders each screen at 80x24 after the happy path reached
// it, and compares it with testdata/TestGolden/<screen>.golden (update
// with go test ./ui -run TestGolden -update, and read the diff).
func TestGolden(t *testing.T) {
	cases := []struct {
		name   string
		id     screenID
		marker string // what shows that the screen has settled
	}{
		{"welcome", scrWelcome, "Trust dir writable"},
		{"repository", scrRepository, "step 2 of 11"},
		{"yubikey", scrYubiKey, "YubiKey 12345678, firmware"},
		{"targets-key", scrTargetsKey, "step 4 of 11"},
		{"delegations", scrDelegations, "SignPath Signer"},
		{"review", scrReview, "└── timestamp"},
		{"publish", scrPublish, "Published."},
		{"root-certificate", scrRootCert, "What to do with it"},
		{"test-signing", scrTestSign, "Choose the tag"},
		{"delete-targets-key", scrDeleteKey, "To confirm"},
		{"summary", scrSummary, "Ceremony record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.to(c.id)
			h.wait(c.marker)
			teatest.RequireEqualOutput(t, []byte(h.screen()))
		})
	}
}

// Quitting after publishing says what is published and how to go on.
func TestGoldenQuitDialogAfterPublishing(t *testing.T) {
	h := newHarness(t)
	h.to(scrRootCert)
	h.wait("What to do with it")
	h.runes("q")
	h.wait("Quit the ceremony?")
	teatest.RequireEqualOutput(t, []byte(h.screen()))
}

// TestGoldenMaintenance renders the maintenance path's screens at 80x24,
// on the rotation rehearsal's repository.
func TestGoldenMaintenance(t *testing.T) {
	cases := []struct {
		name string
		walk func(h *harness)
	}{
		{"welcome", func(h *harness) { h.wait("Trust dir writable") }},
		{"status", func(h *harness) {
			h.wait("Trust dir writable")
			h.enter()
			h.wait("step 2 of 10")
			h.enter()
			h.wait("Proposed:")
		}},
		{"ceremony", func(h *harness) { h.toMaintCeremony() }},
		{"review", func(h *harness) { h.toMaintReview() }},
		{"publish", func(h *harness) {
			h.toMaintReview()
			h.runes("p")
			h.wait("Press enter to verify")
		}},
		{"verify", func(h *harness) {
			h.toMaintReview()
			h.runes("p")
			h.wait("Press enter to verify")
			h.enter()
			h.wait("Verified: new consumers")
		}},
		{"summary", func(h *harness) {
			h.toMaintReview()
			h.publishAndVerify()
			h.wait("Press enter for the summary")
			h.enter()
			h.wait("Ceremony record")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, maintained(renewedCert()))
			c.walk(h)
			teatest.RequireEqualOutput(t, []byte(h.screen()))
		})
	}
}
