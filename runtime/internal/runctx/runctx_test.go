package runctx

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type key struct{}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// afters returns how many AfterFuncs are registered on c.
func afters(c *Context) int {
	s := c.sig.Load()
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.afters)
}

func TestValuesComeFromValuesContextOnly(t *testing.T) {
	parent, cancel := context.WithTimeout(context.WithValue(context.Background(), key{}, "v"), time.Hour)
	var c Context
	c.Init(context.WithoutCancel(parent), nil)
	cancel()

	if got := c.Value(key{}); got != "v" {
		t.Fatalf("Value = %v, want v", got)
	}
	if d, ok := c.Deadline(); ok || !d.IsZero() {
		t.Fatalf("Deadline = %v, %v; want none", d, ok)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err = %v after the values context ended; want nil", err)
	}
	if isClosed(c.Done()) {
		t.Fatal("Done closed after the values context ended")
	}
	if c.String() == "" {
		t.Fatal("empty String")
	}
	c.Cancel(nil)
}

func TestStopContext(t *testing.T) {
	for _, tc := range []struct {
		name string
		// run cancels stop at some point around Init and Done.
		run func(c *Context, stop context.Context, cancelStop func())
	}{
		{"stop ended before Init", func(c *Context, stop context.Context, cancelStop func()) {
			cancelStop()
			c.Init(context.Background(), stop)
		}},
		{"stop ended after Init, before Done", func(c *Context, stop context.Context, cancelStop func()) {
			c.Init(context.Background(), stop)
			cancelStop()
		}},
		{"stop ended after Done", func(c *Context, stop context.Context, cancelStop func()) {
			c.Init(context.Background(), stop)
			if isClosed(c.Done()) {
				panic("Done closed before stop ended")
			}
			cancelStop()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stop, cancelStop := context.WithCancelCause(context.Background())
			var c Context
			tc.run(&c, stop, func() { cancelStop(errors.New("a cause")) })
			// Done must close, whether or not anyone called Err first.
			select {
			case <-c.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("Done not closed after the stop context ended")
			}
			if err := c.Err(); !errors.Is(err, context.Canceled) {
				t.Fatalf("Err = %v, want context.Canceled", err)
			}
			// The stop context's cause does not leak through: c has no
			// cancelCtx ancestor, so Cause is Err.
			if cause := context.Cause(&c); cause != c.Err() {
				t.Fatalf("Cause = %v, want %v", cause, c.Err())
			}
			// Cancelling later changes nothing.
			c.Cancel(errors.New("late"))
			if err := c.Err(); !errors.Is(err, context.Canceled) {
				t.Fatalf("Err after a late Cancel = %v", err)
			}
		})
	}
}

func TestStopErrWithoutDone(t *testing.T) {
	// Err alone notices the end of stop, before the AfterFunc on stop runs
	// (here it is never registered, since nobody asked for Done), and Done
	// asked afterwards is closed.
	stop, cancelStop := context.WithCancel(context.Background())
	var c Context
	c.Init(context.Background(), stop)
	cancelStop()
	if err := c.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err = %v", err)
	}
	if !isClosed(c.Done()) {
		t.Fatal("Done not closed although Err is not nil")
	}
}

func TestStopThatCannotEndIsIgnored(t *testing.T) {
	var c Context
	c.Init(context.Background(), context.Background())
	if c.stop != nil {
		t.Fatal("a stop context with a nil Done was kept")
	}
	if c.Err() != nil || isClosed(c.Done()) {
		t.Fatal("context ended by itself")
	}
	c.Cancel(nil)
	if !isClosed(c.Done()) {
		t.Fatal("Done not closed after Cancel")
	}
}

func TestCancelIdempotent(t *testing.T) {
	first := errors.New("first")
	for _, tc := range []struct {
		name    string
		errs    []error
		want    error
		doneNow bool // ask for Done before cancelling
	}{
		{"nil means Canceled", []error{nil}, context.Canceled, false},
		{"first error wins", []error{first, context.Canceled, nil}, first, false},
		{"first error wins with Done", []error{first, errors.New("second")}, first, true},
		{"DeadlineExceeded", []error{context.DeadlineExceeded, nil}, context.DeadlineExceeded, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Context
			c.Init(context.Background(), nil)
			var done <-chan struct{}
			if tc.doneNow {
				done = c.Done()
			}
			for _, err := range tc.errs {
				c.Cancel(err)
			}
			if err := c.Err(); err != tc.want {
				t.Fatalf("Err = %v, want %v", err, tc.want)
			}
			if done == nil {
				done = c.Done()
			}
			if !isClosed(done) {
				t.Fatal("Done not closed")
			}
			if cause := context.Cause(&c); cause != tc.want {
				t.Fatalf("Cause = %v, want %v", cause, tc.want)
			}
		})
	}
}

