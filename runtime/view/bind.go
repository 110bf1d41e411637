package view

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// In says where a request value comes from.
type In string

// The places a view's request fields are bound from.
const (
	Path   In = "path"
	Query  In = "query"
	Header In = "header"
	Cookie In = "cookie"
	Body   In = "body"
)

// FieldError is one bad value of a request.
type FieldError struct {
	In     In     `json:"in"`
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

// Problems collects a request's binding problems so that they are all
// reported in one response. Generated code keeps one on its stack; the zero
// value is ready to use.
type Problems struct {
	fields   []FieldError
	tooLarge int64 // the body limit, when the body went over it
	timedOut bool  // the body did not arrive before the server's read deadline
	// refusal is a whole-body refusal other than the byte limit: a
	// Content-Type that is not JSON (415), a body over a decoder limit
	// (413), no room in the server's body budget (503).
	refusal *BindError
}

// Add records detail as a problem with the value name from in; an empty
// detail, which every binder returns for a good value, records nothing.
func (p *Problems) Add(in In, name, detail string) {
	if detail != "" {
		p.fields = append(p.fields, FieldError{In: in, Name: name, Detail: detail})
	}
}

// Err returns nil when there were no problems, else an error that the view
// runtime turns into a problem response: 413 for a body over the view's
// limit or a decoder limit, 415 for a body that is not JSON, 408 for a body
// that came too slowly, 400 for bad values, and 503 (with Retry-After)
// when the server had no room for the body in time. A 400 wins over a 503:
// the client must fix its request whether or not the server is busy.
func (p *Problems) Err() error {
	if p.tooLarge > 0 {
		return &BindError{Status: http.StatusRequestEntityTooLarge, Limit: p.tooLarge}
	}
	if p.refusal != nil && p.refusal.Status != http.StatusServiceUnavailable {
		return p.refusal
	}
	if p.timedOut {
		return &BindError{Status: http.StatusRequestTimeout}
	}
	if len(p.fields) > 0 {
		return &BindError{Status: http.StatusBadRequest, Fields: p.fields}
	}
	if p.refusal != nil {
		return p.refusal
	}
	return nil
}

// BindError is the error of a request that could not be bound. Its fields
// describe the client's input only, so it is safe to send to the client.
type BindError struct {
	// Status is 400, 408 (the body arrived too slowly), 413 (over the
	// view's byte limit, or over a decoder limit: Detail says which), 415
	// (the body is not JSON) or 503 (no room in the server's body budget).
	Status int
	Fields []FieldError // for 400
	Limit  int64        // for 413 over the byte limit: the limit in bytes
	// Detail is what the client is told for a 413 over a decoder limit, a
	// 415 and a 503.
	Detail string
}

func (e *BindError) Error() string {
	if e.Detail != "" {
		return e.Detail
	}
	switch e.Status {
	case http.StatusRequestEntityTooLarge:
		return fmt.Sprintf("request body larger than %d bytes", e.Limit)
	case http.StatusRequestTimeout:
		return "request body too slow"
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = fmt.Sprintf("%s %s: %s", f.In, f.Name, f.Detail)
	}
	return "bad request: " + strings.Join(parts, "; ")
}

// StatusCode returns e.Status.
func (e *BindError) StatusCode() int { return e.Status }

// quote shows a client's value in a problem detail: valid UTF-8, at most 64
// bytes.
func quote(raw string) string { return strconv.Quote(clip(raw)) }

// The binders below parse one raw value into dst and return "" or what is
// wrong with the value, for Problems.Add. Generated code calls them as
//
//	p.Add(view.Query, "limit", view.Uint(query.Get("limit"), &req.Limit))
//
// An empty raw value leaves dst alone and is no problem: absent and empty
// are the same.

// String binds raw to dst.
func String[T ~string](raw string, dst *T) string {
	if raw != "" {
		*dst = T(raw)
	}
	return ""
}

// Int parses raw as a base-10 integer that fits T.
func Int[T ~int | ~int8 | ~int16 | ~int32 | ~int64](raw string, dst *T) string {
	if raw == "" {
		return ""
	}
	var zero T
	n, err := strconv.ParseInt(raw, 10, int(unsafe.Sizeof(zero))*8)
	if err != nil {
		return numberProblem(err, "an integer", raw)
	}
	*dst = T(n)
	return ""
}

// Uint parses raw as a base-10 unsigned integer that fits T.
func Uint[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr](raw string, dst *T) string {
	if raw == "" {
		return ""
	}
	var zero T
	n, err := strconv.ParseUint(raw, 10, int(unsafe.Sizeof(zero))*8)
	if err != nil {
		return numberProblem(err, "a non-negative integer", raw)
	}
	*dst = T(n)
	return ""
}

// Float parses raw as a decimal number that fits T: digits, a point and
// an exponent, not Go's NaN, Inf, hexadecimal or underscores, which JSON
// could not carry back.
func Float[T ~float32 | ~float64](raw string, dst *T) string {
	if raw == "" {
		return ""
	}
	if strings.TrimLeft(raw, "0123456789.eE+-") != "" {
		return fmt.Sprintf("want a number, got %s", quote(raw))
	}
	var zero T
	f, err := strconv.ParseFloat(raw, int(unsafe.Sizeof(zero))*8)
	if err != nil {
		return numberProblem(err, "a number", raw)
	}
	*dst = T(f)
	return ""
}

func numberProblem(err error, want, raw string) string {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Sprintf("%s is out of range", quote(raw))
	}
	return fmt.Sprintf("want %s, got %s", want, quote(raw))
}

