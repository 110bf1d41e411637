package gen_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofutures/futures/internal/gen"
)

// TestAPIDocumentLifecycle follows an OpenAPI document through the life
// of a generated file: written beside futures_gen.go, which embeds it and
// builds; reported stale by --check when only a doc comment changed, and
// missing when deleted; left alone when nothing changed; removed with the
// //futures:api directive; and never written over a JSON file that
// futuresgen did not write, with or without the cache.
func TestAPIDocumentLifecycle(t *testing.T) {
	mod := newModule(t, "example.com/life")
	dir := filepath.Join(mod, "svc")
	src := `// Package svc serves.
//
//futures:api version=1.0.0
package svc

// Hello greets.
//
//futures:view GET /hello
func Hello() (string, error) { return "hello", nil }
`
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("svc.go", src)
	ctx := context.Background()
	cache := t.TempDir()
	run := func(check bool) (*gen.Result, error) {
		return gen.Run(ctx, gen.Config{Dir: mod, Patterns: []string{"./..."}, Env: goEnv(), Check: check, CacheDir: cache})
	}
	docPath := filepath.Join(dir, "openapi.json")

	if _, err := run(false); err != nil {
		t.Fatalf("Run: %v", err)
	}
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("the document was not written: %v", err)
	}
	if !bytes.Contains(doc, []byte(`"summary": "Hello greets."`)) {
		t.Errorf("the document lacks the view's summary:\n%s", doc)
	}
	goCmd(t, mod, "vet", "./...")

	// Nothing changed: nothing written, and the check passes.
	if res, err := run(false); err != nil || len(res.Changes) != 0 {
		t.Fatalf("second run: %v, changes %+v; want none", err, res.Changes)
	}
	if _, err := run(true); err != nil {
		t.Fatalf("check: %v", err)
	}

	// A doc comment changes the document only.
	write("svc.go", strings.Replace(src, "Hello greets.", "Hello greets warmly.", 1))
	res, err := run(true)
	if !errors.Is(err, gen.ErrStale) || len(res.Changes) != 1 || res.Changes[0].Path != docPath ||
		!strings.Contains(res.Changes[0].Diff, `+        "summary": "Hello greets warmly."`) {
		t.Fatalf("check after a doc change: %v, %+v; want openapi.json stale with the new summary in its diff", err, res.Changes)
	}
	if _, err := run(false); err != nil {
		t.Fatal(err)
	}

	// A deleted document is missing.
	if err := os.Remove(docPath); err != nil {
		t.Fatal(err)
	}
	if res, err := run(true); !errors.Is(err, gen.ErrStale) || len(res.Changes) != 1 || res.Changes[0].Path != docPath {
		t.Fatalf("check without the document: %v, %+v; want it missing", err, res)
	}
	if _, err := run(false); err != nil {
		t.Fatal(err)
	}

	// Without the directive, the document is orphaned, then removed.
	write("svc.go", strings.Replace(src, "//futures:api version=1.0.0\n", "", 1))
	res, err = run(true)
	if !errors.Is(err, gen.ErrStale) || !hasChange(res, docPath, true) {
		t.Fatalf("check without the directive: %v, %+v; want openapi.json orphaned", err, res)
	}
	if _, err := run(false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(docPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("openapi.json is still there without the directive: %v", err)
	}
	goCmd(t, mod, "vet", "./...")

	// A JSON file of the user's own is never overwritten, even when the
	// cache has the package's output.
	write("svc.go", src)
	if _, err := run(false); err != nil {
		t.Fatal(err)
	}
	mine := []byte(`{"openapi": "3.1.0", "info": {"title": "mine", "version": "1"}, "paths": {}}` + "\n")
	write("openapi.json", string(mine))
	_, err = run(false)
	var list gen.ErrorList
	if !errors.As(err, &list) || !strings.Contains(err.Error(), "the OpenAPI document would overwrite openapi.json, which futuresgen did not generate") {
		t.Fatalf("Run with a foreign openapi.json: %v; want an error saying so", err)
	}
	if got, _ := os.ReadFile(docPath); !bytes.Equal(got, mine) {
		t.Fatal("the foreign openapi.json was overwritten")
	}
}

func hasChange(res *gen.Result, path string, removed bool) bool {
	if res == nil {
		return false
	}
	for _, c := range res.Changes {
		if c.Path == path && c.Removed == removed {
			return true
		}
	}
	return false
}

// TestAPIWarnsOfExcludedViews: a view in a file that the build constraints
// leave out has no types to describe, and the document says nothing of
// it; futuresgen warns at its directive.
func TestAPIWarnsOfExcludedViews(t *testing.T) {
	mod := newModule(t, "example.com/excluded")
	dir := filepath.Join(mod, "svc")
	files := map[string]string{
		"svc.go":       "//futures:api version=1.0.0\npackage svc\n\n//futures:view GET /here\nfunc Here() (string, error) { return \"\", nil }\n",
		"svc_plan9.go": "package svc\n\n//futures:view GET /there\nfunc There() (string, error) { return \"\", nil }\n",
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := gen.Run(context.Background(), gen.Config{Dir: mod, Patterns: []string{"./..."}, Env: goEnv()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Error(), "svc_plan9.go:3:11: warning: this view is in a file that the build constraints exclude") {
		t.Errorf("warnings %v; want one at the view of svc_plan9.go", res.Warnings)
	}
	doc, _ := os.ReadFile(filepath.Join(dir, "openapi.json"))
	if !bytes.Contains(doc, []byte(`"/here"`)) || bytes.Contains(doc, []byte(`"/there"`)) {
		t.Errorf("the document should describe /here only:\n%s", doc)
	}
}

// TestValidationOfOtherPackagesTypes generates the checks of a body whose
// type is another package's, with rules on its fields, on fields promoted
// from an exported embedded struct (through a pointer, which may be nil),
// and on fields promoted from an unexported one (which generated code
// cannot name, and leaves alone); the result must build and vet.
func TestValidationOfOtherPackagesTypes(t *testing.T) {
	mod := newModule(t, "example.com/others")
	files := map[string]string{
		"model/model.go": `package model

type Base struct {
	ID string ` + "`json:\"id\" validate:\"required,uuid\"`" + `
}

type inner struct {
	Code string ` + "`json:\"code\" validate:\"required\"`" + `
}

type Level string

type Account struct {
	*Base
	inner
	Email string            ` + "`json:\"email\" validate:\"required,email\"`" + `
	Level Level             ` + "`json:\"level\" validate:\"oneof=low high\"`" + `
	Tags  map[Level]string  ` + "`json:\"tags\" validate:\"dive,min=1\"`" + `
}
`,
		"api/api.go": `//futures:api version=1.0.0
package api

import "example.com/others/model"

//futures:view POST /accounts
func Create(req struct{ Body model.Account }) (model.Account, error) { return req.Body, nil }
`,
	}
	for name, src := range files {
		path := filepath.Join(mod, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := gen.Run(context.Background(), gen.Config{Dir: mod, Patterns: []string{"./..."}, Env: goEnv()}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	goCmd(t, mod, "vet", "./...")
	src, _ := os.ReadFile(filepath.Join(mod, "api", gen.DefaultOutput))
	for _, want := range []string{"req.Body.Base != nil", `"/id"`, `"/email"`, `"/level"`, `view.PointerKey(string(k))`} {
		if !bytes.Contains(src, []byte(want)) {
			t.Errorf("the generated checks lack %s:\n%s", want, src)
		}
	}
	if bytes.Contains(src, []byte(`"/code"`)) {
		t.Errorf("the generated checks name a field promoted from an unexported embedded struct of another package:\n%s", src)
	}
}
