package taskloop_test

// The soak test: many tasks with random errors, panics, timeouts, retries,
// delays, cancellations, runtime.Goexit and periodic schedules, submitted
// by several producers that are faster than the workers, on a small
// bounded queue. It checks that every submitted task's future resolves
// exactly once with the outcome its behaviour calls for, that no attempt
// starts after its task has resolved, that Stats and the hooks add up,
// that the heap stays bounded while the tasks stream through, and that no
// goroutine is left behind.
//
// Each variant runs in a child process (this test binary, re-run with
// FUTURES_SOAK_CHILD set), so that its peak RSS is its own and not that of
// the tests that ran before it:
//
//	go test -race -run TestSoak -v ./runtime/taskloop                      # CI size
//	FUTURES_SOAK=1000000 go test -run TestSoak -v -timeout 30m ./runtime/taskloop
//	FUTURES_SOAK_CHILD=block go test -run TestSoak -v ./runtime/taskloop  # one variant, in-process
//
// FUTURES_SOAK_SEED replays a run: the seed is printed in each variant's
// summary. Figures and findings: RELIABILITY-soak-fuzz.md.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

const (
	soakSizeEnv  = "FUTURES_SOAK"       // tasks per variant
	soakSeedEnv  = "FUTURES_SOAK_SEED"  // replay a run
	soakChildEnv = "FUTURES_SOAK_CHILD" // the variant a child process runs

	// soakDefault is the CI size (block; reject and hardstop run half of
	// it): the three variants take about 9 s together under -race on 2
	// quiet cores, more on a loaded machine.
	soakDefault = 100_000
	soakShort   = 10_000

	soakProducers = 4
	soakWorkers   = 4
	soakQueue     = 64
	soakChunk     = 256 // futures settled together by one AllSettled
)

// soakVariant is one way to run the soak.
type soakVariant struct {
	name   string
	policy taskloop.Policy
	// stopAt, when positive, is the fraction of the submissions after which
	// Shutdown begins with a context that has already ended: a hard stop in
	// the middle of the stream, while producers go on submitting. Otherwise
	// Shutdown comes at the end and must drain everything.
	stopAt float64
	// ciShare scales the default size, so that the three variants fit in
	// CI's time; FUTURES_SOAK sets the size of every variant.
	ciShare float64
}

var soakVariants = []soakVariant{
	{name: "block", policy: taskloop.Block, ciShare: 1},
	{name: "reject", policy: taskloop.Reject, ciShare: 0.5},
	{name: "hardstop", policy: taskloop.Block, stopAt: 0.5, ciShare: 0.5},
}

func TestSoak(t *testing.T) {
	if name := os.Getenv(soakChildEnv); name != "" {
		i := slices.IndexFunc(soakVariants, func(v soakVariant) bool { return v.name == name })
		if i < 0 {
			t.Fatalf("%s=%q: no such variant", soakChildEnv, name)
		}
		runSoak(t, soakVariants[i], soakSize(t), soakSeed(t))
		return
	}
	n, seed := soakSize(t), soakSeed(t)
	for _, v := range soakVariants {
		t.Run(v.name, func(t *testing.T) {
			n := n
			if os.Getenv(soakSizeEnv) == "" {
				n = int(float64(n) * v.ciShare)
			}
			ctx := context.Background()
			if d, ok := t.Deadline(); ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, d.Add(-5*time.Second))
				defer cancel()
			}
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSoak$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(),
				soakChildEnv+"="+v.name,
				soakSizeEnv+"="+strconv.Itoa(n),
				soakSeedEnv+"="+strconv.FormatUint(seed, 10))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child process for %s: %v\n%s", v.name, err, out)
			}
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "soak_test.go") {
					t.Log(line)
				}
			}
		})
	}
}

func soakSize(t *testing.T) int {
	if s := os.Getenv(soakSizeEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("%s=%q: want a positive number of tasks", soakSizeEnv, s)
		}
		return n
	}
	if testing.Short() {
		return soakShort
	}
	return soakDefault
}

