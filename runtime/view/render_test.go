package view_test

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/view"
)

type user struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

func TestRenderJSON(t *testing.T) {
	mux, _ := handle(t, view.Spec{Name: "test.Show", Pattern: "GET /users/{id}"},
		func(ctx context.Context, r *http.Request) (user, error) {
			return user{ID: 7, Name: "Ann <b> & ü"}, nil
		})
	w := serve(mux, httptest.NewRequest("GET", "/users/7", nil))
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(w.Body.Len()) {
		t.Errorf("Content-Length %q, body %d bytes", cl, w.Body.Len())
	}
	var got user
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got != (user{7, "Ann <b> & ü"}) {
		t.Errorf("body %q: %+v %v", w.Body, got, err)
	}

	// Over HTTP the client sees the same Content-Length.
	srv := newServer(t, mux)
	resp, body := get(t, srv, "/users/7", nil)
	if resp.ContentLength != int64(len(body)) || resp.ContentLength <= 0 {
		t.Errorf("ContentLength %d, body %d bytes", resp.ContentLength, len(body))
	}
	if resp.TransferEncoding != nil {
		t.Errorf("TransferEncoding %v, want none", resp.TransferEncoding)
	}
}

// TestRenderLarge: a result larger than the pooled buffers is written
// whole, and a later small one is not disturbed.
func TestRenderLarge(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	mux, _ := handle(t, view.Spec{Name: "test.Big", Pattern: "GET /big/{n}"},
		func(ctx context.Context, r *http.Request) (string, error) {
			if r.PathValue("n") == "big" {
				return big, nil
			}
			return "small", nil
		})
	for range 3 {
		w := serve(mux, httptest.NewRequest("GET", "/big/big", nil))
		if w.Body.Len() != len(big)+3 || w.Header().Get("Content-Length") != strconv.Itoa(len(big)+3) {
			t.Fatalf("big: %d bytes, Content-Length %s", w.Body.Len(), w.Header().Get("Content-Length"))
		}
		w = serve(mux, httptest.NewRequest("GET", "/big/small", nil))
		if w.Body.String() != "\"small\"\n" {
			t.Fatalf("small: %q", w.Body)
		}
	}
}

func TestRenderStatus(t *testing.T) {
	mux, _ := handle(t, view.Spec{Name: "test.Create", Pattern: "POST /users", Status: 201},
		func(ctx context.Context, r *http.Request) (user, error) { return user{ID: 1}, nil })
	w := serve(mux, httptest.NewRequest("POST", "/users", nil))
	if w.Code != 201 || !strings.Contains(w.Body.String(), `"id":1`) {
		t.Errorf("status %d body %q", w.Code, w.Body)
	}

	mux, _ = handle(t, view.Spec{Name: "test.NoContent", Pattern: "POST /nc", Status: 204},
		func(ctx context.Context, r *http.Request) (user, error) { return user{ID: 1}, nil })
	w = serve(mux, httptest.NewRequest("POST", "/nc", nil))
	if w.Code != 204 || w.Body.Len() != 0 {
		t.Errorf("Handle with Status 204: status %d body %q", w.Code, w.Body)
	}
}

func TestRenderNotJSON(t *testing.T) {
	mux, logs := handle(t, view.Spec{Name: "test.NaN", Pattern: "GET /x"},
		func(ctx context.Context, r *http.Request) (float64, error) { return math.NaN(), nil })
	w := serve(mux, httptest.NewRequest("GET", "/x", nil))
	p := checkProblem(t, w, 500)
	if p.Detail != "internal server error" || strings.Contains(w.Body.String(), "NaN") {
		t.Errorf("problem %s", w.Body)
	}
	if !strings.Contains(logs.String(), "view result is not JSON") || !strings.Contains(logs.String(), p.RequestID) {
		t.Errorf("log %s", logs)
	}
}

// emptyView registers with HandleEmpty a view that returns err.
func emptyView(t *testing.T, spec view.Spec, err error) *http.ServeMux {
	t.Helper()
	logger, _ := newLogger()
	mux := http.NewServeMux()
	e := view.HandleEmpty(mux, view.NewConfig(view.WithLogger(logger)), &spec, func(ctx context.Context, r *http.Request) error {
		return err
	})
	if e != nil {
		t.Fatal(e)
	}
	return mux
}

