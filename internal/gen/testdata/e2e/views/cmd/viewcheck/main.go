// Command viewcheck serves the views that futuresgen generated for package
// views with runtime/server on loopback, checks them as a real HTTP client,
// and exits non-zero, after printing every failure, if any misbehaves.
// internal/gen/e2e_views_test.go runs it in a temporary module.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"

	"example.com/e2e/views"
)

// wait bounds every wait of the program, so that a hang is a failure.
const wait = 10 * time.Second

var failures int

func fail(format string, args ...any) {
	failures++
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
}

// logBuffer collects the logs of the views, the loop and the server, where
// the details that clients must not see go.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var logs logBuffer

func main() {
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// Server A serves every view for the checks of responses.
	loopA := taskloop.New(taskloop.Options{Workers: 2, Logger: logger})
	if err := views.RegisterTasks(loopA); err != nil {
		fail("RegisterTasks: %v", err)
	}
	muxA := http.NewServeMux()
	if err := views.RegisterViews(muxA, view.WithTemplates(views.Templates()), view.WithLogger(logger)); err != nil {
		fail("RegisterViews: %v", err)
	}
	if err := views.RegisterServiceViews(muxA, &views.Service{Prefix: "svc"}, view.WithLogger(logger)); err != nil {
		fail("RegisterServiceViews: %v", err)
	}
	muxA.Handle("GET /openapi.json", view.ServeOpenAPI(views.OpenAPI()))
	if failures > 0 {
		finish()
	}
	a := serve("server A", muxA, loopA, logger)
	checkBinding(a)
	checkBindProblems(a)
	checkBody(a)
	checkStatuses(a)
	checkErrors(a)
	checkTimeout(a)
	checkPanic(a)
	checkFuture(a)
	checkRaw(a)
	checkTemplates(a)
	checkMethodView(a)
	checkValidation(a)
	checkShapes(a)
	checkOpenAPI(a)
	// Its shutdown may wait out the half second for which net/http keeps
	// the connection of the 413 (whose body was left unread) open: let it
	// run meanwhile.
	a.stop()

	// Server B serves the after-response view alone, so that nothing but
	// its task keeps its shutdown waiting.
	probe := &views.Probe{
		Release: make(chan struct{}),
		Finish:  make(chan struct{}),
		Safety:  wait,
		Futures: make(chan *future.Future[string], 4),
	}
	loopB := taskloop.New(taskloop.Options{Workers: 2, Logger: logger})
	muxB := http.NewServeMux()
	if err := views.RegisterServiceViews(muxB, &views.Service{Prefix: "b", Probe: probe}, view.WithLogger(logger)); err != nil {
		fail("RegisterServiceViews: %v", err)
		finish()
	}
	b := serve("server B", muxB, loopB, logger)
	checkAfterResponse(b, probe, loopB)

	a.stopped()
	finish()
}

// site is one server.Run on loopback, and an HTTP client of it.
type site struct {
	name   string
	base   string
	addr   string
	hc     *http.Client
	cancel context.CancelFunc
	runErr chan error
}

// serve starts server.Run on 127.0.0.1:0 and waits until it is ready.
func serve(name string, h http.Handler, loop *taskloop.Loop, logger *slog.Logger) *site {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("%s: listen: %v", name, err)
		finish()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &site{name: name, addr: ln.Addr().String(), cancel: cancel, runErr: make(chan error, 1)}
	ready := make(chan []net.Addr, 1)
	go func() {
		s.runErr <- server.Run(ctx, server.Config{
			Listeners:       []net.Listener{ln},
			Handler:         h,
			Loop:            loop,
			Logger:          logger,
			Signals:         []os.Signal{}, // only ctx stops it
			ShutdownTimeout: wait,
			Ready:           func(addrs []net.Addr) { ready <- addrs },
		})
	}()
	select {
	case addrs := <-ready:
		if len(addrs) != 1 || addrs[0].String() != s.addr {
			fail("%s: Ready got %v; want [%v]", name, addrs, s.addr)
		}
	case err := <-s.runErr:
		fail("%s: server.Run returned before it was ready: %v", name, err)
		finish()
	case <-time.After(wait):
		fail("%s: server.Run never called Ready", name)
		finish()
	}
	s.base = "http://" + s.addr
	s.hc = &http.Client{Timeout: wait, Transport: recording(&http.Transport{})}
	return s
}

