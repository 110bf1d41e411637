package gen_test

// The generator speed benchmark: futuresgen on a synthetic module next to
// the floor for loading types, `go list -export -deps` of the same packages.
//
//	go test -run '^$' -bench Generator -benchtime 5x -count 3 ./internal/gen
//
// BenchmarkGeneratorEdit is the cost after an edit, against the go list
// that the same edit costs:
//
//	go test -run '^$' -bench GeneratorEdit -benchtime 10x ./internal/gen
//
// Each op is one run of a command, with a warm build cache. The module is
// written once per process to a directory under os.TempDir() whose name
// depends on this repository's path, and reused by later runs: the go
// command's cache keys include a package's directory, so a fresh temporary
// directory would make every run a cold build.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	synthModule   = "example.com/synth"
	synthPackages = 200
	synthTaskEach = 5   // every fifth package has tasks: 40 of 200
	synthTasks    = 25  // tasks per task package
	synthVersion  = "1" // part of the directory's name: change it when files go away
	floorRuns     = 5   // the floor is the median of this many runs
)

// synthEnv are the settings of every command run in the synthetic module.
var synthEnv = []string{"GOFLAGS=-mod=mod", "GOWORK=off"}

type synth struct {
	dir   string // the module's root
	plain string // the same module without directives
	bin   string // the futuresgen binary
	floor cost   // medians of floorRuns runs of go list -export -deps ./...
	err   error
}

// cost is what one command took: wall time, and CPU time (user and system)
// of the process and the processes it waited for, such as go list and the
// compiler. CPU time says more than wall time on a busy machine.
type cost struct{ wall, cpu time.Duration }

var (
	synthOnce sync.Once
	synthMod  synth
)

func setupSynth(b *testing.B) *synth {
	b.Helper()
	synthOnce.Do(func() { synthMod.err = synthMod.setup() })
	if synthMod.err != nil {
		b.Fatal(synthMod.err)
	}
	return &synthMod
}

func (s *synth) setup() error {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return fmt.Errorf("repository root: %w", err)
	}
	sum := sha256.Sum256([]byte(root + "\x00" + synthVersion))
	base := filepath.Join(os.TempDir(), "futuresgen-bench-"+hex.EncodeToString(sum[:6]))
	s.dir = filepath.Join(base, "synth")
	s.plain = filepath.Join(base, "plain")
	s.bin = filepath.Join(base, "bin", "futuresgen")

	build := exec.Command("go", "build", "-o", s.bin, "./cmd/futuresgen")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building futuresgen: %v\n%s", err, out)
	}
	goSum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return err
	}
	files := synthFiles(root)
	files["go.sum"] = goSum
	for name, src := range files {
		if err := synthWrite(filepath.Join(s.dir, name), src); err != nil {
			return err
		}
	}
	for name, src := range files {
		if filepath.Base(name) == "tasks.go" || filepath.Base(name) == "service.go" {
			continue
		}
		if err := synthWrite(filepath.Join(s.plain, name), src); err != nil {
			return err
		}
	}

	// Warm up: generate the files (the first run may build export data for
	// every package), then time the floor.
	if _, err := s.futuresgen(); err != nil {
		return err
	}
	gens, err := s.generatedFiles()
	if err != nil {
		return err
	}
	if len(gens) != synthPackages/synthTaskEach {
		return fmt.Errorf("futuresgen wrote %d generated files, want %d", len(gens), synthPackages/synthTaskEach)
	}
	if _, err := s.goListExport(); err != nil {
		return err
	}
	var walls, cpus []time.Duration
	for range floorRuns {
		c, err := s.goListExport()
		if err != nil {
			return err
		}
		walls, cpus = append(walls, c.wall), append(cpus, c.cpu)
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	s.floor = cost{walls[len(walls)/2], cpus[len(cpus)/2]}
	return nil
}

func synthWrite(path string, src []byte) error {
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, src) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, src, 0o644)
}

// run runs a command in the synthetic module.
func (s *synth) run(name string, args ...string) (cost, error) {
	return s.runWith(nil, name, args...)
}

