package view_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gofutures/futures/runtime/view"
)

// anyView registers a view that decodes its body into an `any`, the most
// expensive field there is, and answers how many top-level elements it got.
func anyView(t *testing.T, spec view.Spec, opts ...view.Option) http.Handler {
	t.Helper()
	mux, _ := handle(t, spec, func(ctx context.Context, r *http.Request) (result int, err error) {
		var req struct{ Body any }
		var p view.Problems
		view.JSON(&p, r, &req.Body, false, false)
		if err = p.Err(); err != nil {
			return
		}
		if a, ok := req.Body.([]any); ok {
			return len(a), nil
		}
		return 1, nil
	}, opts...)
	return mux
}

func postJSON(body string) *http.Request {
	r := httptest.NewRequest("POST", "/any", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func nested(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

// array returns a JSON array of n copies of elem.
func array(n int, elem string) string {
	return "[" + strings.TrimSuffix(strings.Repeat(elem+",", n), ",") + "]"
}

// TestJSONLimits: a body nested deeper than the limit is a 400, one with
// more values than the limit a 413; both at the limit exactly pass. Values
// count every array element and object member, nested ones too, and the
// top-level value; brackets and commas inside strings count for nothing.
func TestJSONLimits(t *testing.T) {
	spec := view.Spec{Name: "test.Any", Pattern: "POST /any", ReadsBody: true, MaxBody: 4 << 20}
	tooDeep := fmt.Sprintf("the JSON nests deeper than %d levels", view.DefaultMaxDepth)
	tooMany := fmt.Sprintf("the JSON body has more than %d values", view.DefaultMaxValues)
	n := view.DefaultMaxValues
	for _, tt := range []struct {
		name, body string
		status     int
		detail     string
	}{
		{"depth at the limit", nested(view.DefaultMaxDepth), 200, ""},
		{"depth over the limit", nested(view.DefaultMaxDepth + 1), 400, tooDeep},
		{"depth over the limit in objects", strings.Repeat(`{"a":`, view.DefaultMaxDepth+1) + "1" + strings.Repeat("}", view.DefaultMaxDepth+1), 400, tooDeep},
		{"100k nested arrays, unclosed", strings.Repeat("[", 100000), 400, tooDeep},
		{"values at the limit", array(n-1, "1"), 200, ""},
		{"values over the limit", array(n, "1"), 413, tooMany},
		{"empty arrays at the limit", array(n-1, "[]"), 200, ""},
		{"empty arrays over the limit", array(n, "[]"), 413, tooMany},
		{"objects of one member at the limit", array((n-1)/2, `{"k":"v"}`), 200, ""},
		{"objects of one member over the limit", array((n-1)/2+1, `{"k":"v"}`), 413, tooMany},
		{"strings at the limit", array(n-1, `"s"`), 200, ""},
		{"strings over the limit", array(n, `"s"`), 413, tooMany},
		{"brackets in strings", array(n-1, `"[,{:\"[]\\"`), 200, ""},
		{"keys count for nothing", `{` + strings.TrimSuffix(strings.Repeat(`"k":1,`, n-1), ",") + `}`, 200, ""},
		{"a deep string", `"` + strings.Repeat("[", 100000) + `"`, 200, ""},
		{"over the limit after the value", `[1] ` + nested(view.DefaultMaxDepth+1), 400, tooDeep},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, oneByte := range []bool{false, true} {
				r := postJSON(tt.body)
				if oneByte {
					// Every byte in a read of its own: the count must not
					// depend on where reads end (an escape split from the
					// byte it escapes, say).
					r.Body = io.NopCloser(iotest.OneByteReader(strings.NewReader(tt.body)))
				}
				w := serve(anyView(t, spec), r)
				switch tt.status {
				case 200:
					if w.Code != 200 {
						t.Fatalf("one byte at a time %v: status %d, body %.300s", oneByte, w.Code, w.Body)
					}
				case 400:
					p := checkProblem(t, w, 400)
					if !hasField(p.Errors, view.Body, "", tt.detail) {
						t.Errorf("one byte at a time %v: errors %+v, want %q", oneByte, p.Errors, tt.detail)
					}
				default:
					p := checkProblem(t, w, tt.status)
					if p.Detail != tt.detail {
						t.Errorf("one byte at a time %v: detail %q, want %q", oneByte, p.Detail, tt.detail)
					}
				}
			}
		})
	}

	t.Run("WithJSONLimits and Spec", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			spec   view.Spec
			opts   []view.Option
			body   string
			status int
		}{
			{"registration depth", spec, []view.Option{view.WithJSONLimits(3, 0)}, nested(4), 400},
			{"registration depth fits", spec, []view.Option{view.WithJSONLimits(4, 0)}, nested(4), 200},
			{"registration values", spec, []view.Option{view.WithJSONLimits(0, 3)}, "[1,2,3]", 413},
			{"registration values fit", spec, []view.Option{view.WithJSONLimits(0, 4)}, "[1,2,3]", 200},
			{"no depth limit", spec, []view.Option{view.WithJSONLimits(-1, 0)}, nested(5000), 200},
			{"no values limit", spec, []view.Option{view.WithJSONLimits(0, -1)}, array(n+1, "0"), 200},
			{"the view's own wins", withLimits(spec, 2, 100), []view.Option{view.WithJSONLimits(50, 2)}, nested(3), 400},
			{"the view's own wins over a stricter registration", withLimits(spec, 0, 100), []view.Option{view.WithJSONLimits(0, 2)}, "[1,2,3]", 200},
			{"the view's own none", withLimits(spec, -1, -1), nil, nested(5000), 200},
		} {
			w := serve(anyView(t, tt.spec, tt.opts...), postJSON(tt.body))
			if w.Code != tt.status {
				t.Errorf("%s: status %d, want %d; body %.200s", tt.name, w.Code, tt.status, w.Body)
			}
		}
	})
}