// stop ends the server's context.
func (s *site) stop() { s.cancel() }

// stopped waits for server.Run to return and checks that it returned nil.
func (s *site) stopped() {
	select {
	case err := <-s.runErr:
		if err != nil {
			fail("%s: server.Run after its context ended: %v; want nil", s.name, err)
		}
	case <-time.After(2 * wait):
		fail("%s: server.Run did not return after its context ended", s.name)
	}
}

func finish() {
	if failures > 0 {
		fmt.Fprintf(os.Stderr, "%d failure(s)\n", failures)
		fmt.Fprintf(os.Stderr, "---- logs of the views, the loop and the server ----\n%s", logs.String())
		os.Exit(1)
	}
	fmt.Println("ok")
	os.Exit(0)
}

// response is a whole response: the client has read all of its body.
type response struct {
	what   string
	status int
	header http.Header
	body   []byte
}

// do sends a request and reads its whole response; it returns nil after
// reporting a transport error.
func (c *site) do(what, method, path string, header http.Header, body string) *response {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		fail("%s: %v", what, err)
		return nil
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		fail("%s: %s %s: %v", what, method, path, err)
		return nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		fail("%s: reading the body: %v", what, err)
		return nil
	}
	return &response{what: what, status: resp.StatusCode, header: resp.Header, body: data}
}

// json checks a successful JSON response and decodes it into v.
func (r *response) json(status int, v any) bool {
	if r == nil {
		return false
	}
	if r.status != status {
		fail("%s: status %d; want %d; body %s", r.what, r.status, status, r.body)
		return false
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		fail("%s: Content-Type %q; want application/json", r.what, ct)
	}
	r.contentLength()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fail("%s: decoding %s: %v", r.what, r.body, err)
		return false
	}
	return true
}

// contentLength checks that the response said how long it was, so that the
// client knew when it had all of it.
func (r *response) contentLength() {
	if cl := r.header.Get("Content-Length"); cl != fmt.Sprint(len(r.body)) {
		fail("%s: Content-Length %q; want %d", r.what, cl, len(r.body))
	}
}

type fieldError struct {
	In     string `json:"in"`
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

type problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail"`
	RequestID string       `json:"request_id"`
	Errors    []fieldError `json:"errors"`
}

// leaks are what must never reach a client: the secret in errors and
// panics, Go's own error wording, stack traces.
var leaks = []string{views.Secret, "strconv.", "json: ", "goroutine ", ".go:", "context deadline exceeded", "panic", "wrapped:", "slow:"}

// problem checks an RFC 9457 problem response and decodes it.
func (r *response) problem(status int) problem {
	var p problem
	if r == nil {
		return p
	}
	if r.status != status {
		fail("%s: status %d; want %d; body %s", r.what, r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		fail("%s: Content-Type %q; want application/problem+json", r.what, ct)
	}
	if v := r.header.Get("X-Content-Type-Options"); v != "nosniff" {
		fail("%s: X-Content-Type-Options %q; want nosniff", r.what, v)
	}
	r.contentLength()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		fail("%s: decoding the problem %s: %v", r.what, r.body, err)
		return p
	}
	if p.Type != "about:blank" || p.Status != status || p.Title != http.StatusText(status) {
		fail("%s: problem type %q, status %d, title %q; want about:blank, %d, %q", r.what, p.Type, p.Status, p.Title, status, http.StatusText(status))
	}
	if status >= 500 {
		if p.RequestID == "" {
			fail("%s: a %d without a request_id: %s", r.what, status, r.body)
		} else if h := r.header.Get("X-Request-ID"); h != p.RequestID {
			fail("%s: X-Request-ID header %q; want the body's request_id %q", r.what, h, p.RequestID)
		}
	}
	r.noLeak()
	return p
}

// noLeak fails if the response shows what only the log may see.
func (r *response) noLeak() {
	all := string(r.body)
	for k, vs := range r.header {
		all += "\n" + k + ": " + strings.Join(vs, ", ")
	}
	for _, s := range leaks {
		if strings.Contains(all, s) {
			fail("%s: the response shows %q:\n%s", r.what, s, all)
		}
	}
}

