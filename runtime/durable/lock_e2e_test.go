package durable_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gofutures/futures/runtime/durable/internal/pgtest"
)

// TestLockEndToEnd: jobs enqueued by a program whose durable task has the
// old arguments, on PostgreSQL, are worked by the program generated again
// after a compatible change (parameters reordered, one added, a field
// added to an argument struct): futuresgen accepts the change and marks
// the new parameter optional, and every old job runs with its zero value.
// A rename after that is refused at generate time, naming the parameter.
func TestLockEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds a program three times")
	}
	db := pgtest.New(t)
	db.Exec("CREATE TABLE " + db.Table("shipped") + " (user_id bigint, items text, note text, express bool)")
	dir := t.TempDir()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	here, _ := filepath.Abs(".")
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/locke2e\n\ngo 1.26.0\n\nrequire (\n\tgithub.com/gofutures/futures v0.0.0\n\tgithub.com/gofutures/futures/runtime/durable v0.0.0\n)\n\n"+
		"replace github.com/gofutures/futures => "+filepath.ToSlash(root)+"\n\nreplace github.com/gofutures/futures/runtime/durable => "+filepath.ToSlash(here)+"\n")
	write("go.sum", string(mergeSums(t, filepath.Join(root, "go.sum"), filepath.Join(here, "go.sum"))))
	write("main.go", lockE2EMain)
	goRun := func(wantOK bool, args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if (err == nil) != wantOK {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	futuresgen := func(wantOK bool) string {
		t.Helper()
		return goRun(wantOK, "run", "github.com/gofutures/futures/cmd/futuresgen", ".")
	}
	program := []string{"run", ".", "-database-url", db.URL, "-schema", db.Schema}

	// Version 1 stores 20 jobs; no worker runs.
	write("tasks.go", lockE2EV1)
	futuresgen(true)
	goRun(true, append(program, "-insert", "20")...)
	if n := db.Int("SELECT count(*) FROM " + db.Table("river_job") + " WHERE state = 'available'"); n != 20 {
		t.Fatalf("%d jobs stored; want 20", n)
	}

	// Version 2, a compatible change, works them.
	write("tasks.go", lockE2EV2)
	futuresgen(true)
	lock, err := os.ReadFile(filepath.Join(dir, "futures.lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(lock, []byte(`{"key":"express","type":"bool","optional":true}`)) {
		t.Errorf("the lock does not mark express optional:\n%s", lock)
	}
	goRun(true, append(program, "-work", "20")...)
	if n := db.Int("SELECT count(*) FROM " + db.Table("river_job") + " WHERE state = 'completed'"); n != 20 {
		t.Errorf("%d of 20 old jobs completed", n)
	}
	if n := db.Int("SELECT count(*) FROM " + db.Table("shipped") + " WHERE items = 'a,b' AND note = '' AND NOT express"); n != 20 {
		t.Errorf("%d of 20 old jobs ran with their arguments and the zero value of what they lack", n)
	}

	// Version 3 renames a parameter: refused, saying which and why.
	write("tasks.go", strings.ReplaceAll(lockE2EV2, "userID", "customerID"))
	out := futuresgen(false)
	for _, want := range []string{"parameter userID is gone and customerID is new", "--accept-breaking=example.com/locke2e.Ship"} {
		if !strings.Contains(out, want) {
			t.Errorf("futuresgen's refusal lacks %q:\n%s", want, out)
		}
	}
}

// mergeSums joins go.sum files, without repeats.
func mergeSums(t *testing.T, paths ...string) []byte {
	t.Helper()
	var lines []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(data), "\n") {
			if line != "" && !slices.Contains(lines, line) {
				lines = append(lines, line)
			}
		}
	}
	slices.Sort(lines)
	return []byte(strings.Join(lines, "\n") + "\n")
}

const lockE2EV1 = `package main

import (
	"context"
	"strings"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

type Order struct {
	Items []string ` + "`json:\"items\"`" + `
}

//futures:task durable
func Ship(ctx context.Context, userID int64, order Order) error {
	return record(ctx, userID, strings.Join(order.Items, ","), "", false)
}

func shipOld(ctx context.Context, id int64) *future.Future[taskloop.Receipt] {
	return ShipAsync(ctx, id, Order{Items: []string{"a", "b"}})
}
`

const lockE2EV2 = `package main

import (
	"context"
	"strings"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

type Order struct {
	Items []string ` + "`json:\"items\"`" + `
	Note  string   ` + "`json:\"note\"`" + `
}

//futures:task durable
func Ship(ctx context.Context, order Order, userID int64, express bool) error {
	return record(ctx, userID, strings.Join(order.Items, ","), order.Note, express)
}

func shipOld(ctx context.Context, id int64) *future.Future[taskloop.Receipt] {
	return ShipAsync(ctx, Order{Items: []string{"a", "b"}}, id, false)
}
`

// lockE2EMain stores jobs of Ship (-insert N), or works them until N are
// completed (-work N). The version 1 and 2 files declare Ship.
const lockE2EMain = `package main

import (
	"context"
	"flag"
	"log"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/taskloop"
)

var pool *pgxpool.Pool
var schema string

func record(ctx context.Context, userID int64, items, note string, express bool) error {
	_, err := pool.Exec(ctx, "INSERT INTO "+schema+".shipped VALUES ($1, $2, $3, $4)", userID, items, note, express)
	return err
}

func main() {
	url := flag.String("database-url", "", "")
	flag.StringVar(&schema, "schema", "", "")
	insert := flag.Int("insert", 0, "")
	work := flag.Int("work", 0, "")
	flag.Parse()
	ctx := context.Background()
	var err error
	if pool, err = pgxpool.New(ctx, *url); err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	backend := durable.New(pool, durable.Options{Schema: schema, InsertOnly: *work == 0, FetchPollInterval: 50 * time.Millisecond})
	loop := taskloop.New(taskloop.Options{Backend: backend})
	if err := RegisterTasks(loop); err != nil {
		log.Fatal(err)
	}
	if err := loop.Start(ctx); err != nil {
		log.Fatal(err)
	}
	lctx := taskloop.WithLoop(ctx, loop)
	for i := range *insert {
		if _, err := shipOld(lctx, int64(i+1)).Await(ctx); err != nil {
			log.Fatal(err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); *work > 0; time.Sleep(50 * time.Millisecond) {
		var done int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".river_job WHERE state IN ('completed', 'cancelled', 'discarded')").Scan(&done); err != nil {
			log.Fatal(err)
		}
		if done >= *work || time.Now().After(deadline) {
			break
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := loop.Shutdown(sctx); err != nil {
		log.Fatal(err)
	}
}
`
