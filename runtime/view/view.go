// Package view is what the handlers that futuresgen writes for
// //futures:view functions call: it binds nothing by reflection (generated
// code does that with the typed binders here), but runs each request of a
// view: the deadline, the body limit, the request scope for after-response
// tasks, panic recovery, the mapping of errors to statuses, and the
// rendering of results as JSON or through html/template.
//
// # Errors and what the client sees
//
// Every error response is RFC 9457 application/problem+json. Binding
// problems are a 400 that lists each bad field and where it came from,
// with the rules of validate tags that the bound values break (generated
// code checks them, with IsEmail and the other checks here); a
// body over the view's limit, or over the JSON decoder's limits, is a 413;
// a body that is not typed as JSON is a 415; a body that found no room in
// the server's BodyBudget is a 503 with Retry-After. An error with a
// StatusCode() int method sets the status; its text reaches the client
// only if it opts in with a PublicMessage() string method, which Error and
// Wrap provide.
// When the view's deadline has passed the status is 504. When the client
// has gone away nothing is written. Any other error, and any panic, is a
// 500 whose body says only "internal server error" and a request ID; the
// error, or the panic and its stack, go to the log with that ID.
//
// # Tasks a view starts
//
// A task that a view starts with Async (the generated FAsync) belongs to
// its request: when the view's context ends before the view returns (its
// timeout, answered with 504, or a client that went away), the task is
// cancelled, since nobody is left to use what it makes; a view that
// returns normally leaves its tasks running. Tasks started with Later
// (FLater) run after the response, whatever it was.
//
// # Event streams
//
// A view whose result is a sequence (iter.Seq2[T, error]) is served by
// HandleStream as server-sent events, one event per value, until the
// sequence ends (an "end" event), fails (an "error" event carrying the
// problem JSON above), the client goes away or the server shuts down; see
// HandleStream.
//
// Views are safe for concurrent use; Handle registers them once.
//
// # For generated code
//
// The handlers and registration functions that futuresgen writes use only
// these names of this package. They are a contract with generated code: a
// change to one that would break it comes with a new version constant
// (see [SupportsGeneratedCodeVersion1]).
//
//   - [Spec], with the fields [Spec.Name], [Spec.Pattern], [Spec.Timeout],
//     [Spec.ReadsBody], [Spec.MaxBody], [Spec.Status], [Spec.Template],
//     [Spec.ErrorTemplate] and [Spec.Heartbeat];
//   - [Config], [Option], [Register] and [RegisterOn], for the
//     registration functions; [Handle], [HandleEmpty] and [HandleStream],
//     which serve a view;
//   - [Problems], with [Problems.Add] and [Problems.Err], and the places
//     [Path], [Query], [Header], [Cookie] and [Body];
//   - [ParseQuery], which parses the query once and reports the pairs
//     that do not parse;
//   - the binders [String], [Int], [Uint], [Float], [Bool], [Time],
//     [Duration] and [Text], with [Slice] and [Optional] around them;
//     [HeaderList] and [CookieValue]; and [JSON] for the body;
//   - for validate tags, the checks [IsEmail], [IsURL], [IsUUID],
//     [IsAlpha], [IsAlphanumeric], [IsNumeric], [IsHostname], [IsIP] and
//     [IsTime], and [PointerKey], which names a map's value in a problem;
//   - [SupportsGeneratedCodeVersion1], which every generated file that uses
//     this package and not taskloop asserts.
package view

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gofutures/futures/runtime/internal/reqid"
	"github.com/gofutures/futures/runtime/taskloop"
)

// DefaultMaxBody is the body limit of a view without maxbody: 1 MiB.
const DefaultMaxBody = 1 << 20

