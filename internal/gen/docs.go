package gen

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"
	"unicode"
	"unicode/utf8"
)

// docIndex holds what the syntax of a package says about its types and
// struct fields: their doc comments, which become descriptions in the
// OpenAPI document, and the fields' syntax, where a validate rule's column
// is. Types of other packages, read from export data, have neither.
type docIndex struct {
	types  map[*types.TypeName]string
	fields map[*types.Var]*ast.Field
}

func newDocIndex(files []*ast.File, info *types.Info) *docIndex {
	d := &docIndex{types: map[*types.TypeName]string{}, fields: map[*types.Var]*ast.Field{}}
	if info == nil {
		return d
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GenDecl:
				if n.Tok != token.TYPE {
					return true
				}
				for _, spec := range n.Specs {
					ts := spec.(*ast.TypeSpec)
					doc := ts.Doc
					if doc == nil && len(n.Specs) == 1 {
						doc = n.Doc
					}
					if obj, ok := info.Defs[ts.Name].(*types.TypeName); ok && doc != nil {
						d.types[obj] = prose(doc.Text())
					}
				}
			case *ast.StructType:
				for _, field := range n.Fields.List {
					for _, name := range field.Names {
						if v, ok := info.Defs[name].(*types.Var); ok {
							d.fields[v] = field
						}
					}
				}
			}
			return true
		})
	}
	return d
}

// typeDoc is the doc comment of a named type, or "".
func (d *docIndex) typeDoc(obj *types.TypeName) string { return d.types[obj] }

// field is the syntax of a struct field, or nil; a field of a generic
// type's instance has the syntax of its origin.
func (d *docIndex) field(v *types.Var) *ast.Field { return d.fields[v.Origin()] }

// fieldDoc is the doc comment of a struct field, or its line comment.
func (d *docIndex) fieldDoc(v *types.Var) string {
	f := d.field(v)
	if f == nil {
		return ""
	}
	if f.Doc != nil {
		return prose(f.Doc.Text())
	}
	if f.Comment != nil {
		return prose(f.Comment.Text())
	}
	return ""
}

// summarize splits a doc comment (directive lines already dropped) into its
// first sentence, for an operation's summary, and the rest, for its
// description. The first sentence ends at the first period, question or
// exclamation mark followed by a space or a line end (unless it ends a
// single capital, as in "J. Doe"), or at the end of the first paragraph;
// its line breaks become spaces.
func summarize(doc string) (summary, rest string) {
	doc = strings.TrimSpace(doc)
	end := len(doc)
	if i := strings.Index(doc, "\n\n"); i >= 0 {
		end = i
	}
	for i := 0; i < end; i++ {
		c := doc[i]
		if c != '.' && c != '?' && c != '!' {
			continue
		}
		if i+1 < end && doc[i+1] != ' ' && doc[i+1] != '\n' {
			continue
		}
		if c == '.' && i >= 1 {
			r, size := utf8.DecodeLastRuneInString(doc[:i])
			j := i - size
			if unicode.IsUpper(r) && (j == 0 || doc[j-1] == ' ' || doc[j-1] == '\n') {
				continue // an initial
			}
		}
		end = i + 1
		break
	}
	summary = strings.Join(strings.Fields(doc[:end]), " ")
	rest = prose(strings.TrimLeft(doc[end:], " "))
	return summary, rest
}

// deprecated reports whether a doc comment has a paragraph that starts
// with "Deprecated: ", Go's convention for deprecated identifiers.
func deprecated(doc string) bool {
	for p := range strings.SplitSeq(doc, "\n\n") {
		if strings.HasPrefix(strings.TrimSpace(p), "Deprecated: ") {
			return true
		}
	}
	return false
}

// prose returns a doc comment's text for a description: the lines of each
// paragraph joined, so that the JSON reads as the rendered text will,
// while indented lines (code blocks, lists' continuations) and blank lines
// stay as they are, as CommonMark needs them.
func prose(text string) string {
	var b strings.Builder
	lines := strings.Split(strings.TrimLeft(strings.TrimRight(text, " \t\n"), "\n"), "\n")
	for i, line := range lines {
		if i > 0 {
			prev := lines[i-1]
			joinable := prev != "" && line != "" && !indented(prev) && !indented(line) &&
				!strings.HasPrefix(line, "- ") && !strings.HasPrefix(line, "* ")
			if joinable {
				b.WriteByte(' ')
			} else {
				b.WriteByte('\n')
			}
		}
		b.WriteString(line)
	}
	return b.String()
}

func indented(line string) bool { return strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") }
