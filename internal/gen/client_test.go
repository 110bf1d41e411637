package gen_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gofutures/futures/internal/gen"
)

// clientModule writes files (path relative to the module → source) into
// a new module example.com/c.
func clientModule(t *testing.T, files map[string]string) string {
	t.Helper()
	mod := newModule(t, "example.com/c")
	for name, src := range files {
		path := filepath.Join(mod, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return mod
}

// views is a views package that the cases' clients name.
const clientViews = `package v

import (
	"context"

	"example.com/c/v/internal/db"
)

type Item struct{ Name string }

type hidden struct {
	ID int ` + "`path:\"id\"`" + `
}

//futures:view GET /hidden/{id}
func Hidden(req hidden) (Item, error) { return Item{}, nil }

//futures:view GET /row
func Row() (db.Row, error) { return db.Row{}, nil }

// Code has UnmarshalText but no MarshalText.
type Code string

func (c *Code) UnmarshalText(b []byte) error { *c = Code(b); return nil }

//futures:view GET /code
func ByCode(req struct {
	C Code ` + "`query:\"c\"`" + `
}) (Item, error) {
	return Item{}, nil
}

// Tags reads itself from text, and cannot be compared with its zero value.
type Tags []string

func (t *Tags) UnmarshalText(b []byte) error { *t = Tags{string(b)}; return nil }
func (t Tags) MarshalText() ([]byte, error) { return []byte(t[0]), nil }

//futures:view GET /tags
func ByTags(req struct {
	T Tags ` + "`query:\"t\"`" + `
}) (Item, error) {
	return Item{}, nil
}

//futures:view GET example.com/host
func OnHost() (Item, error) { return Item{}, nil }

//futures:view GET /unexported
func unexported() (Item, error) { return Item{}, nil }

//futures:view GET /fine
func Fine(ctx context.Context) (Item, error) { return Item{}, nil }
`

// clientViews2 has two views whose client methods would have one name.
const clientViews2 = `package v2

import "context"

type Shop struct{}

//futures:view GET /shop
func (s *Shop) List(ctx context.Context) ([]int, error) { return nil, nil }

//futures:view GET /shop-list
func Shop_List(ctx context.Context) ([]int, error) { return nil, nil }
`

// TestClientErrors: what //futures:client refuses, each at its place,
// and the views it leaves out, each with a warning that says why.
func TestClientErrors(t *testing.T) {
	mod := clientModule(t, map[string]string{
		"v/v.go":                 clientViews,
		"v/internal/db/db.go":    "package db\n\ntype Row struct{ N int }\n",
		"v2/v2.go":               clientViews2,
		"cmd/app/main.go":        "package main\n\n//futures:view GET /x\nfunc X() (string, error) { return \"\", nil }\n\nfunc main() {}\n",
		"w/internal/iv/iv.go":    "package iv\n\n//futures:view GET /x\nfunc X() (string, error) { return \"\", nil }\n",
		"noarg/c.go":             "//futures:client\npackage noarg\n",
		"self/c.go":              "//futures:client example.com/c/self\npackage self\n",
		"missing/c.go":           "//futures:client example.com/c/nope\npackage missing\n",
		"main/c.go":              "//futures:client example.com/c/cmd/app\npackage main\n",
		"internal/c.go":          "//futures:client example.com/c/w/internal/iv\npackage internal\n",
		"option/c.go":            "//futures:client example.com/c/v name=x\npackage option\n",
		"clash/c.go":             "//futures:client example.com/c/v2\npackage clash\n\ntype Client struct{}\n",
		"warn/c.go":              "//futures:client example.com/c/v\npackage warn\n",
		"w/internal/ok/c.go":     "//futures:client example.com/c/w/internal/iv\npackage ok\n",
		"v/internal/client/c.go": "//futures:client example.com/c/v\npackage client\n",
	})
	for _, c := range []struct {
		pkg      string
		errs     []string // substrings, one per error, in order
		warnings []string
	}{
		{pkg: "noarg", errs: []string{"c.go:1:11: //futures:client needs the import path of the package whose views it calls"}},
		{pkg: "self", errs: []string{"c.go:1:18: //futures:client names this package itself"}},
		{pkg: "missing", errs: []string{"c.go:1:18: //futures:client example.com/c/nope: "}},
		{pkg: "main", errs: []string{"//futures:client example.com/c/cmd/app: it is a command (package main)"}},
		{pkg: "internal", errs: []string{"//futures:client example.com/c/w/internal/iv: it is internal to another tree"}},
		{pkg: "option", errs: []string{`c.go:1:34: unexpected name: //futures:client takes one import path and no options`}},
		{pkg: "clash", errs: []string{
			"//futures:client generates Client, but the package already declares Client at clash/c.go:4:6",
			"the client methods of the views Shop.List (v2/v2.go:7:1) and Shop_List (v2/v2.go:10:1) would both be named Shop_List",
		}},
		{pkg: "warn", warnings: []string{
			"warn/c.go:1:11: warning: the client has no method for the view Hidden of example.com/c/v (v/v.go:15:1): its request type is or mentions v.hidden, which is not exported",
			"the view Row of example.com/c/v (v/v.go:18:1): its result type is or mentions db.Row, of example.com/c/v/internal/db, which is internal to another tree",
			"the view ByCode of example.com/c/v (v/v.go:26:1): its query value c is of type v.Code, which has UnmarshalText but no MarshalText",
			`the view OnHost of example.com/c/v (v/v.go:46:1): its pattern "example.com/host" names a host`,
			"the view ByTags of example.com/c/v (v/v.go:39:1): its query value t is of type v.Tags, which cannot be compared with its zero value",
		}},
		{pkg: "w/internal/ok"},
		{pkg: "v/internal/client", warnings: []string{"Hidden", "ByCode", "ByTags", "OnHost"}}, // db.Row is importable from inside v
	} {
		t.Run(c.pkg, func(t *testing.T) {
			res, err := gen.Run(context.Background(), gen.Config{Dir: mod, Patterns: []string{"./" + c.pkg}, Env: append(goEnv(), "GOPROXY=off")})
			var list gen.ErrorList
			if len(c.errs) == 0 {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			} else if !errors.As(err, &list) {
				t.Fatalf("Run = %v; want errors", err)
			}
			got := strings.ReplaceAll(list.Error(), mod+string(filepath.Separator), "")
			rest := got
			for _, want := range c.errs {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Errorf("errors lack %q (in order):\n%s", want, got)
					break
				}
				rest = rest[i+len(want):]
			}
			var warnings []string
			if res != nil {
				for _, w := range res.Warnings {
					warnings = append(warnings, strings.ReplaceAll(w.Error(), mod+string(filepath.Separator), ""))
				}
			}
			if len(warnings) != len(c.warnings) {
				t.Errorf("warnings:\n%s\nwant %d", strings.Join(warnings, "\n"), len(c.warnings))
			}
			for _, want := range c.warnings {
				if !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, want) }) {
					t.Errorf("no warning contains %q:\n%s", want, strings.Join(warnings, "\n"))
				}
			}
			if len(c.errs) == 0 {
				if _, err := os.Stat(filepath.Join(mod, c.pkg, gen.DefaultOutput)); err != nil {
					t.Errorf("no generated file: %v", err)
				}
			}
		})
	}
}