// Bool parses raw as true or false (also 1, 0, t, f, as strconv.ParseBool).
func Bool[T ~bool](raw string, dst *T) string {
	if raw == "" {
		return ""
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return fmt.Sprintf("want true or false, got %s", quote(raw))
	}
	*dst = T(b)
	return ""
}

// Time parses raw as an RFC 3339 time.
func Time(raw string, dst *time.Time) string {
	if raw == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return fmt.Sprintf("want an RFC 3339 time such as 2006-01-02T15:04:05Z, got %s", quote(raw))
	}
	*dst = t
	return ""
}

// Duration parses raw as a Go duration such as 1m30s.
func Duration(raw string, dst *time.Duration) string {
	if raw == "" {
		return ""
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		return fmt.Sprintf("want a duration such as 1m30s, got %s", quote(raw))
	}
	*dst = d
	return ""
}

// Text binds raw through T's UnmarshalText. The problem names T's type
// (without its package) but not UnmarshalText's error, which the client
// did not opt in to see.
func Text[T any, PT interface {
	*T
	encoding.TextUnmarshaler
}](raw string, dst *T) string {
	if raw == "" {
		return ""
	}
	var v T
	if err := PT(&v).UnmarshalText([]byte(raw)); err != nil {
		name := fmt.Sprintf("%T", v)
		return fmt.Sprintf("%s is not a valid %s", quote(raw), name[strings.LastIndexByte(name, '.')+1:])
	}
	*dst = v
	return ""
}

// Slice binds each of raws with bind, for repeated query keys and headers,
// and returns the first problem, naming the value's position. No values
// leave dst alone. A []string takes raws as they are, without calling bind:
// they are the request's own.
func Slice[T any](raws []string, dst *[]T, bind func(raw string, dst *T) string) string {
	if len(raws) == 0 {
		return ""
	}
	if d, ok := any(dst).(*[]string); ok {
		// The values are this request's own (its parsed query or header):
		// no need to copy them.
		*d = raws
		return ""
	}
	out := make([]T, len(raws))
	for i, raw := range raws {
		if problem := bind(raw, &out[i]); problem != "" {
			return fmt.Sprintf("value %d: %s", i+1, problem)
		}
	}
	*dst = out
	return ""
}

// Optional binds raw into a new value that *dst then points to, for a
// pointer field: it stays nil when the value is absent (or empty), which
// tells "not given" apart from the zero value.
func Optional[T any](raw string, dst **T, bind func(raw string, dst *T) string) string {
	if raw == "" {
		return ""
	}
	v := new(T)
	if problem := bind(raw, v); problem != "" {
		return problem
	}
	*dst = v
	return ""
}

