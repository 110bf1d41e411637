// Package future provides Future[T], the result of a computation that may not
// have finished yet, and the combinators that wait on several of them.
//
// A future is resolved exactly once, with a value and an error. Code that
// needs the result calls Await with a context; code that needs to wait on
// several things at once selects on Done. Futures are safe for concurrent use
// by any number of goroutines.
//
// # Who owns goroutines
//
// Go starts exactly one goroutine, which ends when its function returns; the
// future owns it. Then starts one goroutine that ends when its input future
// resolves or its context ends. Map, All, AllSettled, First and Any start no
// goroutines: they run a short callback in the goroutine that resolves their
// last input. Await never starts a goroutine and never leaks one: when its
// context ends first it returns at once.
//
// # Panics
//
// A panic in a function run by Go, Then or Map resolves the future with an
// error that wraps *PanicError, which carries the panic value and the stack.
// The process goes on.
//
// # Cost
//
// Measured with `go test -run '^$' -bench GoAwait -count 10 ./runtime/future`
// on a 2-core x86-64 machine (Go 1.26), medians of 10: Go followed by Await
// costs 2 allocations and 0.87 times a raw goroutine that sends its result
// on a buffered channel (which makes 3): 0.65 µs against 0.75 µs. A parent
// context that can be cancelled adds 1 allocation (the
// context.WithoutCancel that carries its values) and about 0.17 µs (1.10
// times raw); the link to the parent's cancellation is made only if the
// function asks for Done. Await yields once before it blocks, which is
// what lets it beat the raw idiom: a future just started has usually
// resolved by then.
package future

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/gofutures/futures/runtime/internal/runctx"
)

// ErrGoexit is the error of a future whose function called runtime.Goexit
// instead of returning.
var ErrGoexit = errors.New("future: function called runtime.Goexit")

// ErrNoFutures is the error of First and Any when they are given no futures.
var ErrNoFutures = errors.New("future: no futures to wait for")

// PanicError is the error of a future whose function panicked. The future's
// error wraps it; retrieve it with errors.As.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the stack of the panicking goroutine, as debug.Stack formats it.
	Stack []byte
}

func newPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: debug.Stack()}
}

// Error returns the panic value followed by the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value when it is an error, so that errors.Is sees
// through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Result is a value and an error, as a resolved future holds them.
type Result[T any] struct {
	Value T
	Err   error
}

// Future is the result of a computation that resolves exactly once.
//
// The zero Future is not usable; create futures with Go, New, Resolved,
// Failed or a combinator.
type Future[T any] struct {
	resolved atomic.Bool
	// wg is released when the future resolves. Await blocks on it when its
	// context cannot be cancelled, so that the common case allocates no
	// channel.
	wg sync.WaitGroup

	mu   sync.Mutex // guards done, first and more, and orders resolution
	done chan struct{}
	// first is the first waiter to register (see notify), kept inline so
	// that a combinator waiting on a future allocates nothing for it; more
	// holds any others, in the order they registered.
	first waiterAt
	more  *[]waiterAt
	value T
	err   error

	// run is the context of a function started by Go with a parent that
	// cannot be cancelled; it lives inside the future so that it costs no
	// allocation. Unused otherwise.
	run runctx.Context
	// prod is the producer's side: what Cancel calls and what vets Await's
	// context. Nil for most futures.
	prod Producer
}

// closedChan is what Done returns for a resolved future that has no channel.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Go runs fn in a new goroutine and returns a future that resolves with what
// fn returns.
//
// fn receives a child of ctx: it carries ctx's values, is cancelled when ctx
// is, when Cancel is called, and once fn has returned. The goroutine is owned
// by the future and ends when fn returns; Go never waits for it. A panic in
// fn resolves the future with an error wrapping *PanicError.
func Go[T any](ctx context.Context, fn func(context.Context) (T, error)) *Future[T] {
	f := &Future[T]{}
	f.wg.Add(1)
	if ctx.Done() == nil {
		// A parent that can never be cancelled (Background, TODO, or values
		// on top of them) needs no link: the future's own context
		// suffices, and it allocates nothing until someone asks for Done.
		f.run.Init(ctx, nil)
	} else {
		// A cancellable parent becomes the context's stop: followed only
		// once someone asks for Done, so a function that never does costs
		// one allocation (WithoutCancel, which keeps the parent's cause
		// from being taken for this context's) rather than a
		// context.WithCancelCause and its registration.
		f.run.Init(context.WithoutCancel(ctx), ctx)
	}
	go f.runFunc(&f.run, fn)
	return f
}