func withLimits(s view.Spec, depth, values int) view.Spec {
	s.MaxDepth, s.MaxValues = depth, values
	return s
}

// TestJSONLimitsBeforeDecoding: a body over a limit is refused while the
// decoder is still reading it, so that it is never decoded: here a 3 MiB
// body of a million values is refused after some ten thousand, and the
// rest is never read.
func TestJSONLimitsBeforeDecoding(t *testing.T) {
	spec := view.Spec{Name: "test.Any", Pattern: "POST /any", ReadsBody: true, MaxBody: 8 << 20}
	body := array(1<<20, "[]")
	rd := &countingReader{r: strings.NewReader(body)}
	r := postJSON("")
	r.Body, r.ContentLength = io.NopCloser(rd), int64(len(body))
	checkProblem(t, serve(anyView(t, spec), r), 413)
	if rd.n > len(body)/4 {
		t.Errorf("read %d of %d bytes of a body over the values limit", rd.n, len(body))
	}
}

// budgetView is anyView that holds its body until release is closed, and
// says on bound when it has bound it.
func budgetView(t *testing.T, spec view.Spec, bound chan<- struct{}, release <-chan struct{}) http.Handler {
	t.Helper()
	mux, _ := handle(t, spec, func(ctx context.Context, r *http.Request) (result int, err error) {
		var req struct{ Body any }
		var p view.Problems
		view.JSON(&p, r, &req.Body, false, false)
		if err = p.Err(); err != nil {
			return
		}
		bound <- struct{}{}
		<-release
		return 1, nil
	})
	return mux
}

func budgetRequest(budget *view.BodyBudget, body string, chunked bool) *http.Request {
	r := postJSON(body)
	if chunked {
		r.ContentLength = -1
	}
	return r.WithContext(view.WithBodyBudget(r.Context(), budget))
}

