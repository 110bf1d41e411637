package gen

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"regexp"
	"strings"
)

// decl is a function that carries a directive.
type decl struct {
	kind     string
	fn       *ast.FuncDecl
	file     *ast.File
	filename string
	line     *ast.Comment
	dir      *directive
	obj      *types.Func // set once the package is type-checked
}

// at returns the position of byte offset off of the directive line.
func (d *decl) at(off int) token.Pos { return d.line.Slash + token.Pos(off) }

// kinds are the directive names, with the generated names each reserves.
var kinds = []string{"task", "view", "socket"}

// spacedDirective matches "// futures:task": a comment, not a directive.
var spacedDirective = regexp.MustCompile(`^//\s+futures:([A-Za-z]+)`)

// findDecls reads the directives of a package's files from the raw doc
// comments (CommentGroup.Text drops directive lines) and reports directives
// that are malformed or not on a function.
func findDecls(l *loaded, e *errs) []*decl {
	var out []*decl
	for _, f := range l.pkg.Syntax {
		filename := sourceName(l.pkg.Fset, f)
		onFunc := map[*ast.Comment]bool{}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Doc == nil {
				continue
			}
			var found *decl
			for _, c := range fn.Doc.List {
				if !strings.HasPrefix(c.Text, directivePrefix) {
					continue
				}
				onFunc[c] = true
				dir, serr := parseDirective(c.Text)
				if serr != nil {
					e.add(c.Slash+token.Pos(serr.off), "%s", serr.msg)
					continue
				}
				if isPackageKind(dir.kind) {
					e.add(c.Slash+token.Pos(dir.kindOff), "//futures:%s belongs in a package doc comment (the comment above the package clause of any file), not on a function", dir.kind)
					continue
				}
				if !isKnownKind(dir.kind) {
					err := e.add(c.Slash+token.Pos(dir.kindOff), "%s", unknownKind(dir.kind))
					if near := nearest(dir.kind, allKinds()); near != "" {
						err.suggest(c.Slash+token.Pos(dir.kindOff), len(dir.kind), near)
					}
					continue
				}
				if found != nil {
					e.add(c.Slash, "%s has a second directive, //futures:%s, after //futures:%s at line %d; a function takes one",
						fn.Name.Name, dir.kind, found.kind, l.pkg.Fset.Position(found.line.Slash).Line)
					continue
				}
				found = &decl{kind: dir.kind, fn: fn, file: f, filename: filename, line: c, dir: dir}
			}
			if found != nil {
				out = append(out, found)
			}
		}
		for _, g := range f.Comments {
			for _, c := range g.List {
				if m := spacedDirective.FindStringSubmatchIndex(c.Text); m != nil {
					kind := c.Text[m[2]:m[3]]
					spaces := len(c.Text[2:m[2]]) - len("futures:")
					e.warn(c.Slash, "%q is a plain comment, not a directive: write //futures:%s with no space after //", strings.TrimSpace(c.Text), kind).
						suggest(c.Slash+2, spaces, "")
					continue
				}
				if strings.HasPrefix(c.Text, directivePrefix) && !onFunc[c] && !inPackageDoc(f, c) {
					e.add(c.Slash, "%s must be in the doc comment of a function or method, directly above func%s",
						firstWord(c.Text), attachedTo(f, c))
				}
			}
		}
	}
	return out
}

// excludedSites reads the directives of the files that the build
// constraints exclude (loaded.excludedSyntax), for their registrations
// only: a directive that does not parse, or a second one on a function, is
// reported on a platform that builds the file.
func excludedSites(l *loaded) []regSite {
	var sites []regSite
	for _, f := range l.excludedSyntax {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Doc == nil {
				continue
			}
			for _, c := range fn.Doc.List {
				if !strings.HasPrefix(c.Text, directivePrefix) {
					continue
				}
				if dir, err := parseDirective(c.Text); err == nil && isKnownKind(dir.kind) {
					sites = append(sites, regSite{kind: regKind(dir.kind), typeName: recvTypeName(fn), at: c.Slash + token.Pos(dir.kindOff)})
					break
				}
			}
		}
	}
	return sites
}

// sourceName is the file f was parsed from as its positions report it: for
// a cgo file, the original rather than cgo's output in the build cache.
func sourceName(fset *token.FileSet, f *ast.File) string {
	return fset.Position(f.Package).Filename
}

// regKind is the registration a directive's function joins: sockets
// register with the views (RegisterViews), as they are served on the same
// mux.
func regKind(kind string) string {
	if kind == "socket" {
		return "view"
	}
	return kind
}

func isKnownKind(k string) bool {
	for _, known := range kinds {
		if k == known {
			return true
		}
	}
	return false
}

func unknownKind(k string) string {
	msg := fmt.Sprintf("unknown directive //futures:%s", k)
	if near := nearest(k, allKinds()); near != "" {
		msg += fmt.Sprintf(" (did you mean //futures:%s?)", near)
	}
	return msg + "; directives are //futures:task, //futures:view and //futures:socket on functions, and //futures:api and //futures:client in a package doc comment"
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

// attachedTo says what a misplaced directive sits on, for the error message.
func attachedTo(f *ast.File, c *ast.Comment) string {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			if d.Doc != nil && d.Doc.Pos() <= c.Pos() && c.End() <= d.Doc.End() {
				return fmt.Sprintf(", not above a %s declaration", d.Tok)
			}
			for _, s := range d.Specs {
				var doc *ast.CommentGroup
				switch s := s.(type) {
				case *ast.TypeSpec:
					doc = s.Doc
				case *ast.ValueSpec:
					doc = s.Doc
				}
				if doc != nil && doc.Pos() <= c.Pos() && c.End() <= doc.End() {
					return fmt.Sprintf(", not above a %s declaration", d.Tok)
				}
			}
		case *ast.FuncDecl:
			if d.Body != nil && d.Body.Pos() < c.Pos() && c.End() < d.Body.End() {
				return fmt.Sprintf(", not inside the body of %s", d.Name.Name)
			}
		}
	}
	return ""
}

// recvTypeName returns the name of a method's receiver type from the syntax
// alone: T in (t T), (t *T), (t T[P]) and (t *T[P]).
func recvTypeName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return ""
	}
	x := fn.Recv.List[0].Type
	for {
		switch t := x.(type) {
		case *ast.StarExpr:
			x = t.X
		case *ast.ParenExpr:
			x = t.X
		case *ast.IndexExpr:
			x = t.X
		case *ast.IndexListExpr:
			x = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}
