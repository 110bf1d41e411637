package httpclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/httpclient"
	"github.com/gofutures/futures/runtime/view"
)

// The formatters are the inverses of runtime/view's binders: what one
// writes, the other reads back as the same value.

func formatBind[T any](t *testing.T, v T, format func(T) (string, error), bind func(string, *T) string) (T, error) {
	t.Helper()
	var got T
	s, err := format(v)
	if err != nil {
		return got, err
	}
	if problem := bind(s, &got); problem != "" {
		t.Fatalf("%#v formatted as %q, which the binder refuses: %s", v, s, problem)
	}
	return got, nil
}

func TestFormattersInvertBinders(t *testing.T) {
	for _, v := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64} {
		if got, _ := formatBind(t, v, httpclient.FormatInt[int64], view.Int[int64]); got != v {
			t.Errorf("int64 %d came back %d", v, got)
		}
	}
	for _, v := range []uint8{0, 1, 255} {
		if got, _ := formatBind(t, v, httpclient.FormatUint[uint8], view.Uint[uint8]); got != v {
			t.Errorf("uint8 %d came back %d", v, got)
		}
	}
	for _, v := range []float64{0, math.Copysign(0, -1), 1.5, -1e300, math.SmallestNonzeroFloat64, math.MaxFloat64, 0.1} {
		if got, _ := formatBind(t, v, httpclient.FormatFloat[float64], view.Float[float64]); got != v || math.Signbit(got) != math.Signbit(v) {
			t.Errorf("float64 %v came back %v", v, got)
		}
	}
	type f32 float32
	for _, v := range []f32{0.1, 16777217, math.MaxFloat32, math.SmallestNonzeroFloat32} {
		if got, _ := formatBind(t, v, httpclient.FormatFloat[f32], view.Float[f32]); got != v {
			t.Errorf("float32 %v came back %v", v, got)
		}
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := httpclient.FormatFloat(v); err == nil {
			t.Errorf("%v formatted; want an error (view.Float refuses it)", v)
		}
	}
	for _, v := range []bool{true, false} {
		if got, _ := formatBind(t, v, httpclient.FormatBool[bool], view.Bool[bool]); got != v {
			t.Errorf("bool %v came back %v", v, got)
		}
	}
	for _, v := range []time.Duration{0, time.Nanosecond, -90 * time.Minute, math.MaxInt64, math.MinInt64} {
		if got, _ := formatBind(t, v, httpclient.FormatDuration, view.Duration); got != v {
			t.Errorf("duration %v came back %v", v, got)
		}
	}
	for _, v := range []time.Time{
		time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("", 5*3600+30*60)),
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", 17*60+17)), // an offset with seconds
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("", 25*3600)),     // an offset of more than a day
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	} {
		if got, _ := formatBind(t, v, httpclient.FormatTime, view.Time); !got.Equal(v) {
			t.Errorf("time %v came back %v", v, got)
		}
	}
	for _, v := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if _, err := httpclient.FormatTime(v); err == nil {
			t.Errorf("%v formatted; want an error (RFC 3339 cannot write it)", v)
		}
	}
	for _, v := range []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("fe80::1%eth0")} {
		if got, _ := formatBind(t, v, httpclient.FormatText[netip.Addr], view.Text[netip.Addr]); got != v {
			t.Errorf("addr %v came back %v", v, got)
		}
	}
}

// FuzzFormatFloat: every finite float64 and float32 comes back exactly.
func FuzzFormatFloat(f *testing.F) {
	f.Add(uint64(0))
	f.Add(math.Float64bits(0.1))
	f.Add(math.Float64bits(-1e-310))
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		if got, _ := formatBind(t, v, httpclient.FormatFloat[float64], view.Float[float64]); got != v {
			t.Fatalf("float64 %v came back %v", v, got)
		}
		v32 := math.Float32frombits(uint32(bits))
		if math.IsNaN(float64(v32)) || math.IsInf(float64(v32), 0) {
			return
		}
		if got, _ := formatBind(t, v32, httpclient.FormatFloat[float32], view.Float[float32]); got != v32 {
			t.Fatalf("float32 %v came back %v", v32, got)
		}
	})
}

