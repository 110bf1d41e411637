package future

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// runContext is the context that Go hands to its function when the parent
// can never be cancelled. It is cancelled only by Future.Cancel and when the
// function returns, so it needs no link to its parent beyond values. It
// lives inside the future and allocates nothing until somebody asks for its
// Done channel or registers an AfterFunc, which most functions never do.
type runContext struct {
	parent    context.Context
	cancelled atomic.Bool
	sig       atomic.Pointer[runSignal]
}

// runSignal is the part of a runContext that only observers need.
type runSignal struct {
	mu     sync.Mutex
	fired  bool
	done   chan struct{}
	afters map[*afterFunc]struct{}
}

type afterFunc struct{ f func() }

var _ context.Context = (*runContext)(nil)

func (c *runContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }

func (c *runContext) Value(key any) any { return c.parent.Value(key) }

func (c *runContext) Err() error {
	if c.cancelled.Load() {
		return context.Canceled
	}
	return nil
}

func (c *runContext) String() string { return "future.Go context" }

func (c *runContext) Done() <-chan struct{} {
	return c.signal().done
}

// signal returns the context's runSignal, making it on first use. A signal
// made after cancellation is fired before it is returned, so that no
// observer waits on a channel that nobody will close.
func (c *runContext) signal() *runSignal {
	if s := c.sig.Load(); s != nil {
		return s
	}
	s := &runSignal{done: make(chan struct{})}
	if !c.sig.CompareAndSwap(nil, s) {
		return c.sig.Load()
	}
	if c.cancelled.Load() {
		s.fire()
	}
	return s
}

// AfterFunc lets context.AfterFunc, and every context.WithCancel or
// WithTimeout derived from this context, register a callback instead of
// starting a goroutine that waits on Done.
func (c *runContext) AfterFunc(f func()) (stop func() bool) {
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

func (c *runContext) cancel() {
	if c.cancelled.Swap(true) {
		return
	}
	if s := c.sig.Load(); s != nil {
		s.fire()
	}
}

// fire closes done and starts the registered AfterFuncs, once.
func (s *runSignal) fire() {
	s.mu.Lock()
	if s.fired {
		s.mu.Unlock()
		return
	}
	s.fired = true
	afters := s.afters
	s.afters = nil
	s.mu.Unlock()
	close(s.done)
	for a := range afters {
		go a.f()
	}
}
