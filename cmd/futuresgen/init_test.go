package main

import (
	"context"
	"encoding/json"
	"go/format"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/gen"
	"github.com/gofutures/futures/internal/testkit"
)

// starterFiles are the files that init writes besides go.mod.
var starterFiles = []string{"main.go", "tasks.go", "templates/home.html", "views.go", "views_test.go"}

// TestInitEndToEnd scaffolds a service in a new module that takes futures
// from this checkout (--replace), then follows the steps init prints: go
// mod tidy, go generate, go build; runs the service on a free port,
// requests its pages, and stops it with an interrupt, as Ctrl-C would.
func TestInitEndToEnd(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stops the service with an interrupt, which Windows cannot send")
	}
	// go mod tidy below needs the modules that the tests of futures'
	// dependencies import (go-cmp for x/tools), which a fresh machine has
	// never downloaded, so it goes through the proxy the user has; the
	// other go commands stay offline.
	proxy := os.Getenv("GOPROXY")
	top := t.TempDir()
	if root, _, _ := findModule(top); root != "" {
		t.Skipf("the temporary directory is inside the module at %s", root)
	}
	enter(t, top)
	r := mustRun(t, "init", "--replace", repoRoot, "svc")
	for _, want := range append([]string{"svc/go.mod", "\tcd svc\n\tgo mod tidy\n\tgo generate ./...\n\tgo run .\n"}, starterFiles...) {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("init's output lacks %q:\n%v", want, r)
		}
	}
	if strings.Contains(r.stdout, "go get") {
		t.Errorf("with --replace the go.mod has the tool, yet init says to go get it:\n%v", r)
	}

	// As the output says; go.sum comes from this checkout, so that nothing
	// is fetched.
	svc := filepath.Join(top, "svc")
	sum, err := os.ReadFile(filepath.Join(repoRoot, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(svc, "go.sum"), string(sum))
	enter(t, svc)
	t.Setenv("GOPROXY", proxy)
	goCommand(t, "mod", "tidy")
	t.Setenv("GOPROXY", "off")
	goCommand(t, "generate", "./...")
	if src := read(t, filepath.Join(svc, gen.DefaultOutput)); !strings.HasPrefix(src, header) {
		t.Fatalf("go generate wrote no %s:\n%s", gen.DefaultOutput, src)
	}
	for _, name := range []string{"main.go", "views.go", "tasks.go", "views_test.go", gen.DefaultOutput} {
		src := read(t, filepath.Join(svc, name))
		if formatted, err := format.Source([]byte(src)); err != nil || string(formatted) != src {
			t.Errorf("%s is not gofmt-clean (%v)", name, err)
		}
	}
	mustRun(t, "--check", "./...")
	goCommand(t, "test", "./...") // the starter's own test, and vet
	bin := filepath.Join(top, "svc.bin")
	goCommand(t, "build", "-o", bin, ".")

	// Serve on a free port: main.go honours -addr.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	serving := regexp.MustCompile(`serving on (http://\S+/)`)
	proc, line := testkit.Start(t, exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0"), 30*time.Second, serving.MatchString)
	url := serving.FindStringSubmatch(line)[1]

	var greeting struct{ Message string }
	status, body := httpGet(t, url+"hello/Ada?lang=de", "")
	if err := json.Unmarshal([]byte(body), &greeting); err != nil || status != 200 || greeting.Message != "Hallo, Ada!" {
		t.Errorf("GET /hello/Ada?lang=de: %d %s", status, body)
	}
	if status, body := httpGet(t, url+"hello/Ada?lang=xx", ""); status != 400 || !strings.Contains(body, `"name":"lang","detail":"must be one of en, fr, de, es"`) {
		t.Errorf("GET /hello/Ada?lang=xx: %d %s, want 400", status, body)
	}
	if status, body := httpGet(t, url+"hello/nobody", ""); status != 404 || !strings.Contains(body, "nobody is here") {
		t.Errorf("GET /hello/nobody: %d %s, want 404", status, body)
	}
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Info    struct{ Title string }     `json:"info"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if status, body := httpGet(t, url+"openapi.json", ""); status != 200 || json.Unmarshal([]byte(body), &doc) != nil ||
		doc.OpenAPI != "3.1.0" || doc.Info.Title != "svc" || doc.Paths["/hello/{name}"] == nil {
		t.Errorf("GET /openapi.json: %d %.300s", status, body)
	}
	if status, body := httpGet(t, url, "text/html"); status != 200 || !strings.Contains(body, "<h1>svc is running</h1>") || !strings.Contains(body, `<span id="visits">1</span>`) {
		t.Errorf("GET / as a browser: %d\n%s", status, body)
	}
	if status, body := httpGet(t, url, "application/json"); status != 200 || body != `{"service":"svc","visits":2}`+"\n" {
		t.Errorf("GET / as JSON: %d %s", status, body)
	}

	if err := proc.Cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-proc.Exited():
		if err := proc.Err(); err != nil {
			t.Errorf("after an interrupt the service exited with %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the service did not stop after an interrupt")
	}
	logs := proc.Stderr.String()
	for _, want := range []string{`msg="recorded a visit" visit=1`, `msg="recorded a visit" visit=2`, `msg="server stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the service's log lacks %s:\n%s", want, logs)
		}
	}
}