// runWith runs a command in the synthetic module with env added to its
// environment.
func (s *synth) runWith(env []string, name string, args ...string) (cost, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.dir
	cmd.Env = append(append(os.Environ(), synthEnv...), env...)
	var out bytes.Buffer
	cmd.Stderr = &out
	if name != "go" { // go list's package list is discarded
		cmd.Stdout = &out
	}
	start := time.Now()
	err := cmd.Run()
	c := cost{wall: time.Since(start)}
	if cmd.ProcessState != nil {
		c.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		tail := out.String()
		if len(tail) > 4000 {
			tail = tail[:4000] + "\n…"
		}
		return c, fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, tail)
	}
	return c, nil
}

func (s *synth) goListExport() (cost, error) {
	return s.run("go", "list", "-export", "-deps", "./...")
}

func (s *synth) futuresgen(args ...string) (cost, error) {
	return s.run(s.bin, append(args, "./...")...)
}

func (s *synth) generatedFiles() ([]string, error) {
	return filepath.Glob(filepath.Join(s.dir, "p*", "futures_gen.go"))
}

func (s *synth) removeGenerated() error {
	gens, err := s.generatedFiles()
	if err != nil {
		return err
	}
	for _, g := range gens {
		if err := os.Remove(g); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkGenerator times futuresgen on a module of 200 packages, 40 of
// them with 25 tasks each, next to `go list -export -deps ./...` of the
// same module: the floor for loading types. The target is at most 1.5× the
// floor in wall time (x-floor); cpu-ms/op and x-floor-cpu are the same in
// CPU time, which a busy machine disturbs less.
func BenchmarkGenerator(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 200-package module; skipped with -short")
	}
	s := setupSynth(b)
	b.Logf("module %s; floor (median of %d runs of go list -export -deps ./...): %v wall, %v CPU",
		s.dir, floorRuns, s.floor.wall.Round(time.Millisecond), s.floor.cpu.Round(time.Millisecond))

	// bench runs warm once, then op b.N times, and reports what the
	// commands that op ran cost.
	bench := func(b *testing.B, warm, op func() (cost, error)) {
		if _, err := warm(); err != nil {
			b.Fatal(err)
		}
		var total cost
		b.ResetTimer()
		for range b.N {
			c, err := op()
			if err != nil {
				b.Fatal(err)
			}
			total.wall += c.wall
			total.cpu += c.cpu
		}
		b.StopTimer()
		wall, cpu := total.wall/time.Duration(b.N), total.cpu/time.Duration(b.N)
		b.ReportMetric(float64(wall)/float64(time.Millisecond), "ms/op")
		b.ReportMetric(float64(wall)/float64(s.floor.wall), "x-floor")
		b.ReportMetric(float64(cpu)/float64(time.Millisecond), "cpu-ms/op")
		b.ReportMetric(float64(cpu)/float64(s.floor.cpu), "x-floor-cpu")
	}
	generate := func() (cost, error) { return s.futuresgen() }

	b.Run("floor", func(b *testing.B) {
		bench(b, s.goListExport, s.goListExport)
	})
	b.Run("generate", func(b *testing.B) {
		op := func() (cost, error) {
			b.StopTimer()
			err := s.removeGenerated()
			b.StartTimer()
			if err != nil {
				return cost{}, err
			}
			c, err := s.futuresgen()
			if err != nil {
				return c, err
			}
			if gens, err := s.generatedFiles(); err != nil || len(gens) != synthPackages/synthTaskEach {
				return c, fmt.Errorf("futuresgen ./... left %d generated files (%v), want %d", len(gens), err, synthPackages/synthTaskEach)
			}
			return c, nil
		}
		bench(b, op, op)
	})
	b.Run("generate-cold", func(b *testing.B) {
		// A first run: the generated files deleted and futuresgen's own
		// cache empty, so every candidate is type-checked and emitted.
		op := func() (cost, error) {
			b.StopTimer()
			err := s.removeGenerated()
			cache := filepath.Join(b.TempDir(), "cache")
			b.StartTimer()
			if err != nil {
				return cost{}, err
			}
			return s.runWith([]string{"FUTURESGEN_CACHE=" + cache}, s.bin, "./...")
		}
		bench(b, op, op)
	})
	b.Run("check", func(b *testing.B) {
		// Warm up with a plain run, which also makes the files fresh.
		bench(b, generate, func() (cost, error) { return s.futuresgen("--check") })
	})
	b.Run("rerun", func(b *testing.B) {
		var gen0 string
		var before time.Time
		warm := func() (cost, error) {
			c, err := s.futuresgen()
			if err != nil {
				return c, err
			}
			gens, err := s.generatedFiles()
			if err != nil || len(gens) == 0 {
				return c, fmt.Errorf("no generated files (%v)", err)
			}
			gen0 = gens[0]
			fi, err := os.Stat(gen0)
			if err != nil {
				return c, err
			}
			before = fi.ModTime()
			return c, nil
		}
		bench(b, warm, generate)
		fi, err := os.Stat(gen0)
		if err != nil {
			b.Fatal(err)
		}
		if !fi.ModTime().Equal(before) {
			b.Errorf("a rerun with nothing changed rewrote %s", gen0)
		}
	})
}

// BenchmarkGeneratorEdit times futuresgen right after an edit that adds a
// function to p000, which every package of the module imports, directly
// or not: the cost a developer pays on each go generate. Each op edits and
// runs futuresgen, then edits and runs the floor, in alternating order,
// with warm caches:
//
//   - no-directives: the module without directives, against go list -deps
//     ./..., which the edit leaves as cheap as ever; a generator that asks
//     for export data pays a build of p000 and what imports it.
//   - directives: the module with its 40 task packages, against go list
//     -export -deps of those 40 packages, the floor for their types.
//
// x-floor is the ratio of the two wall times (x-floor-cpu of the CPU
// times); the target is at most 1.5 in both cases.
func BenchmarkGeneratorEdit(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 200-package module; skipped with -short")
	}
	s := setupSynth(b)
	edits := 0
	model := func(dir string) string { return filepath.Join(dir, "p000", "model.go") }
	for _, dir := range []string{s.dir, s.plain} {
		orig, err := os.ReadFile(model(dir))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.WriteFile(model(dir), orig, 0o644) })
	}
	// edit adds an exported function to p000, which changes its export
	// data, as adding an API does. The function returns a number of this
	// process, so that no run of the benchmark finds the build of an
	// earlier one's edit in the go command's cache.
	stamp := time.Now().UnixNano()
	edit := func(dir string) error {
		edits++
		f, err := os.OpenFile(model(dir), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		fmt.Fprintf(f, "\n// Edit%d is an edit of the benchmark.\nfunc Edit%d() int64 { return %d }\n", edits, edits, stamp)
		return f.Close()
	}
	var candidates []string
	for i := 0; i < synthPackages; i += synthTaskEach {
		candidates = append(candidates, fmt.Sprintf("%s/p%03d", synthModule, i))
	}

	bench := func(b *testing.B, dir string, gen, floor func() (cost, error)) {
		run := func(op func() (cost, error)) (cost, error) {
			if err := edit(dir); err != nil {
				return cost{}, err
			}
			return op()
		}
		// Warm up: the caches after one edit of each.
		for _, op := range []func() (cost, error){gen, floor} {
			if _, err := run(op); err != nil {
				b.Fatal(err)
			}
		}
		var g, f cost
		b.ResetTimer()
		for i := range b.N {
			ops := []*cost{&g, &f}
			fns := []func() (cost, error){gen, floor}
			if i%2 == 1 {
				ops[0], ops[1], fns[0], fns[1] = ops[1], ops[0], fns[1], fns[0]
			}
			for j := range fns {
				c, err := run(fns[j])
				if err != nil {
					b.Fatal(err)
				}
				ops[j].wall += c.wall
				ops[j].cpu += c.cpu
			}
		}
		b.StopTimer()
		n := time.Duration(b.N)
		b.ReportMetric(float64(g.wall/n)/float64(time.Millisecond), "gen-ms/op")
		b.ReportMetric(float64(f.wall/n)/float64(time.Millisecond), "floor-ms/op")
		b.ReportMetric(float64(g.wall)/float64(f.wall), "x-floor")
		b.ReportMetric(float64(g.cpu)/float64(f.cpu), "x-floor-cpu")
	}
	b.Run("no-directives", func(b *testing.B) {
		plain := &synth{dir: s.plain}
		bench(b, s.plain,
			func() (cost, error) { return plain.run(s.bin, "./...") },
			func() (cost, error) { return plain.run("go", "list", "-deps", "./...") })
	})
	b.Run("directives", func(b *testing.B) {
		bench(b, s.dir,
			func() (cost, error) { return s.run(s.bin, "./...") },
			func() (cost, error) {
				return s.run("go", append([]string{"list", "-export", "-deps"}, candidates...)...)
			})
	})
}

