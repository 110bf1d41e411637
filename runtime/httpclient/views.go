package httpclient

import (
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofutures/futures/runtime/future"
)

// Calling views: what the typed clients that futuresgen writes for
// //futures:client call. A generated method builds a Request from its
// request struct, value by value, with the formatters below, which are the
// inverses of runtime/view's binders, and sends it with Send, which
// decodes the result or the problem. Code of your own may call them too;
// their behaviour is that of the generated clients.

// SupportsGeneratedCodeVersion1 exists in every version of this package
// that the clients futuresgen writes for version 1 of its contract can
// use: the names listed under "For generated code" in the package doc.
// Every generated client asserts it:
//
//	const _ = httpclient.SupportsGeneratedCodeVersion1
//
// so that compiling a client against a runtime that lacks what it calls
// fails on that line, with a name that says why.
const SupportsGeneratedCodeVersion1 = true

// In says where a request value goes: the places runtime/view binds from.
type In string

// The places of a view's request values.
const (
	InPath   In = "path"
	InQuery  In = "query"
	InHeader In = "header"
	InCookie In = "cookie"
)

// Request is a view's request under construction: its method and
// pattern, then its path values, query, headers, cookies and JSON body,
// added by the functions below. The first value that cannot be sent as
// the view would bind it is kept as the request's error, and Send then
// fails without sending anything. A Request is used by one goroutine,
// once.
type Request struct {
	method, pattern string
	path            map[string]string // wildcard → its value's text
	query           url.Values
	header          http.Header
	cookies         []string // name=value, as the Cookie header joins them
	body            []byte
	hasBody         bool
	err             error
}

// NewRequest starts the request of the view served at pattern, a
// ServeMux pattern without its method ("/items/{id}"), with method.
func NewRequest(method, pattern string) *Request {
	return &Request{method: method, pattern: pattern}
}

// ParamError is the error of a call whose request has a value that cannot
// be sent as the view's binder would read it back: a path value that
// would change the path's meaning, a header or cookie value with bytes
// that HTTP cannot carry or that the server would trim, a number that is
// not finite, a time that RFC 3339 cannot write, a MarshalText or JSON
// failure. No request is sent.
type ParamError struct {
	Method  string // the view's method
	Pattern string // the view's pattern, without the method
	In      In     // where the value goes; "body" for the JSON body
	Name    string // the wildcard, query key, header or cookie name; "" for the body
	Err     error
}

func (e *ParamError) Error() string {
	where := string(e.In)
	if e.Name != "" {
		where += " " + e.Name
	}
	return fmt.Sprintf("httpclient: %s %s: %s: %v", e.Method, e.Pattern, where, e.Err)
}

func (e *ParamError) Unwrap() error { return e.Err }

// fail keeps the request's first problem.
func (r *Request) fail(in In, name string, err error) {
	if r.err == nil {
		r.err = &ParamError{Method: r.method, Pattern: r.pattern, In: in, Name: name, Err: err}
	}
}

// PathParam sets the value of the path wildcard {name}, or {name...} when
// the pattern ends with it, formatted by format. Every wildcard of the
// pattern must be set before Send.
//
// A value is one path segment, escaped (a slash in it is sent as %2F,
// which the server's ServeMux reads back as a slash in the value); a
// {name...} value is the rest of the path, its slashes kept and each of
// its segments escaped. A value that ServeMux would not read back as it
// is fails the request: an empty one (but for {name...}), a "." or "..",
// which it resolves away, and, in a {name...} value, an empty segment
// other than the last, which it drops.
func PathParam[T any](r *Request, name string, v T, format func(T) (string, error)) {
	s, err := format(v)
	if err != nil {
		r.fail(InPath, name, err)
		return
	}
	if r.path == nil {
		r.path = make(map[string]string, 2)
	}
	r.path[name] = s
}

// Param adds the value of a query parameter, header or cookie, formatted by
// format, unless v is its type's zero value or formats as "": the view's
// binder leaves its field at the zero value when the value is absent (and
// treats an empty value as absent), so the view sees the same request.
func Param[T comparable](r *Request, in In, name string, v T, format func(T) (string, error)) {
	var zero T
	if v == zero {
		return
	}
	addParam(r, in, name, v, format)
}

