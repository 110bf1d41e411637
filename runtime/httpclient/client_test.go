package httpclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/httpclient"
)

func TestMethods(t *testing.T) {
	t.Parallel()
	srv := newServer(t, echoHandler)
	c := newClient(t, httpclient.WithHeader("X-Client", "c1"))
	ctx := context.Background()
	u := srv.URL + "/things?lang=en"
	params := httpclient.Params{"q": "a b", "n": "1"}
	text := httpclient.Body{ContentType: "text/plain", Data: []byte("hello")}
	call := httpclient.Header("X-Call", "k1")

	tests := []struct {
		name        string
		f           *future.Future[*httpclient.Response]
		method      string
		body        string
		contentType string
	}{
		{"Get", c.Get(ctx, u, params, call), "GET", "", ""},
		{"Delete", c.Delete(ctx, u, params, call), "DELETE", "", ""},
		{"Post", c.Post(ctx, u, text, params, call), "POST", "hello", "text/plain"},
		{"Put", c.Put(ctx, u, text, params, call), "PUT", "hello", "text/plain"},
		{"Patch", c.Patch(ctx, u, text, params, call), "PATCH", "hello", "text/plain"},
		{"PostJSON", c.PostJSON(ctx, u, map[string]int{"a": 1}, params, call), "POST", `{"a":1}`, "application/json"},
		{"PutJSON", c.PutJSON(ctx, u, []string{"x"}, params, call), "PUT", `["x"]`, "application/json"},
		{"PatchJSON", c.PatchJSON(ctx, u, "s", params, call), "PATCH", `"s"`, "application/json"},
		{"PostForm", c.Post(ctx, u, httpclient.Form(url.Values{"k": {"v w"}}), params, call), "POST", "k=v+w", "application/x-www-form-urlencoded"},
		{"PostEmpty", c.Post(ctx, u, httpclient.Body{}, params, call), "POST", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := mustOK(t, tt.f)
			var e echo
			if err := resp.JSON(&e); err != nil {
				t.Fatal(err)
			}
			if e.Method != tt.method || resp.Method != tt.method {
				t.Errorf("method: server saw %q, response says %q, want %q", e.Method, resp.Method, tt.method)
			}
			if e.Path != "/things" {
				t.Errorf("path = %q", e.Path)
			}
			if want := "lang=en&n=1&q=a+b"; e.Query != want {
				t.Errorf("query = %q, want %q", e.Query, want)
			}
			if e.Body != tt.body || e.ContentType != tt.contentType {
				t.Errorf("body %q (%q), want %q (%q)", e.Body, e.ContentType, tt.body, tt.contentType)
			}
			h := http.Header(e.Header)
			if h.Get("X-Client") != "c1" || h.Get("X-Call") != "k1" || h.Get("User-Agent") != httpclient.DefaultUserAgent {
				t.Errorf("headers: %v", h)
			}
		})
	}

	t.Run("Head", func(t *testing.T) {
		resp := mustOK(t, c.Head(ctx, u, url.Values{"id": {"1", "2"}}, call))
		if got := resp.Header.Get("X-Echo-Method"); got != "HEAD" {
			t.Errorf("method = %q", got)
		}
		if got := resp.Header.Get("X-Echo-Query"); got != "lang=en&id=1&id=2" {
			t.Errorf("query = %q", got)
		}
		if len(resp.Body) != 0 {
			t.Errorf("HEAD body = %q", resp.Body)
		}
	})
	t.Run("Do", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodOptions, u, nil)
		resp := mustOK(t, c.Do(req, call))
		var e echo
		if err := resp.JSON(&e); err != nil {
			t.Fatal(err)
		}
		h := http.Header(e.Header)
		if e.Method != "OPTIONS" || h.Get("X-Client") != "c1" || h.Get("X-Call") != "k1" {
			t.Errorf("server saw %+v", e)
		}
		if req.Header.Get("X-Client") != "" || req.Header.Get("User-Agent") != "" {
			t.Errorf("Do modified the caller's request: %v", req.Header)
		}
	})
}

