// Package durable runs durable tasks on River (github.com/riverqueue/river)
// over PostgreSQL: a taskloop.Backend, so that tasks marked
// //futures:task durable survive the death of the process that started
// them and spread over every process that works the same database.
//
//	pool, _ := pgxpool.New(ctx, databaseURL)
//	if err := durable.Migrate(ctx, pool, ""); err != nil { … }
//	backend := durable.New(pool, durable.Options{})
//	loop := taskloop.New(taskloop.Options{Backend: backend})
//	signup.RegisterTasks(loop) // durable tasks go to River, the rest stay here
//	loop.Start(ctx)            // starts River's client too
//	…
//	loop.Shutdown(ctx)         // drains the loop, then stops River gracefully
//
// With the backend in place, generated XxxAsync and XxxLater functions of
// durable tasks insert a River job (kind: the task's name; arguments: its
// parameters as JSON) instead of running the task, and their futures
// resolve once the insert has committed, with the job's ID. A context
// carrying a transaction (WithTx) makes the insert part of it: the job
// exists if and only if the transaction commits. Any number of processes,
// on any number of machines, work the jobs of the tasks they registered.
//
// # What durable means for the task's author
//
// Each job runs at least once, whatever its options: a worker that dies
// mid-job (a crash, kill -9, a lost machine) leaves the job running in the
// database until River's rescuer notices (RescueStuckJobsAfter, an hour by
// default), and the job then runs again. The crash is not one of the
// task's own attempts: a task with Retries 0 whose worker died runs again
// all the same. A job whose workers die running it more than
// Options.MaxRescues times (a poison job, say, that crashes every process
// that runs it) is given up: discarded, with an error saying so, logged
// and counted in Stats. A durable task must therefore be idempotent:
// running it twice for the same arguments must do no more harm than once
// (an email keyed by a message ID, an upsert rather than an insert).
//
// # Options that map to River
//
// Spec.Retries+1 is how many of the task's own attempts the job gets: a
// failure (an error, a panic, its timeout) uses one, a crash does not.
// River's MaxAttempts, which counts both, is Retries+MaxRescues+2, room for
// every crash the budget allows; the worker counts the task's own
// failures in the job's recorded errors and has River discard the job
// when they are used up. The wait before a retry is counted in own
// failures too: Spec.Backoff, when set, gives the same capped exponential
// backoff with jitter as the task loop's, and River's default policy
// otherwise; after a crash, a job runs again at once, in its place in the
// queue. Spec.Timeout is the
// job's timeout (when zero, not River's one-minute default but
// Options.RescueStuckJobsAfter, an hour by default: River never rescues a
// job without a timeout after a crash); Spec.Delay schedules the job that much later; Spec.Queue names its River
// queue ("default" when empty); Spec.Every makes the task a River periodic
// job, inserted by the cluster's elected leader only, so it runs once per
// interval across all processes, and Spec.Cron likewise, once per tick of
// its schedule. An error marked taskloop.Permanent cancels the job instead
// of retrying it, as does arguments that no longer match the task's
// parameters (taskloop.ErrArgs).
//
// Spec.Unique is River's UniqueOpts: a duplicate is not inserted, and its
// Receipt has Duplicate set and the ID of the job already there.
// Spec.Priority is the job's priority (1, the first, to 4). Spec.Limit is
// how many of the task's jobs each worker process runs at once: a job
// fetched beyond that is snoozed for Options.LimitWait (which River does
// not count as an attempt), to be fetched again by whichever process has
// room; open-source River has no limit across processes. A worker process
// creates the queue of every task it registers, worked with
// Options.MaxWorkers jobs at once or the count Options.Queues gives it.
//
// # Every worker process registers every durable task
//
// A process works only the jobs of the tasks it registered; the others stay
// in the queue for the processes that did. But any process that works jobs
// may be elected River's leader, and the leader alone inserts periodic jobs
// (only those it registered) and rescues stuck jobs (discarding those of
// tasks it does not know). So every process that works jobs should register
// every durable task of the application, as calling each package's
// RegisterTasks does; a process that registers fewer should only insert
// (Options.InsertOnly), which keeps it out of the election.
package durable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/gofutures/futures/runtime/taskloop"
)

// ErrNotStarted is the error of enqueueing before the backend has started.
var ErrNotStarted = errors.New("durable: backend not started (start the task loop that holds it, or call Start)")