// OptionalParam adds *v as Param does, unless v is nil, for a pointer
// field, which the view's binder leaves nil when the value is absent: a
// pointer to a zero value is sent. A pointer to a value that formats as
// "" (an empty string) fails the request: the binder takes an empty value
// for an absent one, and would leave the field nil.
func OptionalParam[T any](r *Request, in In, name string, v *T, format func(T) (string, error)) {
	if v == nil {
		return
	}
	s, err := format(*v)
	if err == nil && s == "" {
		err = errors.New("the value is empty, which the view's binder takes for no value: it would see nil")
	}
	if err != nil {
		r.fail(in, name, err)
		return
	}
	addParam(r, in, name, s, FormatString[string])
}

// ListParam adds the elements of vs, for a slice field: each as a query
// parameter of its own (?tag=a&tag=b), or, for a header, all of them in
// one line separated by commas (X-Tags: a,b), as OpenAPI describes an
// array header and as view.HeaderList reads it. An empty or nil slice
// sends nothing, and the view's field stays nil. A header element that
// is empty, has a comma, or starts or ends with white space fails the
// request: view.HeaderList would not read it back.
func ListParam[T any](r *Request, in In, name string, vs []T, format func(T) (string, error)) {
	if len(vs) == 0 {
		return
	}
	texts := make([]string, len(vs))
	for i, v := range vs {
		s, err := format(v)
		if err != nil {
			r.fail(in, name, fmt.Errorf("value %d: %w", i+1, err))
			return
		}
		texts[i] = s
	}
	switch in {
	case InQuery:
		if r.query == nil {
			r.query = url.Values{}
		}
		r.query[name] = append(r.query[name], texts...)
	case InHeader:
		for i, s := range texts {
			switch {
			case s == "":
				r.fail(in, name, fmt.Errorf("value %d is empty, which the view's binder drops from the list", i+1))
				return
			case strings.IndexByte(s, ',') >= 0:
				r.fail(in, name, fmt.Errorf("value %d has a comma, at which the view's binder splits the list", i+1))
				return
			}
			if err := headerValueProblem(s); err != nil {
				r.fail(in, name, fmt.Errorf("value %d: %w", i+1, err))
				return
			}
		}
		r.setHeader(name, strings.Join(texts, ","))
	default:
		r.fail(in, name, fmt.Errorf("only query parameters and headers take lists, not %s values", in))
	}
}

func addParam[T any](r *Request, in In, name string, v T, format func(T) (string, error)) {
	s, err := format(v)
	if err != nil {
		r.fail(in, name, err)
		return
	}
	if s == "" {
		return
	}
	switch in {
	case InQuery:
		if r.query == nil {
			r.query = url.Values{}
		}
		r.query[name] = append(r.query[name], s)
	case InHeader:
		if err := headerValueProblem(s); err != nil {
			r.fail(in, name, err)
			return
		}
		r.setHeader(name, s)
	case InCookie:
		c, err := cookiePair(name, s)
		if err != nil {
			r.fail(in, name, err)
			return
		}
		r.cookies = append(r.cookies, c)
	default:
		r.fail(in, name, fmt.Errorf("a value goes to the path with PathParam, not Param"))
	}
}

func (r *Request) setHeader(name, value string) {
	if r.header == nil {
		r.header = make(http.Header, 2)
	}
	r.header.Set(name, value)
}

// headerValueProblem says why s cannot be sent as a header value that the
// server reads back as it is: a control character (other than a tab),
// which HTTP forbids, or white space at either end, which the server
// trims.
func headerValueProblem(s string) error {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' && b != '\t' || b == 0x7f {
			return fmt.Errorf("the value has the control character %q, which a header cannot carry", b)
		}
	}
	if strings.Trim(s, " \t") != s {
		return errors.New("the value starts or ends with white space, which the server trims")
	}
	return nil
}

// cookiePair returns name=value for the Cookie header, value quoted when
// it has a space or a comma, as net/http quotes and unquotes them; bytes
// that a cookie cannot carry (net/http would drop them without a word)
// fail.
func cookiePair(name, value string) (string, error) {
	if (&http.Cookie{Name: name}).Valid() != nil {
		return "", errors.New("the name is not a valid cookie name")
	}
	for i := 0; i < len(value); i++ {
		if b := value[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return "", fmt.Errorf("the value has %q, which a cookie cannot carry", b)
		}
	}
	if strings.ContainsAny(value, " ,") {
		value = `"` + value + `"`
	}
	return name + "=" + value, nil
}

