package gen_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gofutures/futures/internal/gen"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ok and testdata/errors")

// repoRoot is the module root: tests run in internal/gen/.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// testdata is the generator's test data, which holds the golden cases
// (ok), the error cases (errors), the end-to-end packages (e2e) and the
// fuzz corpus (fuzz).
func testdata(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// newModule makes a temporary module that requires this one through a
// replace and has its go.sum, so that nothing needs the network.
func newModule(t testing.TB, path string) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	dir := t.TempDir()
	root := repoRoot(t)
	gomod := "module " + path + "\n\ngo 1.26.8\n\nrequire github.com/gofutures/futures v0.0.0\n\nreplace github.com/gofutures/futures => " + filepath.ToSlash(root) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// goEnv is the environment of every go command the tests run.
func goEnv() []string {
	return append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
}

// goroot returns the go command's GOROOT.
func goroot(t testing.TB) string {
	dir, err := gorootOnce()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return dir
}

var gorootOnce = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	return strings.TrimSpace(string(out)), err
})

// copyTree copies the .go files of src into dst, keeping the layout.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func goCmd(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestGolden generates every package under testdata/ok in one module,
// compares each generated file with its .golden twin, then builds and vets
// the result, so that no expected output is uncompilable; a second run
// must change nothing and --check must pass.
func TestGolden(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the constraints case expects a linux build")
	}
	okDir := filepath.Join(testdata(t), "ok")
	mod := newModule(t, "example.com/golden")
	copyTree(t, okDir, mod)

	ctx := context.Background()
	res, err := gen.Run(ctx, gen.Config{Dir: mod, Patterns: []string{"./..."}, Env: goEnv()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Warnings) > 0 {
		t.Errorf("warnings: %v", res.Warnings)
	}

	// Every generated file matches its golden twin, and every golden file
	// was generated.
	generated := map[string][]byte{}
	filepath.WalkDir(mod, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
			data, _ := os.ReadFile(path)
			if bytes.HasPrefix(data, []byte(gen.Header+"\n")) {
				rel, _ := filepath.Rel(mod, path)
				generated[rel] = data
			}
		}
		return err
	})
	goldens := map[string]bool{}
	filepath.WalkDir(okDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".golden") {
			rel, _ := filepath.Rel(okDir, path)
			goldens[strings.TrimSuffix(rel, ".golden")] = true
		}
		return err
	})
	for _, rel := range slices.Sorted(maps.Keys(generated)) {
		golden := filepath.Join(okDir, rel+".golden")
		if *update {
			if err := os.WriteFile(golden, generated[rel], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Errorf("%s was generated but has no golden file (run go test ./internal/gen -run TestGolden -update)", rel)
			continue
		}
		if !bytes.Equal(generated[rel], want) {
			t.Errorf("%s differs from its golden file (run with -update to accept):\n%s", rel, lineDiff(string(want), string(generated[rel])))
		}
	}
	if !*update {
		for rel := range goldens {
			if generated[rel] == nil {
				t.Errorf("%s.golden exists but %s was not generated", rel, rel)
			}
		}
	}

	goCmd(t, mod, "build", "./...")
	goCmd(t, mod, "vet", "./...")

	res, err = gen.Run(ctx, gen.Config{Dir: mod, Patterns: []string{"./..."}, Env: goEnv()})
	if err != nil || len(res.Changes) != 0 {
		t.Fatalf("second run: %v, changes %+v; want none", err, res.Changes)
	}
	if _, err := gen.Run(ctx, gen.Config{Dir: mod, Patterns: []string{"./..."}, Env: goEnv(), Check: true}); err != nil {
		t.Fatalf("check after generating: %v", err)
	}
}

// TestErrors runs the generator on each package under testdata/errors
// and compares its errors and warnings, as the CLI prints them with paths
// relative to the package, with errors.golden. Nothing may be written.
func TestErrors(t *testing.T) {
	errDir := filepath.Join(testdata(t), "errors")
	cases, err := os.ReadDir(errDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			mod := newModule(t, "example.com/errors")
			src := filepath.Join(errDir, c.Name())
			copyTree(t, src, mod)
			res, err := gen.Run(context.Background(), gen.Config{Dir: mod, Env: goEnv()})
			var list gen.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Run = %v, want an ErrorList", err)
			}
			// As the CLI prints them: warnings, then errors, each in
			// position order.
			var lines []string
			for _, e := range append(slices.Clone(res.Warnings), list...) {
				line := strings.ReplaceAll(e.Error(), mod+string(filepath.Separator), "")
				// go list names GOROOT in some messages; it differs by machine.
				lines = append(lines, strings.ReplaceAll(line, goroot(t), "$GOROOT"))
			}
			got := strings.Join(lines, "\n") + "\n"
			golden := filepath.Join(src, "errors.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("errors differ from errors.golden (run with -update to accept):\n%s", lineDiff(string(want), got))
			}
			if _, err := os.Stat(filepath.Join(mod, gen.DefaultOutput)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s was written despite errors", gen.DefaultOutput)
			}
		})
	}
}

// lineDiff shows the lines of want and got that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl + "\n")
		}
	}
	return b.String()
}