// TestBodyBudget: a view reserves its body in the server's budget before
// reading it, keeps it until its handler returns, and answers 503 with
// Retry-After, without reading the body, when there is no room in time.
func TestBodyBudget(t *testing.T) {
	spec := view.Spec{Name: "test.Any", Pattern: "POST /any", ReadsBody: true, MaxBody: 1000}
	body := `["` + strings.Repeat("x", 96) + `"]` // 100 bytes

	t.Run("no room in time: 503", func(t *testing.T) {
		budget := view.NewBodyBudget(250, 50*time.Millisecond)
		bound, release := make(chan struct{}, 4), make(chan struct{})
		h := budgetView(t, spec, bound, release)
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if w := serve(h, budgetRequest(budget, body, false)); w.Code != 200 {
					t.Errorf("status %d: %s", w.Code, w.Body)
				}
			})
		}
		<-bound
		<-bound
		if got := budget.InUse(); got != 200 {
			t.Errorf("InUse = %d while two 100-byte bodies are held, want 200", got)
		}
		// 50 bytes left: a third body of 100 waits, then gets a 503.
		rd := &countingReader{r: strings.NewReader(body)}
		r := budgetRequest(budget, body, false)
		r.Body = io.NopCloser(rd)
		w := serve(h, r)
		p := checkProblem(t, w, 503)
		if w.Header().Get("Retry-After") != "1" || !strings.Contains(p.Detail, "busy") {
			t.Errorf("Retry-After %q, detail %q", w.Header().Get("Retry-After"), p.Detail)
		}
		if rd.n != 0 {
			t.Errorf("read %d bytes of a body that found no room", rd.n)
		}
		// A chunked body reserves its view's maxbody, 1000 bytes: more
		// than the budget, so the whole of it.
		checkProblem(t, serve(h, budgetRequest(budget, `[1]`, true)), 503)
		close(release)
		wg.Wait()
		if got := budget.InUse(); got != 0 {
			t.Errorf("InUse = %d after every request, want 0", got)
		}
	})

	t.Run("waiters go in order once room is made", func(t *testing.T) {
		budget := view.NewBodyBudget(100, time.Minute) // room for one body
		bound, release := make(chan struct{}), make(chan struct{})
		h := budgetView(t, spec, bound, release)
		var wg sync.WaitGroup
		codes := make(chan int, 3)
		for range 3 {
			wg.Go(func() { codes <- serve(h, budgetRequest(budget, body, false)).Code })
		}
		for range 3 {
			<-bound // each binds only after the one before has returned
			if got := budget.InUse(); got != 100 {
				t.Errorf("InUse = %d, want 100: one body at a time", got)
			}
			release <- struct{}{}
		}
		wg.Wait()
		close(codes)
		for c := range codes {
			if c != 200 {
				t.Errorf("status %d", c)
			}
		}
		if got := budget.InUse(); got != 0 {
			t.Errorf("InUse = %d, want 0", got)
		}
	})

	t.Run("a body larger than the budget runs alone", func(t *testing.T) {
		budget := view.NewBodyBudget(10, time.Minute)
		bound, release := make(chan struct{}, 1), make(chan struct{})
		close(release)
		h := budgetView(t, spec, bound, release)
		if w := serve(h, budgetRequest(budget, body, false)); w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})

	t.Run("released on every outcome", func(t *testing.T) {
		budget := view.NewBodyBudget(1000, time.Second)
		h := anyView(t, spec)
		for _, b := range []string{body, `[1,`, `{"a":1}x`, strings.Repeat(" ", 2000), nested(200)} {
			serve(h, budgetRequest(budget, b, false))
			if got := budget.InUse(); got != 0 {
				t.Errorf("body %.20q: InUse = %d after the request", b, got)
			}
		}
		mux, _ := handle(t, spec, func(ctx context.Context, r *http.Request) (int, error) {
			io.ReadAll(r.Body)
			panic("boom")
		})
		checkProblem(t, serve(mux, budgetRequest(budget, body, false)), 500)
		if got := budget.InUse(); got != 0 {
			t.Errorf("InUse = %d after a panic", got)
		}
	})

	t.Run("a view reading the body itself", func(t *testing.T) {
		budget := view.NewBodyBudget(50, 10*time.Millisecond)
		mux, _ := handle(t, spec, func(ctx context.Context, r *http.Request) (int, error) {
			_, err := io.ReadAll(r.Body)
			return 0, err
		})
		w := serve(mux, budgetRequest(budget, body, false))
		// 100 bytes > the budget: alone, and it is alone.
		if w.Code != 200 {
			t.Errorf("status %d: %s", w.Code, w.Body)
		}
		// With the whole budget held, its read error is a 503.
		held, release := make(chan struct{}, 1), make(chan struct{})
		hv := budgetView(t, spec, held, release)
		done := make(chan struct{})
		go func() { serve(hv, budgetRequest(budget, body, false)); close(done) }()
		<-held
		w = serve(mux, budgetRequest(budget, body, false))
		checkProblem(t, w, 503)
		if w.Header().Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		close(release)
		<-done
	})
}
