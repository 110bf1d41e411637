package httpclient_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/httpclient"
)

func TestRetryStatuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, status := range []int{429, 502, 503, 504} {
		rec := new(recorder)
		srv := newServer(t, failFirst(rec, 2, status, ""))
		resp := mustOK(t, newClient(t).Get(ctx, srv.URL, nil))
		if resp.StatusCode != 200 || resp.Attempts != 3 || rec.hits() != 3 {
			t.Errorf("%d: ended with %d after %d attempts, %d hits", status, resp.StatusCode, resp.Attempts, rec.hits())
		}
	}
	for _, status := range []int{400, 404, 500, 501} {
		rec := new(recorder)
		srv := newServer(t, failFirst(rec, 2, status, ""))
		resp := mustOK(t, newClient(t).Get(ctx, srv.URL, nil))
		if resp.StatusCode != status || rec.hits() != 1 {
			t.Errorf("%d: ended with %d after %d hits, want no retry", status, resp.StatusCode, rec.hits())
		}
	}

	// When the retries run out the call resolves with the last response.
	rec := new(recorder)
	srv := newServer(t, failFirst(rec, 100, 503, ""))
	resp := mustOK(t, newClient(t, httpclient.WithRetries(4)).Get(ctx, srv.URL, nil))
	var se *httpclient.StatusError
	if resp.StatusCode != 503 || resp.Attempts != 5 || rec.hits() != 5 || !errors.As(resp.Err(), &se) {
		t.Errorf("ended with %d after %d attempts, %d hits", resp.StatusCode, resp.Attempts, rec.hits())
	}
	rec = new(recorder)
	srv = newServer(t, failFirst(rec, 100, 503, ""))
	mustOK(t, newClient(t, httpclient.WithRetries(0)).Get(ctx, srv.URL, nil))
	if rec.hits() != 1 {
		t.Errorf("WithRetries(0): %d hits", rec.hits())
	}
}

func TestRetryNetworkErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rec := new(recorder)
	srv := newServer(t, hangUp(rec, 2))
	resp := mustOK(t, newClient(t).Get(ctx, srv.URL, nil))
	if resp.Text() != "ok" || resp.Attempts != 3 || rec.hits() != 3 {
		t.Errorf("%q after %d attempts, %d hits", resp.Text(), resp.Attempts, rec.hits())
	}

	rec = new(recorder)
	srv = newServer(t, hangUp(rec, 100))
	_, err := await(t, newClient(t).Get(ctx, srv.URL, nil))
	if err == nil || !strings.Contains(err.Error(), "after 3 attempts") || rec.hits() != 3 {
		t.Errorf("err %v, %d hits", err, rec.hits())
	}

	// Connection refused: a listener that is gone.
	gone := newServer(t, echoHandler)
	gone.Close()
	var attempts int
	var mu sync.Mutex
	c := newClient(t, httpclient.WithHooks(httpclient.Hooks{AfterResponse: func(*http.Request, *httpclient.Response, error, httpclient.Attempt) {
		mu.Lock()
		attempts++
		mu.Unlock()
	}}))
	if _, err := await(t, c.Get(ctx, gone.URL, nil)); err == nil {
		t.Error("no error from a closed port")
	}
	if attempts != 3 {
		t.Errorf("%d attempts on connection refused, want 3", attempts)
	}
}

