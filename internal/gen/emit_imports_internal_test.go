package gen

import (
	"go/format"
	"testing"

	"golang.org/x/tools/imports"
)

// TestGroupImports: groupImports followed by format.Source lays out the
// imports exactly as goimports does, which is what generated files looked
// like before and what users' linters expect.
func TestGroupImports(t *testing.T) {
	for _, src := range []string{
		"package p\n\nimport (\n\"context\"\nx \"example.com/x\"\nfuture \"github.com/gofutures/futures/runtime/future\"\n\"net/http\"\n)\n\n\nfunc F () {\ncontext.Background ()\nfuture.Go ()\nhttp.Get ()\nx.Y ()\n}",
		"package p\n\nimport (\n\"time\"\n\"appengine/datastore\"\n\"errors\"\n)\n\nvar _ = time.Now\nvar _ = datastore.X\nvar _ = errors.New\n",
		"package p\n\nimport (\nb \"example.com/m\"\na \"example.com/m\"\n\"context\"\n)\n\nvar _, _ = a.X, b.X\nvar _ = context.TODO\n",
		"package p\n\nimport \"context\"\n\nvar _ = context.TODO\n",
		"package p\n\nvar x = 1\n",
	} {
		want, err := imports.Process("x.go", []byte(src), &imports.Options{FormatOnly: true, Comments: true, TabIndent: true, TabWidth: 8})
		if err != nil {
			t.Fatalf("imports.Process(%q): %v", src, err)
		}
		got, err := format.Source(groupImports([]byte(src)))
		if err != nil {
			t.Fatalf("format.Source(groupImports(%q)): %v", src, err)
		}
		if string(got) != string(want) {
			t.Errorf("for %q\ngot:\n%s\nwant (goimports):\n%s", src, got, want)
		}
	}
}
