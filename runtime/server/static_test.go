package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
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

var staticFS = fstest.MapFS{
	"index.html":       {Data: []byte("<h1>home</h1>")},
	"css/site.css":     {Data: []byte("body { color: red }")},
	"secret/.env":      {Data: []byte("TOKEN=abc")},
	"empty/readme.txt": {Data: []byte("nothing to see")},
	"docs/index.html":  {Data: []byte("<h1>docs</h1>")},
}

// fallback answers what the static files do not take.
var fallback = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Handler", "yes")
	fmt.Fprintf(w, "handler %s %s", r.Method, r.URL.Path)
})

func TestStaticFS(t *testing.T) {
	r := start(t, Config{Handler: fallback, Static: staticFS})
	c := newClient(t)

	tests := []struct {
		method, path string
		status       int
		body         string // exact, when status is 200
	}{
		{"GET", "/static/css/site.css", 200, "body { color: red }"},
		{"GET", "/static/", 200, "<h1>home</h1>"},
		{"GET", "/static/docs/", 200, "<h1>docs</h1>"},
		{"GET", "/static/empty/", 404, ""},
		{"GET", "/static/empty", 404, ""},
		{"GET", "/static/css/", 404, ""},
		{"GET", "/static/missing.js", 404, ""},
		{"GET", "/other", 200, "handler GET /other"},
		{"GET", "/static", 200, "handler GET /static"},
		{"POST", "/static/x", 200, "handler POST /static/x"},
		{"POST", "/static/css/site.css", 200, "handler POST /static/css/site.css"},
		{"PUT", "/static/css/site.css", 200, "handler PUT /static/css/site.css"},
	}
	for _, tt := range tests {
		got := do(t, c, tt.method, r.url+tt.path)
		if got.status != tt.status {
			t.Errorf("%s %s = %d %q, want %d", tt.method, tt.path, got.status, got.body, tt.status)
			continue
		}
		if tt.status == 200 && got.body != tt.body {
			t.Errorf("%s %s = %q, want %q", tt.method, tt.path, got.body, tt.body)
		}
		if tt.status == 404 && (strings.Contains(got.body, "readme.txt") || strings.Contains(got.body, "site.css")) {
			t.Errorf("%s %s lists the directory: %q", tt.method, tt.path, got.body)
		}
	}

	got := do(t, c, "GET", r.url+"/static/css/site.css")
	if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("site.css Content-Type = %q, want text/css", ct)
	}
	if got.header.Get("X-Handler") != "" {
		t.Errorf("site.css was answered by the Handler")
	}

	head := do(t, c, "HEAD", r.url+"/static/css/site.css")
	if head.status != 200 || head.body != "" || head.header.Get("Content-Length") != strconv.Itoa(len("body { color: red }")) {
		t.Errorf("HEAD site.css = %d, Content-Length %q, body %q", head.status, head.header.Get("Content-Length"), head.body)
	}

	// A directory with index.html is redirected to its slash form, relative
	// to the prefix.
	noFollow := &http.Client{Transport: c.Transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	red := do(t, noFollow, "GET", r.url+"/static/docs")
	if red.status != http.StatusMovedPermanently || red.header.Get("Location") != "docs/" {
		t.Errorf("GET /static/docs = %d Location %q, want 301 docs/", red.status, red.header.Get("Location"))
	}

	if got := do(t, c, "GET", r.url+"/static/secret/.env"); got.status == 200 {
		t.Logf("note: dot files are served: GET /static/secret/.env = 200 %q", got.body)
	}
}

func TestStaticCustomPrefix(t *testing.T) {
	r := start(t, Config{Handler: fallback, Static: staticFS, StaticPrefix: "/assets/"})
	c := newClient(t)
	if got := do(t, c, "GET", r.url+"/assets/css/site.css"); got.status != 200 || got.body != "body { color: red }" {
		t.Errorf("GET /assets/css/site.css = %d %q", got.status, got.body)
	}
	if got := do(t, c, "GET", r.url+"/static/css/site.css"); got.body != "handler GET /static/css/site.css" {
		t.Errorf("GET /static/css/site.css = %d %q, want the Handler", got.status, got.body)
	}
}