// FuzzFormatTime: every time of the years 0 to 9999, in any offset, comes
// back as the same instant.
func FuzzFormatTime(f *testing.F) {
	f.Add(int64(0), int64(0), 0)
	f.Add(int64(1e9), int64(123456789), 3600+17)
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		v := time.Unix(sec, nsec).In(time.FixedZone("", offset%(48*3600)))
		got, err := formatBind(t, v, httpclient.FormatTime, view.Time)
		if y := v.UTC().Year(); y < 0 || y > 9999 {
			if err == nil {
				t.Fatalf("%v formatted; want an error", v)
			}
			return
		}
		if err != nil && v.Year() >= 0 && v.Year() <= 9999 {
			t.Fatalf("%v: %v", v, err)
		}
		if err == nil && !got.Equal(v) {
			t.Fatalf("time %v came back %v", v, got)
		}
	})
}

// echoed is what the binding server saw: each value as runtime/view's
// binding reads it.
type echoed struct {
	Seg, Rest string
	Q         []string
	H         string
	HL        []string
	C         string
}

// bindingServer serves GET /p/{seg}/{rest...} and answers what it bound,
// as generated handlers bind: r.PathValue, view.ParseQuery,
// Header.Get, view.HeaderList and view.CookieValue. It counts requests.
func bindingServer(t *testing.T, hits *atomic.Int64) *httpclient.Client {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /p/{seg}/{rest...}", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		var p view.Problems
		q := view.ParseQuery(&p, r)
		if err := p.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echoed{
			Seg: r.PathValue("seg"), Rest: r.PathValue("rest"), Q: q["q"],
			H: r.Header.Get("X-H"), HL: view.HeaderList(r, "X-L"), C: view.CookieValue(r, "c"),
		})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "no route for "+r.URL.EscapedPath(), http.StatusTeapot)
	})
	srv := newServer(t, mux.ServeHTTP)
	return newClient(t, httpclient.WithBaseURL(srv.URL), httpclient.WithRedirects(0))
}

// sendEcho sends one request of the binding server's view.
func sendEcho(t *testing.T, c *httpclient.Client, in echoed) (echoed, error) {
	t.Helper()
	r := httpclient.NewRequest("GET", "/p/{seg}/{rest...}")
	httpclient.PathParam(r, "seg", in.Seg, httpclient.FormatString[string])
	httpclient.PathParam(r, "rest", in.Rest, httpclient.FormatString[string])
	httpclient.ListParam(r, httpclient.InQuery, "q", in.Q, httpclient.FormatString[string])
	httpclient.Param(r, httpclient.InHeader, "X-H", in.H, httpclient.FormatString[string])
	httpclient.ListParam(r, httpclient.InHeader, "X-L", in.HL, httpclient.FormatString[string])
	httpclient.Param(r, httpclient.InCookie, "c", in.C, httpclient.FormatString[string])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return httpclient.Send[echoed](ctx, c, r).Await(ctx)
}

// sendable says, by the rules of HTTP and of ServeMux, not by the
// client's code, whether the values of in can make the trip unchanged.
func sendable(in echoed) bool {
	segOK := func(s string) bool {
		return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "%\\")
	}
	if !segOK(in.Seg) || in.Seg == "/" {
		return false
	}
	parts := strings.Split(in.Rest, "/")
	for i, s := range parts {
		if !(i == len(parts)-1 && s == "") && !segOK(s) {
			return false
		}
	}
	headerOK := func(s string) bool {
		for _, r := range s {
			if r < ' ' && r != '\t' || r == 0x7f {
				return false
			}
		}
		return strings.Trim(s, " \t") == s
	}
	if !headerOK(in.H) {
		return false
	}
	for _, s := range in.HL {
		if s == "" || strings.Contains(s, ",") || !headerOK(s) {
			return false
		}
	}
	for _, b := range []byte(in.C) {
		if b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}

