// Command clientcheck serves the views of package views with
// runtime/server on loopback and calls every one with the typed client
// that futuresgen generated for //futures:client (package client): every
// binding kind, every validation rule, every error path, and a round trip
// of random values of every kind through every place a view binds from.
// It exits non-zero, after printing every failure, if any misbehaves.
// internal/gen/e2e_views_test.go runs it in a temporary module; with
// $CLIENTCHECK_RECORD set it writes every exchange to that file, for the
// contract test (contracttest/).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/httpclient"
	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"

	"example.com/e2e/views"
	"example.com/e2e/views/client"
)

// wait bounds every wait of the program, so that a hang is a failure.
const wait = 20 * time.Second

var failures int

func fail(format string, args ...any) {
	failures++
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
}

// attempts counts the requests the client sends, by the hook it calls
// before each.
var attempts atomic.Int64

func main() {
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	loop := taskloop.New(taskloop.Options{Workers: 2, Logger: logger})
	mux := http.NewServeMux()
	if err := views.RegisterViews(mux, view.WithTemplates(views.Templates()), view.WithLogger(logger)); err != nil {
		fail("RegisterViews: %v", err)
	}
	if err := views.RegisterServiceViews(mux, &views.Service{Prefix: "svc"}, view.WithLogger(logger)); err != nil {
		fail("RegisterServiceViews: %v", err)
	}
	// The same views under a prefix, for a client whose base URL has a
	// path.
	mux.Handle("/api/", http.StripPrefix("/api", mux))
	if failures > 0 {
		finish()
	}
	base, stop := serve(mux, loop, logger)

	hc := httpclient.New(
		httpclient.WithBaseURL(base),
		httpclient.WithTransport(recording(&http.Transport{})),
		httpclient.WithBackoff(time.Millisecond, 10*time.Millisecond),
		httpclient.WithHooks(httpclient.Hooks{BeforeRequest: func(*http.Request, httpclient.Attempt) { attempts.Add(1) }}),
	)
	c := client.NewClient(hc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	checkBinding(ctx, c)
	checkBody(ctx, c)
	checkStatuses(ctx, c)
	checkErrors(ctx, c)
	checkFutureAndTemplate(ctx, c)
	checkValidation(ctx, c)
	checkShapes(ctx, c)
	checkNotSent(ctx, c)
	checkHeaders(ctx, base)
	checkPrefix(ctx, base)
	checkRoundTrip(ctx, c)

	hc.CloseIdleConnections()
	stop()
	finish()
}

// serve starts server.Run on 127.0.0.1:0 and returns its base URL and a
// function that stops it and waits for it.
func serve(h http.Handler, loop *taskloop.Loop, logger *slog.Logger) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
		finish()
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{
			Listeners: []net.Listener{ln}, Handler: h, Loop: loop, Logger: logger,
			Signals: []os.Signal{}, ShutdownTimeout: wait,
			Ready: func([]net.Addr) { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		fail("server.Run returned before it was ready: %v", err)
		finish()
	case <-time.After(wait):
		fail("server.Run never called Ready")
		finish()
	}
	return "http://" + ln.Addr().String(), func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				fail("server.Run: %v", err)
			}
		case <-time.After(2 * wait):
			fail("server.Run did not return")
		}
	}
}

func finish() {
	if failures > 0 {
		fmt.Fprintf(os.Stderr, "%d failure(s)\n", failures)
		os.Exit(1)
	}
	fmt.Println("ok")
	os.Exit(0)
}

// await awaits f, failing on an error.
func await[T any](ctx context.Context, what string, f *future.Future[T]) (T, bool) {
	v, err := f.Await(ctx)
	if err != nil {
		fail("%s: %v", what, err)
		return v, false
	}
	return v, true
}

// problem awaits f, which must fail with a *httpclient.Problem of status.
func problem[T any](ctx context.Context, what string, status int, f *future.Future[T]) *httpclient.Problem {
	v, err := f.Await(ctx)
	var p *httpclient.Problem
	switch {
	case err == nil:
		fail("%s: answered %+v; want a problem %d", what, v, status)
		return &httpclient.Problem{}
	case !errors.As(err, &p):
		fail("%s: %v (%T); want a *httpclient.Problem", what, err, err)
		return &httpclient.Problem{}
	case p.Status != status || httpclient.StatusOf(err) != status:
		fail("%s: status %d (StatusOf %d); want %d: %v", what, p.Status, httpclient.StatusOf(err), status, err)
	case p.Title != http.StatusText(status):
		fail("%s: title %q", what, p.Title)
	}
	if strings.Contains(err.Error(), views.Secret) {
		fail("%s: the error shows the secret: %v", what, err)
	}
	return p
}