// ParseQuery parses the request's query as url.ParseQuery does, keeping
// every parameter that parses, and records a problem for each one that
// does not: a malformed %-escape in its value (named by its key), in its
// key (named by the raw pair, clipped), or a ";" used as a separator, which
// Go's parser refuses (named by the key before its "="). A query with more
// parameters than url.ParseQuery takes (10,000 unless GODEBUG
// urlmaxqueryparams says otherwise) is one problem, and none of it is
// bound. r.URL.Query() would drop the bad pairs without a word, so that
// ?limit=%zz bound nothing and the view went on as if limit were absent.
//
// Generated code calls it once per request, for views that bind a query
// value; a view with no query field does not look at the query at all.
func ParseQuery(p *Problems, r *http.Request) url.Values {
	raw := r.URL.RawQuery
	v, err := url.ParseQuery(raw)
	if err == nil {
		return v
	}
	bad := false
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		if name, detail := queryPairProblem(pair); detail != "" {
			p.Add(Query, name, detail)
			bad = true
		}
	}
	if !bad {
		// Every pair parses: the parser refused the query for its length.
		p.Add(Query, "", "the query has too many parameters")
	}
	return v
}

// queryPairProblem says what url.ParseQuery finds wrong with one
// key=value pair of a query, and the parameter's name.
func queryPairProblem(pair string) (name, detail string) {
	key, value, _ := strings.Cut(pair, "=")
	k, keyErr := url.QueryUnescape(key)
	switch {
	case strings.Contains(pair, ";"):
		if keyErr != nil || strings.Contains(key, ";") {
			return clip(pair), "a ; separates parameters: use & (and %3B for a ; in a value)"
		}
		return clip(k), "a ; separates parameters: use & (and %3B for a ; in a value)"
	case keyErr != nil:
		return clip(pair), "malformed %-escape in the parameter name"
	}
	if _, err := url.QueryUnescape(value); err != nil {
		return clip(k), fmt.Sprintf("malformed %%-escape in %s", quote(value))
	}
	return "", ""
}

// HeaderList returns the elements of a list-valued header: every line of
// it, each split at its commas, as RFC 9110 (section 5.3) says a
// recipient may combine them, trimmed of spaces and tabs, empty elements
// left out. A header field of a slice type binds them, so that a client
// may send X-Tags: a, b as well as two X-Tags lines (OpenAPI describes an
// array header as the first).
func HeaderList(r *http.Request, name string) []string {
	lines := r.Header.Values(name)
	n := 0
	for _, line := range lines {
		if strings.IndexByte(line, ',') >= 0 {
			n = -1
			break
		}
		if strings.Trim(line, " \t") == line && line != "" {
			n++
		}
	}
	if n == len(lines) {
		return lines // one element per line, nothing to trim: the request's own
	}
	var out []string
	for _, line := range lines {
		for elem := range strings.SplitSeq(line, ",") {
			if elem = strings.Trim(elem, " \t"); elem != "" {
				out = append(out, elem)
			}
		}
	}
	return out
}