func checkBinding(c *site) {
	q := url.Values{
		"q":      {"hello world & more"},
		"n":      {"-7"},
		"small":  {"127"},
		"u":      {"4000000000"},
		"f":      {"2.5e-3"},
		"b":      {"true"},
		"t":      {"2024-02-29T12:30:00.5+02:00"},
		"d":      {"1m30s"},
		"addr":   {"2001:db8::1"},
		"level":  {"debug"},
		"tag":    {"a", "b b", "c"},
		"num":    {"1", "-2", "3"},
		"ip":     {"10.0.0.1", "::1"},
		"absent": {""},
	}
	h := http.Header{
		"X-Token": {"tok-123"},
		"X-Multi": {"one", "two"},
		"X-Count": {"12"},
		"Cookie":  {"session=sess-abc; theme=dark"},
	}
	var got views.BindEcho
	r := c.do("binding every kind", "GET", "/bind/42/J%C3%B6rg/a/b%20c/d.txt?"+q.Encode(), h, "")
	if r.json(200, &got) {
		want := views.BindEcho{
			ID: 42, Name: "Jörg", Rest: "a/b c/d.txt", Q: "hello world & more", N: -7, Small: 127,
			U: 4000000000, F: 2.5e-3, B: true, T: "2024-02-29T10:30:00.5Z", D: "1m30s",
			Addr: "2001:db8::1", Level: "debug", Tags: []string{"a", "b b", "c"}, Nums: []int{1, -2, 3},
			IPs: []string{"10.0.0.1", "::1"}, Token: "tok-123", Multi: []string{"one", "two"}, Count: 12,
			Sess: "sess-abc", Theme: "dark",
		}
		if !reflect.DeepEqual(got, want) {
			fail("binding every kind:\n got %+v\nwant %+v", got, want)
		}
	}

	// Nothing given: every field keeps its zero value.
	got = views.BindEcho{}
	if c.do("binding nothing", "GET", "/bind/0/x/", nil, "").json(200, &got) {
		want := views.BindEcho{Name: "x", D: "0s"}
		if !reflect.DeepEqual(got, want) {
			fail("binding nothing:\n got %+v\nwant %+v", got, want)
		}
	}
}

func checkBindProblems(c *site) {
	q := "n=abc&u=-1&small=300&f=x&b=maybe&t=yesterday&d=forever&addr=nope&num=1&num=x&ip=10.0.0.1&ip=bad&q=fine"
	h := http.Header{"X-Count": {"-3"}, "Cookie": {"session=ok"}}
	r := c.do("bad values", "GET", "/bind/notanint/x/y?"+q, h, "")
	p := r.problem(400)
	want := map[string]string{ // in name → a piece of its detail
		"path id":        `"notanint"`,
		"query n":        `"abc"`,
		"query u":        `"-1"`,
		"query small":    `range`,
		"query f":        `"x"`,
		"query b":        `"maybe"`,
		"query t":        `"yesterday"`,
		"query d":        `"forever"`,
		"query addr":     `"nope"`,
		"query num":      `2`,
		"query ip":       `"bad"`,
		"header X-Count": `"-3"`,
	}
	seen := map[string]bool{}
	for _, e := range p.Errors {
		key := e.In + " " + e.Name
		if seen[key] {
			fail("bad values: %s reported twice", key)
		}
		seen[key] = true
		piece, ok := want[key]
		switch {
		case !ok:
			fail("bad values: unexpected problem %+v", e)
		case !strings.Contains(e.Detail, piece):
			fail("bad values: %s: detail %q does not mention %s", key, e.Detail, piece)
		}
	}
	for key := range want {
		if !seen[key] {
			fail("bad values: no problem reported for %s; got %+v", key, p.Errors)
		}
	}
	if r != nil && p.Detail != fmt.Sprintf("%d request values are invalid", len(want)) {
		fail("bad values: detail %q", p.Detail)
	}
	if p.RequestID != "" {
		fail("bad values: a 400 has a request_id %q", p.RequestID)
	}
}