// ErrTooManyCrashes is wrapped by the error recorded on a job that was
// given up because its workers died running it more than
// Options.MaxRescues times (see Options.MaxRescues).
var ErrTooManyCrashes = errors.New("durable: job given up: its workers died running it more often than Options.MaxRescues allows")

// Options configure a Backend. The zero value gives the defaults stated on
// each field.
type Options struct {
	// Schema is the PostgreSQL schema of River's tables. Default: none, so
	// that PostgreSQL's search_path decides (usually public).
	Schema string
	// MaxWorkers is how many jobs of each queue this process works at once,
	// for the queues that Queues does not name. Default: 50.
	MaxWorkers int
	// Queues sets how many jobs of the named queues (a task's queue=, or
	// "default") this process works at once, in place of MaxWorkers. A
	// worker process creates every queue of the tasks it registered, and
	// those named here.
	Queues map[string]int
	// LimitWait is how long a job of a task with a limit (Spec.Limit) waits
	// before it is fetched again when this process already runs that many:
	// it is snoozed, which River does not count as an attempt. Default:
	// 1 second, with jitter.
	LimitWait time.Duration
	// InsertOnly makes this process insert jobs but not work them, as a web
	// server that leaves the work to worker processes.
	InsertOnly bool
	// RescueStuckJobsAfter is how long a job may stay running before River
	// assumes its worker died and runs it again: the longest a crash delays
	// a job. Default: 1 hour, as River's. A task with a longer Timeout is
	// rescued only once its timeout has passed; a task with no Timeout gets
	// this as its timeout, so that River can rescue it (River never rescues
	// a job without one).
	RescueStuckJobsAfter time.Duration
	// FetchPollInterval is how often workers look for jobs when no insert
	// notification woke them. Default: River's, 1 second. Below River's
	// fetch cooldown (100ms) it lowers the cooldown too.
	FetchPollInterval time.Duration
	// MaxBackoff caps the wait between attempts of tasks with a Backoff.
	// Default: 1 minute, as the task loop's.
	MaxBackoff time.Duration
	// MaxRescues is how many times a job runs again after its worker died
	// running it (or ran it past its timeout and the rescue window), on top
	// of the task's own attempts. When a job's workers have died once more
	// than that, the job is given up: discarded without running the task,
	// with an error wrapping ErrTooManyCrashes in the job's errors, logged
	// at Error level and counted in Stats.GivenUp. This bounds a poison job
	// that kills every worker that runs it; each of its crashes costs at
	// least RescueStuckJobsAfter. Jobs are inserted with MaxAttempts
	// Retries+MaxRescues+2, so a worker that works with a larger
	// MaxRescues than the inserting process had leaves the excess to
	// River's rescuer, which discards the job once its attempts reach that
	// bound. Default: 10.
	MaxRescues int
	// Logger receives River's logs. Default: slog.Default().
	Logger *slog.Logger
	// Middleware is River middleware (river.Config.Middleware) around
	// every insert and every job worked, first outermost: for tracing,
	// runtime/telemetry/durabletel's, which carries the trace from the
	// request that stored a job to the worker that runs it. Default: none.
	Middleware []rivertype.Middleware
}

// Backend is a taskloop.Backend on River. Register durable tasks (through
// a loop, or directly), then Start it; it is safe for concurrent use.
type Backend struct {
	pool *pgxpool.Pool
	opts Options

	mu      sync.Mutex
	defs    map[string]taskloop.Definition
	client  *river.Client[pgx.Tx]
	started bool

	stats counters
}

// Stats are counts of what a backend's workers did about crashes, since
// New. They only grow.
type Stats struct {
	// RunsAfterCrash counts the runs this process started of jobs whose
	// previous run ended with its worker's death (River's rescuer found
	// them running with no live worker).
	RunsAfterCrash int64
	// GivenUp counts the jobs this process discarded without running them
	// because their workers had died more than Options.MaxRescues times.
	GivenUp int64
}

type counters struct {
	runsAfterCrash atomic.Int64
	givenUp        atomic.Int64
}

// Stats returns the backend's counts. Safe for concurrent use; each field
// is read atomically.
func (b *Backend) Stats() Stats {
	return Stats{RunsAfterCrash: b.stats.runsAfterCrash.Load(), GivenUp: b.stats.givenUp.Load()}
}

var _ taskloop.Backend = (*Backend)(nil)

