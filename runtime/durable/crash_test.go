package durable_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/durable/internal/pgtest"
	"github.com/gofutures/futures/runtime/taskloop"
)

// rescued is what River's rescuer records on a job it found running with
// no live worker (river internal/maintenance/job_rescuer.go).
const rescued = "Stuck job rescued by JobRescuer"

// crashed leaves job id as a worker killed while running it would: running,
// its attempt counted, attempted an hour ago by a worker that is gone,
// with history as the errors recorded before that run, as River records
// them (failed attempts of the task, or rescues). Only River's rescuer can
// bring it back.
func crashed(t *testing.T, db *pgtest.DB, id int64, history ...string) {
	t.Helper()
	errs := make([]string, len(history))
	for i, msg := range history {
		b, err := json.Marshal(rivertype.AttemptError{At: time.Now().Add(-2 * time.Hour), Attempt: i + 1, Error: msg})
		if err != nil {
			t.Fatal(err)
		}
		errs[i] = string(b)
	}
	db.Exec(`UPDATE `+db.Table("river_job")+` SET state = 'running', attempt = $2,
		attempted_at = now() - interval '1 hour', attempted_by = ARRAY['a-dead-worker'], errors = $3::jsonb[]
		WHERE id = $1`, id, len(history)+1, errs)
}

// TestCrashIsNotAnAttempt: a job whose worker died, brought back by River's
// real rescuer, runs again whatever the task's retries, 0 included; the
// task still gets exactly Retries+1 attempts of its own, waits between them
// as if no crash had happened, and a job whose workers died more than
// MaxRescues times is given up without running, visibly.
func TestCrashIsNotAnAttempt(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	errFail := errors.New("failing on purpose")

	var mu sync.Mutex
	ran := map[string]int{}
	def := func(name string, spec taskloop.Spec, err error) taskloop.Definition {
		spec.Name = "durabletest." + name
		spec.Durable = true
		return taskloop.Definition{Spec: spec, RunJSON: func(context.Context, []byte) error {
			mu.Lock()
			ran[name]++
			mu.Unlock()
			return err
		}}
	}
	defs := map[string]taskloop.Definition{}
	for _, d := range []taskloop.Definition{
		def("once", taskloop.Spec{}, nil),
		def("failing", taskloop.Spec{}, errFail),
		def("retries", taskloop.Spec{Retries: 2, Backoff: 10 * time.Millisecond}, errFail),
		// River's default policy waits (errors+1)^4 seconds: 1s after a
		// first failure, 81s if the two crashes counted.
		def("defaultbackoff", taskloop.Spec{Retries: 1}, errFail),
		def("withinbudget", taskloop.Spec{}, nil),
		def("poison", taskloop.Spec{Retries: 3}, nil),
		// A task error that reads like the rescuer's is the task's.
		def("mimic", taskloop.Spec{Retries: 1, Backoff: 10 * time.Millisecond}, errors.New(rescued)),
	} {
		defs[strings.TrimPrefix(d.Spec.Name, "durabletest.")] = d
	}

	// Jobs are inserted as Enqueue inserts them, by a process that does not
	// work them, and then left as crashed workers leave them.
	ins := durable.New(db.Pool, durable.Options{Schema: db.Schema, InsertOnly: true, Logger: quiet})
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	if err := ins.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for name, d := range defs {
		r, err := ins.Enqueue(ctx, d.Spec, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = r.JobID
	}
	if err := ins.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	crashed(t, db, ids["once"])
	crashed(t, db, ids["failing"])
	crashed(t, db, ids["retries"], errFail.Error())
	crashed(t, db, ids["defaultbackoff"], rescued)
	crashed(t, db, ids["withinbudget"], rescued)
	crashed(t, db, ids["poison"], rescued, rescued)
	crashed(t, db, ids["mimic"])

	logs := &testkit.SyncBuffer{}
	const maxRescues = 2
	all := make([]taskloop.Definition, 0, len(defs))
	for _, d := range defs {
		all = append(all, d)
	}
	w := startWorker(t, db, durable.Options{
		MaxRescues:           maxRescues,
		RescueStuckJobsAfter: time.Second,
		Logger:               slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, all...)

	for _, c := range []struct {
		name    string
		state   rivertype.JobState
		ran     int      // runs of the task in this process
		history []string // the job's recorded errors, in order
	}{
		{"once", rivertype.JobStateCompleted, 1, []string{rescued}},
		{"failing", rivertype.JobStateDiscarded, 1, []string{rescued, errFail.Error()}},
		{"retries", rivertype.JobStateDiscarded, 2, []string{errFail.Error(), rescued, errFail.Error(), errFail.Error()}},
		{"defaultbackoff", rivertype.JobStateDiscarded, 2, []string{rescued, rescued, errFail.Error(), errFail.Error()}},
		{"withinbudget", rivertype.JobStateCompleted, 1, []string{rescued, rescued}},
		{"poison", rivertype.JobStateDiscarded, 0, []string{rescued, rescued, rescued, durable.ErrTooManyCrashes.Error()}},
		{"mimic", rivertype.JobStateDiscarded, 2, []string{rescued, "durabletest.mimic: " + rescued, "durabletest.mimic: " + rescued}},
	} {
		row := w.waitJob(t, ids[c.name], c.state)
		mu.Lock()
		n := ran[c.name]
		mu.Unlock()
		var got []string
		for _, e := range row.Errors {
			got = append(got, e.Error)
		}
		t.Logf("%s: %s after %d runs here, attempt %d of %d, errors %q", c.name, row.State, n, row.Attempt, row.MaxAttempts, got)
		if n != c.ran {
			t.Errorf("%s: the task ran %d times, want %d", c.name, n, c.ran)
		}
		if len(got) != len(c.history) {
			t.Errorf("%s: errors %q, want %q", c.name, got, c.history)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], c.history[i]) {
				t.Errorf("%s: error %d is %q, want it to contain %q", c.name, i+1, got[i], c.history[i])
			}
		}
	}

	if s := w.Backend.Stats(); s.RunsAfterCrash != 6 || s.GivenUp != 1 {
		t.Errorf("Stats %+v, want 6 runs after a crash and 1 job given up", s)
	}
	log := logs.String()
	if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "job given up") || !strings.Contains(log, "task=durabletest.poison") {
		t.Errorf("no Error-level log line for the job given up:\n%s", log)
	}
	if got := strings.Count(log, "running a job again after its worker died"); got != 6 {
		t.Errorf("%d Warn-level log lines for jobs run again after a crash, want 6:\n%s", got, log)
	}
}
