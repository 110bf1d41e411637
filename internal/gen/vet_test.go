package gen_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"

	"github.com/gofutures/futures/internal/gen"
)

// vetAll loads the packages of dir as go vet does (syntax and types from
// source, dependencies from export data) and runs gen.Vet on each that
// type-checks. It returns the diagnostics of each package by its path, as
// the CLI prints errors, relative to dir, and the paths of the packages
// that did not type-check.
func vetAll(t *testing.T, dir string, patterns ...string) (map[string][]string, []string) {
	t.Helper()
	pkgs, err := packages.Load(&packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedTypesSizes,
		Dir: dir,
		Env: goEnv(),
	}, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	var broken []string
	// The view sites of every package, as the analyzer passes them on as
	// facts to the clients of its views.
	sites := map[string][]gen.ViewSite{}
	for _, p := range pkgs {
		sites[p.PkgPath] = gen.ViewSites(p.Fset, p.Syntax)
	}
	viewSites := func(path string) ([]gen.ViewSite, bool) {
		s, ok := sites[path]
		return s, ok
	}
	for _, p := range pkgs {
		if len(p.Errors) > 0 {
			broken = append(broken, p.PkgPath)
			continue
		}
		diags, err := gen.Vet(gen.VetPackage{Fset: p.Fset, Files: p.Syntax, Types: p.Types, Info: p.TypesInfo, Sizes: p.TypesSizes, ViewSites: viewSites})
		if err != nil {
			t.Fatalf("Vet(%s): %v", p.PkgPath, err)
		}
		for _, d := range diags {
			line := fmt.Sprintf("%s: %s", p.Fset.Position(d.Pos), d.Message)
			out[p.PkgPath] = append(out[p.PkgPath], strings.ReplaceAll(line, dir+string(filepath.Separator), ""))
		}
	}
	return out, broken
}

// TestVetGolden: on the golden cases, once generated, Vet finds nothing:
// its steps emit, byte for byte, what Run wrote. Then, with one option of
// every task package changed, it finds exactly the files that Run's check
// mode finds stale.
func TestVetGolden(t *testing.T) {
	mod := newModule(t, "example.com/golden")
	copyTree(t, filepath.Join(testdata(t), "ok"), mod)
	ctx := context.Background()
	res, err := gen.Run(ctx, gen.Config{Dir: mod, Patterns: []string{"./..."}, Env: goEnv()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Run's warnings, which Vet reports too.
	warned := map[string]bool{}
	for _, w := range res.Warnings {
		warned[strings.ReplaceAll(w.Error(), mod+string(filepath.Separator), "")] = true
	}
	got, broken := vetAll(t, mod, "./...")
	if len(broken) > 0 {
		t.Fatalf("packages that do not type-check once generated: %v", broken)
	}
	for path, diags := range got {
		diags = slices.DeleteFunc(diags, func(d string) bool { return warned[d] })
		if len(diags) > 0 {
			t.Errorf("%s: Vet reports what Run did not:\n%s", path, strings.Join(diags, "\n"))
		}
	}

	// Stale: every directive with retries= gets one more.
	changed := 0
	filepath.WalkDir(mod, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, gen.DefaultOutput) {
			return err
		}
		data, _ := os.ReadFile(path)
		if s := strings.ReplaceAll(string(data), " retries=", " retries=1"); s != string(data) {
			changed++
			return os.WriteFile(path, []byte(s), 0o644)
		}
		return nil
	})
	if changed == 0 {
		t.Fatal("no directive has retries=; the stale half of this test tests nothing")
	}
	res, err = gen.Run(ctx, gen.Config{Dir: mod, Patterns: []string{"./..."}, Env: goEnv(), Check: true})
	if err == nil {
		t.Fatal("Run in check mode found nothing stale")
	}
	var want []string
	for _, c := range res.Changes {
		rel, _ := filepath.Rel(mod, c.Path)
		want = append(want, rel+" stale")
	}
	got, _ = vetAll(t, mod, "./...")
	var have []string
	for _, diags := range got {
		for _, d := range diags {
			file, msg, _ := strings.Cut(d, ": ")
			dir := filepath.Dir(strings.Split(file, ":")[0])
			name, _, stale := strings.Cut(msg, " is stale: ")
			if warned[d] {
				continue
			}
			if !stale {
				t.Errorf("unexpected diagnostic %s", d)
				continue
			}
			have = append(have, filepath.Join(dir, name)+" stale")
		}
	}
	slices.Sort(want)
	slices.Sort(have)
	if !slices.Equal(have, want) {
		t.Errorf("Vet finds stale:\n%s\nRun's check mode:\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
}

// TestVetErrors: on the error cases that type-check (those that do not are
// the type checker's to report, under go vet), Vet reports exactly the
// warnings and errors of errors.golden, in the same order: the messages of
// Run, at the same positions.
// movedDiagnostic matches a diagnostic that Vet moved to a file's package
// clause, and its message, which starts with its own position.
var movedDiagnostic = regexp.MustCompile(`^[^:]+\.go:\d+:1: ([^:]+:\d+:\d+: .*)$`)

func TestVetErrors(t *testing.T) {
	errDir := filepath.Join(testdata(t), "errors")
	cases, err := os.ReadDir(errDir)
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			mod := newModule(t, "example.com/errors")
			copyTree(t, filepath.Join(errDir, c.Name()), mod)
			got, broken := vetAll(t, mod, ".")
			if len(broken) > 0 {
				t.Skipf("does not type-check without its generated file: go vet reports the type errors")
			}
			want, err := os.ReadFile(filepath.Join(errDir, c.Name(), "errors.golden"))
			if err != nil {
				t.Fatal(err)
			}
			// A problem outside the package's files (in its lock file) is
			// at the first file's package clause, its own position first in
			// the message.
			var lines []string
			for _, line := range got["example.com/errors"] {
				if m := movedDiagnostic.FindStringSubmatch(line); m != nil {
					line = m[1]
				}
				lines = append(lines, line)
			}
			if g := strings.Join(lines, "\n") + "\n"; g != string(want) {
				t.Errorf("Vet differs from errors.golden:\n%s", lineDiff(string(want), g))
			}
			compared++
		})
	}
	if compared < 4 {
		t.Errorf("compared %d cases with Run's errors; want most of them", compared)
	}
}
