package gen_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofutures/futures/internal/gen"
)

// TestCache checks that a package whose inputs have not changed comes from
// the cache with the same bytes, and that every input change misses it.
func TestCache(t *testing.T) {
	mod := newModule(t, "example.com/cache")
	src := `package a

import (
	"context"

	"example.com/cache/b"
)

//futures:task retries=1
func Send(ctx context.Context, m b.Msg) error { return nil }

func use(ctx context.Context) { SendLater(ctx, b.Msg{}) }
`
	write := func(rel, content string) {
		t.Helper()
		path := filepath.Join(mod, rel)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/a.go", src)
	write("b/b.go", "package b\n\ntype Msg struct{ To string }\n")
	cacheDir := t.TempDir()
	var log bytes.Buffer
	run := func() (*gen.Result, error) {
		log.Reset()
		return gen.Run(context.Background(), gen.Config{Dir: mod, Patterns: []string{"./..."}, Env: goEnv(), CacheDir: cacheDir, Log: &log})
	}
	cached := func() bool { return strings.Contains(log.String(), "(cached)") }
	out := filepath.Join(mod, "a", gen.DefaultOutput)

	if _, err := run(); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(out)
	if cached() {
		t.Fatalf("first run came from an empty cache:\n%s", log.String())
	}

	// Unchanged: cached, nothing written.
	if res, err := run(); err != nil || len(res.Changes) != 0 || !cached() {
		t.Fatalf("unchanged rerun: %v, %d changes, log:\n%s", err, len(res.Changes), log.String())
	}
	// The generated file deleted: the cache rewrites the same bytes.
	os.Remove(out)
	if _, err := run(); err != nil || !cached() {
		t.Fatalf("after deleting the output: %v, log:\n%s", err, log.String())
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(again, first) {
		t.Fatal("the cached output differs from the generated one")
	}

	// A change in the package misses the cache.
	write("a/a.go", strings.Replace(src, "retries=1", "retries=2", 1))
	if _, err := run(); err != nil || cached() {
		t.Fatalf("after editing the package: %v, log:\n%s", err, log.String())
	}
	if changed, _ := os.ReadFile(out); !bytes.Contains(changed, []byte("Retries: 2")) {
		t.Fatalf("the edit did not reach the output:\n%s", changed)
	}
	// A change in a dependency's exported types misses it too.
	write("b/b.go", "package b\n\ntype Msg struct{ To, Cc string }\n")
	if _, err := run(); err != nil || cached() {
		t.Fatalf("after editing a dependency: %v, log:\n%s", err, log.String())
	}
	// Errors are never cached: the same broken source fails twice.
	write("a/a.go", src+"\nvar broken int = \"s\"\n")
	for range 2 {
		if _, err := run(); !errors.As(err, new(gen.ErrorList)) {
			t.Fatalf("broken source: %v, want an ErrorList", err)
		}
	}
}