// synthFiles returns the synthetic module's files, by path relative to its
// root (go.sum aside). Package i imports i-1 and i-7, task packages
// included: a task package's own code calls its wrappers, so while they
// are missing it does not compile, and neither does anything above it.
func synthFiles(root string) map[string][]byte {
	files := map[string][]byte{
		"go.mod": fmt.Appendf(nil, "module %s\n\ngo 1.26.8\n\nrequire github.com/gofutures/futures v0.0.0\n\nreplace github.com/gofutures/futures => %s\n", synthModule, root),
	}
	isTasks := func(i int) bool { return i%synthTaskEach == 0 }
	for i := range synthPackages {
		var deps []int
		for _, d := range []int{i - 1, i - 7} {
			if d >= 0 {
				deps = append(deps, d)
			}
		}
		name := fmt.Sprintf("p%03d", i)
		files[name+"/model.go"] = synthModelFile(name, deps)
		if isTasks(i) {
			files[name+"/service.go"] = synthServiceFile(name)
			files[name+"/tasks.go"] = synthTasksFile(name)
		}
	}
	return files
}

func synthImports(w *bytes.Buffer, deps []int) {
	std := []string{"context", "encoding/json", "fmt", "net/http", "strings", "time"}
	w.WriteString("import (\n")
	for _, p := range std {
		fmt.Fprintf(w, "\t%q\n", p)
	}
	if len(deps) > 0 {
		w.WriteString("\n")
		for _, d := range deps {
			fmt.Fprintf(w, "\t\"%s/p%03d\"\n", synthModule, d)
		}
	}
	w.WriteString(")\n\n")
}

