// Package runctx provides Context, the cheap cancellable context that the
// runtime hands to the functions it runs: future.Go's function and each task
// of the task loop.
//
// It exists because context.WithCancel costs several allocations and a
// registration with its parent for every function, while most functions
// never look at Done. A Context lives inside the struct that owns it, takes
// its values from one context and its cancellation from Cancel and,
// optionally, from a second context, and allocates nothing until somebody
// asks for Done or registers an AfterFunc.
package runctx

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

const (
	live = iota
	cancelling
	cancelled
)

// Context is a context.Context whose values come from one context and whose
// cancellation comes from Cancel or from a stop context. Its zero value is
// not usable: call Init first. A Context must not be copied after Init.
type Context struct {
	values context.Context
	stop   context.Context // nil, or a context whose end cancels this one
	state  atomic.Uint32
	err    error // written once, before state becomes cancelled
	sig    atomic.Pointer[signal]
}

// signal is the part of a Context that only observers need.
type signal struct {
	mu       sync.Mutex
	fired    bool
	done     chan struct{}
	afters   map[*afterFunc]struct{}
	stopStop func() bool // unregisters from the stop context
}

type afterFunc struct{ f func() }

var _ context.Context = (*Context)(nil)

// Init prepares c. values supplies Value lookups only: its deadline and
// cancellation are ignored (pass context.WithoutCancel of a context that has
// them, so that context.Cause does not find its parent's cause). When stop is
// not nil, c is cancelled with stop's error once stop ends.
func (c *Context) Init(values, stop context.Context) {
	c.values = values
	if stop != nil && stop.Done() != nil {
		c.stop = stop
	}
}

// Deadline is the stop context's deadline, if any: a context that ends
// when stop does ends by stop's deadline.
func (c *Context) Deadline() (time.Time, bool) {
	if c.stop != nil {
		return c.stop.Deadline()
	}
	return time.Time{}, false
}

// Value returns the value for key from the values context.
func (c *Context) Value(key any) any { return c.values.Value(key) }

// Err returns nil until c is cancelled, then the error given to Cancel.
// Whenever it returns an error, Done is closed, as Context requires.
func (c *Context) Err() error {
	if c.state.Load() != cancelled {
		if c.stop == nil {
			return nil
		}
		err := c.stop.Err()
		if err == nil {
			return nil
		}
		// Cancel now rather than wait for the AfterFunc on stop.
		c.Cancel(err)
		for c.state.Load() != cancelled {
			runtime.Gosched() // another Cancel is between its two stores
		}
	}
	// Cancel publishes the state before it closes Done: close it here if
	// the cancelling goroutine has not yet, so that no caller sees an error
	// while Done is open.
	if s := c.sig.Load(); s != nil {
		select {
		case <-s.done:
		default:
			s.fire()
		}
	}
	return c.err
}

// String names the context in panics and logs.
func (c *Context) String() string { return "runtime context" }

// Done returns a channel closed when c is cancelled; it is made on first use.
func (c *Context) Done() <-chan struct{} {
	return c.signal().done
}

// signal returns c's signal, making it on first use. A signal made after
// cancellation is fired before it is returned, so that no observer waits on
// a channel that nobody will close.
func (c *Context) signal() *signal {
	if s := c.sig.Load(); s != nil {
		return s
	}
	s := &signal{done: make(chan struct{})}
	if !c.sig.CompareAndSwap(nil, s) {
		return c.sig.Load()
	}
	if c.stop != nil {
		stop := c.stop
		stopStop := context.AfterFunc(stop, func() { c.Cancel(stop.Err()) })
		s.mu.Lock()
		s.stopStop = stopStop
		fired := s.fired
		s.mu.Unlock()
		if fired {
			stopStop()
		}
	}
	if c.state.Load() == cancelled {
		s.fire()
	}
	return s
}

// AfterFunc lets context.AfterFunc, and every context.WithCancel or
// WithTimeout derived from c, register a callback instead of starting a
// goroutine that waits on Done.
func (c *Context) AfterFunc(f func()) (stop func() bool) {
	s := c.signal()
	a := &afterFunc{f: f}
	s.mu.Lock()
	if s.fired {
		s.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	if s.afters == nil {
		s.afters = make(map[*afterFunc]struct{})
	}
	s.afters[a] = struct{}{}
	s.mu.Unlock()
	return func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.afters[a]; !ok {
			return false
		}
		delete(s.afters, a)
		return true
	}
}

// Cancel cancels c with err (context.Canceled when nil). Only the first call
// has an effect. It never blocks: AfterFuncs start in their own goroutines.
func (c *Context) Cancel(err error) {
	if !c.state.CompareAndSwap(live, cancelling) {
		return
	}
	if err == nil {
		err = context.Canceled
	}
	c.err = err
	c.state.Store(cancelled)
	if s := c.sig.Load(); s != nil {
		s.fire()
	}
}

// fire closes done, unregisters from the stop context and starts the
// registered AfterFuncs, once. When it returns, done is closed.
func (s *signal) fire() {
	s.mu.Lock()
	if s.fired {
		s.mu.Unlock()
		return
	}
	s.fired = true
	// Close under the lock, so that a caller of fire that finds it already
	// fired returns only once done is closed.
	close(s.done)
	afters, stopStop := s.afters, s.stopStop
	s.afters = nil
	s.mu.Unlock()
	if stopStop != nil {
		stopStop()
	}
	for a := range afters {
		go a.f()
	}
}