func (f *Future[T]) runFunc(ctx context.Context, fn func(context.Context) (T, error)) {
	var (
		v        T
		err      error
		returned bool
	)
	defer func() {
		if !returned {
			// recover returns nil both for runtime.Goexit and for panic(nil)
			// before Go 1.21; with 1.21+ panic(nil) becomes *runtime.PanicNilError.
			if r := recover(); r != nil {
				err = newPanicError(r)
			} else {
				err = ErrGoexit
			}
		}
		f.resolve(v, err)
		f.Cancel() // release the function's context and anything derived from it
	}()
	v, err = fn(ctx)
	returned = true
}

// Producer is the side of a future that makes its value, as NewPromise
// plugs it in: Cancel asks the work to stop (Future.Cancel calls it), and
// CheckAwait vets Await's context before Await blocks on the unresolved
// future, returning an error to make Await fail at once instead; it may
// also do the work in the awaiting goroutine and return once it is done.
// The task loop's tasks are producers: CheckAwait turns the wait for an
// after-response task inside its own request, which could never end, into
// an error, and runs a queued task that another task awaits. All and
// AllSettled pass the check on to their inputs. Both methods must be safe
// for concurrent use.
type Producer interface {
	Cancel()
	CheckAwait(ctx context.Context) error
}

// Option configures a future made by New.
type Option interface {
	apply(*newOptions)
}

// newOptions is the Producer that New's options make.
type newOptions struct {
	cancel func()
	check  func(context.Context) error
}

func (n *newOptions) Cancel() {
	if n.cancel != nil {
		n.cancel()
	}
}

func (n *newOptions) CheckAwait(ctx context.Context) error {
	if n.check != nil {
		return n.check(ctx)
	}
	return nil
}

type optionFunc func(*newOptions)

func (o optionFunc) apply(n *newOptions) { o(n) }

// WithCancel makes Cancel on the new future call cancel, which should ask the
// computation behind it to stop. cancel may be called more than once and from
// any goroutine.
func WithCancel(cancel func()) Option {
	return optionFunc(func(n *newOptions) { n.cancel = cancel })
}

// WithAwaitCheck makes Await call check with its context before blocking on
// the unresolved future; when check returns an error, Await returns it at
// once. It lets a producer turn a wait that could never end (a deadlock) into
// an error.
func WithAwaitCheck(check func(ctx context.Context) error) Option {
	return optionFunc(func(n *newOptions) { n.check = check })
}

// New returns an unresolved future and the function that resolves it (a
// promise). The first call of resolve sets the result and returns true; later
// calls change nothing and return false, so a producer can tell that it lost
// a race. resolve is safe to call from any goroutine.
//
// Whoever holds resolve owns the future: if it is never called, Await blocks
// until its context ends. NewPromise does the same with fewer allocations,
// for producers that make many futures.
func New[T any](opts ...Option) (*Future[T], func(T, error) bool) {
	f := &Future[T]{}
	f.wg.Add(1)
	if len(opts) > 0 {
		n := new(newOptions)
		for _, o := range opts {
			o.apply(n)
		}
		f.prod = n
	}
	return f, f.resolve
}

// Promise resolves the future it was made with; see NewPromise. It is a
// small value: copy it freely.
type Promise[T any] struct{ f *Future[T] }

// Resolve sets the future's result if it has none yet, and reports whether
// it did, as New's resolve function does. It is safe to call from any
// goroutine.
func (p Promise[T]) Resolve(v T, err error) bool { return p.f.resolve(v, err) }

// NewPromise returns an unresolved future and its Promise, with prod (which
// may be nil) as the producer behind it. It costs one allocation, the
// future: the task loop makes one per task.
func NewPromise[T any](prod Producer) (*Future[T], Promise[T]) {
	f := &Future[T]{prod: prod}
	f.wg.Add(1)
	return f, Promise[T]{f}
}

// Resolved returns a future already resolved with v.
func Resolved[T any](v T) *Future[T] {
	f := &Future[T]{value: v}
	f.resolved.Store(true)
	return f
}

// Failed returns a future already resolved with the zero value and err.
func Failed[T any](err error) *Future[T] {
	f := &Future[T]{err: err}
	f.resolved.Store(true)
	return f
}

