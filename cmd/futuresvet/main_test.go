package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/gen"
)

// goEnv is the environment of the go commands: no network, no workspace.
func goEnv() []string {
	return append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
}

func goCmd(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGoVet builds futuresvet and runs go vet -vettool with it on a module
// with a misspelled option, a signature no task can have, a stale
// generated file and a fresh one: go vet fails and prints each problem at
// its position with futuresgen's message, and nothing for the fresh
// package. Once the problems are fixed and the stale package generated
// again, go vet passes.
func TestGoVet(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tool := filepath.Join(t.TempDir(), "futuresvet")
	if out, err := goCmd(t, ".", "build", "-o", tool, "."); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	mod := t.TempDir()
	write(t, filepath.Join(mod, "go.mod"), "module example.com/app\n\ngo 1.26.8\n\nrequire github.com/gofutures/futures v0.0.0\n\nreplace github.com/gofutures/futures => "+filepath.ToSlash(root)+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(mod, "go.sum"), string(sum))
	write(t, filepath.Join(mod, "bad", "bad.go"), `package bad

import "context"

//futures:task retrys=3
func Send(ctx context.Context, to string) error { return nil }

//futures:task
func Pair(ctx context.Context) (int, string) { return 0, "" }
`)
	task := `package %s

import "context"

//futures:task retries=1
func Send(ctx context.Context, to string) error { return nil }
`
	write(t, filepath.Join(mod, "stale", "stale.go"), strings.ReplaceAll(task, "%s", "stale"))
	write(t, filepath.Join(mod, "fresh", "fresh.go"), strings.ReplaceAll(task, "%s", "fresh"))
	write(t, filepath.Join(mod, "fresh", "fresh_test.go"), "package fresh\n\nimport \"testing\"\n\nfunc TestSend(t *testing.T) { SendAsync(t.Context(), \"a\") }\n")
	if _, err := gen.Run(context.Background(), gen.Config{Dir: mod, Patterns: []string{"./stale", "./fresh"}, Env: goEnv()}); err != nil {
		t.Fatalf("generating: %v", err)
	}
	write(t, filepath.Join(mod, "stale", "stale.go"), strings.ReplaceAll(strings.ReplaceAll(task, "%s", "stale"), "retries=1", "retries=2"))

	out, err := goCmd(t, mod, "vet", "-vettool="+tool, "./...")
	if err == nil {
		t.Fatalf("go vet passed; want it to fail:\n%s", out)
	}
	for _, want := range []string{
		`bad/bad.go:5:16: unknown option "retrys" for //futures:task (did you mean "retries"?)`,
		`bad/bad.go:9:32: Pair returns (int, string): a task returns (), (error), (R) or (R, error)`,
		`stale/stale.go:5:1: futures_gen.go is stale: from line `,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("go vet output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "fresh") {
		t.Errorf("go vet reports the fresh package:\n%s", out)
	}

	write(t, filepath.Join(mod, "bad", "bad.go"), "package bad\n\nimport \"context\"\n\n//futures:task retries=3\nfunc Send(ctx context.Context, to string) error { return nil }\n")
	if _, err := gen.Run(context.Background(), gen.Config{Dir: mod, Patterns: []string{"./..."}, Env: goEnv()}); err != nil {
		t.Fatalf("generating: %v", err)
	}
	if out, err := goCmd(t, mod, "vet", "-vettool="+tool, "./..."); err != nil {
		t.Fatalf("go vet after fixing and generating: %v\n%s", err, out)
	}
}