// TestClientLifecycle: a client is a generated file like the others, made
// of the views package's directives: generated when only the client
// package is named, regenerated (the cache on) when a view's directive
// changes though no type does, reported stale by --check until then, and
// removed with its directive.
func TestClientLifecycle(t *testing.T) {
	mod := clientModule(t, map[string]string{
		"v/v.go": "package v\n\n// Get gets.\n//\n//futures:view GET /items/{id}\nfunc Get(req struct {\n\tID int `path:\"id\"`\n}) (string, error) {\n\treturn \"\", nil\n}\n",
		"c/c.go": "// Package c calls v.\n//\n//futures:client example.com/c/v\npackage c\n",
	})
	cache := t.TempDir()
	run := func(check bool, patterns ...string) (*gen.Result, error) {
		return gen.Run(context.Background(), gen.Config{Dir: mod, Patterns: patterns, Env: goEnv(), CacheDir: cache, Check: check})
	}
	clientFile := filepath.Join(mod, "c", gen.DefaultOutput)
	read := func() string {
		data, err := os.ReadFile(clientFile)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if _, err := run(false, "./c"); err != nil {
		t.Fatalf("generating the client alone: %v", err)
	}
	if !strings.Contains(read(), `httpclient.NewRequest("GET", "/items/{id}")`) {
		t.Fatalf("client:\n%s", read())
	}
	if _, err := run(false, "./..."); err != nil {
		t.Fatal(err)
	}
	goCmd(t, mod, "vet", "./...")

	// The view moves: no type changes, the client's request does.
	v := filepath.Join(mod, "v", "v.go")
	src, _ := os.ReadFile(v)
	if err := os.WriteFile(v, []byte(strings.Replace(string(src), "GET /items/{id}", "GET /things/{id}", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := run(true, "./c")
	if !errors.Is(err, gen.ErrStale) || len(res.Changes) != 1 || res.Changes[0].Path != clientFile || !strings.Contains(res.Changes[0].Diff, "/things/{id}") {
		t.Fatalf("check after the view moved: %v, %+v; want the client stale", err, res)
	}
	if _, err := run(false, "./c"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(read(), `"/things/{id}"`) {
		t.Fatalf("client after the view moved:\n%s", read())
	}
	// Its doc comment too.
	src, _ = os.ReadFile(v)
	os.WriteFile(v, []byte(strings.Replace(string(src), "// Get gets.", "// Get gets a thing.", 1)), 0o644)
	if _, err := run(false, "./..."); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(read(), "// Get gets a thing.") {
		t.Fatalf("client after the view's doc changed:\n%s", read())
	}
	if _, err := run(true, "./..."); err != nil {
		t.Fatalf("check: %v", err)
	}

	// Without its directive, the client's file goes.
	if err := os.WriteFile(filepath.Join(mod, "c", "c.go"), []byte("// Package c calls v.\npackage c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(false, "./c"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(clientFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the client's file is still there: %v", err)
	}
}
