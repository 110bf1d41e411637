package future

import (
	"context"
	"errors"
	"sync"
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

// All returns a future that resolves with the values of fs, in order, once
// they have all succeeded. When one fails, the result fails at once with its
// error and every other future is cancelled (see Future.Cancel). All with no
// futures resolves with an empty slice. All starts no goroutine; cancelling
// the returned future cancels every input.
func All[T any](fs ...*Future[T]) *Future[[]T] {
	fs = append([]*Future[T](nil), fs...)
	out, resolve := New[[]T](WithCancel(func() { cancelAll(fs, -1) }))
	values := make([]T, len(fs))
	if len(fs) == 0 {
		resolve(values, nil)
		return out
	}
	var (
		mu      sync.Mutex
		pending = len(fs)
	)
	for i, f := range fs {
		f.onResolve(func() {
			if f.err != nil {
				if resolve(nil, f.err) {
					cancelAll(fs, i)
				}
				return
			}
			mu.Lock()
			values[i] = f.value
			pending--
			last := pending == 0
			mu.Unlock()
			if last {
				resolve(values, nil)
			}
		})
	}
	return out
}

// AllSettled returns a future that resolves once every future of fs has
// resolved, with each one's result in order. It never fails and cancels
// nothing, except that cancelling the returned future cancels every input.
// It starts no goroutine.
func AllSettled[T any](fs ...*Future[T]) *Future[[]Result[T]] {
	fs = append([]*Future[T](nil), fs...)
	out, resolve := New[[]Result[T]](WithCancel(func() { cancelAll(fs, -1) }))
	results := make([]Result[T], len(fs))
	if len(fs) == 0 {
		resolve(results, nil)
		return out
	}
	var (
		mu      sync.Mutex
		pending = len(fs)
	)
	for i, f := range fs {
		f.onResolve(func() {
			mu.Lock()
			results[i] = Result[T]{Value: f.value, Err: f.err}
			pending--
			last := pending == 0
			mu.Unlock()
			if last {
				resolve(results, nil)
			}
		})
	}
	return out
}

// First returns a future that resolves like the first future of fs to
// resolve, success or failure, and cancels the others. With no futures it
// fails with ErrNoFutures. It starts no goroutine; cancelling the returned
// future cancels every input.
func First[T any](fs ...*Future[T]) *Future[T] {
	if len(fs) == 0 {
		return Failed[T](ErrNoFutures)
	}
	fs = append([]*Future[T](nil), fs...)
	out, resolve := New[T](WithCancel(func() { cancelAll(fs, -1) }))
	for i, f := range fs {
		f.onResolve(func() {
			if resolve(f.value, f.err) {
				cancelAll(fs, i)
			}
		})
	}
	return out
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
	fs = append([]*Future[T](nil), fs...)
	out, resolve := New[T](WithCancel(func() { cancelAll(fs, -1) }))
	var (
		mu      sync.Mutex
		errs    = make([]error, len(fs))
		pending = len(fs)
	)
	for i, f := range fs {
		f.onResolve(func() {
			if f.err == nil {
				if resolve(f.value, nil) {
					cancelAll(fs, i)
				}
				return
			}
			mu.Lock()
			errs[i] = f.err
			pending--
			last := pending == 0
			mu.Unlock()
			if last {
				var zero T
				resolve(zero, errors.Join(errs...))
			}
		})
	}
	return out
}