// synthModelFile is the ordinary code every package has: a few types and
// functions that use the standard library and the package's imports.
func synthModelFile(name string, deps []int) []byte {
	var w bytes.Buffer
	fmt.Fprintf(&w, "// Package %s is synthetic code for BenchmarkGenerator.\npackage %s\n\n", name, name)
	synthImports(&w, deps)
	w.WriteString(`// Record is what the package stores.
type Record struct {
	ID      string            ` + "`json:\"id\"`" + `
	Name    string            ` + "`json:\"name\"`" + `
	Tags    []string          ` + "`json:\"tags,omitempty\"`" + `
	Counts  map[string]int    ` + "`json:\"counts,omitempty\"`" + `
	Created time.Time         ` + "`json:\"created\"`" + `
	TTL     time.Duration     ` + "`json:\"ttl\"`" + `
}

// Store keeps records in memory.
type Store struct {
	records map[string]Record
	client  *http.Client
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{records: map[string]Record{}, client: &http.Client{Timeout: 10 * time.Second}}
}

// Put stores r under its normalized ID.
func (s *Store) Put(ctx context.Context, r Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.ID = Normalize(r.ID)
	if r.ID == "" {
		return fmt.Errorf("put %q: empty id", r.Name)
	}
	s.records[r.ID] = r
	return nil
}

// Get returns the record with the given ID.
func (s *Store) Get(ctx context.Context, id string) (Record, bool) {
	r, ok := s.records[Normalize(id)]
	return r, ok && ctx.Err() == nil
}

// Normalize trims and lowercases an identifier.
func Normalize(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

// Encode returns r as JSON.
func Encode(r Record) ([]byte, error) { return json.Marshal(r) }

// Describe summarises r for logs.
func Describe(r Record) string {
	parts := []string{r.ID, r.Name}
`)
	for _, d := range deps {
		fmt.Fprintf(&w, "\tparts = append(parts, p%03d.Normalize(r.Name))\n", d)
	}
	w.WriteString(`	return fmt.Sprintf("%s (%d tags, age %v)", strings.Join(parts, "/"), len(r.Tags), time.Since(r.Created).Round(time.Second))
}

// Handler serves the store's records as JSON.
func Handler(s *Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r, ok := s.Get(req.Context(), req.PathValue("id"))
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(r)
	})
}
`)
	return w.Bytes()
}

// The five kinds of task, by k%5 for task k of a package.
const (
	synthKindNotify  = iota // retries=3 timeout=30s, plain arguments, error
	synthKindPersist        // durable, a JSON-friendly struct, error
	synthKindSweep          // every=1h, context only
	synthKindFetch          // a method of *Service, (R, error)
	synthKindScore          // delay=10s, no context, R
)