// checkEcho holds one request to the property: it arrives as sent, or
// fails before it is sent (with a *ParamError, or ErrOutsideBase for a
// path the base URL's confinement refuses); and a request whose values
// HTTP can carry always arrives.
func checkEcho(t *testing.T, c *httpclient.Client, hits *atomic.Int64, in echoed) {
	t.Helper()
	before := hits.Load()
	got, err := sendEcho(t, c, in)
	if err != nil {
		var pe *httpclient.ParamError
		if !errors.As(err, &pe) && !errors.Is(err, httpclient.ErrOutsideBase) {
			t.Fatalf("%#v: %v; want the values back, or a *ParamError", in, err)
		}
		if hits.Load() != before {
			t.Fatalf("%#v: %v, but the request was sent", in, err)
		}
		if sendable(in) {
			t.Fatalf("%#v: %v; want the values back: HTTP can carry them", in, err)
		}
		return
	}
	norm := func(e echoed) echoed {
		if len(e.Q) == 0 {
			e.Q = nil
		}
		if len(e.HL) == 0 {
			e.HL = nil
		}
		return e
	}
	if !reflect.DeepEqual(norm(got), norm(in)) {
		t.Fatalf("sent %#v\nthe view bound %#v", in, got)
	}
}

func TestSendRoundTrip(t *testing.T) {
	var hits atomic.Int64
	c := bindingServer(t, &hits)
	for _, in := range []echoed{
		{Seg: "a", Rest: ""},
		{Seg: "a/b c", Rest: "x/y z/", Q: []string{"", "a&b=c;d", "日本"}, H: "v, w", HL: []string{"a b", "c"}, C: "a b,c"},
		{Seg: "?#", Rest: "%", Q: []string{"%zz"}, H: "é", C: "x=y"},
		{Seg: "+", Rest: "a/b/c"},
	} {
		checkEcho(t, c, &hits, in)
	}
	// Values that cannot make the trip fail before they are sent.
	for _, in := range []echoed{
		{Seg: ""}, {Seg: "."}, {Seg: ".."}, {Seg: "/"}, {Seg: "a", Rest: "a//b"}, {Seg: "a", Rest: "/a"}, {Seg: "a", Rest: "a/../b"},
		{Seg: "a", H: " x"}, {Seg: "a", H: "x\ny"}, {Seg: "a", HL: []string{"a,b"}}, {Seg: "a", HL: []string{""}},
		{Seg: "a", C: "a;b"}, {Seg: "a", C: `"`}, {Seg: "a", C: "é"},
	} {
		before := hits.Load()
		_, err := sendEcho(t, c, in)
		var pe *httpclient.ParamError
		if !errors.As(err, &pe) || hits.Load() != before {
			t.Errorf("%#v: %v (%d requests); want a *ParamError and nothing sent", in, err, hits.Load()-before)
		}
	}
}

// FuzzSendRoundTrip holds random values to the property of checkEcho.
func FuzzSendRoundTrip(f *testing.F) {
	f.Add("a", "b/c", "q", "h", "l", "c")
	f.Add("a b", "x/", "&=", "é", "a b", "a,b")
	f.Add("..", "a//b", "%2e", " h", "", ";")
	f.Fuzz(func(t *testing.T, seg, rest, q, h, l, cookie string) {
		for _, s := range []string{seg, rest, q, h, l, cookie} {
			if !validUTF8(s) {
				return // the echo's JSON would replace the bytes, whatever the client did
			}
		}
		if seg == "" {
			seg = "s" // an empty one fails at once; the seeds cover it
		}
		var hits atomic.Int64
		c := bindingServer(t, &hits)
		in := echoed{Seg: seg, Rest: rest, H: h, C: cookie}
		if q != "" {
			in.Q = strings.Split(q, "|")
		}
		if l != "" {
			in.HL = strings.Split(l, "|")
		}
		checkEcho(t, c, &hits, in)
	})
}

func validUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// A view's problem reaches the client as a *Problem: view.Error's status
// and message, a 400's bad values, a 5xx's request ID.
func TestSendProblem(t *testing.T) {
	mux := http.NewServeMux()
	cfg := view.NewConfig()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(view.Handle(mux, cfg, &view.Spec{Name: "item", Pattern: "GET /items/{id}"}, func(ctx context.Context, r *http.Request) (string, error) {
		var p view.Problems
		var id int
		p.Add(view.Path, "id", view.Int(r.PathValue("id"), &id))
		if err := p.Err(); err != nil {
			return "", err
		}
		switch id {
		case 404:
			return "", view.Error(http.StatusNotFound, "no such item")
		case 500:
			return "", errors.New("secret")
		}
		return fmt.Sprint("item ", id), nil
	}))
	var hits atomic.Int64
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1); mux.ServeHTTP(w, r) })
	c := newClient(t, httpclient.WithBaseURL(srv.URL))
	send := func(id string) (string, error) {
		r := httpclient.NewRequest("GET", "/items/{id}")
		httpclient.PathParam(r, "id", id, httpclient.FormatString[string])
		return httpclient.Send[string](t.Context(), c, r).Await(t.Context())
	}

	if got, err := send("7"); err != nil || got != "item 7" {
		t.Fatalf("item 7: %q, %v", got, err)
	}

	_, err := send("404")
	var p *httpclient.Problem
	if !errors.As(err, &p) || p.Status != 404 || p.Detail != "no such item" || p.Title != "Not Found" {
		t.Fatalf("404: %v (%#v); want a *Problem with status 404 and the view's message", err, p)
	}
	var se *httpclient.StatusError
	if !errors.As(err, &se) || se.StatusCode != 404 || httpclient.StatusOf(err) != 404 {
		t.Errorf("404: the *StatusError behind it: %v; StatusOf %d", se, httpclient.StatusOf(err))
	}
	if !strings.Contains(err.Error(), "404 Not Found: no such item") {
		t.Errorf("404: message %q", err)
	}

	_, err = send("x")
	if !errors.As(err, &p) || p.Status != 400 || !reflect.DeepEqual(p.Errors, []httpclient.FieldError{{In: "path", Name: "id", Detail: `want an integer, got "x"`}}) {
		t.Fatalf("400: %v (%#v)", err, p)
	}

	before := hits.Load()
	_, err = send("500")
	if !errors.As(err, &p) || p.Status != 500 || p.RequestID == "" || p.Header.Get("X-Request-ID") != p.RequestID || strings.Contains(err.Error(), "secret") {
		t.Fatalf("500: %v (%#v)", err, p)
	}
	if n := hits.Load() - before; n != 1 {
		t.Errorf("500: %d attempts; a 500 is not retried", n)
	}
	if httpclient.StatusOf(nil) != 0 || httpclient.StatusOf(errors.New("x")) != 0 {
		t.Error("StatusOf of no response error is not 0")
	}
}

