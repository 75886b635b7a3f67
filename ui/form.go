package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// field is a labelled text input with live validation.
type field struct {
	label    string
	input    textinput.Model
	validate func(string) (hint string, err error)
}

func newField(label, placeholder, value string, secret bool, validate func(string) (string, error)) *field {
	in := textinput.New()
	in.Placeholder = placeholder
	in.SetValue(value)
	in.Prompt = ""
	in.Width = 60
	if secret {
		in.EchoMode = textinput.EchoPassword
		in.EchoCharacter = '•'
	}
	return &field{label: label, input: in, validate: validate}
}

func (f *field) value() string { return strings.TrimSpace(f.input.Value()) }

// check runs the field's validation.
func (f *field) check() (string, error) {
	if f.validate == nil {
		return "", nil
	}
	return f.validate(f.input.Value())
}

// form is a column of fields, one focused.
type form struct {
	fields []*field
	focus  int
}

func newForm(fields ...*field) *form {
	f := &form{fields: fields}
	f.fields[0].input.Focus()
	return f
}

func (f *form) focused() *field { return f.fields[f.focus] }

// values are the fields' texts, as typed.
func (f *form) values() []string {
	out := make([]string, len(f.fields))
	for i, fl := range f.fields {
		out[i] = fl.input.Value()
	}
	return out
}

func (f *form) move(d int) {
	f.fields[f.focus].input.Blur()
	f.focus = (f.focus + d + len(f.fields)) % len(f.fields)
	f.fields[f.focus].input.Focus()
}

// update moves the focus on tab/up/down and types into the focused field.
func (f *form) update(msg tea.Msg) tea.Cmd {
	if k, isKey := msg.(tea.KeyMsg); isKey {
		switch {
		case key.Matches(k, keyDownText):
			f.move(1)
			return nil
		case key.Matches(k, keyUpText):
			f.move(-1)
			return nil
		}
	}
	var cmd tea.Cmd
	f.fields[f.focus].input, cmd = f.fields[f.focus].input.Update(msg)
	return cmd
}

// firstError is the first field that does not validate.
func (f *form) firstError() (int, error) {
	for i, fl := range f.fields {
		if _, err := fl.check(); err != nil {
			return i, err
		}
	}
	return -1, nil
}

func (f *form) view(width int) string {
	var b strings.Builder
	labelW := 0
	for _, fl := range f.fields {
		labelW = max(labelW, lipgloss.Width(fl.label))
	}
	for i, fl := range f.fields {
		fl.input.Width = max(width-labelW-6, 10)
		cursor := gutter(i == f.focus)
		b.WriteString(cursor + styleTitle.Render(padRight(fl.label, labelW)) + "  " + fl.input.View() + "\n")
		hint, err := fl.check()
		indent := strings.Repeat(" ", labelW+4)
		switch {
		case err != nil && fl.input.Value() != "":
			b.WriteString(indent + fail(errorText(err)) + "\n")
		case hint != "":
			b.WriteString(indent + styleDim.Render(hint) + "\n")
		}
	}
	return b.String()
}

// gutter is the two columns before a row: the cursor mark on the row
// that has the focus.
func gutter(focused bool) string {
	if focused {
		return styleCursor.Render(markCursor) + " "
	}
	return "  "
}

// moveCursor moves a list cursor on up/down within n rows; moved says
// whether the key was one of those.
func moveCursor(msg tea.KeyMsg, cursor, n int) (next int, moved bool) {
	switch {
	case key.Matches(msg, keyUp):
		return max(cursor-1, 0), true
	case key.Matches(msg, keyDown):
		return min(cursor+1, max(n-1, 0)), true
	}
	return cursor, false
}

func padRight(s string, w int) string {
	return s + strings.Repeat(" ", max(w-lipgloss.Width(s), 0))
}