func httpGet(t *testing.T, url, accept string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}

func TestInitRefusesToOverwrite(t *testing.T) {
	dir := newModule(t, map[string]string{
		"svc/views.go":            "package main\n\n// Mine.\n",
		"svc/templates/home.html": "<p>mine</p>\n",
		"svc/README":              "not one of init's files\n",
	})
	before := snap(t, dir)
	r := futuresgen(t, "init", "svc")
	if r.code != exitError {
		t.Errorf("exit %d, want %d:\n%v", r.code, exitError, r)
	}
	for _, want := range []string{"svc/views.go", filepath.FromSlash("svc/templates/home.html"), "wrote nothing"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not name %s:\n%v", want, r)
		}
	}
	for _, absent := range []string{"main.go", "tasks.go", "README"} {
		if strings.Contains(r.stderr, absent) {
			t.Errorf("stderr names %s, which does not stand in the way:\n%v", absent, r)
		}
	}
	before.unchanged(t, dir)

	// One file in the way is enough to write nothing.
	dir = newModule(t, map[string]string{"api/tasks.go": "package main\n"})
	before = snap(t, dir)
	if r := futuresgen(t, "init", "api"); r.code != exitError || !strings.Contains(r.stderr, filepath.FromSlash("api/tasks.go")) {
		t.Errorf("with api/tasks.go in the way: %v", r)
	}
	before.unchanged(t, dir)
}

// TestInitInModule scaffolds a package of an existing module: go.mod stays
// as it is, and the next steps include go get -tool until the module has
// the futuresgen tool.
func TestInitInModule(t *testing.T) {
	dir := newModule(t, nil)
	gomod := read(t, filepath.Join(dir, "go.mod"))
	r := mustRun(t, "init", filepath.FromSlash("services/api"))
	if !strings.Contains(r.stdout, "(package main, import path example.com/m/services/api) in ") {
		t.Errorf("the output does not give the package path:\n%v", r)
	}
	if !strings.Contains(r.stdout, "\tgo get -tool github.com/gofutures/futures/cmd/futuresgen@latest\n\tgo generate ./...\n\tgo run .\n") {
		t.Errorf("the next steps do not get the tool first:\n%v", r)
	}
	for _, name := range starterFiles {
		if !exists(filepath.Join(dir, "services", "api", filepath.FromSlash(name))) {
			t.Errorf("services/api/%s was not written", name)
		}
	}
	if exists(filepath.Join(dir, "services", "api", "go.mod")) {
		t.Error("init wrote a go.mod inside a module")
	}
	if read(t, filepath.Join(dir, "go.mod")) != gomod {
		t.Error("init changed the module's go.mod")
	}

	// Once the module has the tool, in a block, the next steps skip it.
	write(t, filepath.Join(dir, "go.mod"), gomod+"\ntool (\n\texample.com/other // not this one\n\tgithub.com/gofutures/futures/cmd/futuresgen\n)\n")
	enter(t, filepath.Join(dir, "services"))
	r = mustRun(t, "init", "web")
	if strings.Contains(r.stdout, "go get") || !strings.Contains(r.stdout, "(package main, import path example.com/m/services/web) in ") || !strings.Contains(r.stdout, "\tcd web\n\tgo generate ./...\n\tgo run .\n") {
		t.Errorf("with the tool in go.mod:\n%v", r)
	}

	// New-module flags make no sense here.
	for _, args := range [][]string{{"init", "--module", "example.com/x", "x"}, {"init", "--replace", repoRoot, "y"}} {
		if r := futuresgen(t, args...); r.code != exitError || !strings.Contains(r.stderr, "applies to a new go.mod") {
			t.Errorf("futuresgen %s: %v", strings.Join(args, " "), r)
		}
	}
}