func TestPackageLevelFunctionsUseDefault(t *testing.T) {
	srv := newServer(t, echoHandler)
	ctx := context.Background()
	c := newClient(t, httpclient.WithBaseURL(srv.URL), httpclient.WithUserAgent("mine"))
	prev := httpclient.SetDefault(c)
	t.Cleanup(func() { httpclient.SetDefault(prev) })
	if httpclient.Default() != c {
		t.Fatal("Default is not the client given to SetDefault")
	}
	fs := []*future.Future[*httpclient.Response]{
		httpclient.Get(ctx, "/g", nil),
		httpclient.Head(ctx, "/h", nil),
		httpclient.Delete(ctx, "/d", nil),
		httpclient.Post(ctx, "/p", httpclient.Body{}, nil),
		httpclient.PostJSON(ctx, "/pj", 1, nil),
		httpclient.Put(ctx, "/u", httpclient.Body{}, nil),
		httpclient.PutJSON(ctx, "/uj", 1, nil),
		httpclient.Patch(ctx, "/a", httpclient.Body{}, nil),
		httpclient.PatchJSON(ctx, "/aj", 1, nil),
	}
	req, _ := http.NewRequest(http.MethodGet, "/do", nil)
	fs = append(fs, httpclient.Do(req))
	resps := mustAll(t, fs)
	for _, r := range resps {
		if r.Method != "HEAD" {
			var e echo
			if err := r.JSON(&e); err != nil {
				t.Fatalf("%v: %q", err, r.Body)
			}
			if ua := http.Header(e.Header).Get("User-Agent"); ua != "mine" {
				t.Errorf("%s %s: User-Agent %q: not the default client's", e.Method, e.Path, ua)
			}
		}
	}

	// SetDefault(nil) goes back to a fresh client with the defaults.
	httpclient.SetDefault(nil)
	d := httpclient.Default()
	t.Cleanup(d.CloseIdleConnections)
	resp := mustOK(t, httpclient.Get(ctx, srv.URL, nil))
	var e echo
	resp.JSON(&e)
	if ua := http.Header(e.Header).Get("User-Agent"); ua != httpclient.DefaultUserAgent {
		t.Errorf("User-Agent %q after SetDefault(nil)", ua)
	}
}

func mustAll(t *testing.T, fs []*future.Future[*httpclient.Response]) []*httpclient.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resps, err := future.All(fs...).Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return resps
}

func TestSetDefaultConcurrentWithCalls(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	a, b := newClient(t), newClient(t)
	prev := httpclient.SetDefault(a)
	t.Cleanup(func() { httpclient.SetDefault(prev) })
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 10 {
				if i%2 == 0 {
					httpclient.SetDefault(a)
				} else {
					httpclient.SetDefault(b)
				}
				mustOK(t, httpclient.Get(context.Background(), srv.URL, nil))
			}
		})
	}
	wg.Wait()
}

func TestURLs(t *testing.T) {
	t.Parallel()
	srv := newServer(t, echoHandler)
	ctx := context.Background()
	c := newClient(t, httpclient.WithBaseURL(srv.URL+"/v1?key=k"))
	tests := []struct {
		url    string
		params httpclient.Query
		path   string
		query  string
	}{
		{"users/7", nil, "/v1/users/7", "key=k"},
		{"/users/7", nil, "/v1/users/7", "key=k"},
		{"users/", nil, "/v1/users/", "key=k"},
		{"", nil, "/v1", "key=k"},
		{"users?sort=name", httpclient.Params{"page": "2"}, "/v1/users", "key=k&sort=name&page=2"},
		{"users", url.Values{"id": {"1", "2"}}, "/v1/users", "key=k&id=1&id=2"},
		{"users", httpclient.Params(nil), "/v1/users", "key=k"},
		{"a%2Fb", nil, "/v1/a/b", "key=k"},                                           // the server decodes the escaped slash
		{srv.URL + "/v1/abs?x=1", httpclient.Params{"y": "2"}, "/v1/abs", "x=1&y=2"}, // absolute, under the base: as it is
	}
	bare := newClient(t, httpclient.WithBaseURL(srv.URL))
	for _, u := range []string{"users", "/users"} {
		var e echo
		if err := mustOK(t, bare.Get(ctx, u, nil)).JSON(&e); err != nil || e.Path != "/users" {
			t.Errorf("base without a path, Get(%q): server saw %q (%v)", u, e.Path, err)
		}
	}
	// Elsewhere on the base's origin, an absolute URL needs the origin
	// allowed (see TestBaseURLConfinement for what is refused).
	open := newClient(t, httpclient.WithBaseURL(srv.URL+"/v1?key=k"), httpclient.WithAllowedOrigins(srv.URL))
	tests = append(tests, struct {
		url    string
		params httpclient.Query
		path   string
		query  string
	}{srv.URL + "/abs?x=1", httpclient.Params{"y": "2"}, "/abs", "x=1&y=2"})
	for i, tt := range tests {
		c := c
		if i == len(tests)-1 {
			c = open
		}
		resp := mustOK(t, c.Get(ctx, tt.url, tt.params))
		var e echo
		if err := resp.JSON(&e); err != nil {
			t.Fatal(err)
		}
		if e.Path != tt.path || e.Query != tt.query {
			t.Errorf("Get(%q, %v): server saw %q?%q, want %q?%q", tt.url, tt.params, e.Path, e.Query, tt.path, tt.query)
		}
	}
}

