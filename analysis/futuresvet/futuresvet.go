// Package futuresvet is an analyzer that reports, package by package, what
// futuresgen would refuse or change: a malformed //futures: directive, an
// option, signature or request struct it cannot wrap, and a generated file
// that is stale, missing or orphaned. It runs futuresgen's own find, check
// and emit steps, so its messages are futuresgen's, and it offers a fix
// where one is obvious: a misspelled option or directive name, and a space
// after // that makes a directive a plain comment. A stale file has none:
// analysis drivers leave generated files alone, and go generate is the
// remedy.
//
// Command futuresvet runs it, alone or under go vet:
//
//	go vet -vettool=$(which futuresvet) ./...
//
// A package that does not type-check is left to the type checker, which
// go vet runs first: a generated file so stale that the package no longer
// compiles is reported as the compiler reports it. The analyzer reports
// only what it sees in the current build configuration (GOOS, GOARCH,
// -tags), as futuresgen generates only for it.
//
// It is safe for concurrent use on different packages.
package futuresvet

import (
	"fmt"

	"golang.org/x/tools/go/analysis"

	"github.com/gofutures/futures/internal/gen"
)

// Analyzer reports bad directives, bad signatures and stale generated code.
// Its flag -output is futuresgen's -o: the generated file's name.
var Analyzer = &analysis.Analyzer{
	Name: "futuresvet",
	Doc: `report //futures: directives that futuresgen would refuse, and stale generated files

futuresvet runs futuresgen's checks on each package: a malformed or
misplaced directive, an unknown or bad option, a function, receiver or
request struct that cannot be wrapped, names that clash with what would be
generated. When there are none, it reports every generated file that is
stale, missing or orphaned, with the command that brings it up to date.`,
	URL:       "https://pkg.go.dev/github.com/gofutures/futures/analysis/futuresvet",
	Run:       run,
	FactTypes: []analysis.Fact{new(viewsFact)},
}

// viewsFact is the //futures:view directives of a package, for the
// packages whose //futures:client calls its views: their generated
// clients are made of them, and a client package sees the views
// package's types only, not its comments.
type viewsFact struct {
	Sites []gen.ViewSite
}

func (*viewsFact) AFact() {}

func (f *viewsFact) String() string { return fmt.Sprintf("%d view(s)", len(f.Sites)) }

var output string

func init() {
	Analyzer.Flags.StringVar(&output, "output", gen.DefaultOutput, "the generated file's name, as futuresgen -o")
}

func run(pass *analysis.Pass) (any, error) {
	if sites := gen.ViewSites(pass.Fset, pass.Files); len(sites) > 0 {
		pass.ExportPackageFact(&viewsFact{Sites: sites})
	}
	viewSites := func(path string) ([]gen.ViewSite, bool) {
		for _, p := range pass.Pkg.Imports() {
			if p.Path() == path {
				var f viewsFact
				pass.ImportPackageFact(p, &f)
				return f.Sites, true
			}
		}
		return nil, false
	}
	diags, err := gen.Vet(gen.VetPackage{
		Fset:     pass.Fset,
		Files:    pass.Files,
		Types:    pass.Pkg,
		Info:     pass.TypesInfo,
		Sizes:    pass.TypesSizes,
		ReadFile: pass.ReadFile,
		Output:   output,

		IgnoredFiles: pass.IgnoredFiles,
		ViewSites:    viewSites,
	})
	if err != nil {
		return nil, err
	}
	for _, d := range diags {
		ad := analysis.Diagnostic{Pos: d.Pos, End: d.End, Message: d.Message}
		if d.Fix != nil {
			fix := analysis.SuggestedFix{Message: d.Fix.Message}
			for _, e := range d.Fix.Edits {
				fix.TextEdits = append(fix.TextEdits, analysis.TextEdit{Pos: e.Pos, End: e.End, NewText: e.NewText})
			}
			ad.SuggestedFixes = []analysis.SuggestedFix{fix}
		}
		pass.Report(ad)
	}
	return nil, nil
}