func TestHandleEmpty(t *testing.T) {
	w := serve(emptyView(t, view.Spec{Name: "test.Delete", Pattern: "DELETE /x"}, nil), httptest.NewRequest("DELETE", "/x", nil))
	if w.Code != 204 || w.Body.Len() != 0 {
		t.Errorf("status %d body %q", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "" {
		t.Errorf("204 has Content-Type %q", ct)
	}

	w = serve(emptyView(t, view.Spec{Name: "test.Delete", Pattern: "DELETE /x"}, view.Error(404, "no such thing")), httptest.NewRequest("DELETE", "/x", nil))
	if p := checkProblem(t, w, 404); p.Detail != "no such thing" {
		t.Errorf("detail %q", p.Detail)
	}
	w = serve(emptyView(t, view.Spec{Name: "test.Delete", Pattern: "DELETE /x"}, errors.New("disk full")), httptest.NewRequest("DELETE", "/x", nil))
	checkProblem(t, w, 500)

	// HandleEmpty leaves the caller's Spec alone.
	spec := view.Spec{Name: "test.Delete", Pattern: "DELETE /y"}
	emptyView(t, spec, nil)
	if spec.Status != 0 {
		t.Errorf("HandleEmpty changed the Spec: Status %d", spec.Status)
	}
}

// TestHandleEmptyOtherStatus: a view with no result and Status 202 (or 200)
// has nothing to send, so its response should have no body. It gets the
// JSON of the internal noContent{} result: "{}\n" with Content-Type
// application/json.
func TestHandleEmptyOtherStatus(t *testing.T) {
	for _, status := range []int{202, 200} {
		w := serve(emptyView(t, view.Spec{Name: "test.Accept", Pattern: "POST /jobs", Status: status}, nil), httptest.NewRequest("POST", "/jobs", nil))
		if w.Code != status {
			t.Errorf("status %d, want %d", w.Code, status)
		}
		if w.Body.Len() != 0 {
			t.Errorf("HandleEmpty with Status %d wrote a body %q (Content-Type %q, Content-Length %q), want none",
				status, w.Body, w.Header().Get("Content-Type"), w.Header().Get("Content-Length"))
		}
	}
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

func templateView(t *testing.T, tmpl string, files fstest.MapFS, opts ...view.Option) (*http.ServeMux, *testkit.SyncBuffer) {
	t.Helper()
	return handle(t, view.Spec{Name: "test.Page", Pattern: "GET /users/{id}", Template: tmpl},
		func(ctx context.Context, r *http.Request) (user, error) {
			return user{ID: 7, Name: "Ann <b>"}, nil
		}, append([]view.Option{view.WithTemplates(files)}, opts...)...)
}

func TestTemplates(t *testing.T) {
	files := fstest.MapFS{
		"user.html":  {Data: []byte(`<h1>{{.Name}}</h1><p>{{.ID}}</p>`)},
		"other.html": {Data: []byte(`other`)},
	}
	mux, _ := templateView(t, "user.html", files)
	tests := []struct {
		accept string
		html   bool
	}{
		{browserAccept, true},
		{"text/html", true},
		{"application/json", false},
		{"*/*", false},
		{"", false},
		{"application/json, text/html;q=0.5", false},
		{"text/html;q=0, */*", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/users/7", nil)
		if tt.accept != "" {
			r.Header.Set("Accept", tt.accept)
		}
		w := serve(mux, r)
		if w.Code != 200 {
			t.Fatalf("Accept %q: status %d body %s", tt.accept, w.Code, w.Body)
		}
		if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(w.Body.Len()) {
			t.Errorf("Accept %q: Content-Length %q, body %d bytes", tt.accept, cl, w.Body.Len())
		}
		ct := w.Header().Get("Content-Type")
		if tt.html {
			if ct != "text/html; charset=utf-8" || w.Body.String() != "<h1>Ann &lt;b&gt;</h1><p>7</p>" {
				t.Errorf("Accept %q: %q %q, want the escaped HTML", tt.accept, ct, w.Body)
			}
		} else {
			if ct != "application/json" || !strings.HasPrefix(w.Body.String(), `{"id":7`) {
				t.Errorf("Accept %q: %q %q, want JSON", tt.accept, ct, w.Body)
			}
		}
	}
}

func TestTemplateFuncs(t *testing.T) {
	files := fstest.MapFS{"user.html": {Data: []byte(`{{shout .Name}}`)}}
	mux, _ := templateView(t, "user.html", files, view.WithFuncs(template.FuncMap{
		"shout": func(s string) string { return strings.ToUpper(s) + "!" },
	}))
	r := httptest.NewRequest("GET", "/users/7", nil)
	r.Header.Set("Accept", browserAccept)
	if w := serve(mux, r); w.Body.String() != "ANN &lt;B&gt;!" {
		t.Errorf("body %q", w.Body)
	}
}

func TestTemplateRegistration(t *testing.T) {
	register := func(spec view.Spec, opts ...view.Option) (*http.ServeMux, error) {
		mux := http.NewServeMux()
		err := view.Handle(mux, view.NewConfig(opts...), &spec, func(ctx context.Context, r *http.Request) (user, error) {
			return user{}, nil
		})
		return mux, err
	}
	spec := view.Spec{Name: "test.Page", Pattern: "GET /page", Template: "page.html"}
	tests := []struct {
		name string
		opts []view.Option
		want string // in the error
	}{
		{"no templates", nil, "test.Page"},
		{"missing file", []view.Option{view.WithTemplates(fstest.MapFS{"other.html": {Data: []byte("x")}})}, "test.Page"},
		{"broken template", []view.Option{view.WithTemplates(fstest.MapFS{"page.html": {Data: []byte("{{.Name")}})}, "test.Page"},
		{"unknown function", []view.Option{view.WithTemplates(fstest.MapFS{"page.html": {Data: []byte("{{nosuch .Name}}")}})}, "test.Page"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux, err := register(spec, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Handle: %v, want an error naming %q", err, tt.want)
			}
			if w := serve(mux, httptest.NewRequest("GET", "/page", nil)); w.Code != 404 {
				t.Errorf("a view that failed to register answers %d", w.Code)
			}
		})
	}
	// The generated RegisterViews joins the errors; Handle alone returns one.
	if _, err := register(spec, view.WithTemplates(fstest.MapFS{"page.html": {Data: []byte("ok")}})); err != nil {
		t.Errorf("good template: %v", err)
	}
}

func TestTemplateExecutionError(t *testing.T) {
	files := fstest.MapFS{"user.html": {Data: []byte(`<p>{{.Name}}</p>{{.Missing.Field}}`)}}
	mux, logs := templateView(t, "user.html", files)
	r := httptest.NewRequest("GET", "/users/7", nil)
	r.Header.Set("Accept", browserAccept)
	w := serve(mux, r)
	p := checkProblem(t, w, 500)
	body := w.Body.String()
	if p.Detail != "internal server error" || strings.Contains(body, "Missing") || strings.Contains(body, "Ann") || strings.Contains(body, "template") {
		t.Errorf("body %s", body)
	}
	if !strings.Contains(logs.String(), "view template failed") || !strings.Contains(logs.String(), "Missing") {
		t.Errorf("log %s", logs)
	}
	// A JSON client is not affected by the broken template.
	r = httptest.NewRequest("GET", "/users/7", nil)
	r.Header.Set("Accept", "application/json")
	if w := serve(mux, r); w.Code != 200 {
		t.Errorf("JSON client: status %d", w.Code)
	}
}

func TestTemplateFuncError(t *testing.T) {
	files := fstest.MapFS{"user.html": {Data: []byte(`{{fail}}`)}}
	mux, _ := templateView(t, "user.html", files, view.WithFuncs(template.FuncMap{
		"fail": func() (string, error) { return "", errors.New("SECRET template func failure") },
	}))
	r := httptest.NewRequest("GET", "/users/7", nil)
	r.Header.Set("Accept", "text/html")
	w := serve(mux, r)
	checkProblem(t, w, 500)
	if strings.Contains(w.Body.String(), "SECRET") {
		t.Errorf("body %s", w.Body)
	}
}

// TestTemplateInDirectory: the generator accepts template=pages/user.html
// (names may hold '/'), and Handle registers it, but newHandler names the
// template "pages/user.html" while ParseFS names the parsed file by its
// base name "user.html"; executing the empty "pages/user.html" then fails
// on every request.
func TestTemplateInDirectory(t *testing.T) {
	files := fstest.MapFS{"pages/user.html": {Data: []byte(`<h1>{{.Name}}</h1>`)}}
	mux, logs := templateView(t, "pages/user.html", files)
	r := httptest.NewRequest("GET", "/users/7", nil)
	r.Header.Set("Accept", browserAccept)
	w := serve(mux, r)
	if w.Code != 200 || w.Body.String() != "<h1>Ann &lt;b&gt;</h1>" {
		t.Errorf("template in a directory: status %d body %q; log %s", w.Code, w.Body, logs)
	}
}