// Spec describes one view. Generated code keeps one per view in a package
// variable; Handle reads it once.
type Spec struct {
	// Name identifies the view in logs: importpath.Func by default.
	Name string
	// Pattern is the ServeMux pattern, method included: "GET /signup/{id}".
	Pattern string
	// Timeout, when positive, is the deadline of the view's context.
	Timeout time.Duration
	// MaxBody limits the request body; 0 means DefaultMaxBody.
	MaxBody int64
	// ReadsBody says the view decodes a body, so Handle limits it.
	ReadsBody bool
	// MaxDepth and MaxValues are the decoder limits of the view's JSON
	// body (see WithJSONLimits); 0 means the registration's, a negative
	// value no limit.
	MaxDepth, MaxValues int
	// Status is the success status; 0 means 200, or 204 for a view with no
	// result (see HandleEmpty).
	Status int
	// Template names the html/template file, in the registration's
	// templates, that renders the result for clients that accept HTML.
	Template string
	// ErrorTemplate names the html/template file that renders the view's
	// error responses, with an ErrorPage, for clients that prefer HTML
	// (a browser): they see a page with the error, and the form to fix
	// it, rather than problem JSON. Other clients get problem JSON. It is
	// parsed with Template, so that the two can share {{define}}d parts.
	ErrorTemplate string
	// Heartbeat is the interval of the comment lines an event stream
	// sends while it has no event to send, so that proxies keep it open;
	// 0 means DefaultHeartbeat. Only HandleStream reads it.
	Heartbeat time.Duration
}

// Config is what a registration function passes to Handle for every view
// it registers. Build it with NewConfig.
type Config struct {
	logger    *slog.Logger
	templates fs.FS
	funcs     template.FuncMap
	limits    jsonLimits
}

// Option configures the views of one registration call.
type Option interface{ apply(*Config) }

type optionFunc func(*Config)

func (f optionFunc) apply(c *Config) { f(c) }

// WithTemplates gives the file system that views with template=… parse
// their templates from (at registration, so a missing or broken template
// fails registration rather than a request). Default: none, and a view
// with a template fails to register.
func WithTemplates(fsys fs.FS) Option {
	return optionFunc(func(c *Config) { c.templates = fsys })
}

// WithFuncs adds functions to every template, as template.Funcs does.
func WithFuncs(funcs template.FuncMap) Option {
	return optionFunc(func(c *Config) { c.funcs = funcs })
}

// WithLogger sets where views log errors, panics and clients that went
// away. Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *Config) { c.logger = l })
}

// Logger returns where the views of c log: WithLogger's logger, or
// slog.Default().
func (c *Config) Logger() *slog.Logger { return c.logger }

// WriteError writes the response that a view named name writes when it
// fails with err, as the "Errors and what the client sees" section of the
// package doc says: problem JSON with the status that err chooses, its
// text only if it is a PublicError, and a request ID and a log line for
// a 5xx. runtime/socket answers the requests it refuses before the
// upgrade with it.
func (c *Config) WriteError(w http.ResponseWriter, r *http.Request, name string, err error) {
	h := core{c: c, spec: Spec{Name: name}}
	h.fail(r.Context(), w, r, err)
}

