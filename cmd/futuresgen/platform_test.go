package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// platformFiles is a package whose task exists on linux only: on darwin a
// function of the same name has no directive, and on windows there is
// neither. A method task on linux has its receiver type in an
// unconstrained file.
var platformFiles = map[string]string{
	"plat/p_linux.go": `package plat

import "context"

// P runs on linux.
//
//futures:task retries=1
func P(ctx context.Context) error { return nil }

// Refresh refreshes on linux.
//
//futures:task
func (c *Cache) Refresh(ctx context.Context) error { return nil }

// Load is a view on linux.
//
//futures:view GET /load
func Load(ctx context.Context) (int, error) { return 1, nil }
`,
	"plat/p_darwin.go": `package plat

import "context"

// P is no task on darwin.
func P(ctx context.Context) error { return nil }

// taskloop is a name of the darwin build only, which generated code must
// not use for its import, on any platform.
const taskloop = "darwin"
`,
	"plat/cache.go": `package plat

// Cache is on every platform.
type Cache struct{}
`,
	"use/use.go": `package use

import (
	"net/http"

	"example.com/m/plat"
	"github.com/gofutures/futures/runtime/taskloop"
)

// Register works on every platform.
func Register(l *taskloop.Loop, mux *http.ServeMux) error {
	if err := plat.RegisterTasks(l); err != nil {
		return err
	}
	if err := plat.RegisterViews(mux); err != nil {
		return err
	}
	return plat.RegisterCacheTasks(l, &plat.Cache{})
}
`,
}

// goCommandEnv runs the go command in the current directory with env
// added to the environment.
func goCommandEnv(t *testing.T, env []string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s go %s: %v\n%s", strings.Join(env, " "), strings.Join(args, " "), err, out)
	}
}

// TestGenerationIgnoresPlatform: what futuresgen generates does not depend
// on the GOOS it runs under. Files that the platform excludes are out of
// scope, never orphans, and the unconstrained file, which registers every
// task, names nothing that exists on one platform only; so --check passes
// under linux, darwin and windows alike, and the tree builds for each.
func TestGenerationIgnoresPlatform(t *testing.T) {
	dir := newModule(t, platformFiles)
	mainFile := filepath.Join(dir, "plat", "futures_gen.go")
	linuxFile := filepath.Join(dir, "plat", "p_linux_futures_gen.go")

	t.Setenv("GOOS", "linux")
	mustRun(t, "./...")
	if !exists(mainFile) || !exists(linuxFile) {
		t.Fatalf("generating under linux wrote futures_gen.go: %v, p_linux_futures_gen.go: %v", exists(mainFile), exists(linuxFile))
	}
	main := read(t, mainFile)
	if !strings.Contains(main, "tasklooppkg") {
		t.Errorf("futures_gen.go imports taskloop by the name that p_darwin.go declares:\n%s", main)
	}
	for _, linuxOnly := range []string{"futuresSpec_P", "PAsync", "Refresh", "Load"} {
		if strings.Contains(main, linuxOnly) {
			t.Errorf("futures_gen.go names %s, which exists on linux only:\n%s", linuxOnly, main)
		}
	}

	before := snap(t, dir)
	for _, goos := range []string{"linux", "darwin", "windows"} {
		t.Setenv("GOOS", goos)
		if r := futuresgen(t, "--check", "./..."); r.code != 0 {
			t.Errorf("GOOS=%s futuresgen --check: %v", goos, r)
		}
		if r := futuresgen(t, "./..."); r.code != 0 || r.stdout != "" {
			t.Errorf("GOOS=%s futuresgen: %v", goos, r)
		}
		before.unchanged(t, dir)
	}
	t.Setenv("GOOS", "")
	os.Unsetenv("GOOS")
	goCommandEnv(t, []string{"GOOS=linux"}, "vet", "./...")
	goCommandEnv(t, []string{"GOOS=darwin"}, "build", "./...")
	goCommandEnv(t, []string{"GOOS=windows"}, "vet", "./...")

	// Generating first under darwin writes the same unconstrained file;
	// linux then adds its own file and changes nothing else.
	for _, f := range []string{mainFile, linuxFile} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("GOOS", "darwin")
	mustRun(t, "./...")
	if got := read(t, mainFile); got != main {
		t.Errorf("futures_gen.go generated under darwin differs from linux's:\n%s\nwant:\n%s", got, main)
	}
	if exists(linuxFile) {
		t.Errorf("generating under darwin wrote p_linux_futures_gen.go")
	}
	goCommandEnv(t, []string{"GOOS=darwin"}, "build", "./...")
	t.Setenv("GOOS", "linux")
	if r := futuresgen(t, "--check", "./..."); r.code != 1 || !strings.Contains(r.stdout, "p_linux_futures_gen.go") || strings.Contains(r.stdout, "+++ plat/futures_gen.go") {
		t.Errorf("GOOS=linux futuresgen --check after generating under darwin: %v; want p_linux_futures_gen.go missing, nothing else", r)
	}
	mustRun(t, "./...")
	if got := read(t, mainFile); got != main {
		t.Errorf("generating under linux after darwin changed futures_gen.go:\n%s", got)
	}
	goCommandEnv(t, []string{"GOOS=linux"}, "vet", "./...")
}