// JSON sets the request's body: v encoded with encoding/json, sent with
// Content-Type application/json. A value that does not encode fails the
// request.
func (r *Request) JSON(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		r.fail("body", "", err)
		return
	}
	r.body, r.hasBody = data, true
}

// escapedPath fills the pattern's wildcards with their values, escaped,
// and escapes its literal segments as ServeMux unescapes them.
func (r *Request) escapedPath() (string, error) {
	if !strings.HasPrefix(r.pattern, "/") {
		return "", fmt.Errorf("httpclient: %s %s: the pattern is not a path", r.method, r.pattern)
	}
	segs := strings.Split(r.pattern[1:], "/")
	var b strings.Builder
	for _, seg := range segs {
		b.WriteByte('/')
		name, wild := strings.CutPrefix(seg, "{")
		if !wild {
			lit, err := url.PathUnescape(seg)
			if err != nil {
				lit = seg
			}
			b.WriteString(url.PathEscape(lit))
			continue
		}
		name = strings.TrimSuffix(name, "}")
		if name == "$" {
			continue
		}
		name, rest := strings.CutSuffix(name, "...")
		v, ok := r.path[name]
		if !ok {
			return "", &ParamError{Method: r.method, Pattern: r.pattern, In: InPath, Name: name, Err: errors.New("no value was given")}
		}
		if !rest {
			if err := segmentProblem(v); err != nil {
				return "", &ParamError{Method: r.method, Pattern: r.pattern, In: InPath, Name: name, Err: err}
			}
			b.WriteString(url.PathEscape(v))
			continue
		}
		parts := strings.Split(v, "/")
		for i, part := range parts {
			if i > 0 {
				b.WriteByte('/')
			}
			if part == "" && i == len(parts)-1 {
				continue // "" or a trailing slash, which ServeMux keeps
			}
			if err := segmentProblem(part); err != nil {
				return "", &ParamError{Method: r.method, Pattern: r.pattern, In: InPath, Name: name, Err: fmt.Errorf("segment %d: %w", i+1, err)}
			}
			b.WriteString(url.PathEscape(part))
		}
	}
	return b.String(), nil
}

// segmentProblem says why s cannot be one path segment that ServeMux reads
// back as it is.
func segmentProblem(s string) error {
	switch s {
	case "":
		return errors.New("the value is empty, which would make the path another one")
	case ".", "..":
		return fmt.Errorf("the value %q is a dot segment, which the path's cleaning would resolve away", s)
	case "/":
		// Sent as %2F, but ServeMux takes a segment that unescapes to a
		// lone slash for a trailing slash, which no {name} matches.
		return errors.New(`the value "/" is one that ServeMux takes for a trailing slash, which no {name} wildcard matches`)
	}
	return nil
}

// Send sends the request with c, whose base URL (WithBaseURL) is where the
// views are served, and returns the future of the view's result: the JSON
// body of a 2xx response decoded into T, or T's zero value when there is
// no body (204, HEAD, a view that returns only an error).
//
// It asks for JSON (Accept: application/json), so that a view with a
// template answers JSON too. The request's headers replace the client's
// of the same name (WithHeader), and its cookies, when it has any, the
// client's Cookie header; opts apply over both. The call is retried as
// the client's calls are (see WithRetries): a view whose method is not
// idempotent only with Retry(true) or an Idempotency-Key header.
//
// The future fails with the request's *ParamError when one of its values
// cannot be sent, without sending anything; with a *Problem when the
// view answers an error as application/problem+json, as every view
// does; with a *StatusError for another non-2xx response; with an error
// naming the response's Content-Type when a 2xx response is not JSON; and
// as the client's calls fail otherwise (see Client.Get). Send never
// blocks: the call runs in one goroutine of its own, which ends when the
// future resolves.
func Send[T any](ctx context.Context, c *Client, r *Request, opts ...CallOption) *future.Future[T] {
	if c == nil {
		return future.Failed[T](fmt.Errorf("httpclient: %s %s: no Client to send it with", r.method, r.pattern))
	}
	if r.err != nil {
		return future.Failed[T](r.err)
	}
	path, err := r.escapedPath()
	if err != nil {
		return future.Failed[T](err)
	}
	raw := path
	if len(r.query) > 0 {
		raw += "?" + r.query.Encode()
	}
	var body *Body
	if r.hasBody {
		body = &Body{ContentType: "application/json", Data: r.body}
	}
	req, err := c.newRequest(r.method, raw, body, nil)
	if err != nil {
		return future.Failed[T](err)
	}
	req.Header["Accept"] = []string{"application/json"}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if len(r.cookies) > 0 {
		req.Header["Cookie"] = []string{strings.Join(r.cookies, "; ")}
	}
	cl := c.newCall(req, callOptions(opts), false)
	return future.Go(ctx, func(ctx context.Context) (T, error) {
		resp, err := cl.run(ctx)
		if err != nil {
			var zero T
			return zero, err
		}
		return decodeResult[T](resp)
	})
}