func checkBinding(ctx context.Context, c *client.Client) {
	req := views.BindRequest{
		ID: 42, Name: "Jörg / 100%", Rest: "a/b c/d.txt", Q: "hello world & more", N: -7, Small: 127,
		U: 4000000000, F: 2.5e-3, B: true, T: time.Date(2024, 2, 29, 12, 30, 0, 5e8, time.FixedZone("", 2*3600)),
		D: 90 * time.Second, Addr: netip.MustParseAddr("2001:db8::1"), Level: "debug",
		Tags: []string{"a", "b b", "", "c&d=e"}, Nums: []int{1, -2, 0, 3},
		IPs:   []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("::1")},
		Token: "tok-123", Multi: []string{"one", "two words"}, Count: 12, Sess: "sess abc", Theme: "dark",
	}
	if got, ok := await(ctx, "binding every kind", c.Bind(ctx, req)); ok {
		want := views.BindEcho{
			ID: 42, Name: "Jörg / 100%", Rest: "a/b c/d.txt", Q: "hello world & more", N: -7, Small: 127,
			U: 4000000000, F: 2.5e-3, B: true, T: "2024-02-29T10:30:00.5Z", D: "1m30s",
			Addr: "2001:db8::1", Level: "debug", Tags: []string{"a", "b b", "", "c&d=e"}, Nums: []int{1, -2, 0, 3},
			IPs: []string{"10.0.0.1", "::1"}, Token: "tok-123", Multi: []string{"one", "two words"}, Count: 12,
			Sess: "sess abc", Theme: "dark",
		}
		if !reflect.DeepEqual(got, want) {
			fail("binding every kind:\n got %+v\nwant %+v", got, want)
		}
	}
	// Nothing given: zero values are not sent, and bind as zero values.
	if got, ok := await(ctx, "binding nothing", c.Bind(ctx, views.BindRequest{Name: "x"})); ok {
		if want := (views.BindEcho{Name: "x", D: "0s"}); !reflect.DeepEqual(got, want) {
			fail("binding nothing:\n got %+v\nwant %+v", got, want)
		}
	}
}

func checkBody(ctx context.Context, c *client.Client) {
	item := views.Item{Name: "widget", Count: 3, Tags: []string{"a", "b"}}
	type createReq = struct {
		Ref  string `query:"ref"`
		Body views.Item
	}
	if got, ok := await(ctx, "JSON body", c.Create(ctx, createReq{Ref: "r1", Body: item})); ok {
		if want := (views.Created{Ref: "r1", Item: item}); !reflect.DeepEqual(got, want) {
			fail("JSON body: got %+v; want %+v", got, want)
		}
	}
	p := problem(ctx, "body over maxbody=1KiB", 413, c.Create(ctx, createReq{Body: views.Item{Name: strings.Repeat("x", 2000)}}))
	if !strings.Contains(p.Detail, "1024") {
		fail("body over maxbody=1KiB: detail %q", p.Detail)
	}
	if got, ok := await(ctx, "allowunknown", c.Loose(ctx, struct {
		Data views.Item `body:"json,allowunknown"`
	}{Data: item})); ok && !reflect.DeepEqual(got, item) {
		fail("allowunknown: got %+v", got)
	}
}

func checkStatuses(ctx context.Context, c *client.Client) {
	type deleteReq = struct {
		ID int64 `path:"id"`
	}
	if v, ok := await(ctx, "(error) view", c.Delete(ctx, deleteReq{ID: 7})); ok && (v != struct{}{} || views.Deleted() != 7) {
		fail("(error) view: %v, Deleted() = %d", v, views.Deleted())
	}
	// view.Error's status and message survive the trip.
	if p := problem(ctx, "view.Error(404)", 404, c.Delete(ctx, deleteReq{ID: -1})); p.Detail != "no item -1" {
		fail("view.Error(404): detail %q; want \"no item -1\"", p.Detail)
	}
	if p := problem(ctx, "view.Error(403)", 403, c.Forbidden(ctx)); p.Detail != "members only" || p.RequestID != "" {
		fail("view.Error(403): detail %q, request_id %q", p.Detail, p.RequestID)
	}
	if s, ok := await(ctx, "no request", c.Hello(ctx)); ok && s != "hello" {
		fail("no request: %q", s)
	}
	if got, ok := await(ctx, "method view", c.Service_Count(ctx, struct {
		By int64 `path:"by"`
	}{By: 5})); ok && (got.Prefix != "svc" || got.Total != 5) {
		fail("method view: %+v", got)
	}
}

