package gen_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofutures/futures/gen"
)

// TestEndToEndViews generates the handlers of testdata/e2e/views in a
// temporary module, builds and vets the module, and runs
// testdata/e2e/views/cmd/viewcheck, which serves the views with
// runtime/server on loopback and checks them as an HTTP client: every
// binding kind, 400 problems listing every bad field, JSON bodies strict
// and not, 413, the success statuses, view.Error, errors whose text must
// not reach the client, 504, panic recovery, future results, templates or
// JSON by Accept, method views, and an after-response task that runs after
// the client has its response and that the server's shutdown drains.
func TestEndToEndViews(t *testing.T) {
	dir := e2eModule(t)
	src := filepath.Join("..", "testdata", "e2e", "views")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		e2eWrite(t, filepath.Join(dir, "views", rel), string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	cfg := gen.Config{Dir: dir, Patterns: []string{"./..."}, Env: e2eEnv()}
	res, err := gen.Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("generating: %v", err)
	}
	if len(res.Warnings) > 0 {
		t.Errorf("warnings: %v", res.Warnings)
	}
	genFile := filepath.Join(dir, "views", gen.DefaultOutput)
	if len(res.Changes) != 1 || res.Changes[0].Path != genFile {
		t.Errorf("changes %+v; want exactly %s written", res.Changes, genFile)
	}
	t.Logf("generated in %v", time.Since(start).Round(time.Millisecond))

	for _, args := range [][]string{
		{"build", "./..."},
		{"vet", "./..."},
		{"run", "./views/cmd/viewcheck"},
	} {
		start := time.Now()
		out, err := e2eGo(t, dir, args...)
		if err != nil {
			t.Fatalf("go %s: %v\n%s\n%s", strings.Join(args, " "), err, out, e2eGenerated(t, dir))
		}
		t.Logf("go %s: %v\n%s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), out)
		if args[0] == "run" && strings.TrimSpace(out) != "ok" {
			t.Errorf("viewcheck printed %q; want \"ok\"", out)
		}
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
}