// Send decodes JSON only: an error status that is not a problem is a
// *StatusError, a success that is not JSON an error, and a success
// without a body the zero value.
func TestSendResults(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept %q; want application/json", got)
		}
		switch r.URL.Path {
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<p>hi</p>"))
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
			w.Write([]byte("short and stout"))
		case "/suffix":
			w.Header().Set("Content-Type", "application/vnd.x+json; charset=utf-8")
			w.Write([]byte(`{"a":1}`))
		case "/bad":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"a":`))
		}
	})
	c := newClient(t, httpclient.WithBaseURL(srv.URL))
	get := func(path string) (map[string]int, error) {
		return httpclient.Send[map[string]int](t.Context(), c, httpclient.NewRequest("GET", path)).Await(t.Context())
	}
	if _, err := get("/html"); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("html: %v; want an error saying it is not JSON", err)
	}
	if v, err := get("/empty"); err != nil || v != nil {
		t.Errorf("204: %v, %v; want the zero value", v, err)
	}
	_, err := get("/teapot")
	var se *httpclient.StatusError
	var p *httpclient.Problem
	if !errors.As(err, &se) || se.StatusCode != 418 || errors.As(err, &p) {
		t.Errorf("418 text: %v; want a *StatusError and no *Problem", err)
	}
	if v, err := get("/suffix"); err != nil || v["a"] != 1 {
		t.Errorf("+json: %v, %v", v, err)
	}
	if _, err := get("/bad"); err == nil {
		t.Error("malformed JSON decoded")
	}
}

// The request's headers and cookies replace the client's, a zero value
// leaves the client's in place, a call's option replaces both; the body
// is JSON.
func TestSendHeadersAndBody(t *testing.T) {
	var got http.Header
	var body string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		b := make([]byte, 100)
		n, _ := r.Body.Read(b)
		body = string(b[:n])
		w.WriteHeader(http.StatusNoContent)
	})
	c := newClient(t, httpclient.WithBaseURL(srv.URL), httpclient.WithHeader("X-A", "client"), httpclient.WithHeader("X-B", "client"),
		httpclient.WithHeader("Cookie", "s=client"))
	send := func(a, b string, cookie string, opts ...httpclient.CallOption) {
		r := httpclient.NewRequest("POST", "/x")
		httpclient.Param(r, httpclient.InHeader, "X-A", a, httpclient.FormatString[string])
		httpclient.Param(r, httpclient.InHeader, "X-B", b, httpclient.FormatString[string])
		httpclient.Param(r, httpclient.InCookie, "s", cookie, httpclient.FormatString[string])
		r.JSON(map[string]int{"n": 1})
		if _, err := httpclient.Send[struct{}](t.Context(), c, r, opts...).Await(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	send("mine", "", "")
	if got.Get("X-A") != "mine" || got.Get("X-B") != "client" || got.Get("Cookie") != "s=client" {
		t.Errorf("headers %v; want X-A mine, X-B and Cookie the client's", got)
	}
	if got.Get("Content-Type") != "application/json" || body != `{"n":1}` {
		t.Errorf("body %q with Content-Type %q", body, got.Get("Content-Type"))
	}
	send("mine", "", "a b", httpclient.Header("X-A", "call"))
	if got.Get("X-A") != "call" || got.Get("Cookie") != `s="a b"` {
		t.Errorf("headers %v; want X-A from the call and the request's cookie", got)
	}
}

// A value that cannot be sent, or a request not built, fails at once.
func TestSendFailsBeforeSending(t *testing.T) {
	c := newClient(t, httpclient.WithBaseURL("http://127.0.0.1:1"))
	cases := map[string]func(*httpclient.Request){
		"NaN": func(r *httpclient.Request) {
			httpclient.Param(r, httpclient.InQuery, "f", math.NaN(), httpclient.FormatFloat[float64])
		},
		"year": func(r *httpclient.Request) {
			httpclient.Param(r, httpclient.InQuery, "t", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), httpclient.FormatTime)
		},
		"list element": func(r *httpclient.Request) {
			httpclient.ListParam(r, httpclient.InQuery, "f", []float64{1, math.Inf(1)}, httpclient.FormatFloat[float64])
		},
		"json": func(r *httpclient.Request) { r.JSON(func() {}) },
		"pointer to an empty value": func(r *httpclient.Request) {
			empty := ""
			httpclient.OptionalParam(r, httpclient.InQuery, "s", &empty, httpclient.FormatString[string])
		},
		"missing path value": func(r *httpclient.Request) {},
		"text": func(r *httpclient.Request) {
			httpclient.Param(r, httpclient.InQuery, "u", &url.URL{Host: "\x00"}, func(u *url.URL) (string, error) { return "", errors.New("no") })
		},
	}
	if _, err := httpclient.Send[struct{}](t.Context(), nil, httpclient.NewRequest("GET", "/")).Await(t.Context()); err == nil {
		t.Error("Send with a nil client did not fail")
	}
	for name, build := range cases {
		r := httpclient.NewRequest("GET", "/x/{id}")
		if name != "missing path value" {
			httpclient.PathParam(r, "id", "1", httpclient.FormatString[string])
		}
		build(r)
		_, err := httpclient.Send[struct{}](t.Context(), c, r).Await(t.Context())
		var pe *httpclient.ParamError
		if !errors.As(err, &pe) {
			t.Errorf("%s: %v; want a *ParamError", name, err)
		}
	}
}