// New returns a backend on the database behind pool, which must hold
// River's tables (see Migrate). It connects to nothing until Start.
func New(pool *pgxpool.Pool, opts Options) *Backend {
	if opts.MaxWorkers <= 0 {
		opts.MaxWorkers = 50
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.RescueStuckJobsAfter <= 0 {
		opts.RescueStuckJobsAfter = time.Hour
	}
	if opts.MaxRescues <= 0 {
		opts.MaxRescues = 10
	}
	if opts.LimitWait <= 0 {
		opts.LimitWait = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Backend{pool: pool, opts: opts, defs: map[string]taskloop.Definition{}}
}

// Register adds durable task definitions: this process will work their
// jobs. It fails after Start (River fixes its workers when it starts), for
// a definition without RunJSON, and for a name registered before.
func (b *Backend) Register(defs ...taskloop.Definition) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return errors.New("durable: Register after Start: register durable tasks before starting the loop")
	}
	var problems []error
	for _, d := range defs {
		switch {
		case d.Spec.Priority < 0 || d.Spec.Priority > 4:
			problems = append(problems, fmt.Errorf("durable: task %s: priority %d: River's priorities are 1 to 4", d.Spec.Name, d.Spec.Priority))
		case d.Spec.Unique != nil && taskloop.CheckStates(d.Spec.Unique.States) != nil:
			problems = append(problems, fmt.Errorf("durable: task %s: unique: %w", d.Spec.Name, taskloop.CheckStates(d.Spec.Unique.States)))
		case d.RunJSON == nil:
			problems = append(problems, fmt.Errorf("durable: task %s has no RunJSON function (is it marked durable?)", d.Spec.Name))
		case b.defs[d.Spec.Name].RunJSON != nil:
			problems = append(problems, fmt.Errorf("durable: task %s is already registered", d.Spec.Name))
		}
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	for _, d := range defs {
		b.defs[d.Spec.Name] = d
	}
	return nil
}

func queueName(q string) string {
	if q == "" {
		return river.QueueDefault
	}
	return q
}

// Start creates River's client with a worker for every registered task and
// a periodic job for every one with an interval, and starts working,
// unless InsertOnly. ctx bounds the start (a first contact with the
// database); the client stops with Stop, not with ctx. Jobs' contexts carry
// ctx's values.
func (b *Backend) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return errors.New("durable: Start called twice")
	}
	workers := river.NewWorkers()
	queues := map[string]river.QueueConfig{}
	var periodic []*river.PeriodicJob
	for _, name := range slices.Sorted(maps.Keys(b.defs)) {
		d := b.defs[name]
		w := &worker{
			def: d, maxBackoff: b.opts.MaxBackoff, noTimeout: b.opts.RescueStuckJobsAfter,
			maxRescues: b.opts.MaxRescues, logger: b.opts.Logger, stats: &b.stats,
			limitWait: b.opts.LimitWait,
		}
		if d.Spec.Limit > 0 {
			w.slots = make(chan struct{}, d.Spec.Limit)
		}
		if err := addWorker(workers, name, w); err != nil {
			return fmt.Errorf("durable: task %s: %w", name, err)
		}
		queues[queueName(d.Spec.Queue)] = river.QueueConfig{MaxWorkers: b.maxWorkers(d.Spec.Queue)}
		var sched river.PeriodicSchedule
		switch {
		case d.Spec.Every > 0:
			sched = river.PeriodicInterval(d.Spec.Every)
		case d.Spec.Cron != nil:
			sched = d.Spec.Cron
		}
		if sched != nil {
			spec := d.Spec
			periodic = append(periodic, river.NewPeriodicJob(
				sched,
				func() (river.JobArgs, *river.InsertOpts) { return jobArgs{kind: spec.Name}, b.insertOpts(spec) },
				&river.PeriodicJobOpts{ID: spec.Name},
			))
		}
	}
	for q := range b.opts.Queues {
		queues[queueName(q)] = river.QueueConfig{MaxWorkers: b.maxWorkers(q)}
	}
	cfg := &river.Config{
		Logger:               b.opts.Logger,
		Schema:               b.opts.Schema,
		Workers:              workers,
		RescueStuckJobsAfter: b.opts.RescueStuckJobsAfter,
		// Every worker states its timeout (see worker.Timeout); River's
		// default JobTimeout (1 minute) would only make it refuse a rescue
		// window shorter than that.
		JobTimeout:        b.opts.RescueStuckJobsAfter,
		FetchPollInterval: b.opts.FetchPollInterval,
		FetchCooldown:     min(b.opts.FetchPollInterval, 100*time.Millisecond),
		// Jobs of tasks this process does not know are other processes':
		// inserting them is fine, fetching them is not.
		SkipUnknownJobCheck: true,
		FetchOnlyKnownKinds: true,
		Middleware:          b.opts.Middleware,
	}
	if !b.opts.InsertOnly && len(b.defs) > 0 {
		cfg.Queues = queues
		cfg.PeriodicJobs = periodic
	}
	client, err := river.NewClient(riverpgxv5.New(b.pool), cfg)
	if err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	if cfg.Queues != nil {
		// River stops when the context of its Start ends, so it gets one
		// that does not; ctx still bounds the first contact.
		if err := b.pool.Ping(ctx); err != nil {
			return fmt.Errorf("durable: starting River: %w", err)
		}
		if err := client.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("durable: starting River: %w", err)
		}
	}
	b.client, b.started = client, true
	return nil
}

