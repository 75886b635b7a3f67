package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dctwiz/dctwiz/flows"
	"github.com/dctwiz/dctwiz/trust"
)

// testSign offers the registry's tags, then signs one, verifies it as a
// consumer would, and removes the test signature: for each repository.
type testSign struct {
	st      *state
	gun     int // the repository being tested
	tags    []string
	cursor  int
	loading bool
	running bool
	err     error
	done    bool
}

type tagsMsg struct {
	tags []string
	err  error
}

func newTestSign(st *state) *testSign { return &testSign{st: st} }

func (t *testSign) title() string { return "Test signing" }
func (t *testSign) typing() bool  { return false }
func (t *testSign) waiting() bool { return t.loading || t.running }
func (t *testSign) explain() string {
	return `Test signing proves the repository works end to end. The tag's manifest
digest and size are read from the registry; the tag is signed into
targets/releases (or targets); then a fresh client, with an empty cache and
pinned to the exported root certificate, looks the tag up as a consumer
would and must find the same digest. The test signature is then removed;
a tag that was already signed is left as it was. s skips this step.`
}
func (t *testSign) keys() keyMap {
	switch {
	case t.waiting():
		return bindings(false)
	case t.done:
		return bindings(false, keyNext)
	}
	return bindings(false, keyTestSign, keyUp, keyDown, keySkip, keyRetry)
}

func (t *testSign) enter() tea.Cmd {
	if t.done || t.waiting() || t.tags != nil {
		return nil
	}
	return t.loadTags()
}

func (t *testSign) ceremony() *flows.SetupCeremony { return t.st.ceremonies[t.gun] }

func (t *testSign) loadTags() tea.Cmd {
	t.loading, t.err, t.tags = true, nil, nil
	st, eng, gun := t.st, t.st.engine, t.st.guns[t.gun]
	return st.look(func() tea.Msg {
		tags, err := eng.ListTags(st.ctx, gun)
		return tagsMsg{tags, err}
	})
}

func (t *testSign) run(tag string) tea.Cmd {
	c := t.ceremony()
	c.Change(func(s *flows.Setup) { s.TestTag = tag })
	t.st.testTags[t.st.guns[t.gun].String()] = tag
	t.running, t.err = true, nil
	st := t.st
	return st.work(func() tea.Msg { return ranMsg{c.RunPhase(st.ctx, flows.PhaseVerify)} })
}

// noteChoice keeps the highlighted tag, for the command that continues
// headless after a quit.
func (t *testSign) noteChoice() {
	if len(t.tags) > 0 {
		t.st.tagChoice[t.st.guns[t.gun].String()] = t.tags[t.cursor]
	}
}

func (t *testSign) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tagsMsg:
		t.loading, t.tags, t.err = false, msg.tags, msg.err
		t.cursor = 0
		for i, tag := range t.tags {
			if tag == "latest" {
				t.cursor = i
			}
		}
		if msg.err != nil {
			return showError(msg.err)
		}
		t.noteChoice()
	case ranMsg:
		t.running, t.err = false, msg.err
		if msg.err != nil {
			return showError(msg.err)
		}
		t.done = true
	case tea.KeyMsg:
		return t.key(msg)
	}
	return nil
}

func (t *testSign) key(msg tea.KeyMsg) tea.Cmd {
	if t.waiting() {
		return nil
	}
	if t.done {
		if !key.Matches(msg, keyNext) {
			return nil
		}
		if t.gun+1 < len(t.st.ceremonies) {
			t.gun++
			t.done = false
			return t.loadTags()
		}
		return next
	}
	if cursor, moved := moveCursor(msg, t.cursor, len(t.tags)); moved {
		t.cursor = cursor
		t.noteChoice()
		return nil
	}
	switch {
	case key.Matches(msg, keyRetry):
		return t.loadTags()
	case key.Matches(msg, keySkip):
		return t.run("")
	case key.Matches(msg, keyNext) && len(t.tags) > 0:
		return t.run(t.tags[t.cursor])
	}
	return nil
}

func (t *testSign) view(width int) string {
	var b strings.Builder
	gun := t.st.guns[t.gun].String()
	b.WriteString("Prove the repository works: sign a tag with the registry's digest, verify\nit from an empty cache pinned to the root certificate, as a consumer\nwould, then remove the test signature (a signed tag stays untouched).\n\n")
	b.WriteString(styleTitle.Render(gun) + "\n")
	switch {
	case t.loading:
		b.WriteString("{spinner} reading the registry's tags ...\n")
	case t.running || t.done:
		fmt.Fprintf(&b, "  tag %s\n", t.st.testTags[gun])
		// The step's note repeats the digest shown below.
		b.WriteString(stepLines(t.ceremony(), flows.PhaseVerify, false))
		if rep := t.ceremony().Report(); t.done && rep.TestSign != nil {
			ts := rep.TestSign
			fmt.Fprintf(&b, "\n  registry digest (%d bytes):\n    %s\n", ts.Image.Size, ts.Image.Digest)
			same := "the same"
			if ts.Verified.Digest != ts.Image.Digest {
				same = styleFail.Render("DIFFERENT")
			}
			fmt.Fprintf(&b, "  verified digest, as a consumer pinned to the root certificate (%s):\n    %s\n", same, ts.Verified.Digest)
			fmt.Fprintf(&b, "  signed with the %s key; pinned root key %s\n", ts.Role, trust.ShortID(strings.Join(ts.Pinned, ",")))
			switch {
			case ts.Existing:
				b.WriteString("  " + ok("the tag was already signed with this digest: left as it was") + "\n")
			case !ts.Kept:
				b.WriteString("  " + ok("test signature removed again") + "\n")
			}
		}
		if t.done {
			b.WriteString("\nPress enter to continue.\n")
		}
	case t.err != nil:
		b.WriteString(fail("cannot read the registry's tags: "+errorText(t.err)) + "\n    press r to try again, or s to skip test signing\n")
	case len(t.tags) == 0:
		b.WriteString(warn("the registry has no tags in this repository") + "\n    fix: push an image (docker push " + gun + ":TAG), then press r; or s to skip\n")
	default:
		b.WriteString("Choose the tag to test-sign:\n")
		from := max(0, min(t.cursor-4, len(t.tags)-8))
		for i := from; i < len(t.tags) && i < from+8; i++ {
			cur := gutter(i == t.cursor)
			b.WriteString(cur + t.tags[i] + "\n")
		}
		if len(t.tags) > 8 {
			b.WriteString(styleDim.Render(fmt.Sprintf("  (%d tags)", len(t.tags))) + "\n")
		}
	}
	return b.String()
}
