package gen

import (
	"fmt"
	"go/ast"
	"go/token"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Package directives: a directive in a file's package doc comment (the
// comment above "package x") configures the package as a whole, where a
// function's directive configures one function. Each kind appears at most
// once per package, in any of its files; its options follow the grammar of
// function directives (directive.go).
//
// //futures:api asks for the package's OpenAPI document (openapi.go);
// //futures:client IMPORTPATH for a typed client of another package's
// views (client.go).

// packageKinds are the package directives.
var packageKinds = []string{"api", "client"}

func isPackageKind(k string) bool {
	for _, known := range packageKinds {
		if k == known {
			return true
		}
	}
	return false
}

// findPackageDecls reads the directives of the package doc comments of l's
// files, from the raw comments as findDecls does. A package directive has
// no function: its decl's fn is nil. A function directive in a package doc
// comment, an unknown one and a second directive of a kind are reported.
func findPackageDecls(l *loaded, e *errs) []*decl {
	var out []*decl
	first := map[string]*decl{}
	for _, f := range l.pkg.Syntax {
		if f.Doc == nil {
			continue
		}
		filename := sourceName(l.pkg.Fset, f)
		for _, c := range f.Doc.List {
			if !strings.HasPrefix(c.Text, directivePrefix) {
				continue
			}
			dir, serr := parseDirective(c.Text)
			if serr != nil {
				e.add(c.Slash+token.Pos(serr.off), "%s", serr.msg)
				continue
			}
			at := c.Slash + token.Pos(dir.kindOff)
			switch {
			case isKnownKind(dir.kind):
				e.add(at, "//futures:%s belongs in the doc comment of a function or method, not in the package doc comment", dir.kind)
				continue
			case !isPackageKind(dir.kind):
				err := e.add(at, "%s", unknownKind(dir.kind))
				if near := nearest(dir.kind, allKinds()); near != "" {
					err.suggest(at, len(dir.kind), near)
				}
				continue
			}
			if prev := first[dir.kind]; prev != nil {
				e.add(c.Slash, "a second //futures:%s in package %s; the first is at %s, and a package takes one",
					dir.kind, l.name, l.pkg.Fset.Position(prev.line.Slash))
				continue
			}
			d := &decl{kind: dir.kind, file: f, filename: filename, line: c, dir: dir}
			first[dir.kind] = d
			out = append(out, d)
		}
	}
	return out
}

// inPackageDoc reports whether c is in f's package doc comment, where
// findPackageDecls, not findDecls, reads directives.
func inPackageDoc(f *ast.File, c *ast.Comment) bool {
	return f.Doc != nil && f.Doc.Pos() <= c.Pos() && c.End() <= f.Doc.End()
}

// allKinds are the names of every directive, for suggestions.
func allKinds() []string { return append(append([]string(nil), kinds...), packageKinds...) }

// apiOptions are the options of //futures:api.
var apiOptions = []optSpec{
	{"title", optText},
	{"version", optText},
	{"description", optText},
	{"out", optText},
	{"openapi", optText},
	{"servers", optText},
}

// DefaultAPIOutput is the OpenAPI document's default file name.
const DefaultAPIOutput = "openapi.json"

// api is a checked //futures:api directive: what the package's OpenAPI
// document says about itself, and the document once built.
type api struct {
	decl        *decl
	title       string
	version     string
	description string
	out         string   // the document's file name, beside the generated Go file
	openapi     string   // "3.1.0" or "3.0.3"
	servers     []string // URLs
	doc         []byte   // the document, built by the check step
	// responses are the problem responses the views use, by status, for
	// #/components/responses.
	responses map[int]problemResponse
}

// v30 reports whether the document is in OpenAPI 3.0's form.
func (a *api) v30() bool { return strings.HasPrefix(a.openapi, "3.0") }

// apiNames are the package-level names that //futures:api generates: the
// function that returns the document, and the variable it is embedded in.
var apiNames = []string{"OpenAPI", "futuresOpenAPI"}

// checkAPI checks the options of //futures:api.
func checkAPI(p *plan, d *decl, e *errs) *api {
	opts, ok := checkDirectiveOptions(d, 0, apiOptions, e)
	a := &api{decl: d, title: p.name, out: DefaultAPIOutput, openapi: "3.1.0"}
	valueAt := func(key string) token.Pos {
		for _, o := range d.dir.options {
			if o.key == key {
				return d.at(o.valueOff)
			}
		}
		return d.at(d.dir.kindOff)
	}
	if v := opts["title"]; v.set {
		a.title = v.str
	}
	if v := opts["version"]; v.set {
		a.version = v.str
	} else if !slices.ContainsFunc(d.dir.options, func(o option) bool { return o.key == "version" }) {
		e.add(d.at(d.dir.kindOff), "//futures:api needs version=…, the version of the API that the document describes, such as version=1.0.0")
		ok = false
	}
	a.description = prose(d.file.Doc.Text())
	if v := opts["description"]; v.set {
		a.description = v.str
	}
	if v := opts["out"]; v.set {
		if msg := checkOutName(v.str); msg != "" {
			e.add(valueAt("out"), "out=%q: %s", v.str, msg)
			ok = false
		}
		a.out = v.str
	}
	if v := opts["openapi"]; v.set {
		switch v.str {
		case "3.1", "3.1.0":
		case "3.0", "3.0.3":
			a.openapi = "3.0.3"
		default:
			e.add(valueAt("openapi"), "openapi wants 3.1 (the default) or 3.0 (for tools that read only OpenAPI 3.0.3), not %q", v.str)
			ok = false
		}
	}
	if v := opts["servers"]; v.set {
		for s := range strings.SplitSeq(v.str, ",") {
			if msg := checkServerURL(s); msg != "" {
				e.add(valueAt("servers"), "servers: %q %s; servers wants comma-separated URLs such as https://api.example.com,http://localhost:8080 (or paths such as /api)", s, msg)
				ok = false
				continue
			}
			a.servers = append(a.servers, s)
		}
	}
	if !ok {
		return nil
	}
	return a
}

// checkOutName says what is wrong with the document's file name, which
// must be a plain name that //go:embed accepts as it is.
func checkOutName(name string) string {
	switch {
	case !strings.HasSuffix(name, ".json") || name == ".json":
		return "the document is JSON: give a file name ending in .json"
	case strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_"):
		return "a file name starting with . or _ is one the go command ignores"
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Sprintf("%q cannot be in the file name: use letters, digits and . _ - (the document goes beside the generated Go file, in the package's directory)", r)
		}
	}
	return ""
}

