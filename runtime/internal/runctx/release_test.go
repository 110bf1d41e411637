package runctx

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
	"weak"
)

// collected polls, collecting garbage, until w's object is gone.
func collected[T any](t *testing.T, w weak.Pointer[T], what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.Value() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("%s not collected in 10s", what)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// eventually polls cond, collecting garbage, until it holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// newStop returns a runtime Context to serve as a stop context, whose
// registrations the tests can count with afters.
func newStop() *Context {
	stop := new(Context)
	stop.Init(context.Background(), nil)
	return stop
}

func TestDetach(t *testing.T) {
	for _, observed := range []bool{false, true} {
		stop := newStop()
		c := new(Context)
		c.Init(context.Background(), stop)
		if observed {
			_ = c.Done()
			if n := afters(stop); n != 1 {
				t.Fatalf("%d registrations on stop after Done, want 1", n)
			}
		}
		c.Detach()
		_ = c.Done()
		if n := afters(stop); n != 0 {
			t.Fatalf("observed %v: %d registrations on stop after Detach, want 0", observed, n)
		}
		stop.Cancel(nil)
		if err := c.Err(); err != nil || isClosed(c.Done()) {
			t.Fatalf("observed %v: a detached context ended with its stop context (%v)", observed, err)
		}
		if _, ok := c.Deadline(); ok {
			t.Fatalf("observed %v: a detached context has its stop context's deadline", observed)
		}
		c.Cancel(nil)
		if !errors.Is(c.Err(), context.Canceled) || !isClosed(c.Done()) {
			t.Fatalf("observed %v: Cancel did not end a detached context", observed)
		}
	}
}

func TestReleaseFollowsStop(t *testing.T) {
	for _, observed := range []bool{false, true} {
		stop, cancelStop := context.WithCancel(context.Background())
		c := new(Context)
		c.Init(context.Background(), stop)
		if observed {
			_ = c.Done()
		}
		c.Release()
		if err := c.Err(); err != nil {
			t.Fatalf("Release ended the context: %v", err)
		}
		cancelStop()
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("observed %v: a released context did not end with its stop context", observed)
		}
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err = %v", c.Err())
		}
	}
}

// TestReleasedIsCollected: a released Context that nobody refers to is
// collected although its stop context lives on, and its registration
// there is removed; one that is not released stays registered.
func TestReleasedIsCollected(t *testing.T) {
	stop := newStop()
	kept := new(Context)
	kept.Init(context.Background(), stop)
	_ = kept.Done()

	var w weak.Pointer[Context]
	func() {
		c := new(Context)
		c.Init(context.Background(), stop)
		_ = c.Done()
		c.Release()
		w = weak.Make(c)
	}()
	if n := afters(stop); n != 2 {
		t.Fatalf("%d registrations on stop, want 2", n)
	}
	collected(t, w, "a released context")
	eventually(t, "the released context's registration to go", func() bool { return afters(stop) == 1 })
	runtime.KeepAlive(kept)
}

func TestTimeout(t *testing.T) {
	t.Run("fires", func(t *testing.T) {
		parent := newStop()
		c := NewTimeout(parent, 20*time.Millisecond)
		if d, ok := c.Deadline(); !ok || time.Until(d) > 20*time.Millisecond {
			t.Fatalf("Deadline = %v, %v", d, ok)
		}
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("Done not closed after the timeout")
		}
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err = %v, want context.DeadlineExceeded", c.Err())
		}
	})
	t.Run("follows its parent", func(t *testing.T) {
		type key struct{}
		parent, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		values := context.WithValue(context.WithoutCancel(parent), key{}, "v")
		var p Context
		p.Init(values, parent)
		c := NewTimeout(&p, time.Hour)
		if d, ok := c.Deadline(); !ok || time.Until(d) > time.Minute {
			t.Fatalf("Deadline = %v, %v; want the parent's, the earlier", d, ok)
		}
		if c.Value(key{}) != "v" {
			t.Fatal("values lost")
		}
		p.Cancel(nil)
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("Done not closed after the parent's end")
		}
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err = %v", c.Err())
		}
		c.Stop()
	})
	t.Run("Stop", func(t *testing.T) {
		c := NewTimeout(newStop(), time.Hour)
		c.Stop()
		if !errors.Is(c.Err(), context.Canceled) || !isClosed(c.Done()) {
			t.Fatalf("Err = %v after Stop", c.Err())
		}
		if c.timer.Stop() {
			t.Fatal("the timer still ran after Stop")
		}
	})
	// Nobody cancels the Timeout of an attempt that succeeded: its timer
	// must not keep it alive until its deadline.
	t.Run("collected before its deadline", func(t *testing.T) {
		parent := newStop()
		var (
			w     weak.Pointer[Timeout]
			timer *time.Timer
		)
		func() {
			c := NewTimeout(parent, time.Hour)
			_ = c.Done()
			w, timer = weak.Make(c), c.timer
		}()
		collected(t, w, "a Timeout that nobody refers to")
		// Reset reports whether the timer was still running, and re-arms
		// it: the cleanup stops it, and the loop ends once Reset finds it
		// stopped.
		eventually(t, "the collected Timeout's timer to stop", func() bool { return !timer.Reset(time.Hour) })
		timer.Stop()
	})
}

// TestRelinkRacesDone: Detach or Release concurrent with the first Done,
// which makes the link to stop, leave exactly the link they ask for.
func TestRelinkRacesDone(t *testing.T) {
	for i := range 2000 {
		stop := newStop()
		c := new(Context)
		c.Init(context.Background(), stop)
		detach := i%2 == 0
		ready := make(chan struct{})
		done := make(chan struct{})
		go func() {
			<-ready
			_ = c.Done()
			close(done)
		}()
		close(ready)
		if detach {
			c.Detach()
		} else {
			c.Release()
		}
		<-done
		s := c.sig.Load()
		s.mu.Lock()
		kind, linked := s.kind, s.unlink != nil
		s.mu.Unlock()
		switch {
		case detach && (linked || afters(stop) != 0):
			t.Fatalf("iteration %d: a detached context still linked to stop (%d registrations)", i, afters(stop))
		case !detach && (!linked || kind != linkWeak || afters(stop) != 1):
			t.Fatalf("iteration %d: a released context linked %v, kind %d, %d registrations; want one weak link", i, linked, kind, afters(stop))
		}
		stop.Cancel(nil)
		if !detach {
			<-c.Done()
		}
	}
}