func checkBody(c *site) {
	var got views.Created
	if c.do("JSON body", "POST", "/items?ref=r1", nil, `{"name":"widget","count":3,"tags":["a","b"]}`).json(201, &got) {
		want := views.Created{Ref: "r1", Item: views.Item{Name: "widget", Count: 3, Tags: []string{"a", "b"}}}
		if !reflect.DeepEqual(got, want) {
			fail("JSON body: got %+v; want %+v", got, want)
		}
	}

	for _, tc := range []struct {
		what, body, name, detail string
	}{
		{"malformed JSON", `{"name": "w",}`, "", "malformed JSON"},
		{"truncated JSON", `{"name": "w"`, "", "malformed JSON"},
		{"unknown JSON field", `{"name":"w","colour":"red"}`, "colour", "unknown field"},
		{"JSON of the wrong type", `{"name":"w","count":"three"}`, "count", "integer"},
		{"two JSON values", `{"name":"w"} {"name":"v"}`, "", "after"},
		{"no JSON body", ``, "", "missing"},
	} {
		p := c.do(tc.what, "POST", "/items", nil, tc.body).problem(400)
		if len(p.Errors) != 1 {
			fail("%s: errors %+v; want one", tc.what, p.Errors)
			continue
		}
		if e := p.Errors[0]; e.In != "body" || e.Name != tc.name || !strings.Contains(e.Detail, tc.detail) {
			fail("%s: problem %+v; want in body, name %q, a detail with %q", tc.what, e, tc.name, tc.detail)
		}
	}

	var item views.Item
	if c.do("allowunknown", "POST", "/loose", nil, `{"name":"w","colour":"red","count":2}`).json(200, &item) {
		if want := (views.Item{Name: "w", Count: 2}); !reflect.DeepEqual(item, want) {
			fail("allowunknown: got %+v; want %+v", item, want)
		}
	}

	big := `{"name":"` + strings.Repeat("x", 2000) + `"}`
	p := c.do("body over maxbody=1KiB", "POST", "/items", nil, big).problem(413)
	if !strings.Contains(p.Detail, "1024") {
		fail("body over maxbody=1KiB: detail %q does not say the limit, 1024 bytes", p.Detail)
	}
	// Just under the limit is fine.
	just := `{"name":"` + strings.Repeat("x", 1000) + `"}`
	if c.do("body under maxbody=1KiB", "POST", "/items", nil, just).json(201, &got) && len(got.Item.Name) != 1000 {
		fail("body under maxbody=1KiB: name of %d bytes; want 1000", len(got.Item.Name))
	}
}

func checkStatuses(c *site) {
	if r := c.do("(error) view", "DELETE", "/items/7", nil, ""); r != nil {
		if r.status != 204 || len(r.body) != 0 {
			fail("(error) view: status %d, body %q; want 204 and no body", r.status, r.body)
		}
		if views.Deleted() != 7 {
			fail("(error) view: Deleted() = %d; want 7: the view did not run", views.Deleted())
		}
	}
	p := c.do("(error) view failing", "DELETE", "/items/0", nil, "").problem(404)
	if p.Detail != "no item 0" {
		fail("(error) view failing: detail %q; want \"no item 0\"", p.Detail)
	}
	p = c.do("view.Error(403)", "GET", "/forbidden", nil, "").problem(403)
	if p.Detail != "members only" || p.RequestID != "" {
		fail("view.Error(403): detail %q, request_id %q; want \"members only\" and none", p.Detail, p.RequestID)
	}
}

func checkErrors(c *site) {
	r := c.do("plain error", "GET", "/leak", http.Header{"X-Request-ID": {"e2e-leak-1"}}, "")
	p := r.problem(500)
	if p.Detail != "internal server error" || p.RequestID != "e2e-leak-1" {
		fail("plain error: detail %q, request_id %q; want \"internal server error\", the client's e2e-leak-1", p.Detail, p.RequestID)
	}
	if l := logs.String(); !strings.Contains(l, "e2e-leak-1") || !strings.Contains(l, views.Secret) {
		fail("plain error: the log has no line with the request ID and the error")
	}
	p = c.do("plain error, no request ID", "GET", "/leak", http.Header{"X-Request-ID": {"bad id with spaces"}}, "").problem(500)
	if p.RequestID == "" || p.RequestID == "bad id with spaces" {
		fail("plain error with a bad X-Request-ID: request_id %q; want a new one", p.RequestID)
	}

	for _, tc := range []struct {
		path   string
		status int
		detail string
	}{
		{"/coded/409", 409, "Conflict"},
		{"/coded/503", 503, "Service Unavailable"},
		{"/coded/200", 500, "internal server error"}, // not an error status: a 500
	} {
		what := "StatusCode() error " + tc.path
		p := c.do(what, "GET", tc.path, nil, "").problem(tc.status)
		if p.Detail != tc.detail {
			fail("%s: detail %q; want %q", what, p.Detail, tc.detail)
		}
		if tc.status < 500 && p.RequestID != "" {
			fail("%s: request_id %q on a 4xx", what, p.RequestID)
		}
	}
}

