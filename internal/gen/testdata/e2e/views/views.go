// Package views is the annotated package of the end-to-end test of views
// (internal/gen/e2e_views_test.go): futuresgen generates its handlers in a
// temporary module, and cmd/viewcheck serves them with runtime/server and
// checks them as an HTTP client on loopback. The contract test
// (contracttest/) checks its OpenAPI document, and every request and
// response of a viewcheck run against it, with a validator we did not
// write.
//
//futures:api title="End-to-end views" version=1.0.0
package views

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

//go:embed templates
var templates embed.FS

// Templates are the templates of the views with template=…, for
// view.WithTemplates.
func Templates() fs.FS {
	sub, err := fs.Sub(templates, "templates")
	if err != nil {
		panic(err)
	}
	return sub
}

// Secret is in the text of errors and panics that must not reach clients.
const Secret = "hunter2-do-not-leak"

// Level is a named string type.
type Level string

// BindRequest binds a value of every kind.
type BindRequest struct {
	ID     int64         `path:"id"`
	Name   string        `path:"name"`
	Rest   string        `path:"rest"`
	Q      string        `query:"q"`
	N      int           `query:"n"`
	Small  int8          `query:"small"`
	U      uint32        `query:"u"`
	F      float64       `query:"f"`
	B      bool          `query:"b"`
	T      time.Time     `query:"t"`
	D      time.Duration `query:"d"`
	Addr   netip.Addr    `query:"addr"`
	Level  Level         `query:"level"`
	Tags   []string      `query:"tag"`
	Nums   []int         `query:"num"`
	IPs    []netip.Addr  `query:"ip"`
	Token  string        `header:"X-Token"`
	Multi  []string      `header:"X-Multi"`
	Count  uint          `header:"X-Count"`
	Sess   string        `cookie:"session"`
	Theme  string        `cookie:"theme"`
	Absent string        `query:"absent"`
}

// BindEcho is what Bind bound, for the client to compare.
type BindEcho struct {
	ID     int64    `json:"id"`
	Name   string   `json:"name"`
	Rest   string   `json:"rest"`
	Q      string   `json:"q"`
	N      int      `json:"n"`
	Small  int8     `json:"small"`
	U      uint32   `json:"u"`
	F      float64  `json:"f"`
	B      bool     `json:"b"`
	T      string   `json:"t"` // RFC 3339, UTC
	D      string   `json:"d"` // time.Duration.String
	Addr   string   `json:"addr"`
	Level  string   `json:"level"`
	Tags   []string `json:"tags"`
	Nums   []int    `json:"nums"`
	IPs    []string `json:"ips"`
	Token  string   `json:"token"`
	Multi  []string `json:"multi"`
	Count  uint     `json:"count"`
	Sess   string   `json:"session"`
	Theme  string   `json:"theme"`
	Absent string   `json:"absent"`
}

// Bind echoes every value it bound.
//
//futures:view GET /bind/{id}/{name}/{rest...}
func Bind(ctx context.Context, req BindRequest) (BindEcho, error) {
	e := BindEcho{
		ID: req.ID, Name: req.Name, Rest: req.Rest, Q: req.Q, N: req.N, Small: req.Small,
		U: req.U, F: req.F, B: req.B, D: req.D.String(), Level: string(req.Level),
		Tags: req.Tags, Nums: req.Nums, Token: req.Token, Multi: req.Multi,
		Count: req.Count, Sess: req.Sess, Theme: req.Theme, Absent: req.Absent,
	}
	if !req.T.IsZero() {
		e.T = req.T.UTC().Format(time.RFC3339Nano)
	}
	if req.Addr.IsValid() {
		e.Addr = req.Addr.String()
	}
	for _, ip := range req.IPs {
		e.IPs = append(e.IPs, ip.String())
	}
	return e, nil
}

// Item is a JSON body.
type Item struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags,omitempty"`
}

