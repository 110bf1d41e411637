package gen_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofutures/futures/internal/gen"
)

// The signature lock across versions of a package: what each run writes,
// refuses and accepts. The error cases of every breaking change are under
// testdata/errors/lock*.

// lockModule is a module with package p, whose source run replaces.
type lockModule struct {
	t   *testing.T
	dir string
}

func newLockModule(t *testing.T) *lockModule {
	return &lockModule{t: t, dir: newModule(t, "example.com/lock")}
}

// write sets the contents of a file of the module.
func (m *lockModule) write(name, src string) {
	m.t.Helper()
	path := filepath.Join(m.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		m.t.Fatal(err)
	}
}

func (m *lockModule) read(name string) string {
	m.t.Helper()
	data, err := os.ReadFile(filepath.Join(m.dir, name))
	if err != nil {
		m.t.Fatal(err)
	}
	return string(data)
}

func (m *lockModule) exists(name string) bool {
	_, err := os.Stat(filepath.Join(m.dir, name))
	return err == nil
}

// run generates ./... with cfg's other settings.
func (m *lockModule) run(cfg gen.Config) (*gen.Result, error) {
	cfg.Dir, cfg.Patterns, cfg.Env = m.dir, []string{"./..."}, goEnv()
	return gen.Run(context.Background(), cfg)
}

const lockV1 = `package p

import "context"

type Order struct {
	ID    int64    ` + "`json:\"id\"`" + `
	Items []string ` + "`json:\"items\"`" + `
}

//futures:task durable
func Ship(ctx context.Context, userID int64, order Order) error { return nil }
`

// TestLockCompatibleChange: a compatible change (parameters reordered, an
// integer widened, a field added to an argument struct, a new parameter)
// rewrites the lock without a word; the new parameter is optional, so that
// the generated code decodes jobs stored before without it. --check sees
// a stale lock before, and nothing after.
func TestLockCompatibleChange(t *testing.T) {
	m := newLockModule(t)
	m.write("p/p.go", lockV1)
	if _, err := m.run(gen.Config{}); err != nil {
		t.Fatal(err)
	}
	v1 := m.read("p/" + gen.LockFile)
	if !strings.Contains(v1, `"example.com/lock/p.Ship"`) || strings.Contains(v1, "optional") {
		t.Fatalf("first lock:\n%s", v1)
	}
	m.write("p/p.go", strings.NewReplacer(
		"Items []string", "Note  string   `json:\"note\"`\n\tItems []string",
		"func Ship(ctx context.Context, userID int64, order Order) error",
		"func Ship(ctx context.Context, order Order, userID int64, express bool) error",
	).Replace(lockV1))
	res, err := m.run(gen.Config{Check: true})
	if !errors.Is(err, gen.ErrStale) {
		t.Fatalf("--check after a compatible change: %v; want ErrStale", err)
	}
	if !strings.Contains(changeDiffs(res), gen.LockFile) {
		t.Errorf("--check does not name the stale lock:\n%s", changeDiffs(res))
	}
	if res, err = m.run(gen.Config{}); err != nil || len(res.Warnings) > 0 {
		t.Fatalf("compatible change: %v, warnings %v", err, res.Warnings)
	}
	v2 := m.read("p/" + gen.LockFile)
	if !strings.Contains(v2, `{"key":"express","type":"bool","optional":true}`) || !strings.Contains(v2, `{"key":"note","type":"string"}`) {
		t.Errorf("lock after adding express and Order.note:\n%s", v2)
	}
	if code := m.read("p/futures_gen.go"); !strings.Contains(code, `taskloop.DecodeArgs(data, &a, "express")`) {
		t.Errorf("the generated code does not let older jobs lack express:\n%s", code)
	}
	if _, err := m.run(gen.Config{Check: true}); err != nil {
		t.Errorf("--check after regenerating: %v", err)
	}
	// The optional mark stays: jobs without express may still be queued.
	m.write("p/other.go", "package p\n\n// Other touches the package.\nfunc Other() {}\n")
	if _, err := m.run(gen.Config{}); err != nil {
		t.Fatal(err)
	}
	if v3 := m.read("p/" + gen.LockFile); v3 != v2 {
		t.Errorf("the lock changed with an unrelated edit:\n%s", v3)
	}
}

