package view_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gofutures/futures/runtime/view"
)

// TestErrorTemplate: a view with ErrorTemplate answers a browser's bad
// request with the page of the error, in its status, sharing the parts
// that the view's Template defines; API clients still get problem JSON.
func TestErrorTemplate(t *testing.T) {
	fsys := fstest.MapFS{
		"page.html":  {Data: []byte(`{{define "form"}}<input name="n" value="{{.}}">{{end}}<p>{{.}}</p>{{template "form" .}}`)},
		"error.html": {Data: []byte(`<h1>{{.Status}} {{.Title}}</h1><p id="detail">{{.Detail}}</p>{{range .Errors}}<li>{{.Name}}: {{.Detail}}</li>{{end}}{{template "form" (.Query.Get "n")}}{{with .RequestID}}<small>{{.}}</small>{{end}}`)},
	}
	spec := view.Spec{Name: "v", Pattern: "GET /v", Template: "page.html", ErrorTemplate: "error.html"}
	mux, _ := handle(t, spec, func(ctx context.Context, r *http.Request) (int, error) {
		var p view.Problems
		var n int
		p.Add(view.Query, "n", view.Int(r.URL.Query().Get("n"), &n))
		if err := p.Err(); err != nil {
			return 0, err
		}
		if n == 13 {
			return 0, view.Error(http.StatusNotFound, "no page 13")
		}
		if n == 500 {
			panic("boom")
		}
		return n, nil
	}, view.WithTemplates(fsys))
	const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for _, c := range []struct {
		query, accept string
		status        int
		ctype         string
		want          []string
	}{
		{"?n=x", browser, 400, "text/html", []string{"<h1>400 Bad Request</h1>", `<li>n: want an integer, got &#34;x&#34;</li>`, `<input name="n" value="x">`}},
		{"?n=13", browser, 404, "text/html", []string{"<h1>404 Not Found</h1>", `<p id="detail">no page 13</p>`, `value="13"`}},
		{"?n=500", browser, 500, "text/html", []string{"internal server error", "<small>"}},
		{"?n=x", "application/json", 400, "application/problem+json", []string{`"name":"n"`}},
		{"?n=7", browser, 200, "text/html", []string{`<p>7</p><input name="n" value="7">`}},
	} {
		r := httptest.NewRequest("GET", "/v"+c.query, nil)
		r.Header.Set("Accept", c.accept)
		w := serve(mux, r)
		body := w.Body.String()
		if w.Code != c.status || !strings.HasPrefix(w.Header().Get("Content-Type"), c.ctype) {
			t.Errorf("%s (%s): %d %q %s", c.query, c.accept, w.Code, w.Header().Get("Content-Type"), body)
			continue
		}
		for _, want := range c.want {
			if !strings.Contains(body, want) {
				t.Errorf("%s (%s): the body lacks %s:\n%s", c.query, c.accept, want, body)
			}
		}
	}

	// A view whose error template is missing fails to register.
	bad := view.Spec{Name: "bad", Pattern: "GET /bad", ErrorTemplate: "missing.html"}
	if err := view.Handle(http.NewServeMux(), view.NewConfig(view.WithTemplates(fsys)), &bad, func(context.Context, *http.Request) (int, error) { return 0, nil }); err == nil {
		t.Error("a missing error template registered")
	}
}
