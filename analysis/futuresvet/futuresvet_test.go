package futuresvet_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/gofutures/futures/analysis/futuresvet"
	"github.com/gofutures/futures/internal/gen"
)

// testModule copies testdata into a new module that requires this
// repository through a replace, with its go.sum, so that nothing needs the
// network; then it generates the packages that the cases need generated
// and changes them as their doc comments say.
func testModule(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.mod"), "module example.com/vet\n\ngo 1.26.8\n\nrequire github.com/gofutures/futures v0.0.0\n\nreplace github.com/gofutures/futures => "+filepath.ToSlash(root)+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.sum"), string(sum))
	// GOFLAGS and GOWORK reach analysistest's go list through os.Environ.
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOWORK", "off")

	if _, err := gen.Run(context.Background(), gen.Config{Dir: dir, Patterns: []string{"./fresh", "./stale", "./orphan", "./staledoc", "./freshlock", "./lostlock", "./shop", "./freshclient", "./staleclient"}}); err != nil {
		t.Fatalf("generating: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "lostlock", gen.LockFile)); err != nil {
		t.Fatal(err)
	}
	edit(t, filepath.Join(dir, "stale", "stale.go"), "//futures:task retries=1", "//futures:task retries=2")
	edit(t, filepath.Join(dir, "orphan", "orphan.go"), "//futures:task\n", "")
	edit(t, filepath.Join(dir, "staledoc", "doc.go"), "// Hello greets.", "// Hello greets warmly.")
	// freshclient is generated again from the edited shop; staleclient is not.
	edit(t, filepath.Join(dir, "shop", "catalog.go"), "//futures:view GET /items/{id}", "//futures:view GET /goods/{id}")
	edit(t, filepath.Join(dir, "shop", "catalog.go"), "//futures:socket GET /live", "//futures:socket GET /news")
	if _, err := gen.Run(context.Background(), gen.Config{Dir: dir, Patterns: []string{"./shop", "./freshclient"}}); err != nil {
		t.Fatalf("generating again: %v", err)
	}
	return dir
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	write(t, path, strings.Replace(string(data), old, new, 1))
}

// TestAnalyzer checks the diagnostics of every case against its want
// comments: futuresgen's messages for bad directives, options and
// signatures, the stale, missing and orphaned generated files, and a
// stale OpenAPI document; none for a package whose generated file is
// fresh.
func TestAnalyzer(t *testing.T) {
	dir := testModule(t)
	analysistest.Run(t, dir, futuresvet.Analyzer, "./...")
}

// TestSuggestedFixes applies every suggested fix of package bad and
// compares the result with bad.go.golden: misspelled options and directive
// names replaced by the names the messages suggest, the space after //
// removed.
func TestSuggestedFixes(t *testing.T) {
	dir := testModule(t)
	analysistest.RunWithSuggestedFixes(t, dir, futuresvet.Analyzer, "./bad")
}
