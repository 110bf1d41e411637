package httpclient

import (
	"context"
	"sync"
)

// hostKey names a host for the per-host limit.
type hostKey struct{ scheme, host string }

// hostLimiter is a counting semaphore per host, with FIFO waiters whose wait
// ends when their context does. Entries exist only while a host has requests
// in flight or waiting, so a client that talks to many hosts does not
// accumulate them; freed entries are recycled.
type hostLimiter struct {
	max   int
	mu    sync.Mutex
	hosts map[hostKey]*hostSlots
	free  []*hostSlots
}

type hostSlots struct {
	active  int
	waiters []chan struct{} // FIFO; a waiter's channel is closed when it is handed a slot
}

func newHostLimiter(n int) *hostLimiter {
	return &hostLimiter{max: n, hosts: make(map[hostKey]*hostSlots)}
}

// acquire takes a slot for key, waiting while all are taken, until ctx ends.
// When it returns nil, the caller must call release once.
func (l *hostLimiter) acquire(ctx context.Context, key hostKey) error {
	l.mu.Lock()
	s := l.hosts[key]
	if s == nil {
		if n := len(l.free); n > 0 {
			s = l.free[n-1]
			l.free = l.free[:n-1]
		} else {
			s = new(hostSlots)
		}
		l.hosts[key] = s
	}
	if s.active < l.max {
		s.active++
		l.mu.Unlock()
		return nil
	}
	if err := ctx.Err(); err != nil {
		l.mu.Unlock()
		return err
	}
	ready := make(chan struct{})
	s.waiters = append(s.waiters, ready)
	l.mu.Unlock()

	select {
	case <-ready:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	for i, w := range s.waiters {
		if w == ready {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			l.mu.Unlock()
			return ctx.Err()
		}
	}
	l.mu.Unlock()
	// A release handed us the slot while ctx was ending: pass it on.
	l.release(key)
	return ctx.Err()
}

// release returns a slot taken by acquire, handing it to the longest waiter
// if there is one.
func (l *hostLimiter) release(key hostKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.hosts[key]
	if len(s.waiters) > 0 {
		next := s.waiters[0]
		s.waiters[0] = nil
		s.waiters = s.waiters[1:]
		close(next) // the slot passes to next; active is unchanged
		return
	}
	s.active--
	if s.active == 0 {
		delete(l.hosts, key)
		s.waiters = s.waiters[:0:0]
		if len(l.free) < 64 {
			l.free = append(l.free, s)
		}
	}
}

// inFlight reports the slots taken for key, for tests.
func (l *hostLimiter) inFlight(key hostKey) (active, waiting int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.hosts[key]; s != nil {
		return s.active, len(s.waiters)
	}
	return 0, 0
}
