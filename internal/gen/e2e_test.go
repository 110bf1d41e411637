package gen_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/gen"
)

// e2eModule makes a temporary module, example.com/e2e, that requires this
// repository through a replace and carries its go.sum, so that nothing
// needs the network. It skips the test when the go command is missing.
func e2eModule(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)\s*$`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("no go directive in go.mod")
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e2eWrite(t, filepath.Join(dir, "go.mod"), fmt.Sprintf(
		"module example.com/e2e\n\ngo %s\n\nrequire github.com/gofutures/futures v0.0.0\n\nreplace github.com/gofutures/futures => %s\n",
		m[1], filepath.ToSlash(root)))
	e2eWrite(t, filepath.Join(dir, "go.sum"), string(sum))
	return dir
}

func e2eWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// e2eEnv is the environment of the go commands: no network, no workspace.
func e2eEnv() []string {
	return append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
}

// e2eGo runs the go command in dir and returns its combined output.
func e2eGo(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = e2eEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// e2eGenerated returns the generated files under dir, for failure messages.
func e2eGenerated(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, "_gen.go") {
			data, _ := os.ReadFile(path)
			rel, _ := filepath.Rel(dir, path)
			fmt.Fprintf(&b, "==== %s\n%s\n", rel, data)
		}
		return err
	})
	return b.String()
}

// TestEndToEnd generates the wrappers of testdata/e2e/tasks in a temporary
// module, builds and vets the module, and runs testdata/e2e/tasks/cmd/e2echeck,
// which uses every kind of generated wrapper on a real task loop: results
// and errors, retries, timeouts, no loop at all, method and variadic tasks,
// parameters named like generated identifiers, RegisterTasks with a
// periodic task, and an after-response task behind taskloop.Middleware.
func TestEndToEnd(t *testing.T) {
	e2eGenerateAndRun(t, "tasks", "e2echeck")
}

// e2eGenerateAndRun copies testdata/e2e/<pkg> into a new module as its
// package <pkg>, generates for the module (which must write exactly that
// package's file, its OpenAPI document if it has one, and its client's file
// if it has a client package, with no warning but the client's about the
// views it cannot call), builds and vets it, runs the checker
// program ./<pkg>/cmd/<checker> and returns its output, and finally checks
// that --check finds nothing stale.
func e2eGenerateAndRun(t *testing.T, pkg, checker string) string {
	t.Helper()
	dir := e2eModule(t)
	if err := os.CopyFS(filepath.Join(dir, pkg), os.DirFS(filepath.Join("testdata", "e2e", pkg))); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	cfg := gen.Config{Dir: dir, Patterns: []string{"./..."}, Env: e2eEnv()}
	res, err := gen.Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("generating: %v", err)
	}
	for _, w := range res.Warnings {
		// The client of the views has no method for the views of the raw
		// request, and says so.
		if !regexp.MustCompile(`client has no method for the view (Raw|RawItem) of .*: it takes the \*http.Request itself`).MatchString(w.Error()) {
			t.Errorf("warning: %v", w)
		}
	}
	genFile := filepath.Join(dir, pkg, gen.DefaultOutput)
	var written []string
	for _, c := range res.Changes {
		written = append(written, c.Path)
	}
	want := []string{genFile}
	if _, err := os.Stat(filepath.Join(dir, pkg, gen.DefaultAPIOutput)); err == nil {
		want = append(want, filepath.Join(dir, pkg, gen.DefaultAPIOutput)) // the package has //futures:api
	}
	if _, err := os.Stat(filepath.Join(dir, pkg, "client")); err == nil {
		want = append(want, filepath.Join(dir, pkg, "client", gen.DefaultOutput)) // the package has a client
	}
	if !slices.Equal(written, want) {
		t.Errorf("changes %+v; want exactly %s written", res.Changes, want)
	}
	t.Logf("generated in %v", time.Since(start).Round(time.Millisecond))

	var out string
	for _, args := range [][]string{
		{"build", "./..."},
		{"vet", "./..."},
		{"run", "./" + pkg + "/cmd/" + checker},
	} {
		start := time.Now()
		out, err = e2eGo(t, dir, args...)
		if err != nil {
			t.Fatalf("go %s: %v\n%s\n%s", strings.Join(args, " "), err, out, e2eGenerated(t, dir))
		}
		t.Logf("go %s: %v\n%s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), out)
	}

	cfg.Check = true
	if res, err := gen.Run(t.Context(), cfg); err != nil {
		var diffs strings.Builder
		if res != nil {
			for _, c := range res.Changes {
				diffs.WriteString(c.Diff)
			}
		}
		t.Errorf("check after generating: %v\n%s", err, diffs.String())
	}
	return out
}

// TestGeneratedCodeCompilesWithShadowingNames generates tasks whose
// parameters, receivers and package-level names collide with the
// identifiers generated code uses, and vets each package.
func TestGeneratedCodeCompilesWithShadowingNames(t *testing.T) {
	cases := map[string]string{
		// A parameter named like the (package-level) result type.
		"resulttype": `package resulttype

import "context"

type Msg struct{ S string }

//futures:task
func Build(ctx context.Context, Msg string) (Msg, error) { return struct{ S string }{Msg}, nil }
`,
		// The context parameter named like the result type.
		"ctxresult": `package ctxresult

import "context"

type Msg struct{}

//futures:task
func Build(Msg context.Context) (Msg, error) { return struct{}{}, Msg.Err() }
`,
		// Parameters named like the packages the wrappers import, and
		// package-level names that take the imports' names.
		"imports": `package imports

import (
	"context"
	"net/http"
	"time"
)

var future, taskloop = 1, 2

//futures:task timeout=1s
func Wait(ctx context.Context, time time.Duration, context string, http *http.Request) (*http.Response, error) {
	_ = future + taskloop
	return nil, nil
}
`,
		// Receivers and parameters named like the locals of generated
		// wrappers and registrations.
		"locals": `package locals

import "context"

type Mailer struct{}

//futures:task every=1s
func (ctx *Mailer) Tick(c context.Context) (int, error) { return 0, nil }

//futures:task retries=1
func (recv Mailer) Send(ctx context.Context, recv1 string, defs []int, i int, def bool, r rune) error { return nil }
`,
		// Composite, generic and function types in parameters and results,
		// and the context package under another name.
		"types": `package types

import (
	ctxpkg "context"
	"io"
)

type Pair[K comparable, V any] struct {
	K K
	V V
}

//futures:task
func Gen(c ctxpkg.Context, p Pair[string, []byte], f func(int) error, s struct {
	A int ` + "`json:\"a\"`" + `
}, r io.Reader, ch <-chan int) (map[string]Pair[int, any], error) {
	return nil, nil
}
`,
	}
	dir := e2eModule(t)
	for name, src := range cases {
		e2eWrite(t, filepath.Join(dir, name, name+".go"), src)
	}
	if _, err := gen.Run(t.Context(), gen.Config{Dir: dir, Patterns: []string{"./..."}, Env: e2eEnv()}); err != nil {
		t.Fatalf("generating: %v", err)
	}
	for name := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if out, err := e2eGo(t, dir, "vet", "./"+name); err != nil {
				generated, _ := os.ReadFile(filepath.Join(dir, name, gen.DefaultOutput))
				t.Errorf("go vet: %v\n%s\nsource:\n%s\ngenerated:\n%s", err, out, cases[name], generated)
			}
		})
	}
}
