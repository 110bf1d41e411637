package gen

import (
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
)

// fileConstraint returns the build constraint of a source file, from its
// //go:build (or legacy // +build) lines, from a _GOOS, _GOARCH or
// _GOOS_GOARCH file name suffix, and from an import of "C" (cgo), as one
// //go:build expression; "" when the file is always built. It reads the
// file's own bytes: cgo's output, which the package is checked from, has
// neither the constraint lines nor the import.
func fileConstraint(src []byte, filename string) (string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), filename, src, parser.ImportsOnly|parser.ParseComments)
	if f == nil {
		return "", err
	}
	var exprs []constraint.Expr
	var plus []constraint.Expr
	for _, g := range f.Comments {
		if g.Pos() >= f.Package {
			break
		}
		for _, c := range g.List {
			switch {
			case constraint.IsGoBuild(c.Text):
				x, err := constraint.Parse(c.Text)
				if err != nil {
					return "", err
				}
				exprs = append(exprs, x)
			case constraint.IsPlusBuild(c.Text):
				x, err := constraint.Parse(c.Text)
				if err != nil {
					return "", err
				}
				plus = append(plus, x)
			}
		}
	}
	if len(exprs) == 0 {
		exprs = plus // //go:build wins over // +build when both are present
	}
	exprs = append(exprs, nameConstraint(filepath.Base(filename))...)
	if slices.ContainsFunc(f.Imports, func(s *ast.ImportSpec) bool { return s.Path.Value == `"C"` }) {
		exprs = append(exprs, &constraint.TagExpr{Tag: "cgo"})
	}
	if len(exprs) == 0 {
		return "", nil
	}
	x := exprs[0]
	for _, y := range exprs[1:] {
		x = &constraint.AndExpr{X: x, Y: y}
	}
	return x.String(), nil
}

// nameConstraint returns the tags implied by a file name, as go/build reads
// them: name_GOOS.go, name_GOARCH.go, name_GOOS_GOARCH.go (and _test.go
// variants).
func nameConstraint(name string) []constraint.Expr {
	name = strings.TrimSuffix(name, ".go")
	name = strings.TrimSuffix(name, "_test")
	i := strings.Index(name, "_")
	if i < 0 {
		return nil
	}
	parts := strings.Split(name[i:], "_")
	n := len(parts)
	tag := func(s string) constraint.Expr { return &constraint.TagExpr{Tag: s} }
	if n >= 2 && knownOS[parts[n-2]] && knownArch[parts[n-1]] {
		return []constraint.Expr{tag(parts[n-2]), tag(parts[n-1])}
	}
	if n >= 1 && (knownOS[parts[n-1]] || knownArch[parts[n-1]]) {
		return []constraint.Expr{tag(parts[n-1])}
	}
	return nil
}

// knownOS and knownArch are go/build's lists of GOOS and GOARCH values that
// a file name suffix constrains (go/build/syslist.go).
var knownOS = setOf("aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 solaris wasip1 windows zos")

var knownArch = setOf("386 amd64 amd64p32 arm armbe arm64 arm64be loong64 mips mipsle mips64 mips64le mips64p32 mips64p32le ppc ppc64 ppc64le riscv riscv64 s390 s390x sparc sparc64 wasm")

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
