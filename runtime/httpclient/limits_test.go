package httpclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/httpclient"
)

func TestTimeout(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-r.Context().Done() // never answers; ends when the client gives up
	})
	ctx := context.Background()

	_, err := await(t, newClient(t).Get(ctx, srv.URL, nil, httpclient.Timeout(20*time.Millisecond), httpclient.Retry(false)))
	var ne net.Error
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("err = %v", err)
	}
	if n := hits.Load(); n > 1 {
		t.Errorf("%d hits with Retry(false)", n)
	}

	// A timeout is retried like a network error. (Attempts are counted on
	// the client: one may time out before its request reaches the handler.)
	var attempts atomic.Int32
	c := newClient(t, httpclient.WithTimeout(20*time.Millisecond), httpclient.WithHooks(httpclient.Hooks{
		AfterResponse: func(_ *http.Request, _ *httpclient.Response, err error, _ httpclient.Attempt) {
			if errors.Is(err, context.DeadlineExceeded) {
				attempts.Add(1)
			}
		},
	}))
	_, err = await(t, c.Get(ctx, srv.URL, nil))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Errorf("err = %v", err)
	}
	if n := attempts.Load(); n != 3 {
		t.Errorf("%d attempts timed out, want 3", n)
	}
}

func TestSlowBody(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			rc.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	_, err := await(t, newClient(t).Get(context.Background(), srv.URL, nil, httpclient.Timeout(50*time.Millisecond), httpclient.Retry(false)))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a body that trickles forever: %v", err)
	}
}

func TestEndlessBody(t *testing.T) {
	t.Parallel()
	handlerDone := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(handlerDone)
		chunk := bytes.Repeat([]byte("y"), 32<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	_, err := await(t, newClient(t, httpclient.WithMaxResponseBytes(1<<20)).Get(context.Background(), srv.URL, nil))
	if !errors.Is(err, httpclient.ErrResponseTooLarge) || !strings.Contains(err.Error(), "over 1 MiB") {
		t.Errorf("an endless body: %v", err)
	}
	<-handlerDone // the client hung up, so the server's writes failed
}

func TestSizeLimit(t *testing.T) {
	t.Parallel()
	const limit = 1000
	var hits atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Has("chunked") {
			w.Write(nil)
			http.NewResponseController(w).Flush() // headers out: no Content-Length
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.Write(bytes.Repeat([]byte("z"), n))
	})
	c := newClient(t, httpclient.WithMaxResponseBytes(limit))
	ctx := context.Background()
	for _, tt := range []struct {
		n       int
		chunked bool
		ok      bool
	}{
		{limit, false, true}, {limit, true, true},
		{limit + 1, false, false}, {limit + 1, true, false},
		{100 * limit, true, false},
		{0, false, true},
	} {
		hits.Store(0)
		params := httpclient.Params{"n": strconv.Itoa(tt.n)}
		if tt.chunked {
			params["chunked"] = "1"
		}
		resp, err := await(t, c.Get(ctx, srv.URL, params))
		switch {
		case tt.ok && (err != nil || len(resp.Body) != tt.n):
			t.Errorf("%d bytes (chunked %v): %v", tt.n, tt.chunked, err)
		case !tt.ok && !errors.Is(err, httpclient.ErrResponseTooLarge):
			t.Errorf("%d bytes (chunked %v): %v, want ErrResponseTooLarge", tt.n, tt.chunked, err)
		}
		if hits.Load() != 1 {
			t.Errorf("%d bytes: %d hits, want 1", tt.n, hits.Load())
		}
	}
	// HEAD has no body, whatever its Content-Length says.
	if resp := mustOK(t, c.Head(ctx, srv.URL, httpclient.Params{"n": strconv.Itoa(10 * limit)})); resp.Header.Get("Content-Length") != strconv.Itoa(10*limit) {
		t.Errorf("HEAD: %v", resp.Header)
	}
	if resp := mustOK(t, newClient(t, httpclient.WithMaxResponseBytes(0)).Get(ctx, srv.URL, httpclient.Params{"n": "100000", "chunked": "1"})); len(resp.Body) != 100000 {
		t.Errorf("no limit: %d bytes", len(resp.Body))
	}
}

func TestReadBody(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	for _, size := range []int64{-1, 0, 10000, 20000, 5000} {
		for _, limit := range []int64{0, 10000, 9999} {
			got, err := httpclient.ReadBody(iotest.OneByteReader(bytes.NewReader(data)), limit, size)
			wantErr := limit == 9999 || (limit > 0 && size > limit)
			if wantErr {
				if !errors.Is(err, httpclient.ErrResponseTooLarge) {
					t.Errorf("size %d limit %d: %v", size, limit, err)
				}
				continue
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("size %d limit %d: %d bytes, %v", size, limit, len(got), err)
			}
		}
	}
	boom := errors.New("boom")
	if _, err := httpclient.ReadBody(iotest.ErrReader(boom), 0, -1); err != boom {
		t.Errorf("read error: %v", err)
	}
}