func TestConcurrentCancel(t *testing.T) {
	stop, cancelStop := context.WithCancel(context.Background())
	defer cancelStop()
	for range 200 {
		var c Context
		c.Init(context.Background(), stop)
		var wg sync.WaitGroup
		errs := []error{errors.New("a"), errors.New("b"), nil}
		for _, err := range errs {
			wg.Go(func() { c.Cancel(err) })
		}
		wg.Go(func() { <-c.Done() })
		wg.Wait()
		got := c.Err()
		if got == nil || !isClosed(c.Done()) {
			t.Fatalf("Err = %v, Done closed = %v", got, isClosed(c.Done()))
		}
		if got != errs[0] && got != errs[1] && got != context.Canceled {
			t.Fatalf("Err = %v, not one of the errors given", got)
		}
		for range 3 {
			if c.Err() != got {
				t.Fatal("Err changed")
			}
		}
	}
}

// TestErrImpliesDone checks the Context contract from an observer's side:
// whenever Err returns an error, Done is closed, even while another goroutine
// is in the middle of cancelling.
func TestErrImpliesDone(t *testing.T) {
	for _, via := range []string{"Cancel", "stop"} {
		t.Run(via, func(t *testing.T) {
			n := 2000
			if testing.Short() {
				n = 200
			}
			for range n {
				stop, cancelStop := context.WithCancel(context.Background())
				var c Context
				c.Init(context.Background(), stop)
				done := c.Done()
				start := make(chan struct{})
				var wg sync.WaitGroup
				wg.Go(func() {
					<-start
					if via == "Cancel" {
						c.Cancel(nil)
					} else {
						cancelStop()
					}
				})
				close(start)
				for c.Err() == nil {
					runtime.Gosched()
				}
				if !isClosed(done) {
					t.Fatal("Err returned an error while Done was still open")
				}
				wg.Wait()
				cancelStop()
			}
		})
	}
}

func TestAfterFunc(t *testing.T) {
	t.Run("runs once on Cancel", func(t *testing.T) {
		var c Context
		c.Init(context.Background(), nil)
		ran := make(chan struct{})
		var calls atomic.Int32
		stopF := context.AfterFunc(&c, func() {
			calls.Add(1)
			close(ran)
		})
		if afters(&c) != 1 {
			t.Fatalf("context.AfterFunc did not register on c (%d registered)", afters(&c))
		}
		c.Cancel(nil)
		c.Cancel(nil)
		<-ran
		if stopF() {
			t.Fatal("stop returned true after the function ran")
		}
		if calls.Load() != 1 {
			t.Fatalf("function ran %d times", calls.Load())
		}
	})
	t.Run("stop prevents it", func(t *testing.T) {
		var c Context
		c.Init(context.Background(), nil)
		stopF := c.AfterFunc(func() { t.Error("stopped AfterFunc ran") })
		if !stopF() {
			t.Fatal("first stop returned false")
		}
		if stopF() {
			t.Fatal("second stop returned true")
		}
		if afters(&c) != 0 {
			t.Fatal("stopped AfterFunc still registered")
		}
		c.Cancel(nil)
		// An AfterFunc registered after the stopped one runs; since
		// AfterFuncs start together, the stopped one would have too.
		ran := make(chan struct{})
		c.AfterFunc(func() { close(ran) })
		<-ran
	})
	t.Run("registered after Cancel runs at once", func(t *testing.T) {
		var c Context
		c.Init(context.Background(), nil)
		c.Cancel(nil)
		ran := make(chan struct{})
		stopF := c.AfterFunc(func() { close(ran) })
		<-ran
		if stopF() {
			t.Fatal("stop returned true for a function that ran")
		}
	})
	t.Run("runs when stop ends", func(t *testing.T) {
		stop, cancelStop := context.WithCancel(context.Background())
		var c Context
		c.Init(context.Background(), stop)
		ran := make(chan struct{})
		c.AfterFunc(func() { close(ran) })
		cancelStop()
		<-ran
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err = %v", c.Err())
		}
	})
}