// Stop stops fetching jobs and waits for the running ones until ctx ends;
// then it cancels them and waits a few seconds more for them to return.
func (b *Backend) Stop(ctx context.Context) error {
	b.mu.Lock()
	client := b.client
	b.mu.Unlock()
	if client == nil {
		return nil
	}
	err := client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err2 := client.StopAndCancel(hard); err2 != nil {
			return fmt.Errorf("durable: running jobs did not stop: %w", err2)
		}
		return fmt.Errorf("durable: jobs cancelled at the deadline: %w", err)
	}
	return err
}

// maxWorkers is how many jobs of queue q this process works at once.
func (b *Backend) maxWorkers(q string) int {
	if n := b.opts.Queues[queueName(q)]; n > 0 {
		return n
	}
	if n := b.opts.Queues[q]; n > 0 {
		return n
	}
	return b.opts.MaxWorkers
}

// insertOpts are the options of spec's jobs. MaxAttempts leaves room for
// the task's own attempts and for every crash that MaxRescues allows, and
// one more: River's rescuer, which counts both, never discards a job that
// a worker would still run (see worker.Work).
func (b *Backend) insertOpts(spec taskloop.Spec) *river.InsertOpts {
	opts := &river.InsertOpts{
		Queue:       queueName(spec.Queue),
		MaxAttempts: max(spec.Retries, 0) + b.opts.MaxRescues + 2,
		Priority:    spec.Priority, // 0 is River's default, 1
	}
	if spec.Delay > 0 {
		opts.ScheduledAt = time.Now().Add(spec.Delay)
	}
	if u := spec.Unique; u != nil {
		opts.UniqueOpts = river.UniqueOpts{ByArgs: u.ByArgs, ByQueue: u.ByQueue, ByPeriod: u.Period}
		for _, s := range u.States {
			opts.UniqueOpts.ByState = append(opts.UniqueOpts.ByState, rivertype.JobState(s))
		}
		if !u.ByArgs && !u.ByQueue && u.Period <= 0 && u.States == nil {
			// River reads empty UniqueOpts as "not unique": the default
			// states, said out loud, make one job of the task at a time.
			opts.UniqueOpts.ByState = rivertype.UniqueOptsByStateDefault()
		}
	}
	return opts
}

// Enqueue inserts a job for spec's task with its JSON arguments, in the
// transaction of ctx if WithTx put one there (and the insert is not an
// after-response task's), and returns its ID once stored.
func (b *Backend) Enqueue(ctx context.Context, spec taskloop.Spec, args []byte) (taskloop.Receipt, error) {
	b.mu.Lock()
	client := b.client
	b.mu.Unlock()
	if client == nil {
		return taskloop.Receipt{}, ErrNotStarted
	}
	job := jobArgs{kind: spec.Name, data: args}
	var err error
	var res *rivertype.JobInsertResult
	if tx := b.tx(ctx); tx != nil {
		res, err = client.InsertTx(ctx, tx, job, b.insertOpts(spec))
		// Retrying in the same transaction cannot help: after an error
		// PostgreSQL refuses every statement until the transaction ends
		// (SQLSTATE 25P02), which would hide this error behind that one.
		err = taskloop.Permanent(err)
	} else {
		res, err = client.Insert(ctx, job, b.insertOpts(spec))
	}
	if err != nil {
		return taskloop.Receipt{}, fmt.Errorf("durable: inserting a job for %s: %w", spec.Name, err)
	}
	// A duplicate of a unique job (Spec.Unique) was not inserted: River
	// returns the job already there.
	return taskloop.Receipt{JobID: res.Job.ID, Duplicate: res.UniqueSkippedAsDuplicate}, nil
}