// TestLockAcceptBreaking: a breaking change fails and writes nothing;
// with AcceptBreaking it passes with a warning, and the lock records the
// new shape as the one queued jobs hold.
func TestLockAcceptBreaking(t *testing.T) {
	m := newLockModule(t)
	m.write("p/p.go", lockV1)
	if _, err := m.run(gen.Config{}); err != nil {
		t.Fatal(err)
	}
	v1 := m.read("p/" + gen.LockFile)
	m.write("p/p.go", strings.Replace(lockV1, "userID int64", "customerID int64", 1))
	_, err := m.run(gen.Config{})
	var list gen.ErrorList
	if !errors.As(err, &list) || len(list) != 1 || !strings.Contains(list[0].Msg, "parameter userID is gone and customerID is new") {
		t.Fatalf("rename: %v; want the one error that says so", err)
	}
	if m.read("p/"+gen.LockFile) != v1 {
		t.Fatal("the lock changed despite the error")
	}
	res, err := m.run(gen.Config{AcceptBreaking: []string{"example.com/lock/p.Ship"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Msg, "accepted with --accept-breaking") {
		t.Errorf("warnings %v; want one that the break was accepted", res.Warnings)
	}
	if v2 := m.read("p/" + gen.LockFile); !strings.Contains(v2, `"customerID"`) || strings.Contains(v2, "userID") || strings.Contains(v2, "optional") {
		t.Errorf("lock after the accepted rename:\n%s", v2)
	}
	if _, err := m.run(gen.Config{Check: true}); err != nil {
		t.Errorf("--check after: %v", err)
	}
}

// TestLockGone: a package whose durable tasks are all gone keeps its lock
// (the removal is an error) until the user accepts it; the lock is then
// removed like an orphaned generated file, with futures_gen.go.
func TestLockGone(t *testing.T) {
	m := newLockModule(t)
	m.write("p/p.go", lockV1)
	if _, err := m.run(gen.Config{}); err != nil {
		t.Fatal(err)
	}
	m.write("p/p.go", "package p\n\nfunc Ship() {}\n")
	_, err := m.run(gen.Config{})
	var list gen.ErrorList
	if !errors.As(err, &list) || len(list) != 1 || !strings.Contains(list[0].Error(), gen.LockFile+":") || !strings.Contains(list[0].Msg, "is gone") {
		t.Fatalf("all durable tasks gone: %v; want an error at the lock's entry", err)
	}
	if _, err := m.run(gen.Config{AcceptBreaking: []string{"example.com/lock/p.Ship"}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{gen.LockFile, "futures_gen.go"} {
		if m.exists("p/" + name) {
			t.Errorf("%s is still there", name)
		}
	}
}

// TestLockMoved: a durable task moved to another package with its name
// kept (name=) is not gone: the old package's lock drops it, the new
// one's takes it on.
func TestLockMoved(t *testing.T) {
	m := newLockModule(t)
	m.write("a/a.go", "package a\n\nimport \"context\"\n\n//futures:task durable name=billing.charge\nfunc Charge(ctx context.Context, cents int64) error { return nil }\n\n//futures:task durable\nfunc Stay(ctx context.Context) error { return nil }\n")
	if _, err := m.run(gen.Config{}); err != nil {
		t.Fatal(err)
	}
	m.write("a/a.go", "package a\n\nimport \"context\"\n\n//futures:task durable\nfunc Stay(ctx context.Context) error { return nil }\n")
	m.write("b/b.go", "package b\n\nimport \"context\"\n\n//futures:task durable name=billing.charge\nfunc Charge(ctx context.Context, cents int64) error { return nil }\n")
	if _, err := m.run(gen.Config{}); err != nil {
		t.Fatalf("moved task: %v", err)
	}
	if a, b := m.read("a/"+gen.LockFile), m.read("b/"+gen.LockFile); strings.Contains(a, "billing.charge") || !strings.Contains(b, "billing.charge") {
		t.Errorf("locks after the move:\na: %s\nb: %s", a, b)
	}
}

// TestLockExcludedFile: the entry of a durable task in a file that the
// build constraints exclude stays as it is, as that file's generated code
// does, so that the lock is the same whatever the platform of the run.
func TestLockExcludedFile(t *testing.T) {
	m := newLockModule(t)
	m.write("p/p.go", lockV1)
	m.write("p/p_windows.go", "package p\n\nimport \"context\"\n\n//futures:task durable\nfunc Service(ctx context.Context, name string) error { return nil }\n")
	env := append(goEnv(), "GOOS=windows")
	if _, err := gen.Run(context.Background(), gen.Config{Dir: m.dir, Patterns: []string{"./..."}, Env: env}); err != nil {
		t.Fatal(err)
	}
	windows := m.read("p/" + gen.LockFile)
	if !strings.Contains(windows, "example.com/lock/p.Service") {
		t.Fatalf("the lock written under windows lacks Service:\n%s", windows)
	}
	if _, err := m.run(gen.Config{Check: true}); err != nil {
		t.Errorf("--check under linux after generating under windows: %v", err)
	}
}

func changeDiffs(res *gen.Result) string {
	if res == nil {
		return ""
	}
	var b strings.Builder
	for _, c := range res.Changes {
		b.WriteString(c.Diff)
	}
	return b.String()
}