func synthTaskName(k int) string {
	return fmt.Sprintf("%s%02d", []string{"Notify", "Persist", "Sweep", "Fetch", "Score"}[k%5], k)
}

// synthServiceFile holds code that calls the wrappers before they exist.
func synthServiceFile(name string) []byte {
	var w bytes.Buffer
	fmt.Fprintf(&w, "package %s\n\n", name)
	w.WriteString(`import (
	"context"
	"net/http"
	"time"
)

// Order is a durable task's argument: JSON all the way down.
type Order struct {
	ID       string            ` + "`json:\"id\"`" + `
	Customer string            ` + "`json:\"customer\"`" + `
	Lines    []OrderLine       ` + "`json:\"lines\"`" + `
	Meta     map[string]string ` + "`json:\"meta,omitempty\"`" + `
	Placed   time.Time         ` + "`json:\"placed\"`" + `
}

// OrderLine is one line of an Order.
type OrderLine struct {
	SKU      string  ` + "`json:\"sku\"`" + `
	Quantity int     ` + "`json:\"quantity\"`" + `
	Price    float64 ` + "`json:\"price\"`" + `
}

// Service holds the dependencies of the method tasks.
type Service struct {
	Store  *Store
	Client *http.Client
}

// Kick starts some of the package's tasks through their generated wrappers.
func Kick(ctx context.Context, s *Service, o Order) {
`)
	for k := range synthTasks {
		switch n := synthTaskName(k); k % 5 {
		case synthKindNotify:
			fmt.Fprintf(&w, "\t%sLater(ctx, o.Customer, \"order placed\")\n", n)
		case synthKindPersist:
			fmt.Fprintf(&w, "\t%sAsync(ctx, o)\n", n)
		case synthKindSweep:
			if k < 5 {
				fmt.Fprintf(&w, "\t%sAsync(ctx)\n", n)
			}
		case synthKindFetch:
			fmt.Fprintf(&w, "\ts.%sLater(ctx, o.ID)\n", n)
		case synthKindScore:
			if k < 10 {
				fmt.Fprintf(&w, "\t_ = %sAsync(ctx, len(o.Lines), %d)\n", n, k)
			}
		}
	}
	w.WriteString("}\n")
	return w.Bytes()
}

// synthTasksFile holds the annotated functions.
func synthTasksFile(name string) []byte {
	var w bytes.Buffer
	fmt.Fprintf(&w, "package %s\n\n", name)
	w.WriteString(`import (
	"context"
	"fmt"
	"strings"
	"time"
)

`)
	for k := range synthTasks {
		switch n := synthTaskName(k); k % 5 {
		case synthKindNotify:
			fmt.Fprintf(&w, `// %s tells a customer something.
//
//futures:task retries=3 timeout=30s
func %s(ctx context.Context, to string, msg string) error {
	if to == "" {
		return fmt.Errorf("%s: no recipient for %%q", msg)
	}
	return ctx.Err()
}

`, n, n, n)
		case synthKindPersist:
			fmt.Fprintf(&w, `// %s writes an order through on any worker.
//
//futures:task durable retries=5 backoff=2s queue=orders
func %s(ctx context.Context, o Order) error {
	if len(o.Lines) == 0 {
		return fmt.Errorf("order %%s has no lines", o.ID)
	}
	return ctx.Err()
}

`, n, n)
		case synthKindSweep:
			fmt.Fprintf(&w, `// %s clears old records every hour.
//
//futures:task every=1h timeout=5m
func %s(ctx context.Context) error {
	deadline := time.Now().Add(-24 * time.Hour)
	_ = deadline
	return ctx.Err()
}

`, n, n)
		case synthKindFetch:
			fmt.Fprintf(&w, `// %s loads a record for the service.
//
//futures:task timeout=5s
func (s *Service) %s(ctx context.Context, id string) (Record, error) {
	r, ok := s.Store.Get(ctx, id)
	if !ok {
		return Record{}, fmt.Errorf("%%s: not found", strings.TrimSpace(id))
	}
	return r, nil
}

`, n, n)
		case synthKindScore:
			fmt.Fprintf(&w, `// %s computes a score later.
//
//futures:task delay=10s name=%s.score%d
func %s(a, b int) int {
	return a*%d + b
}

`, n, name, k, n, k+1)
		}
	}
	return w.Bytes()
}