// checkServerURL says what is wrong with a server URL: it is an absolute
// http or https URL, or a path on the document's own server.
func checkServerURL(s string) string {
	if s == "" {
		return "is empty"
	}
	if strings.ContainsAny(s, "{} \t") {
		return "has a space or a {variable}, which are not supported"
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "does not parse as a URL"
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, "?#"):
		return "has a query or a fragment"
	case strings.HasPrefix(s, "/"):
		return ""
	case u.Scheme != "http" && u.Scheme != "https":
		return "is neither an http or https URL nor a path starting with /"
	case u.Host == "":
		return "has no host"
	}
	return ""
}

// checkNames reports a package-level name that the generated code of
// //futures:api needs but the package declares already.
func (a *api) checkNames(p *plan, e *errs) {
	parsed := map[*token.File]bool{}
	for _, f := range p.pkg.Syntax {
		parsed[p.pkg.Fset.File(f.Package)] = true
	}
	for _, name := range apiNames {
		if obj := p.pkg.Types.Scope().Lookup(name); obj != nil && parsed[p.pkg.Fset.File(obj.Pos())] {
			e.add(a.decl.at(a.decl.dir.kindOff), "//futures:api generates %s, but the package already declares %s at %s", name, name, p.pkg.Fset.Position(obj.Pos()))
		}
	}
}

// scanDocs looks at the JSON files of the package's directory: those that
// futuresgen wrote join l.generated, to be rewritten or removed like
// generated Go files; the others are foreign, and no document may take
// their names.
func (l *loaded) scanDocs() error {
	if l.dir == "" {
		return nil
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return err
	}
	for _, ent := range entries {
		name := ent.Name()
		if ent.IsDir() || !strings.HasSuffix(name, ".json") {
			continue
		}
		path := filepath.Join(l.dir, name)
		head, err := readHead(path, 256)
		if err != nil {
			return err
		}
		switch {
		case isGeneratedDoc(head):
			if !slices.Contains(l.generated, path) { // the lock, read already
				l.generated = append(l.generated, path)
			}
		default:
			l.otherJSON = append(l.otherJSON, name)
		}
	}
	return nil
}

// readHead reads up to n bytes from the start of a file.
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	m, err := io.ReadFull(f, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return buf[:m], err
}