// Created is what Create answers.
type Created struct {
	Ref  string `json:"ref"`
	Item Item   `json:"item"`
}

// Create decodes a JSON body, strictly, of at most 1 KiB.
//
//futures:view POST /items status=201 maxbody=1KiB
func Create(ctx context.Context, req struct {
	Ref  string `query:"ref"`
	Body Item
}) (Created, error) {
	return Created{Ref: req.Ref, Item: req.Body}, nil
}

// Loose decodes a JSON body that may have fields Item does not know.
//
//futures:view POST /loose
func Loose(req struct {
	Data Item `body:"json,allowunknown"`
}) (Item, error) {
	return req.Data, nil
}

var deleted atomic.Int64

// Deleted is the id of the last item Delete deleted.
func Deleted() int64 { return deleted.Load() }

// Delete returns only an error: success is 204 No Content.
//
//futures:view DELETE /items/{id} errors=404
func Delete(ctx context.Context, req struct {
	ID int64 `path:"id"`
}) error {
	if req.ID <= 0 {
		return view.Error(http.StatusNotFound, fmt.Sprintf("no item %d", req.ID))
	}
	deleted.Store(req.ID)
	return nil
}

// Forbidden refuses with a message for the client.
//
//futures:view GET /forbidden errors=403
func Forbidden(ctx context.Context) (string, error) {
	return "", view.Error(http.StatusForbidden, "members only")
}

// Leak fails with an error whose text is secret.
//
//futures:view GET /leak
func Leak(ctx context.Context) (string, error) {
	return "", fmt.Errorf("connecting to db with password %s: %w", Secret, errors.ErrUnsupported)
}

// statusErr chooses its status but has no public message.
type statusErr struct{ status int }

func (e statusErr) Error() string   { return "status error carrying " + Secret }
func (e statusErr) StatusCode() int { return e.status }

// Coded fails with an error that chooses its status but whose text is
// secret: the client sees the status's standard text.
//
//futures:view GET /coded/{status} errors=409,503
func Coded(req struct {
	Status int `path:"status"`
}) (string, error) {
	return "", fmt.Errorf("wrapped: %w", statusErr{req.Status})
}

// Slow waits for its context, which its timeout ends.
//
//futures:view GET /slow timeout=50ms
func Slow(ctx context.Context) (string, error) {
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("slow: %w", ctx.Err())
	case <-time.After(10 * time.Second):
		return "the timeout did not end the context", nil
	}
}

// Panic panics.
//
//futures:view GET /panic
func Panic(ctx context.Context) (string, error) {
	panic("view panicked with " + Secret)
}

// Hello is a view with no request.
//
//futures:view GET /hello
func Hello() (string, error) { return "hello", nil }

// Sum is what Add answers.
type Sum struct {
	A, B, Sum int
}

// Add answers with a future.
//
//futures:view GET /add/{a}/{b} errors=422
func Add(ctx context.Context, req struct {
	A int `path:"a"`
	B int `path:"b"`
}) *future.Future[Sum] {
	return future.Go(ctx, func(ctx context.Context) (Sum, error) {
		if req.A < 0 {
			return Sum{}, view.Error(http.StatusUnprocessableEntity, "a must not be negative")
		}
		return Sum{req.A, req.B, req.A + req.B}, nil
	})
}

// Raw takes the request itself.
//
//futures:view PATCH /raw
func Raw(ctx context.Context, r *http.Request) (map[string]string, error) {
	return map[string]string{
		"method": r.Method,
		"x":      r.URL.Query().Get("x"),
		"header": r.Header.Get("X-Raw"),
		"ctx":    fmt.Sprint(r.Context() == ctx),
	}, nil
}

// RawItem reads its path wildcard and its body itself, under maxbody.
//
//futures:view PUT /raw/{id} maxbody=1KiB
func RawItem(r *http.Request) (map[string]string, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, view.Wrap(http.StatusRequestEntityTooLarge, "too large", err)
	}
	return map[string]string{"id": r.PathValue("id"), "size": fmt.Sprint(len(body))}, nil
}

