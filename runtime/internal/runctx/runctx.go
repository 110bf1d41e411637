// Package runctx provides Context, the cheap cancellable context that the
// runtime hands to the functions it runs: future.Go's function and each task
// of the task loop, and Timeout, the context of a task's attempt under its
// timeout.
//
// It exists because context.WithCancel costs several allocations and a
// registration with its parent for every function, while most functions
// never look at Done. A Context lives inside the struct that owns it, takes
// its values from one context and its cancellation from Cancel and,
// optionally, from a second context, and allocates nothing until somebody
// asks for Done or registers an AfterFunc.
//
// A task's context outlives its function: what the function returns (a
// channel a goroutine feeds, a response body) may go on using it. Such a
// context must not keep itself alive either, through its link to a parent
// that lives long (a loop, a server's context) or a timer: Detach and
// Release drop or weaken the link once the function has returned, and a
// Timeout's timer holds it weakly.
package runctx

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"
)

const (
	live = iota
	cancelling
	cancelled
)

// How a Context follows its stop context, in Context.link.
const (
	linkStrong uint32 = iota // the stop context holds the Context: the default
	linkWeak                 // the stop context holds it weakly (Release)
	linkNone                 // it does not follow stop any more (Detach)
)

// Context is a context.Context whose values come from one context and whose
// cancellation comes from Cancel or from a stop context. Its zero value is
// not usable: call Init first. A Context must not be copied after Init.
type Context struct {
	values context.Context
	stop   context.Context // nil, or a context whose end cancels this one
	state  atomic.Uint32
	link   atomic.Uint32 // linkStrong, linkWeak or linkNone; fits beside state
	err    error         // written once, before state becomes cancelled
	sig    atomic.Pointer[signal]
}

// signal is the part of a Context that only observers need.
type signal struct {
	mu     sync.Mutex
	fired  bool
	done   chan struct{}
	afters map[*afterFunc]struct{}
	// The registration with the stop context, made when the signal is
	// (the stop context is followed only once somebody observes this one),
	// and of the kind kind; unlink removes it. A weak one comes with the
	// cleanup that removes it once the Context is unreachable.
	unlink  func() bool
	kind    uint32
	cleanup runtime.Cleanup
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
	if c.stop != nil && c.link.Load() != linkNone {
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
		if c.stop == nil || c.link.Load() == linkNone {
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
		s.mu.Lock()
		c.linkLocked(s)
		s.mu.Unlock()
	}
	if c.state.Load() == cancelled {
		s.fire()
	}
	return s
}

// linkLocked makes s's registration with the stop context what c.link
// says, replacing one of another kind. The caller holds s.mu, which
// orders it with Detach, Release and fire: whichever of them calls it
// last reads the final c.link. Registering under s.mu cannot deadlock:
// a stop context that has ended runs the callback in a goroutine of its
// own, and the callback takes no lock of the stop context.
func (c *Context) linkLocked(s *signal) {
	kind := c.link.Load()
	if s.fired || c.stop == nil || kind == s.kind && (s.unlink != nil || kind == linkNone) {
		return
	}
	old, oldCleanup := s.unlink, s.cleanup
	s.unlink, s.cleanup, s.kind = nil, runtime.Cleanup{}, kind
	stop := c.stop
	switch kind {
	case linkStrong:
		s.unlink = context.AfterFunc(stop, func() { c.Cancel(stop.Err()) })
	case linkWeak:
		w := weak.Make(c)
		s.unlink = context.AfterFunc(stop, func() {
			if c := w.Value(); c != nil {
				c.Cancel(stop.Err())
			}
		})
		// The registration lives in stop; once nothing else refers to c,
		// nobody can observe it any more, and the cleanup removes it.
		s.cleanup = runtime.AddCleanup(c, unlinkFunc, s.unlink)
	}
	if old != nil {
		old()
		oldCleanup.Stop()
	}
}

func unlinkFunc(unlink func() bool) { unlink() }

// Detach makes c stop following its stop context: from now on only Cancel
// ends it. The task loop detaches a task's context from the loop's hard
// stop once the task's function has returned, so that what the function
// returned keeps a working context and the loop does not keep it alive.
func (c *Context) Detach() { c.relink(linkNone) }

// Release says that c's owner is done with it, without cancelling it: c
// goes on following its stop context, but no longer keeps itself alive
// through it. Once nothing else refers to c (a value the function
// returned, a goroutine it started), its registration with the stop
// context is removed, so that a stop context that lives long does not
// collect registrations. A task run without a loop releases its context,
// which follows its caller's. Release may come before anyone uses c: its
// link is then weak from the start, which costs less than relinking.
func (c *Context) Release() { c.relink(linkWeak) }

func (c *Context) relink(kind uint32) {
	if c.stop == nil {
		return
	}
	c.link.Store(kind)
	// A signal made from now on links as kind says; one made before is
	// relinked here.
	if s := c.sig.Load(); s != nil {
		s.mu.Lock()
		c.linkLocked(s)
		s.mu.Unlock()
	}
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
	afters, unlink, cleanup := s.afters, s.unlink, s.cleanup
	s.afters, s.unlink = nil, nil
	s.mu.Unlock()
	if unlink != nil {
		unlink()
		cleanup.Stop()
	}
	for a := range afters {
		go a.f()
	}
}