func soakSeed(t *testing.T) uint64 {
	if s := os.Getenv(soakSeedEnv); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an unsigned integer", soakSeedEnv, s)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// mix is splitmix64 of (seed, id, salt): every random decision of the soak
// is a function of the task and the attempt, so that the checks can
// recompute what a task must have done.
func mix(seed uint64, id int, salt uint64) uint64 {
	z := seed + uint64(id)*0x9e3779b97f4a7c15 + salt*0xd1b54a32d192ed03
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

type soakKind int

const (
	kindChaos    soakKind = iota // each attempt succeeds, fails, panics, times out or fails permanently
	kindDelayed                  // chaos after a Delay
	kindCancel                   // cancelled by the producer right after Submit
	kindGoexit                   // calls runtime.Goexit: fails, never retried
	kindPeriodic                 // Every 100µs; cancels itself on its third run
)

var kindNames = []string{"chaos", "delayed", "cancel", "goexit", "periodic"}

func (k soakKind) String() string { return kindNames[k] }

// kindOf is what task id does. Under the Reject policy no task is
// delayed: a delayed task is accepted whatever the queue holds and, once
// its delay is over, waits for room in a goroutine of its own, so that
// producers that are always faster than the workers would accumulate them
// without bound (see RELIABILITY-soak-fuzz.md).
func (s *soak) kindOf(id int) soakKind {
	switch r := mix(s.seed, id, 1) % 1000; {
	case r < 700:
		return kindChaos
	case r < 820:
		if s.v.policy == taskloop.Reject {
			return kindChaos
		}
		return kindDelayed
	case r < 970:
		return kindCancel
	case r < 990:
		return kindGoexit
	default:
		return kindPeriodic
	}
}

type behaviour int

const (
	bSucceed behaviour = iota
	bFail
	bTimeout
	bPanic
	bPermanent
)

// attemptOf says what attempt a (1 for the first) of a chaos task does.
func attemptOf(seed uint64, id, a int) behaviour {
	switch r := mix(seed, id, uint64(100+a)) % 100; {
	case r < 55:
		return bSucceed
	case r < 72:
		return bFail
	case r < 82:
		return bTimeout
	case r < 92:
		return bPanic
	default:
		return bPermanent
	}
}

func retriesOf(seed uint64, id int) int { return int(mix(seed, id, 2) % 4) }

// chaosOutcome is what a chaos task that ran to its end did: how many
// attempts, and what the last one did.
func chaosOutcome(seed uint64, id int) (attempts int, last behaviour) {
	retries := retriesOf(seed, id)
	for a := 1; ; a++ {
		b := attemptOf(seed, id, a)
		if b == bSucceed || b == bPermanent || a > retries {
			return a, b
		}
	}
}

// soakHooks counts attempts as the loop reports them.
type soakHooks struct {
	started, finished, retrying atomic.Int64
}

func (h *soakHooks) TaskStarted(ctx context.Context, e taskloop.Event) context.Context {
	h.started.Add(1)
	return nil
}

func (h *soakHooks) TaskFinished(ctx context.Context, e taskloop.Event) {
	h.finished.Add(1)
	if e.Retrying {
		h.retrying.Add(1)
	}
}

// soak is the state of one run.
type soak struct {
	v    soakVariant
	n    int
	seed uint64
	loop *taskloop.Loop

	calls    []atomic.Int32 // attempts started, per task
	resolved []atomic.Int32 // resolutions seen, per task
	// live holds each task's future from Submit until its chunk has
	// settled, so that a running attempt can tell whether its task has
	// already resolved; it is cleared then, so that it retains nothing.
	live     []atomic.Pointer[future.Future[int]]
	runs     []atomic.Int32 // periodic tasks: runs, indexed by id (sparse use)
	panicked atomic.Int64   // attempts that panicked

	mu       sync.Mutex
	problems []string
	nProblem atomic.Int64
	pending  map[int][]int // chunk → its task ids, until it settles

	chunks sync.WaitGroup

	// Outcome counts, from the futures.
	ok, failed, canceled, rejected, closed, stopped, notStarted atomic.Int64
	retriedSeen                                                 atomic.Int64 // Σ attempts−1 of chaos tasks that ran to their end
	stopLost                                                    atomic.Int64 // ended by a hard stop without ErrStopped
	runsSeen                                                    atomic.Int64
}

func (s *soak) problem(format string, args ...any) {
	if s.nProblem.Add(1) > 20 {
		return
	}
	s.mu.Lock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// spin is a little work, so that workers are slower than producers.
//
//go:noinline
func spin(n int) int {
	x := 0
	for i := range n {
		x += i ^ x
	}
	return x
}

var spinSink atomic.Int64

// fn returns task id's function.
func (s *soak) fn(id int, kind soakKind) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		a := int(s.calls[id].Add(1))
		if f := s.live[id].Load(); f != nil {
			if r, done := f.Peek(); done && !errors.Is(r.Err, taskloop.ErrStopped) {
				// Only a hard stop may resolve a task whose attempt is
				// about to start (it fails running tasks first).
				s.problem("task %d (%s): attempt %d started after the task resolved with %v, %v", id, kind, a, r.Value, r.Err)
			}
		}
		switch kind {
		case kindCancel:
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			spinSink.Add(int64(spin(200)))
			return id, nil
		case kindGoexit:
			runtime.Goexit()
		case kindPeriodic:
			n := s.runs[id].Add(1)
			if n >= 3 {
				if f := s.live[id].Load(); f != nil {
					f.Cancel()
				}
			}
			return int(n), nil
		}
		switch attemptOf(s.seed, id, a) {
		case bSucceed:
			spinSink.Add(int64(spin(200)))
			return id, nil
		case bFail:
			return 0, fmt.Errorf("task %d attempt %d: %w", id, a, errBoom)
		case bTimeout:
			<-ctx.Done()
			return 0, ctx.Err()
		case bPanic:
			s.panicked.Add(1)
			panic(fmt.Sprintf("soak panic %d/%d", id, a))
		default:
			return 0, taskloop.Permanent(errBoom)
		}
	}
}

func (s *soak) spec(id int, kind soakKind) taskloop.Spec {
	switch kind {
	case kindCancel:
		return taskloop.Spec{Name: "soak.cancel"}
	case kindGoexit:
		return taskloop.Spec{Name: "soak.goexit", Retries: 2, Backoff: 10 * time.Microsecond}
	case kindPeriodic:
		return taskloop.Spec{Name: "soak.every", Every: 100 * time.Microsecond}
	}
	spec := taskloop.Spec{
		Name:    "soak.chaos",
		Retries: retriesOf(s.seed, id),
		Backoff: 20 * time.Microsecond,
		Timeout: 300 * time.Microsecond,
	}
	if kind == kindDelayed {
		spec.Name = "soak.delayed"
		spec.Delay = time.Duration(50+mix(s.seed, id, 3)%500) * time.Microsecond
	}
	return spec
}

// check judges one task's result and counts its outcome. It runs in the
// goroutine that resolved the last future of the task's chunk.
func (s *soak) check(id int, r future.Result[int]) {
	if n := s.resolved[id].Add(1); n != 1 {
		s.problem("task %d resolved %d times", id, n)
	}
	kind := s.kindOf(id)
	calls := int(s.calls[id].Load())
	err := r.Err
	var te *taskloop.TaskError
	if err != nil && !errors.As(err, &te) {
		s.problem("task %d (%s): error %v (%T) is not a *TaskError", id, kind, err, err)
	}
	// Outcomes that any task may have, depending on the variant.
	switch {
	case errors.Is(err, taskloop.ErrQueueFull):
		s.rejected.Add(1)
		if s.v.policy != taskloop.Reject || calls != 0 {
			s.problem("task %d (%s): %v after %d calls", id, kind, err, calls)
		}
		return
	case errors.Is(err, taskloop.ErrClosed):
		s.closed.Add(1)
		if s.v.stopAt == 0 || calls != 0 {
			s.problem("task %d (%s): %v after %d calls", id, kind, err, calls)
		}
		return
	case errors.Is(err, taskloop.ErrStopped):
		if strings.Contains(err.Error(), "did not start") {
			s.notStarted.Add(1)
		} else {
			s.stopped.Add(1)
		}
		if s.v.stopAt == 0 {
			s.problem("task %d (%s): %v without a hard stop", id, kind, err)
		}
		return
	}
	hardStop := s.v.stopAt > 0
	// The task ran to its end (a hard stop may still fail an attempt that
	// was about to start, which is why this comes after ErrStopped).
	if te != nil && te.Attempts != calls && kind != kindPeriodic {
		s.problem("task %d (%s): TaskError.Attempts %d, but %d attempts started", id, kind, te.Attempts, calls)
	}
	switch kind {
	case kindCancel:
		switch {
		case err == nil && r.Value == id:
			s.ok.Add(1)
		case errors.Is(err, context.Canceled) && r.Value == 0:
			s.canceled.Add(1)
		default:
			s.problem("task %d (cancel): got %d, %v", id, r.Value, err)
		}
		if calls > 1 {
			s.problem("task %d (cancel): %d attempts", id, calls)
		}
		return
	case kindGoexit:
		s.failed.Add(1)
		if !errors.Is(err, taskloop.ErrGoexit) || calls != 1 {
			s.problem("task %d (goexit): got %d, %v after %d calls; want ErrGoexit after 1", id, r.Value, err, calls)
		}
		return
	case kindPeriodic:
		runs := int(s.runs[id].Load())
		s.runsSeen.Add(int64(runs))
		s.ok.Add(1)
		// It cancels itself on its third run, and its future resolves with
		// the last run's value; a hard stop may end it sooner.
		if err != nil || r.Value != runs || (runs < 3 && !hardStop) {
			s.problem("task %d (periodic): got %d, %v after %d runs", id, r.Value, err, runs)
		}
		return
	}
	// Chaos, delayed or not: it ran to its end, so it did exactly what its
	// attempts say.
	want, last := chaosOutcome(s.seed, id)
	s.retriedSeen.Add(int64(calls - 1))
	if hardStop && err != nil && calls < want {
		// Known race (RELIABILITY-soak-fuzz.md): an attempt that fails
		// just as the hard stop sweeps the workers, after its worker has
		// left its slot and before it decides to retry, sees its task's
		// context cancelled and ends with its own error instead of
		// ErrStopped, without counting as unfinished; the hooks were told
		// it would be retried.
		s.failed.Add(1)
		s.stopLost.Add(1)
		return
	}
	if calls != want {
		s.problem("task %d (%s): %d attempts, want %d", id, kind, calls, want)
	}
	var pe *future.PanicError
	good := false
	switch last {
	case bSucceed:
		good = err == nil && r.Value == id
	case bFail:
		good = errors.Is(err, errBoom) && !taskloop.IsPermanent(err)
	case bPermanent:
		good = errors.Is(err, errBoom) && taskloop.IsPermanent(err)
	case bTimeout:
		good = errors.Is(err, context.DeadlineExceeded)
	case bPanic:
		good = errors.As(err, &pe) && strings.HasPrefix(fmt.Sprint(pe.Value), "soak panic")
	}
	if !good {
		s.problem("task %d (%s): got %d, %v; want outcome %d after %d attempts", id, kind, r.Value, err, last, want)
	}
	if err == nil {
		s.ok.Add(1)
	} else {
		s.failed.Add(1)
	}
}

// settleChunk checks a chunk's results once all of them have resolved.
func (s *soak) settleChunk(chunk int, ids []int, fs []*future.Future[int]) {
	s.mu.Lock()
	s.pending[chunk] = ids
	s.mu.Unlock()
	s.chunks.Add(1)
	future.Map(future.AllSettled(fs...), func(rs []future.Result[int]) struct{} {
		for i, r := range rs {
			s.check(ids[i], r)
			s.live[ids[i]].Store(nil)
		}
		s.mu.Lock()
		delete(s.pending, chunk)
		s.mu.Unlock()
		s.chunks.Done()
		return struct{}{}
	})
}

// heap returns the heap's live bytes as of the last GC, which is what a
// leak grows, and its objects now, garbage not yet collected included.
func heap() (live, objects int64) {
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(samples)
	return int64(samples[0].Value.Uint64()), int64(samples[1].Value.Uint64())
}

// peakRSS reads the process's peak resident set (VmHWM) on Linux.
func peakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "n/a"
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "n/a"
}