// staticTree makes root/outside.txt, root/go.mod and root/public/... and
// returns root/public.
func staticTree(t *testing.T) (public string, secret string) {
	t.Helper()
	root := t.TempDir()
	secret = "TOP SECRET OUTSIDE THE STATIC DIRECTORY"
	public = filepath.Join(root, "public")
	files := map[string]string{
		filepath.Join(root, "go.mod"):                 secret,
		filepath.Join(root, "outside.txt"):            secret,
		filepath.Join(public, "index.html"):           "<h1>public home</h1>",
		filepath.Join(public, "css", "site.css"):      "p { margin: 0 }",
		filepath.Join(public, "empty", "readme.txt"):  "nothing",
		filepath.Join(public, "sub", "deep", "a.txt"): "deep file",
	}
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return public, secret
}

func TestStaticDir(t *testing.T) {
	public, _ := staticTree(t)
	r := start(t, Config{Handler: fallback, StaticDir: public})
	c := newClient(t)
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/static/", 200, "<h1>public home</h1>"},
		{"GET", "/static/css/site.css", 200, "p { margin: 0 }"},
		{"GET", "/static/sub/deep/a.txt", 200, "deep file"},
		{"HEAD", "/static/sub/deep/a.txt", 200, ""},
		{"GET", "/static/empty/", 404, ""},
		{"GET", "/static/sub/", 404, ""},
		{"GET", "/static/nope.txt", 404, ""},
		{"POST", "/static/css/site.css", 200, "handler POST /static/css/site.css"},
	}
	for _, tt := range tests {
		got := do(t, c, tt.method, r.url+tt.path)
		if got.status != tt.status || (tt.status == 200 && got.body != tt.body) {
			t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, got.status, got.body, tt.status, tt.body)
		}
	}
}

// No request path reaches a file outside the static directory, and none
// makes the server fail.
func TestStaticPathTricks(t *testing.T) {
	public, secret := staticTree(t)
	r := start(t, Config{Handler: fallback, StaticDir: public})
	paths := []string{
		"/static/../go.mod",
		"/static/../outside.txt",
		"/static/../../outside.txt",
		"/static/./../outside.txt",
		"/static/css/../../outside.txt",
		"/static/%2e%2e/go.mod",
		"/static/%2E%2E/outside.txt",
		"/static/..%2fgo.mod",
		"/static/..%2Foutside.txt",
		"/static/%2e%2e%2foutside.txt",
		"/static/..%5coutside.txt",
		"/static/..\\outside.txt",
		"/static/%252e%252e/outside.txt",
		"/static/..;/outside.txt",
		"/static/....//outside.txt",
		"/static//etc/passwd",
		"/static///etc/passwd",
		"/static/%2fetc%2fpasswd",
		"/static/..",
		"/static/%00",
		"/static/css/site.css%00.txt",
	}
	for _, method := range []string{"GET", "HEAD"} {
		for _, p := range paths {
			got := rawRequest(t, r.addr, method, p)
			if got.status >= 500 {
				t.Errorf("%s %s = %d %q, want no server error", method, p, got.status, got.body)
			}
			if strings.Contains(got.body, secret) {
				t.Errorf("%s %s served the file outside the static directory: %d %q", method, p, got.status, got.body)
			}
			if strings.Contains(got.body, "root:") {
				t.Errorf("%s %s served /etc/passwd: %d %q", method, p, got.status, got.body)
			}
			if method == "HEAD" && got.status == 200 {
				if cl := got.header.Get("Content-Length"); cl == strconv.Itoa(len(secret)) {
					t.Errorf("HEAD %s = 200 with the length of the outside file", p)
				}
			}
		}
	}
}