func TestRetryOnlyIdempotentUnlessAsked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	body := httpclient.Body{ContentType: "text/plain", Data: []byte("payload")}
	tests := []struct {
		name  string
		call  func(c *httpclient.Client, url string)
		hits  int
		kind  string
		bodys string
	}{
		{"POST", func(c *httpclient.Client, u string) { await(t, c.Post(ctx, u, body, nil)) }, 1, "status", "payload"},
		{"PATCH", func(c *httpclient.Client, u string) { await(t, c.Patch(ctx, u, body, nil)) }, 1, "status", "payload"},
		{"POST network error", func(c *httpclient.Client, u string) { await(t, c.Post(ctx, u, body, nil)) }, 1, "hangup", "payload"},
		{"POST Retry(true)", func(c *httpclient.Client, u string) { await(t, c.Post(ctx, u, body, nil, httpclient.Retry(true))) }, 3, "status", "payload"},
		{"POST Retry(true) network error", func(c *httpclient.Client, u string) {
			await(t, c.Post(ctx, u, body, nil, httpclient.Retry(true)))
		}, 3, "hangup", "payload"},
		{"PostJSON Retry(true)", func(c *httpclient.Client, u string) {
			await(t, c.PostJSON(ctx, u, map[string]string{"k": "v"}, nil, httpclient.Retry(true)))
		}, 3, "status", `{"k":"v"}`},
		{"PATCH Idempotency-Key", func(c *httpclient.Client, u string) {
			await(t, c.Patch(ctx, u, body, nil, httpclient.Header("Idempotency-Key", "k1")))
		}, 3, "status", "payload"},
		{"PUT", func(c *httpclient.Client, u string) { await(t, c.Put(ctx, u, body, nil)) }, 3, "status", "payload"},
		{"GET Retry(false)", func(c *httpclient.Client, u string) { await(t, c.Get(ctx, u, nil, httpclient.Retry(false))) }, 1, "status", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := new(recorder)
			h := failFirst(rec, 100, http.StatusServiceUnavailable, "")
			if tt.kind == "hangup" {
				h = hangUp(rec, 100)
			}
			srv := newServer(t, h)
			tt.call(newClient(t), srv.URL)
			bodies := rec.allBodies()
			if len(bodies) != tt.hits {
				t.Fatalf("%d hits, want %d", len(bodies), tt.hits)
			}
			for i, b := range bodies {
				if b != tt.bodys {
					t.Errorf("attempt %d sent %q, want %q", i+1, b, tt.bodys)
				}
			}
		})
	}
}

// waits records the waits between attempts instead of taking them.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return ctx.Err()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var (
		mu    sync.Mutex
		n     int
		sent  time.Time
		stale = time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		n++
		switch n {
		case 1:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			sent = time.Now()
			w.Header().Set("Retry-After", sent.Add(6*time.Second).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusTooManyRequests)
		case 3:
			w.Header().Set("Retry-After", stale)
			w.WriteHeader(http.StatusTooManyRequests)
		case 4:
			w.Header().Set("Retry-After", "soon") // malformed: ordinary backoff
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	w := new(waits)
	c := newClient(t, httpclient.WithRetries(4), httpclient.WithBackoff(50*time.Millisecond, 10*time.Second),
		httpclient.WithoutJitter(), httpclient.WithSleep(w.sleep))
	resp := mustOK(t, c.Get(ctx, srv.URL, nil))
	got := w.all()
	if resp.StatusCode != 200 || len(got) != 4 {
		t.Fatalf("status %d after waits %v", resp.StatusCode, got)
	}
	// An HTTP date has whole seconds, so the second wait is a little under 6 s.
	if got[0] != 3*time.Second || got[1] <= 4*time.Second || got[1] > 6*time.Second || got[2] != 0 || got[3] != 400*time.Millisecond {
		t.Errorf("waits %v, want [3s ~6s 0s 400ms]", got)
	}

	t.Run("over the cap", func(t *testing.T) {
		rec := new(recorder)
		srv := newServer(t, failFirst(rec, 1, http.StatusTooManyRequests, "60"))
		w := new(waits)
		resp := mustOK(t, newClient(t, httpclient.WithSleep(w.sleep)).Get(ctx, srv.URL, nil))
		if resp.StatusCode != 429 || rec.hits() != 1 || len(w.all()) != 0 {
			t.Errorf("status %d, %d hits, waits %v: want the 429 at once", resp.StatusCode, rec.hits(), w.all())
		}
		if resp.Header.Get("Retry-After") != "60" {
			t.Error("the response lost its Retry-After")
		}
	})
	// A Retry-After too large to represent, or a date centuries away, asks
	// for more patience than any cap: the response, at once, as over the
	// cap. (An overflowing number used to read as no Retry-After at all,
	// and the call was retried after the ordinary backoff.)
	for _, v := range []string{"99999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		t.Run("too long: "+v, func(t *testing.T) {
			rec := new(recorder)
			srv := newServer(t, failFirst(rec, 1, http.StatusServiceUnavailable, v))
			w := new(waits)
			resp := mustOK(t, newClient(t, httpclient.WithSleep(w.sleep)).Get(ctx, srv.URL, nil))
			if resp.StatusCode != 503 || rec.hits() != 1 || len(w.all()) != 0 || resp.Attempts != 1 {
				t.Errorf("status %d, %d hits, %d attempts, waits %v: want the 503 at once", resp.StatusCode, rec.hits(), resp.Attempts, w.all())
			}
		})
	}
	t.Run("past the context's deadline", func(t *testing.T) {
		rec := new(recorder)
		srv := newServer(t, failFirst(rec, 1, http.StatusServiceUnavailable, "5"))
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		r, err := newClient(t).Get(dctx, srv.URL, nil).Await(ctx)
		if err != nil || r.StatusCode != 503 || rec.hits() != 1 {
			t.Errorf("%v, %d hits: want the 503 without waiting", err, rec.hits())
		}
	})
	t.Run("real wait", func(t *testing.T) {
		rec := new(recorder)
		srv := newServer(t, failFirst(rec, 1, http.StatusServiceUnavailable, "0"))
		resp := mustOK(t, newClient(t).Get(ctx, srv.URL, nil))
		if resp.StatusCode != 200 || rec.hits() != 2 {
			t.Errorf("status %d, %d hits", resp.StatusCode, rec.hits())
		}
	})
}

