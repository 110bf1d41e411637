package server

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStaticSymlinks: a symbolic link inside the static directory serves
// what its target would serve if asked for by name, and nothing more. A
// link to a dot file or into a dot directory (config.txt -> .env,
// gitdir -> .git), directly or through a chain of links or a linked
// parent directory, is a 404 as the dot file itself is; so is a link to a
// directory without an index.html. Links to ordinary files and directories
// still work.
func TestStaticSymlinks(t *testing.T) {
	const secret = "SECRET-BEHIND-A-SYMLINK-41b2"
	public := t.TempDir()
	for name, content := range map[string]string{
		".env":                         secret,
		".git/config":                  secret,
		".git/HEAD":                    secret,
		".git/index.html":              secret,
		"css/site.css":                 "p { margin: 0 }",
		"css/.hidden.css":              secret,
		"v2/index.html":                "<h1>v2</h1>",
		"v2/guide.txt":                 "guide",
		"sub/.private/x.txt":           secret,
		"sub/.private/index.html":      secret,
		"plain/readme.txt":             "readme",
		"idxdir/index.html/index.html": "nested index",
		"idxdir/listed.txt":            "listed",
		"linkidx/listed.txt":           "listed",
	} {
		path := filepath.Join(public, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"config.txt":         ".env",
		"gitdir":             ".git",
		"head.txt":           ".git/HEAD",
		"css/theme.css":      ".hidden.css",
		"css/up.txt":         "../.env",
		"chain1.txt":         "chain2.txt",
		"chain2.txt":         ".env",
		"sub/link":           ".private",
		"sub/file.txt":       ".private/x.txt",
		"deep/a/b.txt":       "../../.git/config",
		"dotdir-parent":      "sub",
		"loop1":              "loop2",
		"loop2":              "loop1",
		"latest.css":         "css/site.css",
		"docs":               "v2",
		"css/up-ok.css":      "../css/site.css",
		"plainlink":          "plain",
		"selfdir":            ".",
		"linkidx/index.html": "../.env",
	} {
		path := filepath.Join(public, filepath.FromSlash(link))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.FromSlash(target), path); err != nil {
			t.Skipf("symbolic links: %v", err)
		}
	}
	// An absolute link to the dot file, inside the directory.
	if err := os.Symlink(filepath.Join(public, ".env"), filepath.Join(public, "abs.txt")); err != nil {
		t.Fatal(err)
	}

	r := start(t, Config{Handler: fallback, StaticDir: public})
	c := newClient(t)
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/static/config.txt", 404, ""},
		{"/static/gitdir/config", 404, ""},
		{"/static/gitdir/HEAD", 404, ""},
		{"/static/gitdir/", 404, ""},
		{"/static/gitdir", 404, ""},
		{"/static/head.txt", 404, ""},
		{"/static/css/theme.css", 404, ""},
		{"/static/css/up.txt", 404, ""},
		{"/static/chain1.txt", 404, ""},
		{"/static/sub/link/x.txt", 404, ""},
		{"/static/sub/link/", 404, ""},
		{"/static/sub/file.txt", 404, ""},
		{"/static/deep/a/b.txt", 404, ""},
		{"/static/dotdir-parent/link/x.txt", 404, ""},
		{"/static/selfdir/.env", 404, ""},
		{"/static/selfdir/config.txt", 404, ""},
		{"/static/abs.txt", 404, ""},
		{"/static/loop1", 404, ""},
		{"/static/plainlink/", 404, ""}, // a directory without index.html
		// A directory whose index.html leads to a dot file, or is a
		// directory, has no index: no listing either.
		{"/static/linkidx/", 404, ""},
		{"/static/linkidx/index.html", 404, ""},
		{"/static/idxdir/", 404, ""},
		// Links that lead to what may be served still serve it.
		{"/static/latest.css", 200, "p { margin: 0 }"},
		{"/static/css/up-ok.css", 200, "p { margin: 0 }"},
		{"/static/docs/", 200, "<h1>v2</h1>"},
		{"/static/docs/guide.txt", 200, "guide"},
		{"/static/plainlink/readme.txt", 200, "readme"},
		{"/static/selfdir/css/site.css", 200, "p { margin: 0 }"},
		{"/static/dotdir-parent/file.txt", 404, ""},
	} {
		for _, method := range []string{"GET", "HEAD"} {
			got := do(t, c, method, r.url+tt.path)
			if strings.Contains(got.body, secret) || strings.Contains(got.body, "listed.txt") {
				t.Errorf("%s %s served a dot file through a symbolic link: %d %q", method, tt.path, got.status, got.body)
			}
			if got.status != tt.status {
				t.Errorf("%s %s = %d %q, want %d", method, tt.path, got.status, got.body, tt.status)
				continue
			}
			if method == "GET" && tt.status == 200 && got.body != tt.body {
				t.Errorf("%s %s = %q, want %q", method, tt.path, got.body, tt.body)
			}
		}
	}
}

// BenchmarkStaticFile serves a file of StaticDir (an os.Root) in-process,
// at depth 1 and 4: resolving symbolic links costs an Lstat per element.
func BenchmarkStaticFile(b *testing.B) {
	public := b.TempDir()
	for _, name := range []string{"site.css", "a/b/c/deep.css"} {
		path := filepath.Join(public, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("p { margin: 0 }"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	cfg := Config{Handler: fallback, StaticDir: public}
	if err := cfg.withDefaults(); err != nil {
		b.Fatal(err)
	}
	h := cfg.handler()
	for _, tc := range []struct{ name, target string }{
		{"depth1", "/static/site.css"},
		{"depth4", "/static/a/b/c/deep.css"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", tc.target, nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