// Page is rendered by page.html for browsers, as JSON for the others.
type Page struct {
	Title string   `json:"title"`
	Items []string `json:"items"`
}

// ShowPage has a template.
//
//futures:view GET /pages/{title} template=page.html
func ShowPage(ctx context.Context, req struct {
	Title string   `path:"title"`
	Items []string `query:"item"`
}) (Page, error) {
	return Page{Title: req.Title, Items: req.Items}, nil
}

// Probe lets the checker watch the after-response task of Service.After.
type Probe struct {
	// HandlerDone is set by the view as its last statement.
	HandlerDone atomic.Bool
	// Started is set when the task starts; SawHandlerDone is HandlerDone
	// as the task saw it then.
	Started, SawHandlerDone atomic.Bool
	// Release is closed by the client once it has read the whole response.
	// Finish is closed by the checker once the server is shutting down.
	// The task waits for each, at most Safety.
	Release, Finish chan struct{}
	Safety          time.Duration
	// TimedOut says the task stopped waiting for Release or Finish after
	// Safety.
	TimedOut atomic.Bool
	// Completed is set as the task's last statement, a while after Finish.
	Completed atomic.Bool
	// Futures receives the future of each task the view scheduled.
	Futures chan *future.Future[string]
}

// Record is the after-response task: it records what it saw when it
// started, waits for the client to have read the response, then for the
// server to be shutting down, then takes a little longer, so that only a
// shutdown that drains the loop sees it complete.
//
//futures:task
func Record(ctx context.Context, p *Probe, id string) (string, error) {
	p.SawHandlerDone.Store(p.HandlerDone.Load())
	p.Started.Store(true)
	for _, ch := range []chan struct{}{p.Release, p.Finish} {
		select {
		case <-ch:
		case <-time.After(p.Safety):
			p.TimedOut.Store(true)
			return "", errors.New("Record: waited too long")
		}
	}
	time.Sleep(50 * time.Millisecond)
	p.Completed.Store(true)
	return "recorded " + id, nil
}

// Service holds the dependencies of its method views.
type Service struct {
	Prefix string
	Probe  *Probe
	count  atomic.Int64
}

// Counter is what Service.Count answers.
type Counter struct {
	Prefix string `json:"prefix"`
	Total  int64  `json:"total"`
}

// Count is a method view: it adds to the service's counter.
//
//futures:view POST /count/{by}
func (s *Service) Count(ctx context.Context, req struct {
	By int64 `path:"by"`
}) (Counter, error) {
	return Counter{Prefix: s.Prefix, Total: s.count.Add(req.By)}, nil
}

// AfterResult is what Service.After answers.
type AfterResult struct {
	ID string `json:"id"`
	// AwaitErr is the error of awaiting the task inside the view.
	AwaitErr string `json:"await_err"`
	// InScope says the error was taskloop.ErrAwaitInScope.
	InScope bool `json:"in_scope"`
	// Padding makes the response larger than one small write.
	Padding string `json:"padding"`
}

// After schedules Record to run after the response, and sets
// Probe.HandlerDone as its last statement.
//
//futures:view POST /after/{id}
func (s *Service) After(ctx context.Context, req struct {
	ID string `path:"id"`
}) (AfterResult, error) {
	f := RecordLater(ctx, s.Probe, req.ID)
	s.Probe.Futures <- f
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err := f.Await(actx)
	cancel()
	res := AfterResult{ID: req.ID, InScope: errors.Is(err, taskloop.ErrAwaitInScope), Padding: strings.Repeat("x", 64<<10)}
	if err != nil {
		res.AwaitErr = err.Error()
	}
	defer s.Probe.HandlerDone.Store(true)
	return res, nil
}