// TestTagsDoNotDecideTheUnconstrainedFile: generating with and without a
// build tag leaves the unconstrained file the same, when the only
// directive is in a file the tag selects.
func TestTagsDoNotDecideTheUnconstrainedFile(t *testing.T) {
	dir := newModule(t, map[string]string{
		"tagged/plain.go": "package tagged\n\nfunc Plain() {}\n",
		"tagged/special.go": `//go:build special

package tagged

import "context"

//futures:task
func Special(ctx context.Context) error { return nil }
`,
	})
	mainFile := filepath.Join(dir, "tagged", "futures_gen.go")
	mustRun(t, "--tags", "special", "./...")
	main := read(t, mainFile)
	if r := futuresgen(t, "--check", "./..."); r.code != 0 {
		t.Errorf("--check without the tag after generating with it: %v", r)
	}
	mustRun(t, "./...")
	if got := read(t, mainFile); got != main {
		t.Errorf("futures_gen.go without the tag:\n%s\nwith it:\n%s", got, main)
	}
	goCommand(t, "vet", "./...")
	goCommand(t, "vet", "-tags", "special", "./...")
}

// TestCgoFileIsConstrained: a task in a file that imports "C" gets its
// wrappers in a file built with cgo only, so that the package still builds
// with CGO_ENABLED=0, where that file is out of scope.
func TestCgoFileIsConstrained(t *testing.T) {
	if out, err := exec.Command("go", "env", "CGO_ENABLED").Output(); err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Skip("cgo is not available (no C compiler)")
	}
	dir := newModule(t, map[string]string{
		"cg/cg.go": `package cg

// static int one(void) { return 1; }
import "C"

import "context"

// One calls C.
//
//futures:task
func One(ctx context.Context) (int, error) { return int(C.one()), nil }
`,
		"cg/cg_linux.go": `package cg

// static int two(void) { return 2; }
import "C"

import "context"

// Two calls C on linux.
//
//futures:task
func Two(ctx context.Context) (int, error) { return int(C.two()), nil }
`,
		"cg/plain.go": `package cg

import "context"

// Plain needs no C.
//
//futures:task
func Plain(ctx context.Context) error { return nil }
`,
	})
	t.Setenv("GOOS", "linux")
	t.Setenv("CGO_ENABLED", "1")
	mustRun(t, "./...")
	cgFile := read(t, filepath.Join(dir, "cg", "cg_futures_gen.go"))
	if !strings.Contains(cgFile, "\n//go:build cgo\n") || !strings.Contains(cgFile, "OneAsync") {
		t.Errorf("cg_futures_gen.go is not built with cgo only, or lacks OneAsync:\n%s", cgFile)
	}
	linuxFile := read(t, filepath.Join(dir, "cg", "cg_linux_futures_gen.go"))
	if !strings.Contains(linuxFile, "\n//go:build linux && cgo\n") {
		t.Errorf("cg_linux_futures_gen.go is not built with linux && cgo:\n%s", linuxFile)
	}
	if main := read(t, filepath.Join(dir, "cg", "futures_gen.go")); strings.Contains(main, "One") || !strings.Contains(main, "PlainAsync") {
		t.Errorf("futures_gen.go names One, or lacks PlainAsync:\n%s", main)
	}
	goCommand(t, "vet", "./...")
	goCommandEnv(t, []string{"CGO_ENABLED=0"}, "build", "./...")
	t.Setenv("CGO_ENABLED", "0")
	if r := futuresgen(t, "--check", "./..."); r.code != 0 {
		t.Errorf("CGO_ENABLED=0 futuresgen --check: %v", r)
	}
}

// TestDirectivesInTestFilesWarn: a directive in a _test.go file, of the
// package or of its external test package, generates nothing, and says so
// at its position.
func TestDirectivesInTestFilesWarn(t *testing.T) {
	dir := newModule(t, map[string]string{
		"mail/mail.go": mailSrc,
		"mail/mail_test.go": `package mail

import "context"

// Fake is a task for tests.
//
//futures:task
func Fake(ctx context.Context) error { return nil }
`,
		"mail/x_test.go": `package mail_test

import "context"

//futures:task retries=1
func External(ctx context.Context) error { return nil }
`,
		"onlytests/a.go":      "package onlytests\n",
		"onlytests/a_test.go": "package onlytests\n\nimport \"context\"\n\n//futures:task\nfunc T(ctx context.Context) error { return nil }\n",
	})
	r := futuresgen(t, "./...")
	if r.code != 0 {
		t.Fatalf("%v; want exit 0", r)
	}
	for _, want := range []string{
		`mail/mail_test.go:7:1: warning: //futures:task is in a _test.go file, where futuresgen generates nothing .*: move Fake to a non-test file`,
		`mail/x_test.go:5:1: warning: //futures:task is in a _test.go file.*move External`,
		`onlytests/a_test.go:5:1: warning: .*move T to`,
	} {
		if !regexp.MustCompile(want).MatchString(r.stderr) {
			t.Errorf("no warning matching %q:\n%s", want, r.stderr)
		}
	}
	if src := read(t, filepath.Join(dir, "mail", "futures_gen.go")); strings.Contains(src, "Fake") || strings.Contains(src, "External") {
		t.Errorf("a test file's task was generated:\n%s", src)
	}
	if exists(filepath.Join(dir, "onlytests", "futures_gen.go")) {
		t.Errorf("onlytests got a generated file")
	}
	goCommand(t, "vet", "./...")
}