// resolve sets the result once, wakes every waiter and runs the callbacks in
// the calling goroutine.
func (f *Future[T]) resolve(v T, err error) bool {
	f.mu.Lock()
	if f.resolved.Load() {
		f.mu.Unlock()
		return false
	}
	f.value, f.err = v, err
	f.resolved.Store(true)
	done, first, more := f.done, f.first, f.more
	f.first, f.more = waiterAt{}, nil
	f.mu.Unlock()

	f.wg.Done()
	if done != nil {
		close(done)
	}
	if first.w != nil {
		first.w.resolved(first.i)
	}
	if more != nil {
		for _, w := range *more {
			w.w.resolved(w.i)
		}
	}
	return true
}

// Await blocks until the future resolves or ctx ends, whichever is first, and
// returns the future's value and error, or the zero value and ctx.Err(). It
// starts no goroutine and leaves nothing behind when ctx ends first; the
// computation goes on (call Cancel to stop it).
func (f *Future[T]) Await(ctx context.Context) (T, error) {
	if f.resolved.Load() {
		return f.value, f.err
	}
	if f.prod != nil {
		if err := f.prod.CheckAwait(ctx); err != nil {
			var zero T
			return zero, err
		}
	}
	// Blocking costs far more than yielding once: a park and a wake-up,
	// and with a cancellable ctx a channel made and a select on two
	// channels. A future about to resolve, such as one just started with
	// Go, whose goroutine this P runs next, often has by the time this
	// goroutine runs again.
	runtime.Gosched()
	if f.resolved.Load() {
		return f.value, f.err
	}
	ctxDone := ctx.Done()
	if ctxDone == nil {
		f.wg.Wait()
		return f.value, f.err
	}
	select {
	case <-f.Done():
		return f.value, f.err
	case <-ctxDone:
		if f.resolved.Load() {
			return f.value, f.err
		}
		var zero T
		return zero, ctx.Err()
	}
}

// Done returns a channel that is closed when the future resolves, for use in
// select. The channel is made on the first call, so futures that are only
// awaited never allocate one.
func (f *Future[T]) Done() <-chan struct{} {
	if f.resolved.Load() {
		return closedChan
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.resolved.Load() {
		return closedChan
	}
	if f.done == nil {
		f.done = make(chan struct{})
	}
	return f.done
}

// Peek returns the result and true if the future has resolved, or the zero
// Result and false if not. It never blocks.
func (f *Future[T]) Peek() (Result[T], bool) {
	if !f.resolved.Load() {
		return Result[T]{}, false
	}
	return Result[T]{Value: f.value, Err: f.err}, true
}

// Cancel asks the computation behind the future to stop: for a future from
// Go it cancels the function's context, for a future from New it calls the
// function given to WithCancel, if any. It does not resolve the future
// itself: the computation decides what to resolve it with (usually the
// context's error). Cancel never blocks and may be called any number of times.
func (f *Future[T]) Cancel() {
	switch {
	case f.prod != nil:
		f.prod.Cancel()
	default:
		f.run.Cancel(nil) // a no-op unless Go initialized it
	}
}

// waiter is told when a future it waits on has resolved: combinators keep
// one state for all their inputs and tell the inputs apart by index, so that
// waiting costs no closure per input.
type waiter interface {
	resolved(i int)
}

// waiterAt is a waiter and the index it gave.
type waiterAt struct {
	w waiter
	i int
}

// funcWaiter adapts a callback to a waiter; being a func, it is stored in
// the interface without an allocation.
type funcWaiter func()

func (cb funcWaiter) resolved(int) { cb() }

// onResolve calls cb once the future has resolved: at once in the calling
// goroutine if it already has, otherwise in the goroutine that resolves it.
func (f *Future[T]) onResolve(cb func()) { f.notify(funcWaiter(cb), 0) }

// notify calls w.resolved(i) once the future has resolved: at once in the
// calling goroutine if it already has, otherwise in the goroutine that
// resolves it. The first waiter of a future costs no allocation.
func (f *Future[T]) notify(w waiter, i int) {
	if !f.resolved.Load() {
		f.mu.Lock()
		if !f.resolved.Load() {
			switch {
			case f.first.w == nil:
				f.first = waiterAt{w, i}
			case f.more == nil:
				f.more = &[]waiterAt{{w, i}}
			default:
				*f.more = append(*f.more, waiterAt{w, i})
			}
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
	}
	w.resolved(i)
}