func TestCancelMidBody(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"context", "future"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			started, handlerDone := make(chan struct{}), make(chan struct{})
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				defer close(handlerDone)
				hits.Add(1)
				w.Header().Set("Content-Length", "2048")
				w.Write(make([]byte, 1024))
				http.NewResponseController(w).Flush()
				close(started)
				<-r.Context().Done() // the rest never comes
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := newClient(t).Get(ctx, srv.URL, nil)
			<-started
			if how == "context" {
				cancel()
			} else {
				f.Cancel()
			}
			_, err := await(t, f)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v", err)
			}
			<-handlerDone // the connection was closed
			if hits.Load() != 1 {
				t.Errorf("%d hits: retried after cancellation", hits.Load())
			}
		})
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	rec := new(recorder)
	srv := newServer(t, failFirst(rec, 100, http.StatusServiceUnavailable, ""))
	waiting := make(chan struct{})
	c := httpclient.New(httpclient.WithBackoff(time.Hour, time.Hour), httpclient.WithHooks(httpclient.Hooks{
		AfterResponse: func(_ *http.Request, _ *httpclient.Response, _ error, a httpclient.Attempt) {
			if a.Retrying {
				close(waiting)
			}
		},
	}))
	t.Cleanup(c.CloseIdleConnections)
	ctx, cancel := context.WithCancel(context.Background())
	f := c.Get(ctx, srv.URL, nil)
	<-waiting
	cancel()
	_, err := await(t, f)
	if !errors.Is(err, context.Canceled) || rec.hits() != 1 {
		t.Errorf("err %v after %d hits", err, rec.hits())
	}
}

func TestPerHostLimit(t *testing.T) {
	t.Parallel()
	const limit, calls = 3, 12
	var active, peak atomic.Int32
	entered := make(chan struct{}, calls)
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("cancelled") != "" {
			// A call that is cancelled may be cancelled while its
			// handler runs: its client slot is then free again while
			// the handler goes on, so it cannot count against the
			// limit here.
			time.Sleep(100 * time.Microsecond)
			io.WriteString(w, "ok")
			return
		}
		n := active.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		entered <- struct{}{}
		<-release
		active.Add(-1)
	})
	c := newClient(t, httpclient.WithMaxConcurrentPerHost(limit))
	fs := make([]*future.Future[*httpclient.Response], calls)
	for i := range fs {
		fs[i] = c.Get(context.Background(), srv.URL, nil)
	}
	for range limit {
		<-entered
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	eventually(t, "the other calls queue for a slot", func() bool {
		a, w := httpclient.InFlight(c, "http", host)
		return a == limit && w == calls-limit
	})
	close(release)
	mustAll(t, fs)
	if p := peak.Load(); p != limit {
		t.Errorf("the server saw %d requests at once, want %d", p, limit)
	}
	if a, w := httpclient.InFlight(c, "http", host); a != 0 || w != 0 {
		t.Errorf("after the calls: %d active, %d waiting", a, w)
	}
}

func TestCancelWaitingForSlot(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		entered <- struct{}{}
		<-release
	})
	c := newClient(t, httpclient.WithMaxConcurrentPerHost(1))
	first := c.Get(context.Background(), srv.URL, nil)
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	second := c.Get(ctx, srv.URL, nil)
	host := strings.TrimPrefix(srv.URL, "http://")
	eventually(t, "the second call queues", func() bool {
		_, w := httpclient.InFlight(c, "http", host)
		return w == 1
	})
	cancel()
	if _, err := await(t, second); !errors.Is(err, context.Canceled) {
		t.Errorf("second: %v", err)
	}
	if _, w := httpclient.InFlight(c, "http", host); w != 0 {
		t.Errorf("%d still waiting", w)
	}
	close(release)
	mustOK(t, first)
	// The slot is free again.
	go func() { <-entered }()
	mustOK(t, c.Get(context.Background(), srv.URL, nil))
	if n := hits.Load(); n != 2 {
		t.Errorf("%d hits, want 2", n)
	}
}

// TestHostLimiterStress hands slots around under the race detector, with
// waiters giving up at random.
func TestHostLimiterStress(t *testing.T) {
	t.Parallel()
	var active, peak atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("cancelled") != "" {
			// A call that is cancelled may be cancelled while its
			// handler runs: its client slot is then free again while
			// the handler goes on, so it cannot count against the
			// limit here.
			time.Sleep(100 * time.Microsecond)
			io.WriteString(w, "ok")
			return
		}
		n := active.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(100 * time.Microsecond)
		active.Add(-1)
		io.WriteString(w, "ok")
	})
	c := newClient(t, httpclient.WithMaxConcurrentPerHost(2))
	var fs []*future.Future[*httpclient.Response]
	var cancels []context.CancelFunc
	cancelled := map[int]bool{}
	for i := range 200 {
		if i%3 == 0 {
			cancelled[i/2] = true
		}
	}
	for i := range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		cancels = append(cancels, cancel)
		url := srv.URL
		if cancelled[i] {
			url += "?cancelled=1"
		}
		fs = append(fs, c.Get(ctx, url, nil))
		if i%3 == 0 {
			cancels[i/2]()
		}
	}
	results, _ := future.AllSettled(fs...).Await(context.Background())
	for i, r := range results {
		if r.Err != nil && !errors.Is(r.Err, context.Canceled) {
			t.Errorf("call %d: %v", i, r.Err)
		}
	}
	for _, cancel := range cancels {
		cancel()
	}
	if p := peak.Load(); p > 2 {
		t.Errorf("%d at once", p)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	if a, w := httpclient.InFlight(c, "http", host); a != 0 || w != 0 {
		t.Errorf("after the calls: %d active, %d waiting", a, w)
	}
}