func checkErrors(ctx context.Context, c *client.Client) {
	p := problem(ctx, "plain error", 500, c.Leak(ctx))
	if p.Detail != "internal server error" || p.RequestID == "" || p.Header.Get("X-Request-ID") != p.RequestID {
		fail("plain error: detail %q, request_id %q", p.Detail, p.RequestID)
	}
	p = problem(ctx, "panic", 500, c.Panic(ctx))
	if p.Detail != "internal server error" {
		fail("panic: detail %q", p.Detail)
	}
	type codedReq = struct {
		Status int `path:"status"`
	}
	if p := problem(ctx, "StatusCode() 409", 409, c.Coded(ctx, codedReq{409})); p.Detail != "Conflict" {
		fail("StatusCode() 409: detail %q", p.Detail)
	}
	// A 503 of a GET is retried, as the client's options say (two
	// retries by default), then reported.
	before := attempts.Load()
	problem(ctx, "StatusCode() 503", 503, c.Coded(ctx, codedReq{503}))
	if n := attempts.Load() - before; n != 3 {
		fail("StatusCode() 503: %d attempts; want 3 (a GET answered 503 is retried twice)", n)
	}
	before = attempts.Load()
	p = problem(ctx, "timeout=50ms", 504, c.Slow(ctx, httpclient.Retry(false)))
	if n := attempts.Load() - before; n != 1 || p.RequestID == "" {
		fail("timeout=50ms: %d attempts with Retry(false), request_id %q", n, p.RequestID)
	}
	// A context that ends fails the call with its error.
	cctx, cancel := context.WithCancel(ctx)
	f := c.Slow(cctx)
	cancel()
	if _, err := f.Await(ctx); !errors.Is(err, context.Canceled) {
		fail("cancelled call: %v; want context.Canceled", err)
	}
}

func checkFutureAndTemplate(ctx context.Context, c *client.Client) {
	type addReq = struct {
		A int `path:"a"`
		B int `path:"b"`
	}
	if s, ok := await(ctx, "future view", c.Add(ctx, addReq{2, 40})); ok && s != (views.Sum{A: 2, B: 40, Sum: 42}) {
		fail("future view: %+v", s)
	}
	if p := problem(ctx, "future view failing", 422, c.Add(ctx, addReq{-1, 1})); p.Detail != "a must not be negative" {
		fail("future view failing: detail %q", p.Detail)
	}
	// A template view answers the client JSON: it asks for it.
	got, ok := await(ctx, "template view", c.ShowPage(ctx, struct {
		Title string   `path:"title"`
		Items []string `query:"item"`
	}{Title: "T <b>", Items: []string{"x", "y"}}))
	if want := (views.Page{Title: "T <b>", Items: []string{"x", "y"}}); ok && !reflect.DeepEqual(got, want) {
		fail("template view: %+v", got)
	}
}

