package ui

import "github.com/charmbracelet/bubbles/key"

// Every key binding of the wizard lives here; each screen's keymap picks
// from them, so a key means the same thing on every screen.
var (
	keyQuit     = key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit"))
	keyQuitQ    = key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit"))
	keyHelp     = key.NewBinding(key.WithKeys("?", "f1"), key.WithHelp("?", "more help"))
	keyHelpF1   = key.NewBinding(key.WithKeys("f1"), key.WithHelp("f1", "more help"))
	keyNext     = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "continue"))
	keyBack     = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back"))
	keyUp       = key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up"))
	keyDown     = key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down"))
	keyUpDown   = key.NewBinding(key.WithKeys("up", "down", "k", "j"), key.WithHelp("↑/↓", "move"))
	keyUpText   = key.NewBinding(key.WithKeys("up", "shift+tab"), key.WithHelp("↑/shift+tab", "previous field"))
	keyDownText = key.NewBinding(key.WithKeys("down", "tab"), key.WithHelp("↓/tab", "next field"))
	keyLeft     = key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/→", "change value"))
	keyRight    = key.NewBinding(key.WithKeys("right", "l"))
	keyRetry    = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "check again"))
	keyFileKey  = key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "file root key instead"))
	keyAdd      = key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add a certificate"))
	keyRemove   = key.NewBinding(key.WithKeys("x", "delete"), key.WithHelp("x", "remove"))
	keySkip     = key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "skip"))
	keyJump     = key.NewBinding(key.WithKeys("1", "2", "3", "4"), key.WithHelp("1-4", "revisit a screen"))
	keyPublish  = key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "publish"))
	keyScrollUp = key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup/pgdn", "scroll"))
	keyScrollDn = key.NewBinding(key.WithKeys("pgdown"))
)

// keyMap is one screen's bindings, for the help line and the full help.
type keyMap struct {
	short []key.Binding
	full  [][]key.Binding
}

func (k keyMap) ShortHelp() []key.Binding  { return k.short }
func (k keyMap) FullHelp() [][]key.Binding { return k.full }

// bindings builds a keyMap: the screen's own keys, then the global ones.
func bindings(typing bool, own ...key.Binding) keyMap {
	quit, help := keyQuitQ, keyHelp
	if typing {
		// Letters are text in a field: only control keys are commands.
		quit, help = keyQuit, keyHelpF1
	}
	short := append(append([]key.Binding{}, own...), help, quit)
	return keyMap{short: short, full: [][]key.Binding{own, {keyScrollUp, help, quit}}}
}

var keyCloseHelp = key.NewBinding(key.WithKeys("?", "esc"), key.WithHelp("?/esc", "close help"))

var keyChooseAgain = key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "choose again"))

var keyFinish = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "finish"))

var keySkipCtrl = key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "keep the key"))

// Keys that do something that cannot be taken back say what they do.
var (
	keySetPIN    = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "set PIN, PUK and management key"))
	keyMakeRoot  = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "make the root key"))
	keyDeleteKey = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "delete the targets key"))
	keyAddBackup = key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "add a backup YubiKey"))
	keyTakeCert  = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "take this certificate"))
	keyTestSign  = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "test-sign this tag"))
)

// The certificate picker's keys.
var (
	keyTypePath  = key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "type a path"))
	keyParentDir = key.NewBinding(key.WithKeys("left", "h", "backspace"), key.WithHelp("←", "folder up"))
	keyOpen      = key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/enter", "open folder"))
	keyPick      = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose"))
)