// TestInitNewModule scaffolds outside any module: init writes a go.mod
// named after the directory (or --module), with no requirements, and says
// to go get the tool.
func TestInitNewModule(t *testing.T) {
	top := t.TempDir()
	if root, _, _ := findModule(top); root != "" {
		t.Skipf("the temporary directory is inside the module at %s", root)
	}
	svc := filepath.Join(top, "hello-svc")
	enter(t, top)
	write(t, filepath.Join(svc, "notes.txt"), "a directory that exists already is fine\n")
	enter(t, svc)
	r := mustRun(t, "init")
	gomod := read(t, filepath.Join(svc, "go.mod"))
	if !regexp.MustCompile(`^module hello-svc\n\ngo 1\.\d+(\.\d+|rc\d+)?\n$`).MatchString(gomod) {
		t.Errorf("go.mod:\n%s", gomod)
	}
	if !strings.Contains(r.stdout, "(package main, import path hello-svc) in .:") || strings.Contains(r.stdout, "\tcd ") ||
		!strings.Contains(r.stdout, "\tgo get -tool github.com/gofutures/futures/cmd/futuresgen@latest\n\tgo generate ./...\n\tgo run .\n") {
		t.Errorf("output:\n%v", r)
	}
	for _, name := range starterFiles {
		if !exists(filepath.Join(svc, filepath.FromSlash(name))) {
			t.Errorf("%s was not written", name)
		}
	}

	enter(t, top)
	mustRun(t, "init", "--module", "example.com/you/api", "api")
	if gomod := read(t, filepath.Join(top, "api", "go.mod")); !strings.HasPrefix(gomod, "module example.com/you/api\n") {
		t.Errorf("with --module, go.mod:\n%s", gomod)
	}

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"init", "my service"}, "cannot name a Go package directory"},
		{[]string{"init", "--module", "example.com/a b", "ok"}, "is not a module path"},
		{[]string{"init", "a", "b"}, "one directory at most"},
		{[]string{"init", "--bogus"}, "bogus"},
		{[]string{"init", filepath.Join("hello-svc", "notes.txt")}, "is not a directory"},
	} {
		if r := futuresgen(t, c.args...); r.code != exitError || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("futuresgen %q: %v, want exit 2 saying %s", c.args, r, c.msg)
		}
	}
	if exists(filepath.Join(top, "my service")) || exists(filepath.Join(top, "ok")) || exists(filepath.Join(top, "a")) {
		t.Error("a refused init made a directory")
	}
	if r := futuresgen(t, "init", "-h"); r.code != exitOK || !strings.Contains(r.stdout, "usage: futuresgen init") {
		t.Errorf("init -h: %v", r)
	}
}

func TestParseGoMod(t *testing.T) {
	for _, c := range []struct {
		src     string
		path    string
		hasTool bool
	}{
		{"module example.com/m\n\ngo 1.26\n", "example.com/m", false},
		{"// a comment\nmodule \"example.com/q\" // quoted\ntool github.com/gofutures/futures/cmd/futuresgen\n", "example.com/q", true},
		{"module m\ntool (\n\tgithub.com/gofutures/futures/cmd/futuresgen // the generator\n)\n", "m", true},
		{"module m\ntool (\n\tgithub.com/gofutures/futures/cmd/other\n)\nrequire github.com/gofutures/futures v1.0.0\n", "m", false},
		{"module m\n// tool github.com/gofutures/futures/cmd/futuresgen\n", "m", false},
	} {
		mod, err := parseGoMod([]byte(c.src))
		if err != nil || mod.path != c.path || mod.hasTool != c.hasTool {
			t.Errorf("parseGoMod(%q) = %+v, %v; want %s, tool %v", c.src, mod, err, c.path, c.hasTool)
		}
	}
	if _, err := parseGoMod([]byte("go 1.26\n")); err == nil {
		t.Error("a go.mod without a module directive parsed")
	}
}

func TestGoDirective(t *testing.T) {
	for v, want := range map[string]string{
		"go1.26.8":                        "1.26.8",
		"go1.27rc1":                       "1.27rc1",
		"go1.26":                          "1.26",
		"devel go1.27-0123456789 +0000":   fallbackGoVersion,
		"go1.26.8 X:nocoverageredesign":   fallbackGoVersion,
		"go1.26.8-20250101-RC00 cl/12345": fallbackGoVersion,
	} {
		if got := goDirective(v); got != want {
			t.Errorf("goDirective(%q) = %q, want %q", v, got, want)
		}
	}
}
