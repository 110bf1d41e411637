package future

import (
	"context"
	"errors"
	"sync/atomic"
)

// Then returns a future that waits for f and, when f succeeds, resolves with
// fn(ctx, value). When f fails, the result fails with f's error and fn is not
// called.
//
// Then starts one goroutine, owned by the returned future, which ends when f
// resolves and fn returns, or when ctx ends or the returned future is
// cancelled, whichever is first. fn receives a child of ctx, as with Go.
func Then[T, U any](ctx context.Context, f *Future[T], fn func(context.Context, T) (U, error)) *Future[U] {
	return Go(ctx, func(ctx context.Context) (U, error) {
		v, err := f.Await(ctx)
		if err != nil {
			var zero U
			return zero, err
		}
		return fn(ctx, v)
	})
}

// Map returns a future that resolves with fn(value) when f succeeds, or with
// f's error when it fails. Map starts no goroutine: fn runs in the goroutine
// that resolves f (or at once, if f has resolved), so it must be quick and
// must not block; use Then for anything that waits. Cancelling the returned
// future cancels f.
func Map[T, U any](f *Future[T], fn func(T) U) *Future[U] {
	out, resolve := New[U](WithCancel(f.Cancel))
	f.onResolve(func() {
		var zero U
		if f.err != nil {
			resolve(zero, f.err)
			return
		}
		defer func() {
			if r := recover(); r != nil {
				resolve(zero, newPanicError(r))
			}
		}()
		resolve(fn(f.value), nil)
	})
	return out
}

// cancelAll cancels every future of fs but the one at index skip.
func cancelAll[T any](fs []*Future[T], skip int) {
	for i, f := range fs {
		if i != skip {
			f.Cancel()
		}
	}
}

// combined is the state that All, AllSettled, First and Any share among
// their inputs: one allocation for the lot, the waiter of every input (by
// its index) and the producer of the result (cancelling it cancels every
// input).
type combined[T, R any] struct {
	fs      []*Future[T]
	out     Promise[R]
	pending atomic.Int64
	// resolved is called with the index of each input as it resolves.
	onInput func(s *combined[T, R], i int)
	values  []T         // All
	results []Result[T] // AllSettled
	errs    []error     // Any
	// needsAll says the result waits for every input (All, AllSettled).
	needsAll bool
}

func (s *combined[T, R]) resolved(i int) { s.onInput(s, i) }
func (s *combined[T, R]) Cancel()        { cancelAll(s.fs, -1) }

// CheckAwait passes Await's check on to the inputs of All and AllSettled,
// in order, since those wait for every input anyway: an input that could
// never resolve while ctx waits fails the Await at once, and an input whose
// producer does the work in the awaiting goroutine (a task of the task
// loop awaited from another task) does it, as a direct Await would. It
// stops once the result has resolved (All failed early). First and Any,
// which need one input only, check none: an input may be beaten by
// another.
func (s *combined[T, R]) CheckAwait(ctx context.Context) error {
	if !s.needsAll {
		return nil
	}
	for _, f := range s.fs {
		if s.out.f.resolved.Load() {
			return nil
		}
		if f.prod == nil || f.resolved.Load() {
			continue
		}
		if err := f.prod.CheckAwait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// combine returns the result future of a combinator of fs, whose inputs
// each call onInput once they have resolved (the last one possibly before
// combine returns).
func combine[T, R any](fs []*Future[T], init func(*combined[T, R]), onInput func(s *combined[T, R], i int)) *Future[R] {
	s := &combined[T, R]{fs: append([]*Future[T](nil), fs...), onInput: onInput}
	s.pending.Store(int64(len(fs)))
	if init != nil {
		init(s)
	}
	out, p := NewPromise[R](s)
	s.out = p
	for i, f := range s.fs {
		f.notify(s, i)
	}
	return out
}

// last reports whether this call settled the last pending input. Writes to
// the state made before it are visible to the caller that sees true.
func (s *combined[T, R]) last() bool { return s.pending.Add(-1) == 0 }

// All returns a future that resolves with the values of fs, in order, once
// they have all succeeded. When one fails, the result fails at once with its
// error and every other future is cancelled (see Future.Cancel). All with no
// futures resolves with an empty slice. All starts no goroutine; cancelling
// the returned future cancels every input.
func All[T any](fs ...*Future[T]) *Future[[]T] {
	if len(fs) == 0 {
		return Resolved([]T{})
	}
	return combine(fs, func(s *combined[T, []T]) { s.values, s.needsAll = make([]T, len(fs)), true },
		func(s *combined[T, []T], i int) {
			f := s.fs[i]
			if f.err != nil {
				if s.out.Resolve(nil, f.err) {
					cancelAll(s.fs, i)
				}
				return
			}
			s.values[i] = f.value
			if s.last() {
				s.out.Resolve(s.values, nil)
			}
		})
}

// AllSettled returns a future that resolves once every future of fs has
// resolved, with each one's result in order. It never fails and cancels
// nothing, except that cancelling the returned future cancels every input.
// It starts no goroutine.
func AllSettled[T any](fs ...*Future[T]) *Future[[]Result[T]] {
	if len(fs) == 0 {
		return Resolved([]Result[T]{})
	}
	return combine(fs, func(s *combined[T, []Result[T]]) { s.results, s.needsAll = make([]Result[T], len(fs)), true },
		func(s *combined[T, []Result[T]], i int) {
			f := s.fs[i]
			s.results[i] = Result[T]{Value: f.value, Err: f.err}
			if s.last() {
				s.out.Resolve(s.results, nil)
			}
		})
}

// First returns a future that resolves like the first future of fs to
// resolve, success or failure, and cancels the others. With no futures it
// fails with ErrNoFutures. It starts no goroutine; cancelling the returned
// future cancels every input.
func First[T any](fs ...*Future[T]) *Future[T] {
	if len(fs) == 0 {
		return Failed[T](ErrNoFutures)
	}
	return combine(fs, nil, func(s *combined[T, T], i int) {
		f := s.fs[i]
		if s.out.Resolve(f.value, f.err) {
			cancelAll(s.fs, i)
		}
	})
}

// Any returns a future that resolves with the value of the first future of
// fs to succeed, and cancels the others. When every future fails, it fails
// with errors.Join of their errors, in the order of fs. With no futures it
// fails with ErrNoFutures. It starts no goroutine; cancelling the returned
// future cancels every input.
func Any[T any](fs ...*Future[T]) *Future[T] {
	if len(fs) == 0 {
		return Failed[T](ErrNoFutures)
	}
	return combine(fs, func(s *combined[T, T]) { s.errs = make([]error, len(fs)) },
		func(s *combined[T, T], i int) {
			f := s.fs[i]
			if f.err == nil {
				if s.out.Resolve(f.value, nil) {
					cancelAll(s.fs, i)
				}
				return
			}
			s.errs[i] = f.err
			if s.last() {
				var zero T
				s.out.Resolve(zero, errors.Join(s.errs...))
			}
		})
}
