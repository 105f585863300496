package core_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// modulePrefix is the only non-standard import path core/ may use: its own packages.
const modulePrefix = "github.com/microtcp/microtcp/core/"

// forbiddenImports break the rule that core/ is a single-threaded state machine.
var forbiddenImports = map[string]string{
	"sync":        "core/ must not lock: the driver serialises calls",
	"sync/atomic": "core/ must not lock: the driver serialises calls",
	"unsafe":      "no unsafe (DESIGN.md §6.10)",
}

// forbiddenTime are the package time functions that read the clock or wait.
var forbiddenTime = map[string]bool{
	"Now": true, "Sleep": true, "After": true, "Tick": true, "NewTimer": true,
	"NewTicker": true, "AfterFunc": true, "Since": true, "Until": true,
}

// checkSource returns one finding per broken rule in a Go source file.
func checkSource(fset *token.FileSet, name string, src any) ([]string, error) {
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var findings []string
	report := func(pos token.Pos, format string, args ...any) {
		findings = append(findings, fset.Position(pos).String()+": "+fmt.Sprintf(format, args...))
	}
	timeNames := map[string]bool{}
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return nil, err
		}
		if why, bad := forbiddenImports[path]; bad {
			report(imp.Pos(), "imports %q: %s", path, why)
		}
		if !isStandard(path) && !strings.HasPrefix(path, modulePrefix) {
			report(imp.Pos(), "imports %q: core/ depends on the standard library alone", path)
		}
		if path == "time" {
			local := "time"
			if imp.Name != nil {
				local = imp.Name.Name
			}
			if local == "." {
				report(imp.Pos(), `dot-imports "time": its clock functions could hide`)
			}
			timeNames[local] = true
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n.Pos(), "go statement: core/ never starts goroutines")
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && timeNames[id.Name] && forbiddenTime[n.Sel.Name] {
				report(n.Pos(), "uses time.%s: core/ takes now as a parameter", n.Sel.Name)
			}
		}
		return true
	})
	return findings, nil
}

// isStandard reports whether an import path belongs to the standard
// library: its first element has no dot (the go command's own rule).
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func TestCorePurity(t *testing.T) {
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		findings, err := checkSource(fset, path, nil)
		if err != nil {
			return err
		}
		for _, f := range findings {
			t.Error(f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no source files found under core/: the check checked nothing")
	}
	t.Logf("%d files checked", files)
}

func TestCheckerFindsViolations(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings, one per expected finding, in order
	}{
		{"clean", `package p
import ("time"; "net/netip"; "github.com/microtcp/microtcp/core/wire")
var _ wire.MAC
func f(now time.Time, d time.Duration) time.Time { _ = netip.Addr{}; return now.Add(d) }`, nil},
		{"sync", `package p
import "sync"
var mu sync.Mutex`, []string{`imports "sync"`}},
		{"atomic and unsafe", `package p
import ("sync/atomic"; "unsafe")
var n atomic.Int64
var _ = unsafe.Sizeof(n)`, []string{`imports "sync/atomic"`, `imports "unsafe"`}},
		{"third party", `package p
import "github.com/songgao/water"
var _ water.Config`, []string{`imports "github.com/songgao/water"`}},
		{"other module package", `package p
import "github.com/microtcp/microtcp/netconn"
var _ netconn.Conn`, []string{`imports "github.com/microtcp/microtcp/netconn"`}},
		{"clock", `package p
import "time"
func f() { _ = time.Now(); time.Sleep(1); <-time.After(1); _ = time.Since(time.Time{}) }`,
			[]string{"time.Now", "time.Sleep", "time.After", "time.Since"}},
		{"renamed time", `package p
import clock "time"
var now = clock.Now`, []string{"time.Now"}},
		{"timers", `package p
import "time"
func f() { time.AfterFunc(1, nil); time.NewTimer(1); _ = time.Tick(1); _ = time.Until(time.Time{}) }`,
			[]string{"time.AfterFunc", "time.NewTimer", "time.Tick", "time.Until"}},
		{"goroutine", `package p
func f() { go f() }`, []string{"go statement"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkSource(token.NewFileSet(), "bad.go", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("findings %q, want %d matching %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("finding %d = %q, want it to mention %q", i, got[i], w)
				}
			}
		})
	}
}