func TestParamsEncode(t *testing.T) {
	got := httpclient.Params{"b": "2", "a": "x y", "é": "&="}.Encode()
	if want := "a=x+y&b=2&%C3%A9=%26%3D"; got != want {
		t.Errorf("Encode = %q, want %q", got, want)
	}
	if got := httpclient.Params(nil).Encode(); got != "" {
		t.Errorf("nil Params encode to %q", got)
	}
}

func TestBadURLsFailAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		client *httpclient.Client
		url    string
		want   string
	}{
		{"unparsable", newClient(t), "http://[::1", "missing ']'"},
		{"relative without base", newClient(t), "/users", "no base URL"},
		{"bad base", newClient(t, httpclient.WithBaseURL("not a url")), "/users", "WithBaseURL"},
		{"bad scheme", newClient(t), "ftp://example.com/x", "unsupported protocol scheme"},
	}
	for _, tt := range tests {
		f := tt.client.Get(ctx, tt.url, nil)
		r, ok := f.Peek()
		if !ok {
			t.Errorf("%s: the future is not resolved at once", tt.name)
			continue
		}
		if r.Err == nil || !strings.Contains(r.Err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, r.Err, tt.want)
		}
	}
	f := newClient(t).PostJSON(ctx, "http://127.0.0.1/", func() {}, nil)
	if r, ok := f.Peek(); !ok || r.Err == nil || !strings.Contains(r.Err.Error(), "JSON") {
		t.Errorf("PostJSON of a func: %v", r.Err)
	}
}

func TestResponse(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 2000)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("X-Kind", "ok")
			io.WriteString(w, "héllo")
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "no such\nthing\x00here")
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, long)
		case "/json":
			io.WriteString(w, `{"name":"gopher","age":16}`)
		case "/created":
			w.WriteHeader(http.StatusCreated)
		}
	})
	c := newClient(t)
	ctx := context.Background()

	resp := mustOK(t, c.Get(ctx, srv.URL+"/ok", nil))
	if resp.StatusCode != 200 || resp.Status != "200 OK" || resp.Proto != "HTTP/1.1" || resp.Text() != "héllo" ||
		resp.Header.Get("X-Kind") != "ok" || resp.Attempts != 1 || resp.Elapsed <= 0 || resp.URL.String() != srv.URL+"/ok" {
		t.Errorf("response: %+v", resp)
	}
	if err := resp.Err(); err != nil {
		t.Errorf("Err of a 200: %v", err)
	}
	if err := mustOK(t, c.Get(ctx, srv.URL+"/created", nil)).Err(); err != nil {
		t.Errorf("Err of a 201: %v", err)
	}

	var v struct {
		Name string
		Age  int
	}
	if err := mustOK(t, c.Get(ctx, srv.URL+"/json", nil)).JSON(&v); err != nil || v.Name != "gopher" || v.Age != 16 {
		t.Errorf("JSON: %+v, %v", v, err)
	}
	if err := resp.JSON(&v); err == nil || !strings.Contains(err.Error(), "/ok") {
		t.Errorf("JSON of a text body: %v", err)
	}

	err := mustOK(t, c.Get(ctx, srv.URL+"/missing", nil)).Err()
	var se *httpclient.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("Err of a 404: %v", err)
	}
	want := "httpclient: GET " + srv.URL + "/missing: 404 Not Found: no such thing?here"
	if se.StatusCode != 404 || se.Method != "GET" || se.URL != srv.URL+"/missing" || se.Error() != want {
		t.Errorf("StatusError %+v\n%q\nwant %q", se, se.Error(), want)
	}

	resp = mustOK(t, c.Get(ctx, srv.URL+"/broken", nil, httpclient.Retry(false)))
	if !errors.As(resp.Err(), &se) || se.StatusCode != 500 || len(se.Body) != 512 || len(se.Error()) > 300 || !strings.HasSuffix(se.Error(), "…") {
		t.Errorf("StatusError of a 500 with a long body: %d bytes kept, %q", len(se.Body), se.Error())
	}
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	var loops atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/from":
			http.Redirect(w, r, "/to", http.StatusFound)
		case "/to":
			io.WriteString(w, "arrived")
		case "/loop":
			loops.Add(1)
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	})
	ctx := context.Background()

	resp := mustOK(t, newClient(t).Get(ctx, srv.URL+"/from", nil))
	if resp.Text() != "arrived" || resp.URL.Path != "/to" {
		t.Errorf("followed to %v: %q", resp.URL, resp.Text())
	}

	_, err := await(t, newClient(t, httpclient.WithRedirects(3)).Get(ctx, srv.URL+"/loop", nil))
	if !errors.Is(err, httpclient.ErrTooManyRedirects) {
		t.Errorf("redirect loop: %v", err)
	}
	if n := loops.Load(); n != 4 { // the request and 3 redirects, no retry
		t.Errorf("server saw %d requests, want 4", n)
	}

	resp = mustOK(t, newClient(t, httpclient.WithRedirects(0)).Get(ctx, srv.URL+"/from", nil))
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/to" {
		t.Errorf("WithRedirects(0): %d %v", resp.StatusCode, resp.Header)
	}
}