func checkValidation(ctx context.Context, c *client.Client) {
	var acct views.Account
	json.Unmarshal([]byte(validAccount), &acct)
	limit := 5
	req := views.RegisterRequest{Org: "acme", Invite: "abcdefgh", Limit: &limit, Token: "t", Tags: []string{"x", "y"}, Body: acct}
	if got, ok := await(ctx, "valid registration", c.Register(ctx, req)); ok && !reflect.DeepEqual(got, acct) {
		fail("valid registration: %+v", got)
	}

	// A rule of every kind broken, on every kind of parameter and in the
	// body: each reported once, in order.
	var bad views.Account
	json.Unmarshal([]byte(badAccount), &bad)
	zero := 0
	p := problem(ctx, "invalid registration", 400, c.Register(ctx, views.RegisterRequest{
		Org: "ac-me", Invite: "abc", Limit: &zero, Tags: []string{"x1", "y"}, Body: bad,
	}))
	want := []httpclient.FieldError{
		fe("path", "org", "must contain only ASCII letters and digits"),
		fe("query", "invite", "must be exactly 8 characters long"),
		fe("query", "limit", "must be at least 1"),
		fe("header", "X-Token", "is required"),
		fe("query", "tag", "value 1: must contain only ASCII letters"),
		fe("body", "/id", "must be a UUID"),
		fe("body", "/email", "must be an email address"),
		fe("body", "/name", "must be at least 2 characters long"),
		fe("body", "/age", "must be at least 18"),
		fe("body", "/site", "must be an absolute URL"),
		fe("body", "/plan", "must be one of free, pro"),
		fe("body", "/tags", "must have at most 3 items"),
		fe("body", "/labels/k~11", "must be at most 8 characters long"),
		fe("body", "/address/street", "is required"),
		fe("body", "/address/country", "must be exactly 2 characters long"),
		fe("body", "/host", "must be a host name"),
		fe("body", "/ip", "must be an IP address"),
		fe("body", "/code", "must be exactly 4 characters long"),
		fe("body", "/amount", "must be a decimal number"),
		fe("body", "/born", "must be a time in the layout 2006-01-02"),
		fe("body", "/agreed", "is required"),
	}
	if !reflect.DeepEqual(p.Errors, want) {
		fail("invalid registration: errors\n%+v\nwant\n%+v", p.Errors, want)
	}
	if p.Detail != fmt.Sprintf("%d request values are invalid", len(want)) {
		fail("invalid registration: detail %q", p.Detail)
	}
	taken := acct
	taken.Email = "taken@example.com"
	req.Body = taken
	if p := problem(ctx, "taken email", 409, c.Register(ctx, req)); p.Detail != "the email is taken" {
		fail("taken email: detail %q", p.Detail)
	}

	type treeReq = struct {
		Tree *views.Tree `body:"json" validate:"required"`
	}
	tree := &views.Tree{Name: "root", Kids: []*views.Tree{
		{Name: "a", Kids: []*views.Tree{{Name: "a1"}, {Name: ""}}},
		{Name: "b", Kids: []*views.Tree{{Name: "1"}, {Name: "2"}, {Name: "3"}, {Name: "4"}}},
	}}
	p = problem(ctx, "invalid tree", 400, c.PutTree(ctx, treeReq{tree}))
	if want := []httpclient.FieldError{
		fe("body", "/kids/0/kids/1/name", "is required"),
		fe("body", "/kids/1/kids", "must have at most 3 items"),
	}; !reflect.DeepEqual(p.Errors, want) {
		fail("invalid tree: errors %+v", p.Errors)
	}
	// No tree: nothing is sent as the body, which the view requires.
	p = problem(ctx, "no tree", 400, c.PutTree(ctx, treeReq{}))
	if want := []httpclient.FieldError{fe("body", "", "is required")}; !reflect.DeepEqual(p.Errors, want) {
		fail("no tree: errors %+v", p.Errors)
	}
	if got, ok := await(ctx, "valid tree", c.PutTree(ctx, treeReq{&views.Tree{Name: "root", Kids: []*views.Tree{{Name: "a"}}}})); ok && (got.Name != "root" || len(got.Kids) != 1) {
		fail("valid tree: %+v", got)
	}
}

// fe is a FieldError.
func fe(in, name, detail string) httpclient.FieldError {
	return httpclient.FieldError{In: in, Name: name, Detail: detail}
}

// validAccount passes every rule of views.Account; badAccount breaks one
// of each.
const (
	validAccount = `{"id":"123e4567-e89b-12d3-a456-426614174000","email":"ada@example.com","name":"Ada",` +
		`"age":36,"site":"https://ada.example.com","plan":"pro","tags":["math","poetry"],"labels":{"team":"engines"},` +
		`"address":{"street":"12 St James's Square","country":"GB"},"host":"ada.example.com","ip":"192.0.2.1",` +
		`"code":"AB12","amount":"-1.5","born":"1815-12-10","agreed":true}`
	badAccount = `{"id":"nope","email":"ada@","name":"A","age":12,"site":"nope","plan":"gold",` +
		`"tags":["a","b","c","d"],"labels":{"k/1":"much too long"},"address":{"street":"","country":"FRA"},` +
		`"host":"1bad.example.com","ip":"300.1.1.1","code":"ab","amount":"1e3","born":"1815-13-10","agreed":false}`
)

func checkShapes(ctx context.Context, c *client.Client) {
	got, ok := await(ctx, "shapes", c.GetShapes(ctx))
	if !ok {
		return
	}
	if got.Kind != "round" || got.Count != 1<<40 || string(got.Bytes) != "bytes" || got.Wait != 1500*time.Millisecond ||
		got.Addr != netip.MustParseAddr("2001:db8::1") || got.Skipped != "" {
		fail("shapes: %+v", got)
	}
	back, ok := await(ctx, "shapes back", c.PutShapes(ctx, struct{ Body views.Shapes }{got}))
	if ok && !reflect.DeepEqual(back, got) {
		fail("shapes back:\n got %+v\nwant %+v", back, got)
	}
}