// CookieValue returns the value of the named cookie, or "".
func CookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// JSON decodes the request body into dst. The body must be one JSON value
// with nothing after it; unknown object fields are problems unless
// allowUnknown (the tag body:"json,allowunknown"). An empty body is a
// problem unless optional (a pointer Body field). A body over the view's
// limit makes the request a 413.
//
// JSON reports whether it recorded no problem: dst holds the body, or an
// optional body is absent. Generated code checks the body's validate rules
// only then.
//
// A body must come with a Content-Type of application/json or
// application/<anything>+json (parameters such as charset are ignored, as
// RFC 8259 defines none): anything else, or none, is a 415 and the body is
// not read. A cross-site HTML form can post text/plain, form-urlencoded or
// multipart bodies, and fetch in no-cors mode can post a Blob with no
// Content-Type at all, none of them with a CORS preflight: only the JSON
// types, which need one, reach the decoder. So curl needs --json (or
// -H 'Content-Type: application/json'): its -d alone sends
// form-urlencoded. A request without a body (Content-Length 0) needs no
// type: an optional body is then simply absent. A chunked body, whose
// length is unknown until read, must be typed even if it turns out empty.
//
// The decoder's limits (WithJSONLimits, DefaultMaxDepth and
// DefaultMaxValues) make a body nested too deep a 400 and one of too many
// values a 413, refused before anything is decoded. In a view served with
// a BodyBudget in its context (server.Run gives one), JSON first reserves
// the body's bytes, waiting for room; none in time is a 503 with
// Retry-After.
func JSON[T any](p *Problems, r *http.Request, dst *T, allowUnknown, optional bool) (ok bool) {
	if r.Body == nil || r.Body == http.NoBody {
		if !optional {
			p.Add(Body, "", "missing JSON body")
		}
		return optional
	}
	if r.ContentLength != 0 {
		if ct := r.Header.Get("Content-Type"); !isJSONType(ct) {
			p.refusal = &BindError{Status: http.StatusUnsupportedMediaType, Detail: unsupportedType(ct)}
			return false
		}
	}
	var body *limitedJSON
	if rb, ok := r.Body.(*requestBody); ok {
		// Take room in the server's body budget now, so that a refusal is
		// a 503 rather than a read error.
		if err := rb.reserve(); err != nil {
			p.refusal = err.(*BindError)
			return false
		}
		body = rb.jsonReader()
	} else {
		body = newLimitedJSON(r.Body, jsonLimits{depth: DefaultMaxDepth, values: DefaultMaxValues})
	}
	dec := json.NewDecoder(body)
	if !allowUnknown {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(dst)
	if err == nil {
		// One value only: anything but white space after it is an error.
		var extra json.RawMessage
		if err2 := dec.Decode(&extra); err2 != io.EOF {
			err = errTrailing
			var le *limitError
			if tooLarge(err2) || errors.As(err2, &le) {
				err = err2
			}
		}
	}
	if err == nil {
		return true
	}
	var mbe *http.MaxBytesError
	var le *limitError
	var be *BindError
	switch {
	case errors.As(err, &mbe):
		p.tooLarge = mbe.Limit
	case errors.As(err, &le):
		if le.status == http.StatusBadRequest {
			p.Add(Body, "", le.detail)
		} else {
			p.refusal = &BindError{Status: le.status, Detail: le.detail}
		}
	case errors.As(err, &be):
		p.refusal = be // no room in the budget
	case isTimeout(err):
		p.timedOut = true
	case err == io.EOF:
		if !optional {
			p.Add(Body, "", "missing JSON body")
		}
		return optional
	default:
		field, detail := jsonProblem(err)
		p.Add(Body, field, detail)
	}
	return false
}

var errTrailing = errors.New("trailing data")

// isJSONType reports whether a Content-Type value is application/json or
// application/<subtype>+json, in any case, with any parameters.
func isJSONType(ct string) bool {
	if ct == "application/json" {
		return true // the common case, without the parsing below
	}
	mediaType, _, _ := strings.Cut(ct, ";")
	typ, sub, ok := strings.Cut(strings.Trim(mediaType, " \t"), "/")
	if !ok || !strings.EqualFold(typ, "application") || strings.ContainsAny(sub, " \t/,") {
		return false
	}
	if strings.EqualFold(sub, "json") {
		return true
	}
	const suffix = "+json"
	return len(sub) > len(suffix) && strings.EqualFold(sub[len(sub)-len(suffix):], suffix)
}

// unsupportedType is the detail of a 415.
func unsupportedType(ct string) string {
	const want = "the request body must be JSON, sent with Content-Type application/json (or application/*+json)"
	if ct == "" {
		return want + "; the request has no Content-Type"
	}
	return fmt.Sprintf("%s, not %s", want, quote(ct))
}

// isTimeout reports a read that the server's deadline cut off: the client
// sent its body too slowly, which is not a problem with its JSON.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// jsonProblem describes a decoding error in terms of the client's input,
// without encoding/json's wording about Go types.
func jsonProblem(err error) (field, detail string) {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == errTrailing:
		return "", "unexpected data after the JSON value"
	case errors.As(err, &syntax):
		return "", fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "", "malformed JSON: unexpected end of the body"
	case errors.As(err, &typ):
		// typ.Value is "number 1e999", "string", …: name only the kind, so
		// that a huge literal is not echoed back.
		got, literal, _ := strings.Cut(typ.Value, " ")
		want := jsonKind(typ.Type.Kind().String())
		// A number where a number goes failed only by its size (an
		// integer literal for an integer, any for a float).
		if got == "number" && (want == "a number" || want == "an integer" && !strings.ContainsAny(literal, ".eE")) {
			return clip(typ.Field), "the number is out of range"
		}
		return clip(typ.Field), fmt.Sprintf("want %s, got %s", want, jsonValueKind(got))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return clip(name), "unknown field"
	}
	return "", "invalid JSON body"
}

// jsonValueKind names the kind of a JSON value as encoding/json reports it.
func jsonValueKind(v string) string {
	switch v {
	case "number":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "array":
		return "an array"
	case "object":
		return "an object"
	}
	return "another kind of value"
}

// clip bounds a client-chosen name echoed in a problem.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice", kind == "array":
		return "an array"
	case kind == "map", kind == "struct":
		return "an object"
	}
	return "another type"
}