func TestHooks(t *testing.T) {
	t.Parallel()
	rec := new(recorder)
	srv := newServer(t, failFirst(rec, 1, http.StatusServiceUnavailable, ""))
	type after struct {
		status   int
		attempt  httpclient.Attempt
		hasError bool
	}
	var (
		mu     sync.Mutex
		before []httpclient.Attempt
		afters []after
	)
	c := newClient(t,
		httpclient.WithHooks(httpclient.Hooks{
			BeforeRequest: func(req *http.Request, a httpclient.Attempt) {
				mu.Lock()
				defer mu.Unlock()
				before = append(before, a)
				req.Header.Add("X-Attempt", string(rune('0'+a.Number)))
			},
		}),
		httpclient.WithHooks(httpclient.Hooks{
			AfterResponse: func(req *http.Request, resp *httpclient.Response, err error, a httpclient.Attempt) {
				mu.Lock()
				defer mu.Unlock()
				a.Elapsed = 0 // not comparable
				if a.Retrying && a.Wait <= 0 {
					t.Errorf("retrying without a wait: %+v", a)
				}
				a.Wait = 0
				afters = append(afters, after{resp.StatusCode, a, err != nil})
			},
		}),
	)
	resp := mustOK(t, c.Get(context.Background(), srv.URL, nil))
	if resp.Attempts != 2 {
		t.Errorf("Attempts = %d", resp.Attempts)
	}
	wantBefore := []httpclient.Attempt{{Number: 1, Max: 3}, {Number: 2, Max: 3}}
	wantAfter := []after{
		{503, httpclient.Attempt{Number: 1, Max: 3, Retrying: true}, false},
		{200, httpclient.Attempt{Number: 2, Max: 3}, false},
	}
	mu.Lock()
	defer mu.Unlock()
	if !equal(before, wantBefore) || !equal(afters, wantAfter) {
		t.Errorf("hooks saw\n%+v\n%+v\nwant\n%+v\n%+v", before, afters, wantBefore, wantAfter)
	}
	// Each attempt's headers are its own: the second does not carry the
	// first one's X-Attempt.
	for i, h := range rec.header {
		if got, want := h.Values("X-Attempt"), []string{string(rune('1' + i))}; !equal(got, want) {
			t.Errorf("attempt %d sent X-Attempt %q, want %q", i+1, got, want)
		}
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestConcurrentUse shares one client between goroutines, for the race
// detector.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := newServer(t, echoHandler)
	c := newClient(t, httpclient.WithHeader("X-Shared", "1"), httpclient.WithMaxConcurrentPerHost(4),
		httpclient.WithHooks(httpclient.Hooks{BeforeRequest: func(req *http.Request, _ httpclient.Attempt) {
			req.Header.Add("X-Shared", "2") // must not reach the client's own header
		}}))
	ctx := context.Background()
	var fs []*future.Future[*httpclient.Response]
	for i := range 64 {
		switch i % 3 {
		case 0:
			fs = append(fs, c.Get(ctx, srv.URL, httpclient.Params{"i": "x"}))
		case 1:
			fs = append(fs, c.PostJSON(ctx, srv.URL, i, nil, httpclient.Header("X-I", "y")))
		default:
			fs = append(fs, c.Put(ctx, srv.URL, httpclient.Body{Data: []byte("z")}, nil))
		}
	}
	for _, r := range mustAll(t, fs) {
		var e echo
		if err := r.JSON(&e); err != nil {
			t.Fatal(err)
		}
		if got := http.Header(e.Header).Values("X-Shared"); !equal(got, []string{"1", "2"}) {
			t.Errorf("X-Shared = %q", got)
		}
	}
}

func TestDoBodies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("replayable body is retried", func(t *testing.T) {
		rec := new(recorder)
		srv := newServer(t, failFirst(rec, 2, http.StatusBadGateway, ""))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL, bytes.NewReader([]byte("same bytes")))
		if resp := mustOK(t, newClient(t).Do(req)); resp.Text() != "ok" || resp.Attempts != 3 {
			t.Errorf("%d attempts, %q", resp.Attempts, resp.Text())
		}
		if got := rec.allBodies(); !equal(got, []string{"same bytes", "same bytes", "same bytes"}) {
			t.Errorf("bodies sent: %q", got)
		}
	})
	t.Run("stream is sent once and closed", func(t *testing.T) {
		rec := new(recorder)
		srv := newServer(t, failFirst(rec, 2, http.StatusBadGateway, ""))
		body := &closeRecorder{Reader: strings.NewReader("stream")}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL, body)
		resp := mustOK(t, newClient(t).Do(req))
		if resp.StatusCode != http.StatusBadGateway || rec.hits() != 1 || !body.closed.Load() {
			t.Errorf("status %d, %d hits, closed %v", resp.StatusCode, rec.hits(), body.closed.Load())
		}
	})
	t.Run("body closed when never sent", func(t *testing.T) {
		body := &closeRecorder{Reader: strings.NewReader("x")}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/relative", body)
		if _, err := await(t, newClient(t).Do(req)); err == nil || !body.closed.Load() {
			t.Errorf("err %v, closed %v", err, body.closed.Load())
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		body = &closeRecorder{Reader: strings.NewReader("x")}
		req, _ = http.NewRequestWithContext(cctx, http.MethodPost, "http://127.0.0.1:1/", body)
		if _, err := await(t, newClient(t, httpclient.WithMaxConcurrentPerHost(1)).Do(req)); !errors.Is(err, context.Canceled) || !body.closed.Load() {
			t.Errorf("err %v, closed %v", err, body.closed.Load())
		}
	})
}

