// Package layers holds the rules of dctwiz's layering as tests, in the
// spirit of go-containerregistry's internal/depcheck: imports point down
// (cmd -> ui -> flows -> trust -> yubikey), the engine neither prints nor
// knows the terminal, and the binary links notary's client only. They
// read `go list` and the sources, and start nothing: seconds, no test bed.
package layers

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/dctwiz/dctwiz"

// pkg is what `go list -json` says of a package.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string // direct, non-test
	Deps       []string // transitive, non-test
}

func list(t *testing.T, patterns ...string) map[string]pkg {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-json"}, patterns...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p
	}
	return pkgs
}

// rule: packages under a name import (directly, or at all) none of the banned prefixes.
type rule struct {
	why        string
	packages   []string // relative to the module; "x/..." means x and below
	banned     []string
	transitive bool
}

var (
	charm = []string{"github.com/charmbracelet/", "github.com/spf13/cobra", "github.com/spf13/pflag"}
	rules = []rule{
		{"the engine and the ceremonies know no terminal and no command line", []string{"trust", "flows", "yubikey/..."}, charm, true},
		{"the wizard talks to the engine, not to notary or to tokens", []string{"ui"}, []string{"github.com/theupdateframework/notary", "github.com/go-piv/"}, false},
		{"only the yubikey package speaks PIV", []string{"cmd/...", "ui", "flows", "trust", "internal/testbed"}, []string{"github.com/go-piv/"}, false},
		{"imports point down: nothing below imports what is above it", []string{"flows"}, []string{module + "/ui", module + "/cmd"}, false},
		{"imports point down", []string{"trust"}, []string{module + "/ui", module + "/cmd", module + "/flows"}, false},
		{"imports point down", []string{"yubikey/..."}, []string{module + "/ui", module + "/cmd", module + "/flows", module + "/trust"}, false},
	}
)

func TestImportsPointDown(t *testing.T) {
	for _, v := range violations(list(t, module+"/..."), rules) {
		t.Error(v)
	}
}

// violations lists each import that breaks a rule, and each rule that
// covers no package (it would prove nothing).
func violations(pkgs map[string]pkg, rules []rule) []string {
	var out []string
	for _, r := range rules {
		matched := 0
		for name, p := range pkgs {
			if !covers(r.packages, name) {
				continue
			}
			matched++
			imports := p.Imports
			if r.transitive {
				imports = p.Deps
			}
			for _, imp := range imports {
				for _, b := range r.banned {
					if strings.HasPrefix(imp, b) {
						out = append(out, name+" imports "+imp+": "+r.why)
					}
				}
			}
		}
		if matched == 0 {
			out = append(out, "the rule \""+r.why+"\" covers no package: it proves nothing")
		}
	}
	return out
}

func covers(patterns []string, name string) bool {
	for _, p := range patterns {
		if base, ok := strings.CutSuffix(p, "/..."); ok && (name == base || strings.HasPrefix(name, base+"/")) || name == p {
			return true
		}
	}
	return false
}

// The checks fail when a rule is broken: a package that imports what it
// must not is reported.
func TestABrokenRuleIsReported(t *testing.T) {
	fake := map[string]pkg{"trust": {ImportPath: module + "/trust", Deps: []string{"github.com/charmbracelet/lipgloss"}}}
	got := violations(fake, rules[:1])
	if len(got) != 1 || !strings.Contains(got[0], "trust imports github.com/charmbracelet/lipgloss") {
		t.Fatalf("trust importing lipgloss: %q", got)
	}
}

// The engine, the ceremonies and the token code return values and errors;
// they never write to the terminal themselves.
func TestTheEngineDoesNotPrint(t *testing.T) {
	pkgs := list(t, module+"/trust", module+"/flows", module+"/yubikey", module+"/yubikey/virtual")
	for name, p := range pkgs {
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				id, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				switch call := id.Name + "." + sel.Sel.Name; call {
				case "fmt.Print", "fmt.Println", "fmt.Printf", "os.Stdout", "os.Stderr", "os.Stdin", "log.Print", "log.Printf", "log.Println":
					t.Errorf("%s (%s) uses %s: the engine returns values and errors, cmd and ui show them", name, f, call)
				}
				return true
			})
		}
	}
	if len(pkgs) != 4 {
		t.Fatalf("checked %d packages, want 4", len(pkgs))
	}
}

// TestBinaryIsClientOnly: the dctwiz binary links notary's client, never
// its server, signer, utils or commands (and so none of their 38 modules:
// bugsnag, gorm, an old viper, database drivers), and no test bed.
func TestBinaryIsClientOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", module+"/cmd/dctwiz").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	client := false
	for _, p := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"github.com/theupdateframework/notary/server",
			"github.com/theupdateframework/notary/signer",
			"github.com/theupdateframework/notary/utils",
			"github.com/theupdateframework/notary/cmd",
			"github.com/bugsnag/", "github.com/jinzhu/gorm", "github.com/spf13/viper",
			module + "/internal/testbed", module + "/yubikey/virtual",
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

// cliWords matches what only the command line has: a flag, or a dctwiz
// command. The engine's messages and fixes are shown by the wizard too,
// to an admin who has no flags: they say what to do in plain words and
// carry the rest as a trust.Action, which each face renders itself.
var cliWords = regexp.MustCompile(`(^|[\s(])--[a-z]|\bdctwiz (setup|init|yubikey|delegation|root-cert|test-sign|targets-key|inspect|wizard|sandbox)\b`)

// cliStrings lists the string literals of a Go source that use CLI words.
func cliStrings(src string) ([]string, error) {
	file, err := parser.ParseFile(token.NewFileSet(), "src.go", src, 0)
	if err != nil {
		return nil, err
	}
	var out []string
	ast.Inspect(file, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && cliWords.MatchString(lit.Value) {
			out = append(out, lit.Value)
		}
		return true
	})
	return out, nil
}

func TestTheEngineSpeaksNoCLIWords(t *testing.T) {
	pkgs := list(t, module+"/trust", module+"/flows", module+"/yubikey")
	for name, p := range pkgs {
		for _, f := range p.GoFiles {
			src, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			found, err := cliStrings(string(src))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range found {
				t.Errorf("%s (%s): %s names a flag or command: say it plainly and set a trust.Action", name, f, s)
			}
		}
	}
	if len(pkgs) != 3 {
		t.Fatalf("checked %d packages, want 3", len(pkgs))
	}
}

// The check above finds CLI words where they are, and only there.
func TestCLIWordsAreFound(t *testing.T) {
	found, err := cliStrings(`package x
var a = "check the --tlscacert path"
var b = "unblock it: dctwiz yubikey unblock"
var c = "dctwiz needs firmware 5.3 -- or later; x--y"`)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 {
		t.Fatalf("found %q, want the first two strings", found)
	}
}
