package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// explainStop lists what a stopped ceremony published, from flows'
// one list of the steps that publish and what the report says each did:
// a root rotation or renewal that landed before its verification failed
// is published (the CLI's own list lacked both); a test signature removed
// again, a signer change already so, and a root rotation an earlier run
// made are not.
func TestExplainStop(t *testing.T) {
	step := func(id flows.StepID, st flows.EventKind) flows.StepStatus {
		return flows.StepStatus{Step: id, Status: st}
	}
	failed := &trust.Error{Kind: trust.ErrVerification, Msg: "does not verify"}
	for _, tc := range []struct {
		name    string
		rep     *flows.Report
		says    string
		notSays string
	}{
		{"root rotation, then the check failed",
			&flows.Report{Steps: []flows.StepStatus{step(flows.StepReadConsumer, flows.Done), step(flows.StepRotateRoot, flows.Done), step(flows.StepVerifyConsumer, flows.Failed)},
				RootRotation: &trust.RootRotation{}},
			"(published: rotate-root)", "Nothing was done"},
		{"root renewal, then the check failed",
			&flows.Report{Steps: []flows.StepStatus{step(flows.StepReadConsumer, flows.Done), step(flows.StepRenewRoot, flows.Done), step(flows.StepVerifyConsumer, flows.Failed)},
				RootRotation: &trust.RootRotation{Renewed: true}},
			"(published: renew-root)", "Nothing was done"},
		{"a root rotation an earlier run made",
			&flows.Report{Steps: []flows.StepStatus{step(flows.StepReadConsumer, flows.Done), step(flows.StepRotateRoot, flows.Done), step(flows.StepVerifyConsumer, flows.Failed)},
				RootRotation: &trust.RootRotation{AlreadyDone: true}},
			"Completed: read-as-consumer, rotate-root.", "published"},
		{"a signer change already so",
			&flows.Report{Steps: []flows.StepStatus{step(flows.StepReadConsumer, flows.Done), step(flows.StepChangeSigner, flows.Done), step(flows.StepVerifyConsumer, flows.Failed)},
				Delegations: []*trust.DelegationResult{{Signer: "bob", Changed: false}}},
			"Completed: read-as-consumer, change-signer.", "published"},
		{"a test signature removed again",
			&flows.Report{Steps: []flows.StepStatus{step(flows.StepInit, flows.Done), step(flows.StepTestSign, flows.Done), step(flows.StepDeleteTargetsKey, flows.Failed)},
				Init: &trust.InitResult{}, TestSign: &trust.TestSignResult{Kept: false}},
			"(published: init)", "test-sign)"},
		{"a test signature kept",
			&flows.Report{Steps: []flows.StepStatus{step(flows.StepInit, flows.Done), step(flows.StepTestSign, flows.Done), step(flows.StepDeleteTargetsKey, flows.Failed)},
				Init: &trust.InitResult{}, TestSign: &trust.TestSignResult{Kept: true}},
			"(published: init, test-sign)", "Nothing was done"},
		{"only a read", &flows.Report{Steps: []flows.StepStatus{step(flows.StepReadConsumer, flows.Done), step(flows.StepRotateRoot, flows.Failed)}},
			"Completed: read-as-consumer.", "published"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			a := &app{stdout: &bytes.Buffer{}, stderr: &stderr}
			a.explainStop(tc.rep, failed)
			if got := stderr.String(); !strings.Contains(got, tc.says) || strings.Contains(got, tc.notSays) {
				t.Errorf("said %q; want %q and not %q", got, tc.says, tc.notSays)
			}
		})
	}
}