// decodeResult turns a view's response into its result or its error.
func decodeResult[T any](resp *Response) (T, error) {
	var v T
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return v, responseError(resp)
	}
	if len(resp.Body) == 0 || resp.Method == http.MethodHead ||
		resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusResetContent {
		return v, nil
	}
	if ct := resp.Header.Get("Content-Type"); !isJSON(ct) {
		return v, fmt.Errorf("httpclient: %s %s: %s: the response is %q, not JSON", resp.Method, redacted(resp.URL), resp.Status, ct)
	}
	if err := json.Unmarshal(resp.Body, &v); err != nil {
		return v, fmt.Errorf("httpclient: decoding the result of %s %s: %w", resp.Method, redacted(resp.URL), err)
	}
	return v, nil
}

// isJSON reports whether a Content-Type is application/json or
// application/<anything>+json.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// responseError is the error of a response that is not a success: its
// problem, when it has one, else a *StatusError.
func responseError(resp *Response) error {
	se := &StatusError{
		StatusCode: resp.StatusCode,
		Status:     resp.Status,
		Method:     resp.Method,
		URL:        redacted(resp.URL),
		Body:       append([]byte(nil), resp.Body[:min(len(resp.Body), maxSnippet)]...),
	}
	if p := resp.problem(); p != nil {
		p.status = se
		return p
	}
	return se
}

// Problem is an RFC 9457 problem details response
// (application/problem+json), as runtime/view answers every error: its
// status and title, the detail the view chose to tell (view.Error's
// message), and for a 400 every bad request value. A generated client's
// future fails with it; match it with errors.As. It unwraps to the
// response's *StatusError.
//
// It has no StatusCode method on purpose: a view that returns the error
// of a call it made answers 500, not the other service's status, unless
// it says otherwise (return view.Error(p.Status, p.Detail) to pass it on).
type Problem struct {
	// Status is the response's status code. The body's "status" member,
	// which RFC 9457 calls advisory, is not trusted over it.
	Status int `json:"status"`
	// Type is a URI that identifies the kind of problem; "about:blank"
	// when the status says it all.
	Type string `json:"type"`
	// Title is the status's text, such as "Not Found".
	Title string `json:"title"`
	// Detail is what the server tells about this occurrence: the message
	// of view.Error, "2 request values are invalid", or "internal server
	// error".
	Detail string `json:"detail,omitempty"`
	// Instance is a URI that identifies this occurrence, when the server
	// gives one.
	Instance string `json:"instance,omitempty"`
	// RequestID identifies the request in the server's logs (5xx).
	RequestID string `json:"request_id,omitempty"`
	// Errors are the request's bad values, for a 400: where each is and
	// what is wrong with it.
	Errors []FieldError `json:"errors,omitempty"`
	// Header is the response's header: Retry-After, X-Request-ID…
	Header http.Header `json:"-"`

	status *StatusError
}

// FieldError is one bad value of a request, in a Problem.
type FieldError struct {
	// In is where the value was: "path", "query", "header", "cookie" or
	// "body".
	In string `json:"in"`
	// Name is the parameter's name, or for the body a JSON pointer such
	// as /items/0/name (encoding/json's dotted path for a value that did
	// not decode); "" for the body as a whole.
	Name string `json:"name"`
	// Detail says what is wrong.
	Detail string `json:"detail"`
}

