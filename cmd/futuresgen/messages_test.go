package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestCallsOfUndirectedFunctions: a call of FAsync or FLater where F has
// no directive says to add one, at the call: an error in a package that
// futuresgen type-checks (it has directives), a warning in one it does
// not, from the syntax.
func TestCallsOfUndirectedFunctions(t *testing.T) {
	newModule(t, map[string]string{
		"mail/mail.go": `package mail

import "context"

// Send has no directive.
func Send(ctx context.Context, to string) error { return nil }
`,
		"app/app.go": `package app

import (
	"context"

	"example.com/m/mail"
)

// Helper has no directive.
func Helper(ctx context.Context) error { return nil }

// Run calls wrappers that nothing generates.
func Run(ctx context.Context) {
	HelperAsync(ctx)
	mail.SendLater(ctx, "a")
	NothingAsync(ctx)
	local := func(ctx context.Context) {}
	_ = local
	HelperAsync := func(ctx context.Context) {}
	HelperAsync(ctx)
}
`,
		"tasks/tasks.go": `package tasks

import (
	"context"

	"example.com/m/mail"
)

//futures:task
func Real(ctx context.Context) error {
	mail.SendAsync(ctx, "b")
	return nil
}
`,
	})
	r := futuresgen(t, "./...")
	if r.code != 2 {
		t.Fatalf("%v; want exit 2 for the error in tasks", r)
	}
	for _, want := range []string{
		`app/app\.go:14:2: warning: HelperAsync is not declared: add //futures:task to Helper \(app/app\.go:10:6\) to generate it`,
		`app/app\.go:15:7: warning: mail\.SendLater is not declared: add //futures:task to mail\.Send \(mail/mail\.go:6:6\) to generate it`,
		`tasks/tasks\.go:11:7: undefined: mail\.SendAsync: add //futures:task to mail\.Send \(mail/mail\.go:6:\d+\) to generate it`,
	} {
		if !regexp.MustCompile(`(?m)^` + want + `$`).MatchString(r.stderr) {
			t.Errorf("no line matching %s:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "NothingAsync") || strings.Count(r.stderr, "HelperAsync") != 1 {
		t.Errorf("a warning for NothingAsync, whose Nothing does not exist, or for the local HelperAsync:\n%s", r.stderr)
	}
}

// TestMessagesPrintRelativePaths: positions, at the start of a message and
// inside it, name files relative to the working directory, as the go
// command does, not by their absolute paths.
func TestMessagesPrintRelativePaths(t *testing.T) {
	dir := newModule(t, map[string]string{"p/p.go": `package p

import "context"

//futures:task
func Send(ctx context.Context) error { return nil }

// SendAsync is taken.
func SendAsync() {}

//futures:task retries=x
func Bad(ctx context.Context) error { return nil }
`})
	r := futuresgen(t, "./...")
	if r.code != 2 {
		t.Fatalf("%v; want exit 2", r)
	}
	if strings.Contains(r.stderr, dir) {
		t.Errorf("messages name absolute paths:\n%s", r.stderr)
	}
	for _, want := range []string{
		"p/p.go:5:11: Send needs to generate SendAsync, but the package already declares SendAsync at p/p.go:9:6",
		"p/p.go:11:24: retries wants",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("no %q in:\n%s", want, r.stderr)
		}
	}
}

// TestCheckSaysTheCommandThatFixes: --check names the command that brings
// the files up to date: go generate when the package has a //go:generate
// line that runs futuresgen, else futuresgen with this run's flags, or go
// tool futuresgen when go.mod lists it as a tool.
func TestCheckSaysTheCommandThatFixes(t *testing.T) {
	dir, genFile := mailModule(t)
	stale := func(args ...string) string {
		t.Helper()
		r := futuresgen(t, args...)
		if r.code != 1 {
			t.Fatalf("futuresgen %s: %v; want exit 1", strings.Join(args, " "), r)
		}
		return r.stderr
	}
	if got := stale("--check", "./..."); !strings.Contains(got, "; run futuresgen ./...\n") {
		t.Errorf("without //go:generate: %s; want run futuresgen ./...", got)
	}
	if got := stale("--check", "-o", "gen.go", "./mail"); !strings.Contains(got, "; run futuresgen -o gen.go ./mail\n") {
		t.Errorf("with -o: %s; want run futuresgen -o gen.go ./mail", got)
	}
	gomod := read(t, "go.mod")
	write(t, "go.mod", gomod+"\ntool github.com/gofutures/futures/cmd/futuresgen\n")
	if got := stale("--check", "./..."); !strings.Contains(got, "; run go tool futuresgen ./...\n") {
		t.Errorf("with futuresgen a tool of go.mod: %s; want run go tool futuresgen ./...", got)
	}
	write(t, dir+"/mail/generate.go", "package mail\n\n//go:generate go tool futuresgen\n")
	if got := stale("--check", "./..."); !strings.Contains(got, "; run go generate ./...\n") {
		t.Errorf("with //go:generate: %s; want run go generate ./...", got)
	}
	_ = genFile
}

// TestWritingIntoAModuleWithoutFutures: generated code imports the
// runtime; when the module does not require futures, futuresgen says how
// to add it.
func TestWritingIntoAModuleWithoutFutures(t *testing.T) {
	dir := t.TempDir()
	write(t, dir+"/go.mod", "module example.com/bare\n\ngo "+goVersion(t)+"\n")
	write(t, dir+"/p/p.go", "package p\n\nimport \"context\"\n\n//futures:task\nfunc Send(ctx context.Context) error { return nil }\n")
	enter(t, dir)
	r := futuresgen(t, "./...")
	if r.code != 0 {
		t.Fatalf("%v; want exit 0", r)
	}
	if !strings.Contains(r.stderr, "run go get github.com/gofutures/futures\n") || strings.Count(r.stderr, "go get") != 1 {
		t.Errorf("no single warning saying go get github.com/gofutures/futures:\n%s", r.stderr)
	}
	if !exists(dir + "/p/futures_gen.go") {
		t.Errorf("futures_gen.go not written")
	}
	// A module that requires futures gets no such warning.
	mailModule(t)
	if r := mustRun(t, "./..."); strings.Contains(r.stderr, "go get") {
		t.Errorf("a module that requires futures is told to go get it:\n%s", r.stderr)
	}
}