// checkNotSent: a value that cannot make the trip fails the call with a
// *httpclient.ParamError, and nothing is sent.
func checkNotSent(ctx context.Context, c *client.Client) {
	for what, req := range map[string]views.BindRequest{
		"empty path value":        {Name: ""},
		"dot segment":             {Name: ".."},
		"empty segment in {rest}": {Name: "x", Rest: "a//b"},
		"line break in a header":  {Name: "x", Token: "a\r\nX-Evil: 1"},
		"comma in a header list":  {Name: "x", Multi: []string{"a,b"}},
		"quote in a cookie":       {Name: "x", Sess: `a"b`},
		"NaN":                     {Name: "x", F: math.NaN()},
		"year 10000":              {Name: "x", T: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		before := attempts.Load()
		_, err := c.Bind(ctx, req).Await(ctx)
		var pe *httpclient.ParamError
		if !errors.As(err, &pe) || attempts.Load() != before {
			fail("%s: %v, %d requests; want a *httpclient.ParamError and none sent", what, err, attempts.Load()-before)
		}
	}
}

// checkHeaders: a header or cookie the request leaves at its zero value
// is the client's (WithHeader); one it sets replaces it; a call's option
// replaces both.
func checkHeaders(ctx context.Context, base string) {
	hc := httpclient.New(httpclient.WithBaseURL(base), httpclient.WithTransport(recording(&http.Transport{})),
		httpclient.WithHeader("X-Token", "from-client"), httpclient.WithHeader("Cookie", "theme=light"))
	defer hc.CloseIdleConnections()
	c := client.NewClient(hc)
	if got, ok := await(ctx, "client's headers", c.Bind(ctx, views.BindRequest{Name: "x"})); ok && (got.Token != "from-client" || got.Theme != "light") {
		fail("client's headers: token %q, theme %q", got.Token, got.Theme)
	}
	if got, ok := await(ctx, "request's headers", c.Bind(ctx, views.BindRequest{Name: "x", Token: "mine", Sess: "s"})); ok && (got.Token != "mine" || got.Theme != "" || got.Sess != "s") {
		fail("request's headers: token %q, theme %q, session %q", got.Token, got.Theme, got.Sess)
	}
	if got, ok := await(ctx, "call's header", c.Bind(ctx, views.BindRequest{Name: "x", Token: "mine"}, httpclient.Header("X-Token", "call"))); ok && got.Token != "call" {
		fail("call's header: token %q", got.Token)
	}
}

// checkPrefix: a base URL with a path: the views are served under /api/.
func checkPrefix(ctx context.Context, base string) {
	hc := httpclient.New(httpclient.WithBaseURL(base+"/api"), httpclient.WithTransport(recording(&http.Transport{})))
	defer hc.CloseIdleConnections()
	c := client.NewClient(hc)
	if got, ok := await(ctx, "under a prefix", c.Bind(ctx, views.BindRequest{ID: 1, Name: "a/b", Rest: "c/d"})); ok && (got.Name != "a/b" || got.Rest != "c/d") {
		fail("under a prefix: %+v", got)
	}
}

// recorder is a RoundTripper that writes every exchange through it, one
// JSON object a line, as viewcheck's does.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	out  *os.File
}

type exchange struct {
	Method         string      `json:"method"`
	URL            string      `json:"url"`
	RequestHeader  http.Header `json:"request_header"`
	RequestBody    []byte      `json:"request_body"`
	Status         int         `json:"status"`
	ResponseHeader http.Header `json:"response_header"`
	ResponseBody   []byte      `json:"response_body"`
}

func (rec *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := rec.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if err != nil {
		return resp, nil
	}
	line, _ := json.Marshal(exchange{req.Method, req.URL.String(), req.Header, body, resp.StatusCode, resp.Header, data})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.out.Write(append(line, '\n'))
	return resp, nil
}

var recordFile struct {
	once sync.Once
	f    *os.File
}

// recording wraps t in a recorder when $CLIENTCHECK_RECORD names a file.
func recording(t http.RoundTripper) http.RoundTripper {
	path := os.Getenv("CLIENTCHECK_RECORD")
	if path == "" {
		return t
	}
	recordFile.once.Do(func() {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fail("CLIENTCHECK_RECORD: %v", err)
			return
		}
		recordFile.f = f
	})
	if recordFile.f == nil {
		return t
	}
	return &recorder{next: t, out: recordFile.f}
}
