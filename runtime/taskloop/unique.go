package taskloop

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofutures/futures/runtime/future"
)

// River's job states that Unique.States may name, and those it must
// include when set (river.UniqueOpts.ByState).
var (
	uniqueStates   = []string{"available", "cancelled", "completed", "discarded", "pending", "retryable", "running", "scheduled"}
	requiredStates = []string{"available", "pending", "running", "scheduled"}
)

// CheckStates reports what is wrong with a Unique.States list, as River
// would refuse it: an unknown state, or one of the required four missing.
// A nil list is River's default and fine.
func CheckStates(states []string) error {
	if states == nil {
		return nil
	}
	for _, s := range states {
		if !slices.Contains(uniqueStates, s) {
			return fmt.Errorf("unknown job state %q (River's are %s)", s, strings.Join(uniqueStates, ", "))
		}
	}
	for _, s := range requiredStates {
		if !slices.Contains(states, s) {
			return fmt.Errorf("the states must include %s (River requires %s)", s, strings.Join(requiredStates, ", "))
		}
	}
	return nil
}

// blocks reports whether a task in River's state blocks a duplicate under
// u.
func (u *Unique) blocks(state string) bool {
	if u.States == nil {
		return state != "cancelled" && state != "discarded"
	}
	return slices.Contains(u.States, state)
}

// uniqueKey is the key that a task of spec with args matches others by,
// at now; River hashes the same ingredients (kind, queue, period, args).
func uniqueKey[A any](spec Spec, args A, now time.Time) (string, error) {
	u := spec.Unique
	var b strings.Builder
	b.WriteString(spec.Name)
	b.WriteByte(0)
	if u.ByQueue {
		b.WriteString(spec.Queue)
	}
	b.WriteByte(0)
	if u.Period > 0 {
		due := now.Add(max(spec.Delay, 0)).UTC().Truncate(u.Period)
		b.WriteString(strconv.FormatInt(due.UnixNano(), 10))
	}
	b.WriteByte(0)
	if u.ByArgs {
		data, err := json.Marshal(args)
		if err != nil {
			return "", &TaskError{Name: spec.Name, Err: fmt.Errorf("encoding arguments for unique: %w", err)}
		}
		b.Write(data)
	}
	return b.String(), nil
}

// uniqueSet is a loop's record of its unique tasks: those that wait or run,
// by key, and those that ended and stay remembered until the end of their
// period. At most QueueSize ended ones are remembered: past that, the
// oldest are forgotten first.
type uniqueSet struct {
	mu     sync.Mutex
	byKey  map[string]*uniqueEntry
	byTask map[*task]*uniqueEntry
	ended  []*uniqueEntry // in the order they ended
}

type uniqueEntry struct {
	key   string
	t     *task // the original
	fut   any   // its *future.Future[T]
	done  bool  // it has ended
	until time.Time
}

// claimLocked registers t, of future fut, under key, unless a task that
// blocks it is there: then it returns that task's entry, and t is a
// duplicate. l.unique.mu is held.
func (l *Loop) claimLocked(key string, t *task, fut any) *uniqueEntry {
	u := &l.unique
	now := time.Now()
	if e := u.byKey[key]; e != nil {
		if e.done && now.Before(e.until) || !e.done && e.t.spec.Unique.blocks(l.stateOf(e.t)) {
			return e
		}
		if !e.done {
			// A retryable original that States lets through: the
			// newcomer takes its key, the original is no longer matched.
			delete(u.byTask, e.t)
		}
	}
	if u.byKey == nil {
		u.byKey, u.byTask = map[string]*uniqueEntry{}, map[*task]*uniqueEntry{}
	}
	e := &uniqueEntry{key: key, t: t, fut: fut}
	u.byKey[key] = e
	u.byTask[t] = e
	return nil
}

// stateOf is River's name for the state of t, which has not ended: on the
// timer heap, it is scheduled (before its first attempt) or retryable;
// anywhere else it is available or running, both of which always block.
func (l *Loop) stateOf(t *task) string {
	l.mu.Lock()
	onHeap := t.hi != 0
	l.mu.Unlock()
	switch {
	case onHeap && t.attempts.Load() > 0 && !t.periodic():
		return "retryable"
	case onHeap:
		return "scheduled"
	}
	return "running"
}

// uniqueEnded updates the record of a unique task that ends with err,
// before its future resolves: remembered until the end of its period if
// its end state blocks duplicates, else forgotten.
func (l *Loop) uniqueEnded(t *task, err error) {
	u := &l.unique
	u.mu.Lock()
	defer u.mu.Unlock()
	e := u.byTask[t]
	if e == nil {
		return
	}
	delete(u.byTask, t)
	state := "completed"
	switch {
	case t.cancelled.Load():
		state = "cancelled"
	case err != nil:
		state = "discarded"
	}
	spec := t.spec.Unique
	if spec.Period <= 0 || !spec.blocks(state) {
		delete(u.byKey, e.key)
		return
	}
	e.done = true
	e.until = time.Now().UTC().Truncate(spec.Period).Add(spec.Period)
	u.ended = append(u.ended, e)
	now := time.Now()
	for len(u.ended) > 0 && (len(u.ended) > l.opts.QueueSize || !now.Before(u.ended[0].until)) {
		old := u.ended[0]
		u.ended[0] = nil
		u.ended = u.ended[1:]
		if u.byKey[old.key] == old {
			delete(u.byKey, old.key)
		}
	}
}