// InTx reports whether Enqueue would insert in a transaction of ctx.
func (b *Backend) InTx(ctx context.Context) bool { return b.tx(ctx) != nil }

func (b *Backend) tx(ctx context.Context) pgx.Tx {
	if taskloop.IgnoresTx(ctx) {
		return nil
	}
	tx, _ := ctx.Value(txKey{}).(pgx.Tx)
	return tx
}

type txKey struct{}

// WithTx returns a copy of ctx in which durable tasks started with
// XxxAsync are inserted in tx: their jobs exist if and only if tx commits.
// The insert then happens at once, in the caller's goroutine, as pgx
// transactions require. After-response tasks (XxxLater in a request) are
// inserted after the request and ignore tx.
func WithTx(ctx context.Context, tx pgx.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// Client returns River's client once started (nil before), for what this
// package does not wrap: listing or cancelling jobs, subscriptions.
func (b *Backend) Client() *river.Client[pgx.Tx] {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.client
}

// Migrate applies River's migrations to the database behind pool, in
// schema (or the search_path's when ""); it does nothing when they are
// applied already. `go run github.com/gofutures/futures/runtime/durable/cmd/migrate`
// does the same from a shell.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema})
	if err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("durable: migrating: %w", err)
	}
	return nil
}

// jobArgs is every task's job: the kind is the task's name and the
// arguments are the JSON that AsyncDurable encoded, passed through as they
// are. (River usually wants a Go type per kind; AddWorkerArgs registers an
// instance instead, which lets one type serve every task.)
type jobArgs struct {
	kind string
	data json.RawMessage
	// failures is set by Work when the task's attempt failed and the job
	// will be retried: the task's own failures so far, this one included,
	// for NextRetry. River passes NextRetry the job that Work had; its
	// rescuer passes a fresh one, where failures is 0.
	failures int
}

func (a jobArgs) Kind() string { return a.kind }

func (a jobArgs) MarshalJSON() ([]byte, error) {
	if len(a.data) == 0 {
		return []byte("{}"), nil
	}
	return a.data, nil
}

func (a *jobArgs) UnmarshalJSON(b []byte) error {
	a.data = append(json.RawMessage(nil), b...)
	return nil
}

// worker works the jobs of one registered task: River registers a worker
// per kind, and definitions are fixed once the backend has started, so that
// each worker holds its own and working a job takes no lock.
type worker struct {
	river.WorkerDefaults[jobArgs]
	def        taskloop.Definition
	maxBackoff time.Duration
	noTimeout  time.Duration // the timeout of a task without one
	maxRescues int
	logger     *slog.Logger
	stats      *counters
	// slots holds a token per running job of a task with a limit
	// (Spec.Limit), nil without one.
	slots     chan struct{}
	limitWait time.Duration
}

// rescuedError is the error that River's rescuer records on a job it found
// running with no live worker (river internal/maintenance/job_rescuer.go),
// with an empty trace. Work makes sure that no failure of the task's own
// is recorded that way, so that it counts crashes exactly.
const rescuedError = "Stuck job rescued by JobRescuer"

func isRescue(e rivertype.AttemptError) bool {
	return e.Error == rescuedError && e.Trace == ""
}

// history splits a job's recorded errors into the task's own failures and
// the crashes that River's rescuer recorded, and reports whether the
// previous run was a crash.
func history(errs []rivertype.AttemptError) (own, crashes int, lastCrashed bool) {
	for _, e := range errs {
		if isRescue(e) {
			crashes++
		} else {
			own++
		}
	}
	return own, crashes, len(errs) > 0 && isRescue(errs[len(errs)-1])
}

