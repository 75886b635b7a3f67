package ui

import "github.com/charmbracelet/lipgloss"

// Every style of the wizard lives here. Colour only adds emphasis: each
// status also has a word or a mark, so the screens read the same with
// NO_COLOR (lipgloss then renders plain text).
var (
	colAccent = lipgloss.AdaptiveColor{Light: "#5A3FC0", Dark: "#A48CFF"}
	colOK     = lipgloss.AdaptiveColor{Light: "#1B7F3B", Dark: "#5FD787"}
	colWarn   = lipgloss.AdaptiveColor{Light: "#9A6700", Dark: "#E5C07B"}
	colFail   = lipgloss.AdaptiveColor{Light: "#C0392B", Dark: "#FF6B6B"}
	colDim    = lipgloss.AdaptiveColor{Light: "#6E6E6E", Dark: "#8A8A8A"}

	styleHeader  = lipgloss.NewStyle().Bold(true).Foreground(colAccent)
	styleSandbox = lipgloss.NewStyle().Bold(true).Foreground(colWarn)
	styleTitle   = lipgloss.NewStyle().Bold(true)
	styleDim     = lipgloss.NewStyle().Foreground(colDim)
	styleOK      = lipgloss.NewStyle().Foreground(colOK)
	styleWarn    = lipgloss.NewStyle().Foreground(colWarn)
	styleFail    = lipgloss.NewStyle().Foreground(colFail)
	styleCursor  = lipgloss.NewStyle().Bold(true).Foreground(colAccent)
	styleKey     = lipgloss.NewStyle().Bold(true)
	styleRule    = lipgloss.NewStyle().Foreground(colDim)
	styleBox     = lipgloss.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(colWarn).Padding(0, 1)
)

// Marks that carry the meaning without colour.
const (
	markOK      = "✓"
	markFail    = "✗"
	markWarn    = "!"
	markLater   = "·"
	markPending = "○"
	markCursor  = "›"
)

func ok(s string) string   { return styleOK.Render(markOK + " " + s) }
func fail(s string) string { return styleFail.Render(markFail + " " + s) }
func warn(s string) string { return styleWarn.Render(markWarn + " " + s) }
