// Package streams holds what a server shares with its long-lived
// responses, the event streams of runtime/view and the sockets of
// runtime/socket: the signal that the server is shutting down, the write
// timeout each write of a stream gets, and the count and cap of the
// sockets, which have left net/http's hands (hijacked) and which only
// this count tells the server to wait for and to close.
//
// server.Run makes one Set per server and puts it in every request's
// context (With). Without one (a server of your own), streams and sockets
// end only when their request's context ends.
package streams

import (
	"context"
	"sync"
	"time"
)

// Set is one server's long-lived responses. Its methods are safe for
// concurrent use.
type Set struct {
	stop         context.Context
	cancel       context.CancelFunc
	writeTimeout time.Duration
	maxSockets   int

	mu      sync.Mutex
	sockets map[*Socket]struct{}
	empty   chan struct{} // closed and replaced when sockets drops to 0
}

// Socket is one socket's place in its Set.
type Socket struct {
	set  *Set
	kill func()
	once sync.Once
}

// New returns a Set whose stream writes each get writeTimeout (0: none)
// and which admits at most maxSockets sockets at once (0 or less: no cap).
func New(writeTimeout time.Duration, maxSockets int) *Set {
	ctx, cancel := context.WithCancel(context.Background())
	return &Set{stop: ctx, cancel: cancel, writeTimeout: writeTimeout, maxSockets: maxSockets, sockets: map[*Socket]struct{}{}}
}

type key struct{}

// With returns ctx carrying s.
func With(ctx context.Context, s *Set) context.Context { return context.WithValue(ctx, key{}, s) }

// From returns the Set that ctx carries, or nil.
func From(ctx context.Context) *Set {
	s, _ := ctx.Value(key{}).(*Set)
	return s
}

// Stopping returns a context that ends when Stop is called: the server is
// shutting down and its streams and sockets must end. It carries no
// values; use it with context.AfterFunc.
func (s *Set) Stopping() context.Context { return s.stop }

// Stop tells every stream and socket to end. It does not wait; Wait does.
func (s *Set) Stop() { s.cancel() }

// WriteTimeout is how long one write of a stream may take.
func (s *Set) WriteTimeout() time.Duration { return s.writeTimeout }

// AddSocket counts a socket that kill closes at once, when Wait's deadline
// passes. It returns nil when the cap is reached or the set is stopping:
// the socket is refused.
func (s *Set) AddSocket(kill func()) *Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop.Err() != nil || s.maxSockets > 0 && len(s.sockets) >= s.maxSockets {
		return nil
	}
	so := &Socket{set: s, kill: kill}
	s.sockets[so] = struct{}{}
	return so
}

// Done takes the socket out of its set, once: its connection is closed.
func (so *Socket) Done() {
	so.once.Do(func() {
		s := so.set
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.sockets, so)
		if len(s.sockets) == 0 && s.empty != nil {
			close(s.empty)
			s.empty = nil
		}
	})
}

// Sockets returns how many sockets are open.
func (s *Set) Sockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sockets)
}

// MaxSockets returns the cap on sockets, 0 for none.
func (s *Set) MaxSockets() int { return max(s.maxSockets, 0) }

// Wait waits until every socket is done or ctx ends; then it kills the
// sockets left, waits (briefly: kill closes the connection, which ends
// the socket's reads and writes) for them to be done, and returns how
// many it killed.
func (s *Set) Wait(ctx context.Context) int {
	for {
		s.mu.Lock()
		if len(s.sockets) == 0 {
			s.mu.Unlock()
			return 0
		}
		if s.empty == nil {
			s.empty = make(chan struct{})
		}
		empty := s.empty
		s.mu.Unlock()
		select {
		case <-empty:
			continue
		case <-ctx.Done():
		}
		s.mu.Lock()
		left := make([]*Socket, 0, len(s.sockets))
		for so := range s.sockets {
			left = append(left, so)
		}
		s.mu.Unlock()
		for _, so := range left {
			so.kill()
		}
		// Killed sockets finish at once; give their handlers a moment
		// to say so, without waiting on a misbehaving one forever.
		grace := time.NewTimer(time.Second)
		defer grace.Stop()
		for {
			s.mu.Lock()
			n := len(s.sockets)
			if n > 0 && s.empty == nil {
				s.empty = make(chan struct{})
			}
			empty := s.empty
			s.mu.Unlock()
			if n == 0 {
				return len(left)
			}
			select {
			case <-empty:
			case <-grace.C:
				return len(left)
			}
		}
	}
}