// Work runs the task, unless the job is to be given up. River counts every
// run as an attempt, crashed or not, and discards a job when its attempt
// reaches MaxAttempts; Work counts instead, from the job's recorded errors:
// the task's own failures, against Retries+1, and the crashes, against
// MaxRescues.
func (w *worker) Work(ctx context.Context, job *river.Job[jobArgs]) error {
	own, crashes, lastCrashed := history(job.Errors)
	retries := max(w.def.Spec.Retries, 0)
	name := w.def.Spec.Name
	switch {
	case crashes > w.maxRescues:
		w.stats.givenUp.Add(1)
		w.logger.ErrorContext(ctx, "durable: job given up: its workers died running it more often than MaxRescues allows; the task did not run",
			"task", name, "job_id", job.ID, "crashes", crashes, "max_rescues", w.maxRescues)
		lastAttempt(job)
		return fmt.Errorf("%w (task %s, job %d: %d crashes, MaxRescues %d); the task did not run",
			ErrTooManyCrashes, name, job.ID, crashes, w.maxRescues)
	case own > retries:
		// lastAttempt should have ended the job; should River ever run it
		// again, the task still gets no more than its attempts.
		return river.JobCancel(fmt.Errorf("durable: task %s, job %d: all %d attempts of the task failed", name, job.ID, retries+1))
	}
	if w.slots != nil {
		select {
		case w.slots <- struct{}{}:
			defer func() { <-w.slots }()
		default:
			// As many run here already: the job goes back to wait, without
			// counting as an attempt, for this process or another.
			half := w.limitWait / 2
			return river.JobSnooze(half + rand.N(w.limitWait-half+1))
		}
	}
	if lastCrashed {
		w.stats.runsAfterCrash.Add(1)
		w.logger.WarnContext(ctx, "durable: running a job again after its worker died running it",
			"task", name, "job_id", job.ID, "crashes", crashes, "max_rescues", w.maxRescues)
	}
	// Should this run fail (an error, a panic, its timeout), it is the
	// task's own failure number own+1: NextRetry needs the count, and River
	// discards the job if that was the last. Both are settled before the
	// run, so that a panic, which River recovers, is counted the same.
	job.Args.failures = own + 1
	if own+1 > retries {
		lastAttempt(job)
	}
	err := w.def.RunJSON(ctx, job.Args.data)
	switch {
	case err == nil:
		return nil
	case taskloop.IsPermanent(err):
		return river.JobCancel(err)
	case err.Error() == rescuedError:
		// Recorded as is, it would count as a crash.
		return fmt.Errorf("task %s: %w", name, err)
	}
	return err
}

// lastAttempt makes River discard the job if this run fails, as it does a
// job that failed its last attempt. River decides on the job it passed
// Work (the same *rivertype.JobRow): with its attempt at MaxAttempts, a
// failed job is discarded. If a River version ever decided on a copy, the
// job would be retried, and Work would cancel it without running the task.
func lastAttempt(job *river.Job[jobArgs]) {
	job.MaxAttempts = job.Attempt
}

// Timeout is the task's Timeout, or the rescue window for a task without
// one. River's rescuer consults it too, and never rescues a job whose
// timeout is infinite: a task with no timeout whose worker died would stay
// running in the database for ever. Bounded by the rescue window, such a
// task is cancelled when River would consider it stuck and run it again
// anyway.
func (w *worker) Timeout(*river.Job[jobArgs]) time.Duration {
	if w.def.Spec.Timeout > 0 {
		return w.def.Spec.Timeout
	}
	return w.noTimeout
}

// NextRetry is when a job runs again. After a crash (River's rescuer asks,
// with failures 0) that is at once, in the job's place in the queue: its
// scheduled time stays, so that it does not wait behind the jobs inserted
// since (it has waited for the rescue window already); the task did not
// fail, and MaxRescues bounds how often this can happen. After the task's
// own failure, it is the task's Backoff, or River's default policy,
// counted in the task's own failures rather than in every recorded error.
func (w *worker) NextRetry(job *river.Job[jobArgs]) time.Time {
	n := job.Args.failures
	switch {
	case n == 0:
		return job.ScheduledAt
	case w.def.Spec.Backoff > 0:
		return time.Now().Add(w.def.Spec.RetryDelay(n, w.maxBackoff))
	}
	// River's default policy waits (errors+1)^4 seconds: it is given a
	// copy of the job with n-1 errors recorded.
	row := *job.JobRow
	row.Errors = make([]rivertype.AttemptError, n-1)
	return defaultRetryPolicy.NextRetry(&row)
}

var defaultRetryPolicy = &river.DefaultClientRetryPolicy{}

// addWorker registers w for the task's kind. River's AddWorkerArgs panics
// on a kind it refuses; this reports it.
func addWorker(workers *river.Workers, kind string, w *worker) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	river.AddWorkerArgs(workers, jobArgs{kind: kind}, w)
	return nil
}
