package depbudget

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gofutures/futures"

// core are the packages under the budget, as go list patterns.
var core = []string{
	module + "/runtime/future",
	module + "/runtime/taskloop",
	module + "/runtime/view",
	module + "/runtime/server",
	module + "/runtime/httpclient",
	module + "/runtime/internal/...",
}

// TestCoreImportsOnlyStdlib lists what the core packages import, directly
// or not (tests excluded), for each platform that files may be
// constrained to, and fails naming every import outside the standard
// library and this module, with the packages that import it.
func TestCoreImportsOnlyStdlib(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows", "freebsd", "plan9", "js"} {
		t.Run(goos, func(t *testing.T) {
			for _, p := range outsiders(t, goos, core) {
				t.Errorf("GOOS=%s: %s imports %s, which is neither the standard library nor %s/...", goos, strings.Join(p.importers, ", "), p.path, module)
			}
		})
	}
}

type outsider struct {
	path      string
	importers []string
}

// outsiders returns the packages that patterns depend on under goos that
// are neither standard nor of this module, each with the packages that
// import it.
func outsiders(t *testing.T, goos string, patterns []string) []outsider {
	t.Helper()
	arch := "amd64"
	if goos == "js" {
		arch = "wasm"
	}
	cmd := exec.Command("go", append([]string{"list", "-deps", "-f", "{{.ImportPath}}\t{{.Standard}}\t{{join .Imports \" \"}}"}, patterns...)...)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+arch, "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("GOOS=%s go list: %v\n%s", goos, err, stderr.String())
	}
	imports := map[string][]string{} // package: its imports
	var bad []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		path, rest, _ := strings.Cut(sc.Text(), "\t")
		standard, deps, _ := strings.Cut(rest, "\t")
		imports[path] = strings.Fields(deps)
		if standard != "true" && path != module && !strings.HasPrefix(path, module+"/") {
			bad = append(bad, path)
		}
	}
	var found []outsider
	for _, b := range bad {
		o := outsider{path: b}
		for p, deps := range imports {
			if slices.Contains(deps, b) {
				o.importers = append(o.importers, p)
			}
		}
		slices.Sort(o.importers)
		found = append(found, o)
	}
	slices.SortFunc(found, func(a, b outsider) int { return strings.Compare(a.path, b.path) })
	return found
}

// TestOutsidersFindsThirdParty checks the check: a package of this module
// that imports a third-party one (the generator imports jennifer) is
// reported, with the path that brings it in.
func TestOutsidersFindsThirdParty(t *testing.T) {
	found := outsiders(t, "linux", []string{module + "/internal/gen"})
	i := slices.IndexFunc(found, func(o outsider) bool { return o.path == "github.com/dave/jennifer/jen" })
	if i < 0 {
		t.Fatalf("jennifer not among the outsiders of internal/gen: %+v", found)
	}
	if !slices.Contains(found[i].importers, module+"/internal/gen") {
		t.Errorf("jennifer's importers %v lack internal/gen", found[i].importers)
	}
}