func TestDerivedContexts(t *testing.T) {
	t.Run("WithTimeout cancelled through c", func(t *testing.T) {
		var c Context
		c.Init(context.Background(), nil)
		d, cancel := context.WithTimeout(&c, time.Hour)
		defer cancel()
		if afters(&c) != 1 {
			t.Fatalf("WithTimeout registered %d AfterFuncs, want 1 (and no goroutine)", afters(&c))
		}
		c.Cancel(nil)
		<-d.Done()
		if !errors.Is(d.Err(), context.Canceled) {
			t.Fatalf("derived Err = %v", d.Err())
		}
		if cause := context.Cause(d); cause != context.Canceled {
			t.Fatalf("derived Cause = %v", cause)
		}
	})
	t.Run("WithTimeout ends by itself and unregisters", func(t *testing.T) {
		var c Context
		c.Init(context.Background(), nil)
		d, cancel := context.WithTimeout(&c, time.Millisecond)
		defer cancel()
		<-d.Done()
		if !errors.Is(d.Err(), context.DeadlineExceeded) {
			t.Fatalf("derived Err = %v", d.Err())
		}
		if c.Err() != nil {
			t.Fatal("a child's timeout cancelled its parent")
		}
		// The child unregisters right after it closes Done, in the
		// timer's goroutine: nothing announces it, so poll.
		for deadline := time.Now().Add(5 * time.Second); afters(&c) != 0; {
			if time.Now().After(deadline) {
				t.Fatalf("%d AfterFuncs left after the child ended", afters(&c))
			}
			time.Sleep(time.Millisecond)
		}
		c.Cancel(nil)
	})
	t.Run("cancel func unregisters", func(t *testing.T) {
		var c Context
		c.Init(context.Background(), nil)
		for range 10 {
			_, cancel := context.WithTimeout(&c, time.Hour)
			cancel()
		}
		if n := afters(&c); n != 0 {
			t.Fatalf("%d AfterFuncs left after the children were cancelled", n)
		}
		c.Cancel(nil)
	})
	t.Run("derived from a cancelled context", func(t *testing.T) {
		var c Context
		c.Init(context.Background(), nil)
		c.Cancel(context.DeadlineExceeded)
		d, cancel := context.WithCancelCause(&c)
		defer cancel(nil)
		if !isClosed(d.Done()) || d.Err() != context.DeadlineExceeded {
			t.Fatalf("child of a cancelled context: Err = %v", d.Err())
		}
	})
	t.Run("stop reaches derived", func(t *testing.T) {
		stop, cancelStop := context.WithCancelCause(context.Background())
		var c Context
		c.Init(context.Background(), stop)
		d, cancel := context.WithTimeout(&c, time.Hour)
		defer cancel()
		cancelStop(errors.New("stopping"))
		<-d.Done()
		if !errors.Is(d.Err(), context.Canceled) || !errors.Is(context.Cause(d), context.Canceled) {
			t.Fatalf("derived Err = %v, Cause = %v", d.Err(), context.Cause(d))
		}
	})
}

func TestCauseDoesNotSeeValuesParent(t *testing.T) {
	parentCause := errors.New("request over")
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), key{}, 1))
	cancel(parentCause)

	var c Context
	c.Init(context.WithoutCancel(parent), nil)
	if context.Cause(&c) != nil {
		t.Fatalf("Cause of a live context = %v, want nil", context.Cause(&c))
	}
	c.Cancel(nil)
	if cause := context.Cause(&c); cause != context.Canceled {
		t.Fatalf("Cause = %v, want context.Canceled (not the values parent's cause)", cause)
	}
	if c.Value(key{}) != 1 {
		t.Fatal("values lost")
	}
}

func TestNoAllocationUntilObserved(t *testing.T) {
	// The Context lives inside its owner, which is allocated anyway.
	cs := make([]Context, 101)
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		c := &cs[i]
		i++
		c.Init(context.Background(), nil)
		_ = c.Err()
		_ = c.Value(key{})
		c.Cancel(nil)
	})
	if allocs != 0 {
		t.Fatalf("Init, Err, Value and Cancel allocate %v times, want 0", allocs)
	}
}