// NewConfig applies opts.
func NewConfig(opts ...Option) *Config {
	c := &Config{}
	for _, o := range opts {
		o.apply(c)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c
}

// Handle registers on mux, at spec.Pattern, the handler of a view whose
// generated function fn binds the request and calls the user's function.
// It fails when the view's template cannot be parsed, and with a
// *ConflictError, where mux.Handle would panic, when the pattern conflicts
// with one registered before on mux: the error names both views.
func Handle[T any](mux *http.ServeMux, c *Config, spec *Spec, fn func(ctx context.Context, r *http.Request) (T, error)) error {
	h, err := newHandler(c, spec, fn)
	if err != nil {
		return err
	}
	return handle(mux, spec, h)
}

// HandleEmpty is Handle for a view that returns only an error: success is
// 204 No Content unless spec.Status says otherwise.
func HandleEmpty(mux *http.ServeMux, c *Config, spec *Spec, fn func(ctx context.Context, r *http.Request) error) error {
	s := *spec
	if s.Status == 0 {
		s.Status = http.StatusNoContent
	}
	return Handle(mux, c, &s, func(ctx context.Context, r *http.Request) (noContent, error) {
		return noContent{}, fn(ctx, r)
	})
}

// noContent is the result of a view that returns only an error.
type noContent struct{}

func newHandler[T any](c *Config, spec *Spec, fn func(context.Context, *http.Request) (T, error)) (*handler[T], error) {
	h := &handler[T]{core: core{c: c, spec: *spec}, fn: fn}
	if h.spec.MaxBody <= 0 {
		h.spec.MaxBody = DefaultMaxBody
	}
	h.limits = resolveLimits(jsonLimits{depth: spec.MaxDepth, values: spec.MaxValues}, c.limits)
	if h.spec.Status == 0 {
		h.spec.Status = http.StatusOK
	}
	if spec.Template != "" {
		t, err := parseTemplates(c, spec, spec.Template)
		if err != nil {
			return nil, err
		}
		h.tmpl = t
	}
	if err := h.parseErrorTemplate(); err != nil {
		return nil, err
	}
	return h, nil
}

type handler[T any] struct {
	core
	limits jsonLimits
	fn     func(context.Context, *http.Request) (T, error)
	tmpl   *template.Template
}

// core is what every kind of view's handler has: its configuration and
// spec, and the error responses.
type core struct {
	c    *Config
	spec Spec
	// errTmpl renders error responses for clients that prefer HTML
	// (Spec.ErrorTemplate), or is nil.
	errTmpl *template.Template
}

func (h *handler[T]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, scope := taskloop.NewScope(r.Context())
	scope.SetRequest(r) // the loop's warnings about its tasks name the ID our responses carry
	done := false
	defer func() {
		if done {
			return
		}
		p := recover()
		scope.Abort(taskloop.ErrScopeAborted)
		if p == nil {
			return // runtime.Goexit: let it go on
		}
		if p == http.ErrAbortHandler {
			panic(p) // net/http's way to abort a response
		}
		id := idOf(ctx, r)
		h.log(ctx, r, slog.LevelError, "view panicked", "view", h.spec.Name, "panic", p, "stack", string(debug.Stack()))
		h.problem(w, r, http.StatusInternalServerError, "internal server error", id, nil)
	}()

	if h.spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.spec.Timeout)
		defer cancel()
	}
	if h.spec.ReadsBody && r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > h.spec.MaxBody {
			// Announced too large: refuse before reading a byte, and close
			// the connection rather than let net/http read the body to
			// reuse it.
			w.Header().Set("Connection", "close")
			done = true
			scope.Close()
			h.problem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", h.spec.MaxBody), "", nil)
			return
		}
		// Limited to maxbody, and reserved in the server's body budget
		// until the handler returns: the decoded value lives that long.
		body := newRequestBody(ctx, w, r, h.spec.MaxBody, h.limits)
		defer body.release()
		r.Body = body
	}
	v, err := h.fn(ctx, r)
	if ctx.Err() != nil {
		// The request ended before the view did (its timeout, a client
		// gone): the tasks it started with Async go with it. Its
		// after-response tasks still run.
		scope.CancelTasks()
	}
	if err != nil {
		h.fail(ctx, w, r, err)
	} else {
		h.render(ctx, w, r, v)
	}
	done = true
	if scope.Pending() > 0 {
		// The response must reach the client before its after-response
		// tasks start; a handler that returns flushes only later.
		_ = http.NewResponseController(w).Flush()
	}
	scope.Close()
}

// parseTemplates parses the view's templates, Template and ErrorTemplate
// together, and returns the one named by file.
func parseTemplates(c *Config, spec *Spec, file string) (*template.Template, error) {
	if c.templates == nil {
		return nil, fmt.Errorf("view %s renders %s, but no templates were given (view.WithTemplates)", spec.Name, file)
	}
	files := []string{file}
	for _, f := range []string{spec.Template, spec.ErrorTemplate} {
		if f != "" && f != file {
			files = append(files, f)
		}
	}
	// ParseFS names a template after its file's base name.
	t, err := template.New(path.Base(file)).Funcs(c.funcs).ParseFS(c.templates, files...)
	if err != nil {
		return nil, fmt.Errorf("view %s: %w", spec.Name, err)
	}
	return t, nil
}

func (h *core) parseErrorTemplate() error {
	if h.spec.ErrorTemplate == "" {
		return nil
	}
	t, err := parseTemplates(h.c, &h.spec, h.spec.ErrorTemplate)
	if err != nil {
		return err
	}
	h.errTmpl = t
	return nil
}