// Error returns the method, URL, status and detail, then the bad values,
// for example `httpclient: POST http://127.0.0.1/items: 400 Bad Request:
// 1 request value is invalid (query limit: want an integer, got "x")`.
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString("httpclient: ")
	if p.status != nil {
		fmt.Fprintf(&b, "%s %s: ", p.status.Method, p.status.URL)
	}
	fmt.Fprintf(&b, "%d %s", p.Status, p.Title)
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(oneLine([]byte(p.Detail), 160))
	}
	if len(p.Errors) > 0 {
		b.WriteString(" (")
		for i, f := range p.Errors {
			if i == 3 {
				fmt.Fprintf(&b, "; and %d more", len(p.Errors)-i)
				break
			}
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(oneLine([]byte(strings.TrimSpace(f.In+" "+f.Name)+": "+f.Detail), 120))
		}
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the response's *StatusError, so that errors.As finds the
// status of any error response the same way.
func (p *Problem) Unwrap() error {
	if p.status == nil {
		return nil
	}
	return p.status
}

// problem decodes the response's problem details, or returns nil when it
// has none: not application/problem+json, or not a JSON object.
func (r *Response) problem() *Problem {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/problem+json" {
		return nil
	}
	p := new(Problem)
	if err := json.Unmarshal(r.Body, p); err != nil {
		return nil
	}
	p.Status = r.StatusCode
	if p.Title == "" {
		p.Title = http.StatusText(r.StatusCode)
	}
	p.Header = r.Header
	return p
}

// StatusOf returns the HTTP status of the response that err reports: that
// of a *Problem or a *StatusError in its chain, and 0 when there was no
// error response (nil, a failure to send, a *ParamError). A view's
// view.Error(404, "no such item") is a *Problem with Status 404 and
// Detail "no such item" on the client, and StatusOf(err) == 404.
func StatusOf(err error) int {
	if se, ok := errors.AsType[*StatusError](err); ok {
		return se.StatusCode
	}
	if p, ok := errors.AsType[*Problem](err); ok {
		return p.Status
	}
	return 0
}

// The formatters write a value as runtime/view's binder of its type reads
// it: each is the inverse of the binder of the same name. Generated
// clients pass them to Param, OptionalParam, ListParam and PathParam.

// FormatString returns v as it is.
func FormatString[T ~string](v T) (string, error) { return string(v), nil }

// FormatInt writes v in base 10, as view.Int reads it.
func FormatInt[T ~int | ~int8 | ~int16 | ~int32 | ~int64](v T) (string, error) {
	return strconv.FormatInt(int64(v), 10), nil
}

// FormatUint writes v in base 10, as view.Uint reads it.
func FormatUint[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr](v T) (string, error) {
	return strconv.FormatUint(uint64(v), 10), nil
}

// FormatFloat writes v in the shortest form that reads back as v at its
// size, as view.Float reads it. NaN and the infinities, which view.Float
// refuses, fail.
func FormatFloat[T ~float32 | ~float64](v T) (string, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%v is not a finite number, the only kind the view's binder takes", f)
	}
	bits := 64
	if isFloat32[T]() {
		bits = 32 // the shortest form that view.Float's ParseFloat(…, 32) reads back
	}
	return strconv.FormatFloat(f, 'g', -1, bits), nil
}

// isFloat32 reports whether T's underlying type is float32.
func isFloat32[T ~float32 | ~float64]() bool {
	var probe T = 16777217 // 2^24+1: a float32 rounds it
	return float64(probe) != 16777217
}

// FormatBool writes true or false, as view.Bool reads them.
func FormatBool[T ~bool](v T) (string, error) { return strconv.FormatBool(bool(v)), nil }

// FormatTime writes v in RFC 3339 with as many fractional digits as it
// needs, as view.Time reads it: the same instant, in v's offset from UTC,
// or in UTC when RFC 3339 cannot write that offset (one with seconds, or
// of a day or more). A time outside the years 0 to 9999, which RFC 3339
// cannot write, fails.
func FormatTime(v time.Time) (string, error) {
	if _, off := v.Zone(); off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		v = v.UTC()
	}
	if y := v.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("the year %d is outside 0 to 9999, which RFC 3339 cannot write", y)
	}
	return v.Format(time.RFC3339Nano), nil
}

// FormatDuration writes v as a Go duration such as 1m30s, as view.Duration
// reads it.
func FormatDuration(v time.Duration) (string, error) { return v.String(), nil }

// FormatText writes v with its MarshalText method, as view.Text reads it
// with UnmarshalText. MarshalText's error fails the request.
func FormatText[T any, PT interface {
	*T
	encoding.TextMarshaler
}](v T) (string, error) {
	b, err := PT(&v).MarshalText()
	if err != nil {
		return "", err
	}
	return string(b), nil
}
