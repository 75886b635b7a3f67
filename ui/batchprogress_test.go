package ui

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/dctwiz/dctwiz/trust"
)

// The batch display: the count and bar follow the repositories that end,
// those at work come first with what they do, a failure says why, and a
// batch taller than the terminal is counted, not scrolled.
func TestBatchProgress(t *testing.T) {
	repos := []string{}
	for i := range 40 {
		repos = append(repos, fmt.Sprintf("docker.io/acme/app%d", i))
	}
	var m tea.Model = NewBatchProgress("dctwiz rotate targets: 40 repositories", repos)
	send := func(msgs ...tea.Msg) {
		for _, msg := range msgs {
			m, _ = m.Update(msg)
		}
	}
	send(tea.WindowSizeMsg{Width: 100, Height: 12})
	send(BatchStepMsg{Repo: repos[0], Line: "[1/3] Make the new targets key ..."},
		BatchStepMsg{Repo: repos[1], Line: "[2/3] Publish ..."})
	for _, r := range repos[2:12] {
		send(BatchStepMsg{Repo: r, Line: "[1/3] ..."}, BatchRepoDoneMsg{Repo: r})
	}
	send(BatchRepoDoneMsg{Repo: repos[12], Err: errors.New("the server answered 503")})
	send(BatchRepoDoneMsg{Repo: repos[12]}) // a second end changes nothing
	send(BatchNoteMsg{Text: "Touch YubiKey 8102 now"})
	view := m.View()
	lines := strings.Split(strings.TrimRight(view, "\n"), "\n")
	for _, want := range []string{"11/40", "1 failed", "Touch YubiKey 8102 now",
		repos[0] + "  [1/3] Make the new targets key", repos[12] + "  failed: the server answered 503", "27 waiting"} {
		if !strings.Contains(view, want) {
			t.Errorf("the view lacks %q:\n%s", want, view)
		}
	}
	if len(lines) > 12 {
		t.Errorf("%d lines on a terminal 12 high:\n%s", len(lines), view)
	}
	if !strings.Contains(view, "more") {
		t.Errorf("the repositories that do not fit are not counted:\n%s", view)
	}
	// At work first, then the failed, then the latest done.
	at := func(s string) int { return strings.Index(view, s) }
	if at(repos[1]+" ") < 0 || !(at(repos[1]+" ") < at(repos[12]+" ") && at(repos[12]+" ") < at(repos[11]+" ")) {
		t.Errorf("the rows are not in the order working, failed, done:\n%s", view)
	}
	if done, failed := m.(BatchProgress).Finished(); done != 11 || failed != 1 {
		t.Errorf("finished %d, failed %d", done, failed)
	}
}

// The wizard's publish screen over a batch shows the same table, not one
// step list per repository: a failure names its repository and step, and
// the retry finishes the batch.
func TestPublishShowsATableForABatch(t *testing.T) {
	guns := []string{testGUN}
	for i := 2; i <= 5; i++ {
		guns = append(guns, fmt.Sprintf("%s%d", testGUN, i))
	}
	h := newHarness(t, func(c *Config, b *fakeBackend) {
		c.GUNs = guns
		b.engine.failNext["delegation signpath"] = &trust.Error{Kind: trust.ErrPublish, Input: testGUN, Msg: "the server refused the publish"}
	})
	h.to(scrReview)
	h.wait("Steps, for each repository") // the tree is taller than the screen here
	h.runes("p")
	teatest.WaitFor(t, h.tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("1 failed")) && bytes.Contains(b, []byte(testGUN+"  failed: Add the signers")) // its repository and step
	}, teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
	h.runes("r")
	h.wait("5/5")
	screen := h.screen()
	for _, want := range []string{"5 repositories", guns[4]} {
		if !strings.Contains(screen, want) {
			t.Errorf("the table lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "Add the signers") {
		t.Errorf("the batch's publish screen still lists each repository's steps:\n%s", screen)
	}
}