func checkTimeout(c *site) {
	start := time.Now()
	p := c.do("timeout=50ms", "GET", "/slow", nil, "").problem(504)
	if d := time.Since(start); d > 3*time.Second {
		fail("timeout=50ms: the response took %v", d)
	}
	if p.Detail == "" {
		fail("timeout=50ms: no detail")
	}
}

func checkPanic(c *site) {
	p := c.do("panic", "GET", "/panic", nil, "").problem(500)
	if p.Detail != "internal server error" {
		fail("panic: detail %q; want \"internal server error\"", p.Detail)
	}
	if l := logs.String(); p.RequestID != "" && (!strings.Contains(l, p.RequestID) || !strings.Contains(l, "view panicked with "+views.Secret)) {
		fail("panic: the log has no line with the request ID %s and the panic", p.RequestID)
	}
	for i := range 2 {
		var s string
		if c.do(fmt.Sprintf("request %d after a panic", i+1), "GET", "/hello", nil, "").json(200, &s) && s != "hello" {
			fail("after a panic: got %q; want \"hello\"", s)
		}
	}
}

func checkFuture(c *site) {
	var s views.Sum
	if c.do("*future.Future[T] view", "GET", "/add/2/40", nil, "").json(200, &s) && s != (views.Sum{A: 2, B: 40, Sum: 42}) {
		fail("*future.Future[T] view: got %+v; want {2 40 42}", s)
	}
	p := c.do("*future.Future[T] view failing", "GET", "/add/-1/1", nil, "").problem(422)
	if p.Detail != "a must not be negative" {
		fail("*future.Future[T] view failing: detail %q", p.Detail)
	}
}

func checkRaw(c *site) {
	var m map[string]string
	if c.do("*http.Request view", "PATCH", "/raw?x=1", http.Header{"X-Raw": {"r"}}, "").json(200, &m) {
		want := map[string]string{"method": "PATCH", "x": "1", "header": "r", "ctx": "true"}
		if !reflect.DeepEqual(m, want) {
			fail("*http.Request view: got %v; want %v", m, want)
		}
	}
	// A raw view reads its wildcard itself, and its body under maxbody.
	var item map[string]string
	if c.do("*http.Request view with a wildcard", "PUT", "/raw/7", nil, "0123456789").json(200, &item) {
		if want := map[string]string{"id": "7", "size": "10"}; !reflect.DeepEqual(item, want) {
			fail("*http.Request view with a wildcard: got %v; want %v", item, want)
		}
	}
	c.do("*http.Request view, body over maxbody=1KiB", "PUT", "/raw/7", nil, strings.Repeat("x", 2000)).problem(413)
}

func checkTemplates(c *site) {
	path := "/pages/" + url.PathEscape("Tom & <Jerry>") + "?item=one&item=%3Ctwo%3E"
	want := views.Page{Title: "Tom & <Jerry>", Items: []string{"one", "<two>"}}
	for _, accept := range []string{
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",                                                                         // Firefox
		"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7", // Chrome
	} {
		what := "template, Accept " + accept
		r := c.do(what, "GET", path, http.Header{"Accept": {accept}}, "")
		if r == nil {
			continue
		}
		if r.status != 200 || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
			fail("%s: status %d, Content-Type %q; want 200 text/html; charset=utf-8", what, r.status, r.header.Get("Content-Type"))
		}
		r.contentLength()
		for _, s := range []string{`<h1 id="title">Tom &amp; &lt;Jerry&gt;</h1>`, `<li>one</li><li>&lt;two&gt;</li>`, `<!doctype html>`} {
			if !bytes.Contains(r.body, []byte(s)) {
				fail("%s: the page has no %s:\n%s", what, s, r.body)
			}
		}
		checkVary(r)
	}
	for _, accept := range []string{"application/json", "*/*", "", "application/json, text/html;q=0.5"} {
		what := fmt.Sprintf("template, Accept %q", accept)
		h := http.Header{}
		if accept != "" {
			h.Set("Accept", accept)
		}
		var got views.Page
		r := c.do(what, "GET", path, h, "")
		if r.json(200, &got) {
			if !reflect.DeepEqual(got, want) {
				fail("%s: got %+v; want %+v", what, got, want)
			}
			checkVary(r)
		}
	}
}