func TestBackoff(t *testing.T) {
	for k, d := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		d *= time.Millisecond
		for range 200 {
			got := httpclient.Backoff(100*time.Millisecond, time.Second, k+1, false)
			if got < d/2 || got > d {
				t.Fatalf("retry %d: wait %v, want within [%v, %v]", k+1, got, d/2, d)
			}
		}
		if got := httpclient.Backoff(100*time.Millisecond, time.Second, k+1, true); got != d {
			t.Errorf("retry %d without jitter: %v, want %v", k+1, got, d)
		}
	}
	if got := httpclient.Backoff(time.Second, time.Hour, 200, true); got != time.Hour {
		t.Errorf("retry 200: %v, want the cap", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		v    string
		d    time.Duration
		ok   bool
		name string
	}{
		{"", 0, false, "absent"},
		{"0", 0, true, "zero"},
		{" 120 ", 2 * time.Minute, true, "seconds"},
		{"-1", 0, false, "negative"},
		{"1.5", 0, false, "fraction"},
		{"Fri, 02 Jan 2026 03:04:35 GMT", 30 * time.Second, true, "date"},
		{"Friday, 02-Jan-26 03:05:05 GMT", time.Minute, true, "RFC 850 date"},
		{"Fri, 02 Jan 2026 03:00:00 GMT", 0, true, "past date"},
		{"+5", 0, false, "sign"},
		{"99999999999999999999", 365 * 24 * time.Hour, true, "overflow: too long, not absent"},
		{"9999999999", 365 * 24 * time.Hour, true, "huge"},
		{"Fri, 31 Dec 9999 23:59:59 GMT", 365 * 24 * time.Hour, true, "date centuries away"},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.v != "" {
			h.Set("Retry-After", tt.v)
		}
		d, ok := httpclient.RetryAfter(h, now)
		if d != tt.d || ok != tt.ok {
			t.Errorf("%s: %q gives %v %v, want %v %v", tt.name, tt.v, d, ok, tt.d, tt.ok)
		}
	}
}

func TestRetryableError(t *testing.T) {
	if httpclient.RetryableError(httpclient.ErrResponseTooLarge) || httpclient.RetryableError(httpclient.ErrTooManyRedirects) {
		t.Error("limit errors are retryable")
	}
	if !httpclient.RetryableError(errors.New("connection reset by peer")) {
		t.Error("an unknown network error is not retryable")
	}
	notFound := &url.Error{Op: "Get", URL: "http://x.invalid", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Name: "x.invalid", IsNotFound: true}}}
	if httpclient.RetryableError(notFound) {
		t.Error("an unknown host is retryable")
	}
	if !httpclient.RetryableError(&net.DNSError{Name: "x", IsTimeout: true}) {
		t.Error("a DNS timeout is not retryable")
	}
	if httpclient.RetryableError(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}) {
		t.Error("an untrusted certificate is retryable")
	}
}