// ErrorPage is what a view's ErrorTemplate renders: the problem that the
// view's error response would carry as JSON, and the request's query, so
// that the page can fill its form in again.
type ErrorPage struct {
	// Status is the response's status: 400, 404, 500…
	Status int
	// Title is the status's text: "Bad Request".
	Title string
	// Detail says what went wrong, as the problem's detail does: only
	// text written for clients (see PublicError).
	Detail string
	// RequestID is set for 5xx responses: the log has the details
	// under it.
	RequestID string
	// Errors are the bad request values, each with where it came from.
	Errors []FieldError
	// Query is the request's query, to fill a form in again.
	Query url.Values
}

// problem writes an error response: through the view's ErrorTemplate
// when it has one and the client prefers HTML, else as problem JSON.
func (h *core) problem(w http.ResponseWriter, r *http.Request, status int, detail, requestID string, fields []FieldError) {
	if h.errTmpl == nil || !prefersHTML(r.Header.Get("Accept")) {
		writeProblem(w, status, detail, requestID, fields)
		return
	}
	page := ErrorPage{Status: status, Title: http.StatusText(status), Detail: detail, RequestID: requestID, Errors: fields, Query: r.URL.Query()}
	if page.Title == "" {
		page.Title = "Error"
	}
	buf := getBuffer()
	defer putBuffer(buf)
	if err := h.errTmpl.Execute(buf, page); err != nil {
		h.c.logger.Error("view error template failed", "view", h.spec.Name, "template", h.spec.ErrorTemplate, "request_id", requestID, "err", err)
		writeProblem(w, status, detail, requestID, fields)
		return
	}
	hdr := w.Header()
	hdr.Add("Vary", "Accept")
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	hdr.Set("X-Content-Type-Options", "nosniff")
	if requestID != "" {
		hdr.Set("X-Request-ID", requestID)
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail writes the response for err.
func (h *core) fail(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	if rd, ok := errors.AsType[*redirect](err); ok {
		http.Redirect(w, r, rd.location, rd.status)
		return
	}
	var be *BindError
	if errors.As(err, &be) {
		detail := "1 request value is invalid"
		switch be.Status {
		case http.StatusUnsupportedMediaType:
			// RFC 9110 15.5.16: say what would be accepted, with the
			// header of the method that has one (RFC 5789 for PATCH).
			switch r.Method {
			case http.MethodPost:
				w.Header().Set("Accept-Post", "application/json")
			case http.MethodPatch:
				w.Header().Set("Accept-Patch", "application/json")
			}
		case http.StatusServiceUnavailable:
			w.Header().Set("Retry-After", retryAfter)
		}
		switch {
		case be.Detail != "":
			detail = be.Detail
		case be.Status == http.StatusRequestEntityTooLarge:
			detail = fmt.Sprintf("the request body is larger than %d bytes", be.Limit)
		case be.Status == http.StatusRequestTimeout:
			detail = "the request body did not arrive in time"
		case len(be.Fields) != 1:
			detail = fmt.Sprintf("%d request values are invalid", len(be.Fields))
		}
		h.log(ctx, r, slog.LevelDebug, "view rejected a request", "view", h.spec.Name, "err", err)
		h.problem(w, r, be.Status, detail, "", be.Fields)
		return
	}
	if sc, ok := errors.AsType[StatusCoder](err); ok {
		status := sc.StatusCode()
		detail := http.StatusText(status)
		if pub, ok := errors.AsType[PublicError](err); ok {
			detail = pub.PublicMessage()
		}
		if status < 400 || status > 599 {
			status, detail = http.StatusInternalServerError, "internal server error"
		}
		id := ""
		if status >= 500 {
			id = idOf(ctx, r)
			h.log(ctx, r, slog.LevelError, "view failed", "view", h.spec.Name, "status", status, "err", err)
		} else {
			h.log(ctx, r, slog.LevelDebug, "view refused a request", "view", h.spec.Name, "status", status, "err", err)
		}
		h.problem(w, r, status, detail, id, nil)
		return
	}
	// The view's deadline, or one a middleware set: either way the server
	// took too long. A client that went away cancels instead.
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		id := idOf(ctx, r)
		h.log(ctx, r, slog.LevelWarn, "view timed out", "view", h.spec.Name, "timeout", h.spec.Timeout, "err", err)
		h.problem(w, r, http.StatusGatewayTimeout, "the request took too long", id, nil)
		return
	}
	if errors.Is(r.Context().Err(), context.Canceled) {
		// The client went away: nobody is left to read a response.
		h.log(ctx, r, slog.LevelDebug, "client went away", "view", h.spec.Name, "err", err)
		return
	}
	id := idOf(ctx, r)
	h.log(ctx, r, slog.LevelError, "view failed", "view", h.spec.Name, "err", err)
	h.problem(w, r, http.StatusInternalServerError, "internal server error", id, nil)
}

// log writes a line about the request to the views' logger, with ctx (so
// that a handler can add the trace it carries: runtime/telemetry's
// LogHandler does) and the request's ID, the one its error response and
// the task loop's lines about its tasks carry.
func (h *core) log(ctx context.Context, r *http.Request, level slog.Level, msg string, attrs ...any) {
	if !h.c.logger.Enabled(ctx, level) {
		return
	}
	h.c.logger.Log(ctx, level, msg, append(attrs, "request_id", idOf(ctx, r))...)
}

// StatusCoder is an error that chooses its response status.
type StatusCoder interface {
	error
	StatusCode() int
}

// PublicError is an error whose message is written for clients. Only such
// errors have their text sent; others get the status's standard text.
type PublicError interface {
	error
	PublicMessage() string
}

// Redirect returns an error that makes the view answer with a redirect to
// location (relative to the request's URL, as http.Redirect resolves it),
// with status 301, 302, 303, 307 or 308; any other status becomes 303.
// Return it from a POST view to send the browser on with 303 See Other.
func Redirect(status int, location string) error {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		status = http.StatusSeeOther
	}
	return &redirect{status: status, location: location}
}