// checkVary checks that a response chosen by Accept says so, so that caches
// do not give one client's representation to another (RFC 9110, 12.5.5).
func checkVary(r *response) {
	for _, v := range r.header.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Accept") {
				return
			}
		}
	}
	fail("%s: no Vary: Accept on a response whose type depends on Accept (headers %v)", r.what, r.header)
}

func checkMethodView(c *site) {
	var got views.Counter
	if c.do("method view", "POST", "/count/5", nil, "").json(200, &got) && got != (views.Counter{Prefix: "svc", Total: 5}) {
		fail("method view: got %+v; want {svc 5}", got)
	}
	if c.do("method view again", "POST", "/count/2", nil, "").json(200, &got) && got != (views.Counter{Prefix: "svc", Total: 7}) {
		fail("method view again: got %+v; want {svc 7}: not the same receiver", got)
	}
	p := c.do("method view, bad path value", "POST", "/count/many", nil, "").problem(400)
	if len(p.Errors) != 1 || p.Errors[0].In != "path" || p.Errors[0].Name != "by" {
		fail("method view, bad path value: errors %+v; want path by", p.Errors)
	}
}

// checkAfterResponse calls a view that schedules an after-response task,
// reads the whole response while the task waits for it, lets the task go
// on, and stops the server: the task then waits until the server no longer
// accepts connections, so Run must drain the loop to see it complete, and
// return nil.
func checkAfterResponse(c *site, probe *views.Probe, loop *taskloop.Loop) {
	var got views.AfterResult
	r := c.do("after-response view", "POST", "/after/a1", nil, "")
	// The client has the whole response here.
	completedEarly := probe.Completed.Load()
	timedOut := probe.TimedOut.Load()
	if r.json(200, &got) {
		if got.ID != "a1" || len(got.Padding) != 64<<10 {
			fail("after-response view: got id %q and %d bytes of padding; want a1 and %d", got.ID, len(got.Padding), 64<<10)
		}
		if !got.InScope {
			fail("after-response view: awaiting the Later future inside the view gave %q; want taskloop.ErrAwaitInScope at once", got.AwaitErr)
		}
	}
	if completedEarly || timedOut {
		fail("after-response view: the task had finished (timed out: %v) before the client had the response: the response waited for the task", timedOut)
	}
	if !probe.HandlerDone.Load() {
		fail("after-response view: the view did not finish")
	}
	var f *future.Future[string]
	select {
	case f = <-probe.Futures:
	default:
		fail("after-response view: no future from RecordLater")
	}
	close(probe.Release)

	// Stop the server, and let the task finish only once the server has
	// closed its listener: its shutdown has begun.
	c.stop()
	deadline := time.Now().Add(wait)
	for {
		conn, err := net.DialTimeout("tcp", c.addr, time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			fail("after-response view: the server still accepts connections %v after its context ended", wait)
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	select {
	case err := <-c.runErr:
		fail("server.Run returned (%v) while an after-response task was still running: it did not drain the loop", err)
		c.runErr <- err
	default:
	}
	close(probe.Finish)
	c.stopped()

	// Run has drained the loop: the task is done.
	if !probe.Started.Load() {
		fail("after-response task: never started")
	}
	if !probe.SawHandlerDone.Load() {
		fail("after-response task: started before the view had returned (it did not see the flag the view sets last)")
	}
	if probe.TimedOut.Load() {
		fail("after-response task: waited %v for the client to read the response or for the server to shut down", probe.Safety)
	}
	if !probe.Completed.Load() {
		fail("after-response task: not completed when server.Run returned: the shutdown did not drain the loop")
	}
	if f != nil {
		if res, ok := f.Peek(); !ok {
			fail("after-response task: its future is unresolved after server.Run returned")
		} else if res.Value != "recorded a1" || res.Err != nil {
			fail("after-response task: future resolved with %q, %v; want \"recorded a1\", nil", res.Value, res.Err)
		}
	}
	if st := loop.Stats(); st.Submitted != 1 || st.Succeeded != 1 {
		fail("after-response task: the server's loop accepted %d tasks, %d succeeded; want 1 and 1", st.Submitted, st.Succeeded)
	}
}