type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error {
	c.closed.Store(true)
	return nil
}

// TestFanOutReusesConnections checks the point of the tuned transport: a
// second burst of 100 concurrent requests to one host reuses the 100
// connections of the first, where net/http's defaults keep 2 and dial 98
// again.
func TestFanOutReusesConnections(t *testing.T) {
	t.Parallel()
	const n = 100
	for _, tt := range []struct {
		name   string
		opts   []httpclient.Option
		reused bool
	}{
		{"tuned", nil, true},
		{"net/http defaults", []httpclient.Option{httpclient.WithTransport(&http.Transport{})}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var (
				dials   atomic.Int32
				mu      sync.Mutex
				arrived int
				all     = make(chan struct{})
			)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// A barrier: no request is answered before n are in, so
				// the client needs n connections at once.
				mu.Lock()
				arrived++
				if arrived%n == 0 {
					close(all)
					all = make(chan struct{})
				}
				ch := all
				if arrived%n == 0 {
					ch = nil
				}
				mu.Unlock()
				if ch != nil {
					select {
					case <-ch:
					case <-r.Context().Done():
					}
				}
				io.WriteString(w, "ok")
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					dials.Add(1)
				}
			}
			srv.Start()
			t.Cleanup(srv.Close)
			c := newClient(t, tt.opts...)
			for range 2 {
				fs := make([]*future.Future[*httpclient.Response], n)
				for i := range fs {
					fs[i] = c.Get(context.Background(), srv.URL, nil)
				}
				mustAll(t, fs)
			}
			if got := dials.Load(); (got == n) != tt.reused {
				t.Errorf("%d connections for 2 bursts of %d", got, n)
			}
		})
	}
}
