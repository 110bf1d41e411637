package gen_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gofutures/futures/internal/gen"
)

// goLogger puts a go command on PATH that logs its arguments, one line per
// run, and runs the real one. It returns the environment for Run and the
// log's path. Tests that call it cannot run in parallel.
func goLogger(t *testing.T) ([]string, string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the logging go command is a shell script")
	}
	real, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	bin := t.TempDir()
	log := filepath.Join(bin, "log")
	script := "#!/bin/sh\necho \"$*\" >> " + log + "\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// The go command is looked up in this process's PATH.
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return goEnv(), log
}

// exportRuns returns the go commands of the log that asked for export
// data, each as the packages it named.
func exportRuns(t *testing.T, log string) [][]string {
	t.Helper()
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var runs [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !strings.Contains(line, "-export=true") && !slices.Contains(strings.Fields(line), "-export") {
			continue
		}
		var pkgs []string
		if _, after, ok := strings.Cut(line, " -- "); ok {
			pkgs = strings.Fields(after)
		} else {
			pkgs = []string{line}
		}
		runs = append(runs, pkgs)
	}
	return runs
}

// TestExportDataForCandidatesOnly: export data, which costs a build of
// every package it covers, is asked for the packages with directives only
// (and, through -deps, what they import), never for a whole pattern; a
// module without directives asks for none.
func TestExportDataForCandidatesOnly(t *testing.T) {
	mod := newModule(t, "example.com/cost")
	files := map[string]string{
		"a/a.go": "package a\n\n// A is imported.\nfunc A() int { return 1 }\n",
		"c/c.go": "package c\n\nimport \"example.com/cost/a\"\n\n// C uses a.\nfunc C() int { return a.A() }\n",
	}
	for name, src := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(mod, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mod, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env, log := goLogger(t)
	ctx := context.Background()
	if _, err := gen.Run(ctx, gen.Config{Dir: mod, Patterns: []string{"./..."}, Env: env}); err != nil {
		t.Fatalf("Run without directives: %v", err)
	}
	if runs := exportRuns(t, log); len(runs) > 0 {
		t.Errorf("without directives, Run asked for export data: %q", runs)
	}

	task := "package b\n\nimport (\n\t\"context\"\n\n\t\"example.com/cost/a\"\n)\n\n//futures:task\nfunc B(ctx context.Context) (int, error) { return a.A(), nil }\n"
	if err := os.MkdirAll(filepath.Join(mod, "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "b", "b.go"), []byte(task), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(log)
	if _, err := gen.Run(ctx, gen.Config{Dir: mod, Patterns: []string{"./..."}, Env: env}); err != nil {
		t.Fatalf("Run with a directive in b: %v", err)
	}
	runs := exportRuns(t, log)
	if len(runs) != 1 || !slices.Equal(runs[0], []string{"example.com/cost/b"}) {
		t.Errorf("with a directive in b only, Run asked for export data of %q; want one go list of example.com/cost/b", runs)
	}
	if _, err := os.Stat(filepath.Join(mod, "b", gen.DefaultOutput)); err != nil {
		t.Errorf("b's generated file: %v", err)
	}
}

// TestOutputWithPlatformSuffix: an output name such as futures_linux.go
// would make the unconstrained file a linux file; Run refuses it.
func TestOutputWithPlatformSuffix(t *testing.T) {
	for _, name := range []string{"futures_linux.go", "gen_amd64.go", "x_windows_arm64.go"} {
		_, err := gen.Run(context.Background(), gen.Config{Dir: t.TempDir(), Output: name})
		if err == nil || !strings.Contains(err.Error(), "constrains the file") {
			t.Errorf("Output %s: %v; want an error about the suffix", name, err)
		}
	}
}