type redirect struct {
	status   int
	location string
}

func (r *redirect) Error() string { return fmt.Sprintf("redirect %d to %s", r.status, r.location) }

// HeaderSetter is a view result that sets response headers (a Location,
// a cookie with http.Cookie.String, cache headers) before it is written.
type HeaderSetter interface {
	SetResponseHeaders(h http.Header)
}

// Error returns an error that responds with status and msg, which the
// client sees.
func Error(status int, msg string) error {
	return &httpError{status: status, msg: msg}
}

// Wrap is Error that keeps err, for the log and for errors.Is and As; the
// client sees only msg.
func Wrap(status int, msg string, err error) error {
	return &httpError{status: status, msg: msg, err: err}
}

type httpError struct {
	status int
	msg    string
	err    error
}

func (e *httpError) Error() string {
	if e.err != nil {
		return fmt.Sprintf("%d %s: %v", e.status, e.msg, e.err)
	}
	return fmt.Sprintf("%d %s", e.status, e.msg)
}

func (e *httpError) StatusCode() int       { return e.status }
func (e *httpError) PublicMessage() string { return e.msg }
func (e *httpError) Unwrap() error         { return e.err }

// requestID returns the request's X-Request-ID when it looks sane, else a
// new random one.
func requestID(r *http.Request) string { return reqid.FromRequest(r) }

func isToken(s string) bool { return reqid.IsToken(s) }

// idOf returns the ID of the request that ctx serves: the one its scope
// holds (taskloop.RequestID), so that the view's log lines and error
// responses and the loop's warnings about the request's tasks agree.
func idOf(ctx context.Context, r *http.Request) string {
	if id := taskloop.RequestID(ctx); id != "" {
		return id
	}
	return requestID(r)
}

// Register registers every view of views on mux, with one Config made of
// opts, and joins their errors. Generated RegisterViews functions call it.
func Register(mux *http.ServeMux, views []func(*http.ServeMux, *Config) error, opts ...Option) error {
	c := NewConfig(opts...)
	var errs []error
	for _, register := range views {
		errs = append(errs, register(mux, c))
	}
	return errors.Join(errs...)
}

// RegisterOn is Register for views that are methods of recv. Generated
// Register<Type>Views functions call it.
func RegisterOn[R any](mux *http.ServeMux, recv R, views []func(*http.ServeMux, *Config, R) error, opts ...Option) error {
	c := NewConfig(opts...)
	var errs []error
	for _, register := range views {
		errs = append(errs, register(mux, c, recv))
	}
	return errors.Join(errs...)
}