// follow returns the future of a duplicate of e's task: it resolves with
// the original's result, and awaiting it is vetted as awaiting the
// original would be (never inside the request that holds it).
// Cancelling it leaves the original alone. l.unique.mu is held, so that
// the original cannot end between the look and the follow.
func follow[T any](e *uniqueEntry) *future.Future[T] {
	orig, _ := e.fut.(*future.Future[T])
	if orig == nil {
		// The same name with another result type: not a task futuresgen
		// wrote, which keeps one function per name.
		return future.Failed[T](&TaskError{Name: e.t.spec.Name, Err: fmt.Errorf("a duplicate of a task with another result type")})
	}
	if r, ok := orig.Peek(); ok {
		if r.Err != nil {
			return future.Failed[T](r.Err)
		}
		return future.Resolved(r.Value)
	}
	f, resolve := future.New[T](future.WithAwaitCheck(e.t.CheckAwait))
	tt := e.t.impl.(*typedTask[T])
	tt.followers = append(tt.followers, resolve)
	return f
}

// AsyncUnique is AsyncWith for a task with Spec.Unique, whose arguments
// args (encoded as JSON when Unique.ByArgs) tell duplicates apart: on a
// loop, a task that matches one already there (see Unique) does not run,
// and its future resolves with the original's result. With no loop, or a
// nil Spec.Unique, it is AsyncWith. SubmitHooks hear of duplicates too.
func AsyncUnique[A, T any](ctx context.Context, spec Spec, args A, fn func(context.Context) (T, error)) *future.Future[T] {
	l := From(ctx)
	f, dup := asyncUnique(ctx, l, spec, args, fn)
	notifySubmitted(ctx, l, spec, args, false, dup, f)
	return f
}

// asyncUnique is AsyncUnique without telling SubmitHooks; it reports
// whether the task is a duplicate.
func asyncUnique[A, T any](ctx context.Context, l *Loop, spec Spec, args A, fn func(context.Context) (T, error)) (*future.Future[T], bool) {
	if l == nil || spec.Unique == nil {
		return submitQuiet(ctx, l, spec, fn), false
	}
	t, f, dup, err := newUniqueTask(l, spec, args, fn)
	switch {
	case err != nil:
		return future.Failed[T](err), false
	case dup != nil:
		return dup, true
	}
	return submitTask(ctx, l, t, f), false
}

// LaterUnique is LaterWith for a task with Spec.Unique, as AsyncUnique is
// AsyncWith: a duplicate of a task that waits for the end of its request,
// or runs, does not run.
func LaterUnique[A, T any](ctx context.Context, spec Spec, args A, fn func(context.Context) (T, error)) *future.Future[T] {
	s := scopeFrom(ctx)
	if s == nil {
		return AsyncUnique(ctx, spec, args, fn)
	}
	l := From(ctx)
	f, later, dup := laterUnique(ctx, s, l, spec, args, fn)
	notifySubmitted(ctx, l, spec, args, later, dup, f)
	return f
}

// laterUnique is LaterUnique in scope s without telling SubmitHooks; it
// reports whether the task waits for s to close, and whether it is a
// duplicate.
func laterUnique[A, T any](ctx context.Context, s *Scope, l *Loop, spec Spec, args A, fn func(context.Context) (T, error)) (f *future.Future[T], later, dup bool) {
	if l == nil || spec.Unique == nil {
		f, later = laterQuiet(ctx, l, spec, fn)
		return f, later, false
	}
	t, f, dupOf, err := newUniqueTask(l, spec, args, fn)
	switch {
	case err != nil:
		return future.Failed[T](err), false, false
	case dupOf != nil:
		return dupOf, false, true
	}
	f, later = laterTask(ctx, s, l, t, f)
	return f, later, false
}

// newUniqueTask makes a task of fn for l and claims its key; for a
// duplicate it returns the future that follows the original instead.
func newUniqueTask[A, T any](l *Loop, spec Spec, args A, fn func(context.Context) (T, error)) (*task, *future.Future[T], *future.Future[T], error) {
	key, err := uniqueKey(spec, args, time.Now())
	if err != nil {
		return nil, nil, nil, err
	}
	t, f := newTask(l, spec, fn)
	l.unique.mu.Lock()
	defer l.unique.mu.Unlock()
	if e := l.claimLocked(key, t, f); e != nil {
		l.opts.Logger.Debug("duplicate task not run", "task", spec.Name)
		return nil, nil, follow[T](e), nil
	}
	return t, f, nil, nil
}