func runSoak(t *testing.T, v soakVariant, n int, seed uint64) {
	hooks := &soakHooks{}
	l := taskloop.New(taskloop.Options{
		Workers:    soakWorkers,
		QueueSize:  soakQueue,
		WhenFull:   v.policy,
		MaxBackoff: 500 * time.Microsecond,
		Logger:     quiet,
		Hooks:      hooks,
	})
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := &soak{
		v: v, n: n, seed: seed, loop: l,
		calls:    make([]atomic.Int32, n),
		resolved: make([]atomic.Int32, n),
		live:     make([]atomic.Pointer[future.Future[int]], n),
		runs:     make([]atomic.Int32, n),
		pending:  map[int][]int{},
	}
	runtime.GC()
	baseHeap, _ := heap()

	// The monitor samples the heap and the queue while the tasks stream.
	var (
		peakLive, peakHeap, samples atomic.Int64
		fullSamples                 atomic.Int64
		peakGoroutines, peakChunks  atomic.Int64
		monitorDone                 = make(chan struct{})
		monitorExit                 = make(chan struct{})
	)
	go func() {
		defer close(monitorExit)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-monitorDone:
				return
			case <-tick.C:
			}
			live, objects := heap()
			if live > peakLive.Load() {
				peakLive.Store(live)
			}
			if objects > peakHeap.Load() {
				peakHeap.Store(objects)
			}
			if g := int64(runtime.NumGoroutine()); g > peakGoroutines.Load() {
				peakGoroutines.Store(g)
			}
			s.mu.Lock()
			if c := int64(len(s.pending)); c > peakChunks.Load() {
				peakChunks.Store(c)
			}
			s.mu.Unlock()
			samples.Add(1)
			if l.Stats().Queued >= soakQueue {
				fullSamples.Add(1)
			}
		}
	}()

	var (
		submitted    atomic.Int64
		shutdownOnce sync.Once
		shutdownErr  = make(chan error, 1)
		stopAt       = int64(math.MaxInt64)
		producers    sync.WaitGroup
		nextChunk    atomic.Int64
	)
	if v.stopAt > 0 {
		stopAt = int64(float64(n) * v.stopAt)
	}
	start := time.Now()
	for p := range soakProducers {
		producers.Go(func() {
			ids := make([]int, 0, soakChunk)
			fs := make([]*future.Future[int], 0, soakChunk)
			flush := func() {
				if len(ids) > 0 {
					s.settleChunk(int(nextChunk.Add(1)), ids, fs)
					ids = make([]int, 0, soakChunk)
					fs = make([]*future.Future[int], 0, soakChunk)
				}
			}
			for id := p; id < n; id += soakProducers {
				kind := s.kindOf(id)
				f := taskloop.Submit(context.Background(), l, s.spec(id, kind), s.fn(id, kind))
				if r, done := f.Peek(); done {
					// Refused at once (queue full, loop closed): no need
					// to hold it in a chunk.
					s.check(id, r)
					if v.policy == taskloop.Reject {
						runtime.Gosched() // a real producer would do something else
					}
				} else {
					s.live[id].Store(f)
					if kind == kindCancel {
						f.Cancel()
					}
					ids, fs = append(ids, id), append(fs, f)
				}
				if len(ids) == soakChunk {
					flush()
				}
				if submitted.Add(1) == stopAt {
					shutdownOnce.Do(func() {
						go func() {
							ctx, cancel := context.WithCancel(context.Background())
							cancel() // no time to drain: stop hard at once
							shutdownErr <- l.Shutdown(ctx)
						}()
					})
				}
			}
			flush()
		})
	}
	producers.Wait()
	submitTime := time.Since(start)

	// Every chunk settles: no task is lost.
	allSettled := make(chan struct{})
	go func() { s.chunks.Wait(); close(allSettled) }()
	select {
	case <-allSettled:
	case <-time.After(time.Minute):
		s.mu.Lock()
		var lost []string
		for _, ids := range s.pending {
			for _, id := range ids {
				if s.resolved[id].Load() == 0 && len(lost) < 20 {
					lost = append(lost, fmt.Sprintf("%d (%s, %d calls)", id, s.kindOf(id), s.calls[id].Load()))
				}
			}
		}
		s.mu.Unlock()
		t.Fatalf("%d chunk(s) still unresolved a minute after the last submission; tasks %s; stats %+v",
			len(s.pending), strings.Join(lost, ", "), l.Stats())
	}
	elapsed := time.Since(start)

	var unfinished int
	if v.stopAt > 0 {
		err := <-shutdownErr
		var se *taskloop.ShutdownError
		switch {
		case errors.As(err, &se):
			unfinished = se.Unfinished
		case err != nil:
			t.Errorf("Shutdown in the middle: %v", err)
		}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := l.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown at the end: %v", err)
		}
	}
	select {
	case <-l.Done():
	case <-time.After(time.Minute):
		t.Fatal("the loop's workers did not return after Shutdown")
	}
	close(monitorDone)
	<-monitorExit

	// Everything resolved and was released: the loop keeps nothing.
	runtime.GC()
	endHeap, _ := heap()
	residual := endHeap - baseHeap

	for _, p := range s.problems {
		t.Error(p)
	}
	if k := s.nProblem.Load(); k > int64(len(s.problems)) {
		t.Errorf("... and %d more problems", k-int64(len(s.problems)))
	}
	for id := range n {
		if c := s.resolved[id].Load(); c != 1 {
			t.Errorf("task %d (%s) resolved %d times", id, s.kindOf(id), c)
			break
		}
	}

	st := l.Stats()
	if st.Submitted != int64(n) {
		t.Errorf("Stats.Submitted %d, want %d", st.Submitted, n)
	}
	if st.Submitted != st.Succeeded+st.Failed+st.Canceled+st.Rejected {
		t.Errorf("Submitted %d != Succeeded %d + Failed %d + Canceled %d + Rejected %d",
			st.Submitted, st.Succeeded, st.Failed, st.Canceled, st.Rejected)
	}
	if st.Queued != 0 || st.Running != 0 || st.Waiting != 0 {
		t.Errorf("gauges not zero at the end: Queued %d, Running %d, Waiting %d", st.Queued, st.Running, st.Waiting)
	}
	if st.Rejected != s.rejected.Load()+s.closed.Load() {
		t.Errorf("Stats.Rejected %d, but %d futures failed with ErrQueueFull and %d with ErrClosed", st.Rejected, s.rejected.Load(), s.closed.Load())
	}
	if st.Panicked != s.panicked.Load() {
		t.Errorf("Stats.Panicked %d, but %d attempts panicked", st.Panicked, s.panicked.Load())
	}
	var totalCalls int64
	for id := range n {
		totalCalls += int64(s.calls[id].Load())
	}
	if a, b := hooks.started.Load(), hooks.finished.Load(); a != b || a != totalCalls {
		t.Errorf("hooks: %d attempts started, %d finished; the tasks saw %d", a, b, totalCalls)
	}
	if st.Retried+s.stopLost.Load() != hooks.retrying.Load() {
		t.Errorf("Stats.Retried %d (+ %d tasks ended by the stop), hooks saw %d attempts retrying", st.Retried, s.stopLost.Load(), hooks.retrying.Load())
	}
	if v.stopAt == 0 {
		// Without a hard stop, every count is known from the futures.
		if st.Succeeded != s.ok.Load() || st.Failed != s.failed.Load() || st.Canceled != s.canceled.Load() {
			t.Errorf("Stats %+v; the futures say %d succeeded, %d failed, %d canceled", st, s.ok.Load(), s.failed.Load(), s.canceled.Load())
		}
		if st.Retried != s.retriedSeen.Load() {
			t.Errorf("Stats.Retried %d, want %d", st.Retried, s.retriedSeen.Load())
		}
		if st.Runs != s.runsSeen.Load() {
			t.Errorf("Stats.Runs %d, want %d", st.Runs, s.runsSeen.Load())
		}
	} else if int64(unfinished) != s.stopped.Load() {
		t.Errorf("ShutdownError.Unfinished %d, but %d futures failed with ErrStopped while running or queued", unfinished, s.stopped.Load())
	}

	// Bounded memory: only the soak's own per-task counters (20 bytes a
	// task) grow with n; the tasks in flight are bounded by the queue, the
	// workers, the producers' chunks and the timers. Retaining every task
	// and its future would cost several hundred bytes a task. The bound is
	// on the live heap (as of each GC), not on the garbage between GCs.
	perTask := int64(unsafeSizeofCounters)
	limit := int64(16<<20) + perTask*int64(n)
	if peak := peakLive.Load(); peak > limit {
		t.Errorf("peak live heap %.1f MiB, over the bound of %.1f MiB", mib(peak), mib(limit))
	}
	if residual > 8<<20 {
		t.Errorf("heap %.1f MiB above the start once everything resolved and was collected: something is retained", mib(residual))
	}

	goleak.VerifyNone(t)

	t.Logf("soak %s: %d tasks, seed %d, %d producers, %d workers, queue %d (%s when full)", v.name, n, seed, soakProducers, soakWorkers, soakQueue, v.policy)
	t.Logf("soak %s: all resolved in %v (%.0f tasks/s; submitting took %v), %d attempts", v.name, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), submitTime.Round(time.Millisecond), totalCalls)
	t.Logf("soak %s: succeeded %d, failed %d, canceled %d, rejected %d (queue full %d, closed %d); retried %d, panicked %d, periodic runs %d",
		v.name, st.Succeeded, st.Failed, st.Canceled, st.Rejected, s.rejected.Load(), s.closed.Load(), st.Retried, st.Panicked, st.Runs)
	if v.stopAt > 0 {
		t.Logf("soak %s: Shutdown after %d submissions: %d unfinished (ErrStopped), %d delayed tasks that did not start, %d ended by the stop with their own error (known race)",
			v.name, int64(float64(n)*v.stopAt), unfinished, s.notStarted.Load(), s.stopLost.Load())
	}
	t.Logf("soak %s: queue full in %d of %d samples; at most %d goroutines and %d chunks of %d futures unsettled",
		v.name, fullSamples.Load(), samples.Load(), peakGoroutines.Load(), peakChunks.Load(), soakChunk)
	t.Logf("soak %s: peak live heap %.1f MiB (bound %.1f MiB, of which %.1f MiB are the soak's counters), peak heap with garbage %.1f MiB, %.1f MiB retained at the end; peak RSS %s",
		v.name, mib(peakLive.Load()), mib(limit), mib(perTask*int64(n)), mib(peakHeap.Load()), mib(residual), peakRSS())
}

// unsafeSizeofCounters is the soak's bookkeeping per task: calls,
// resolved, live and runs.
const unsafeSizeofCounters = 4 + 4 + 8 + 4

func mib(b int64) float64 { return float64(b) / (1 << 20) }
