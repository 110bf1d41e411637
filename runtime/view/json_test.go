package view_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gofutures/futures/runtime/view"
)

type item struct {
	Name  string   `json:"name"`
	Price float64  `json:"price"`
	Tags  []string `json:"tags"`
	Count uint8    `json:"count"`
}

// bodyView registers, like generated code, a view that decodes an item
// from the body and echoes it.
func bodyView(t *testing.T, spec view.Spec, allowUnknown bool) http.Handler {
	t.Helper()
	mux, _ := handle(t, spec, func(ctx context.Context, r *http.Request) (result item, err error) {
		var req struct {
			Body item
		}
		var p view.Problems
		view.JSON(&p, r, &req.Body, allowUnknown, false)
		if err = p.Err(); err != nil {
			return
		}
		return req.Body, nil
	})
	return mux
}

// optionalBodyView is bodyView for a pointer body: body:"json" on *item.
func optionalBodyView(t *testing.T, spec view.Spec) http.Handler {
	t.Helper()
	mux, _ := handle(t, spec, func(ctx context.Context, r *http.Request) (result *item, err error) {
		var req struct {
			Body *item
		}
		var p view.Problems
		view.JSON(&p, r, &req.Body, false, true)
		if err = p.Err(); err != nil {
			return
		}
		return req.Body, nil
	})
	return mux
}

func putRequest(body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest("PUT", "/items", rd)
	r.Header.Set("Content-Type", "application/json")
	return r
}

func TestJSONBody(t *testing.T) {
	spec := view.Spec{Name: "test.Put", Pattern: "PUT /items", ReadsBody: true, MaxBody: 128}
	long := `{"name":"` + strings.Repeat("x", 200) + `"}`
	tests := []struct {
		name         string
		body         string
		allowUnknown bool
		status       int
		want         item   // for 200
		field        string // for 400: the name of the one problem
		detail       string // for 400: its detail
		limitDetail  string // for 413: the problem's detail
	}{
		{name: "good", body: `{"name":"teapot","price":12.5,"tags":["a"],"count":3}`, status: 200, want: item{Name: "teapot", Price: 12.5, Tags: []string{"a"}, Count: 3}},
		{name: "trailing white space", body: "{\"name\":\"a\"} \n\t\r\n", status: 200, want: item{Name: "a"}},
		{name: "exactly the limit", body: `{"name":"` + strings.Repeat("y", 128-11) + `"}`, status: 200, want: item{Name: strings.Repeat("y", 128-11)}},
		{name: "malformed", body: `{"name" 1}`, status: 400, field: "", detail: "malformed JSON at byte 9"},
		{name: "malformed later", body: `{"name":"a","price":12.5x}`, status: 400, field: "", detail: "malformed JSON at byte 25"},
		{name: "not JSON", body: `name=teapot`, status: 400, field: "", detail: "malformed JSON at byte 2"},
		{name: "cut short", body: `{"name":`, status: 400, field: "", detail: "malformed JSON: unexpected end of the body"},
		{name: "trailing value", body: `{"name":"a"}{"name":"b"}`, status: 400, field: "", detail: "unexpected data after the JSON value"},
		{name: "trailing garbage", body: `{"name":"a"} x`, status: 400, field: "", detail: "unexpected data after the JSON value"},
		{name: "trailing number", body: `{} 1`, status: 400, field: "", detail: "unexpected data after the JSON value"},
		{name: "unknown field", body: `{"name":"a","colour":"red"}`, status: 400, field: "colour", detail: "unknown field"},
		{name: "unknown field allowed", body: `{"name":"a","colour":"red"}`, allowUnknown: true, status: 200, want: item{Name: "a"}},
		{name: "wrong type number", body: `{"price":"cheap"}`, status: 400, field: "price", detail: "want a number, got a string"},
		{name: "wrong type string", body: `{"name":5}`, status: 400, field: "name", detail: "want a string, got a number"},
		{name: "wrong type array", body: `{"tags":"a"}`, status: 400, field: "tags", detail: "want an array, got a string"},
		{name: "wrong type element", body: `{"tags":[true]}`, status: 400, field: "tags", detail: "want a string, got true or false"},
		{name: "wrong type integer", body: `{"count":1.5}`, status: 400, field: "count", detail: "want an integer, got a number"},
		{name: "integer out of range", body: `{"count":300}`, status: 400, field: "count", detail: "the number is out of range"},
		{name: "wrong type top", body: `[1,2]`, status: 400, field: "", detail: "want an object, got an array"},
		{name: "empty", body: ``, status: 400, field: "", detail: "missing JSON body"},
		{name: "only white space", body: " \n ", status: 400, field: "", detail: "missing JSON body"},
		{name: "over the limit", body: long, status: 413, limitDetail: "the request body is larger than 128 bytes"},
		{name: "white space over the limit", body: `{"name":"a"}` + strings.Repeat(" ", 200), status: 413, limitDetail: "the request body is larger than 128 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := bodyView(t, spec, tt.allowUnknown)
			w := serve(h, putRequest(tt.body))
			switch tt.status {
			case 200:
				if w.Code != 200 {
					t.Fatalf("status %d, body %s", w.Code, w.Body)
				}
				var got item
				if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
			case 400:
				p := checkProblem(t, w, 400)
				if p.Detail != "1 request value is invalid" {
					t.Errorf("detail %q", p.Detail)
				}
				if len(p.Errors) != 1 {
					t.Fatalf("errors %+v, want one", p.Errors)
				}
				e := p.Errors[0]
				if e.In != view.Body || e.Name != tt.field || e.Detail != tt.detail {
					t.Errorf("error %+v, want {body %q %q}", e, tt.field, tt.detail)
				}
				checkDetail(t, e.Detail, "")
			case 413:
				p := checkProblem(t, w, 413)
				if p.Detail != tt.limitDetail {
					t.Errorf("detail %q, want %q", p.Detail, tt.limitDetail)
				}
				if len(p.Errors) != 0 {
					t.Errorf("413 lists errors: %+v", p.Errors)
				}
			}
		})
	}
}

// TestJSONBodyClientValueBounded: a problem about the body shows the
// client's value quoted and at most 64 bytes of it, as the binders do.
// encoding/json puts a number literal that does not fit in its
// UnmarshalTypeError.Value ("number 1000…"), and jsonProblem passes it on.
func TestJSONBodyClientValueBounded(t *testing.T) {
	spec := view.Spec{Name: "test.Put", Pattern: "PUT /items", ReadsBody: true, MaxBody: 4096}
	huge := "1" + strings.Repeat("0", 1000) + "e999"
	for _, body := range []string{
		`{"price":` + huge + `}`,
		`{"count":` + strings.Repeat("9", 1000) + `}`,
	} {
		w := serve(bodyView(t, spec, false), putRequest(body))
		p := checkProblem(t, w, 400)
		if len(p.Errors) != 1 {
			t.Fatalf("errors %+v", p.Errors)
		}
		d := p.Errors[0].Detail
		if len(d) > 200 {
			t.Errorf("detail is %d bytes long, echoing the client's number unbounded: %.120q…", len(d), d)
		}
	}
}

func TestJSONBodyOptional(t *testing.T) {
	spec := view.Spec{Name: "test.Put", Pattern: "PUT /items", ReadsBody: true, MaxBody: 128}
	h := optionalBodyView(t, spec)

	for _, r := range []*http.Request{
		putRequest(""),
		func() *http.Request { r := putRequest(""); r.Body = nil; return r }(),
		func() *http.Request { r := putRequest(""); r.Body = io.NopCloser(strings.NewReader("")); return r }(),
		putRequest("  \n"),
		putRequest("null"),
	} {
		w := serve(h, r)
		if w.Code != 200 || strings.TrimSpace(w.Body.String()) != "null" {
			t.Errorf("empty optional body: status %d, body %q", w.Code, w.Body)
		}
	}
	w := serve(h, putRequest(`{"name":"a"}`))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"name":"a"`) {
		t.Errorf("optional body: status %d, body %q", w.Code, w.Body)
	}
	w = serve(h, putRequest(`{"name":1}`))
	p := checkProblem(t, w, 400)
	if !hasField(p.Errors, view.Body, "name", "want a string") {
		t.Errorf("errors %+v", p.Errors)
	}
}

// TestJSONBodyRequiredNotNoBody: an empty body that is not http.NoBody is
// as missing as no body.
func TestJSONBodyRequiredNotNoBody(t *testing.T) {
	spec := view.Spec{Name: "test.Put", Pattern: "PUT /items", ReadsBody: true}
	h := bodyView(t, spec, false)
	for _, body := range []io.ReadCloser{nil, http.NoBody, io.NopCloser(strings.NewReader(""))} {
		r := putRequest("")
		r.Body = body
		p := checkProblem(t, serve(h, r), 400)
		if !hasField(p.Errors, view.Body, "", "missing JSON body") {
			t.Errorf("body %T: errors %+v", body, p.Errors)
		}
	}
}

func TestMaxBody(t *testing.T) {
	t.Run("default is 1 MiB", func(t *testing.T) {
		h := bodyView(t, view.Spec{Name: "test.Put", Pattern: "PUT /items", ReadsBody: true}, false)
		fits := `{"name":"` + strings.Repeat("x", view.DefaultMaxBody-11) + `"}`
		if w := serve(h, putRequest(fits)); w.Code != 200 {
			t.Errorf("body of exactly DefaultMaxBody: status %d", w.Code)
		}
		over := `{"name":"` + strings.Repeat("x", view.DefaultMaxBody-10) + `"}`
		p := checkProblem(t, serve(h, putRequest(over)), 413)
		if p.Detail != "the request body is larger than 1048576 bytes" {
			t.Errorf("detail %q", p.Detail)
		}
	})
	t.Run("not limited without ReadsBody", func(t *testing.T) {
		h := bodyView(t, view.Spec{Name: "test.Put", Pattern: "PUT /items", MaxBody: 16}, false)
		if w := serve(h, putRequest(`{"name":"longer than sixteen bytes"}`)); w.Code != 200 {
			t.Errorf("status %d, body %s", w.Code, w.Body)
		}
	})
	t.Run("413 wins over other problems", func(t *testing.T) {
		mux, _ := handle(t, view.Spec{Name: "test.Put", Pattern: "PUT /items/{id}", ReadsBody: true, MaxBody: 16},
			func(ctx context.Context, r *http.Request) (result item, err error) {
				var id int
				var p view.Problems
				p.Add(view.Path, "id", view.Int(r.PathValue("id"), &id))
				view.JSON(&p, r, &result, false, false)
				err = p.Err()
				return
			})
		r := httptest.NewRequest("PUT", "/items/x", strings.NewReader(`{"name":"longer than sixteen bytes"}`))
		checkProblem(t, serve(mux, r), 413)
	})
	t.Run("over real HTTP", func(t *testing.T) {
		srv := newServer(t, bodyView(t, view.Spec{Name: "test.Put", Pattern: "PUT /items", ReadsBody: true, MaxBody: 64}, false))
		req, _ := http.NewRequest("PUT", srv.URL+"/items", strings.NewReader(`{"name":"`+strings.Repeat("z", 10000)+`"}`))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		p := checkProblemParts(t, resp.StatusCode, resp.Header, body, 413)
		if p.Detail != "the request body is larger than 64 bytes" {
			t.Errorf("detail %q", p.Detail)
		}
	})
}

// TestJSONBodyContentType: a view that reads a JSON body takes only
// application/json and application/*+json. A cross-site HTML form can post
// text/plain, form-urlencoded and multipart bodies, and fetch in no-cors
// mode can post a Blob with no Content-Type at all, all without a CORS
// preflight: each of them is a 415 whose body was never read.
func TestJSONBodyContentType(t *testing.T) {
	spec := view.Spec{Name: "test.Post", Pattern: "POST /items", ReadsBody: true, MaxBody: 1024}
	body := `{"name":"teapot"}`
	for _, tt := range []struct {
		contentType string // "-": no Content-Type header
		status      int
	}{
		{"application/json", 200},
		{"application/json; charset=utf-8", 200},
		{"Application/JSON;charset=UTF-8", 200},
		{" application/json ", 200},
		{"application/merge-patch+json", 200},
		{"application/vnd.api+json; ext=x", 200},
		{"text/plain", 415},
		{"text/plain;charset=UTF-8", 415},
		{"application/x-www-form-urlencoded", 415},
		{"multipart/form-data; boundary=x", 415},
		{"text/json", 415},
		{"application/jsonx", 415},
		{"application/+json", 415},
		{"application/json-seq", 415},
		{"application", 415},
		{"", 415},
		{"-", 415},
	} {
		h := bodyView(t, spec, false)
		r := httptest.NewRequest("POST", "/items", strings.NewReader(body))
		if tt.contentType != "-" {
			r.Header.Set("Content-Type", tt.contentType)
		}
		w := serve(h, r)
		if tt.status == 200 {
			if w.Code != 200 {
				t.Errorf("Content-Type %q: status %d, body %s; want 200", tt.contentType, w.Code, w.Body)
			}
			continue
		}
		p := checkProblem(t, w, 415)
		if !strings.Contains(p.Detail, "application/json") {
			t.Errorf("Content-Type %q: detail %q does not say what to send", tt.contentType, p.Detail)
		}
		if got := w.Header().Get("Accept-Post"); got != "application/json" {
			t.Errorf("Content-Type %q: Accept-Post %q, want application/json", tt.contentType, got)
		}
	}

	t.Run("PATCH says Accept-Patch", func(t *testing.T) {
		h := bodyView(t, view.Spec{Name: "test.Patch", Pattern: "PATCH /items", ReadsBody: true}, false)
		r := httptest.NewRequest("PATCH", "/items", strings.NewReader(body))
		r.Header.Set("Content-Type", "text/plain")
		w := serve(h, r)
		checkProblem(t, w, 415)
		if got := w.Header().Get("Accept-Patch"); got != "application/json" {
			t.Errorf("Accept-Patch %q", got)
		}
	})

	t.Run("the body is not read", func(t *testing.T) {
		h := bodyView(t, spec, false)
		rd := &countingReader{r: strings.NewReader(body)}
		r := httptest.NewRequest("POST", "/items", nil)
		r.Body, r.ContentLength = io.NopCloser(rd), int64(len(body))
		r.Header.Set("Content-Type", "text/plain")
		checkProblem(t, serve(h, r), 415)
		if rd.n != 0 {
			t.Errorf("the view read %d bytes of a body it refused", rd.n)
		}
	})

	t.Run("no body needs no type", func(t *testing.T) {
		// An optional body that is absent: nothing to check the type of.
		h := optionalBodyView(t, view.Spec{Name: "test.Put", Pattern: "PUT /items", ReadsBody: true})
		for _, ct := range []string{"", "text/plain"} {
			r := httptest.NewRequest("PUT", "/items", nil)
			if ct != "" {
				r.Header.Set("Content-Type", ct)
			}
			if w := serve(h, r); w.Code != 200 {
				t.Errorf("no body, Content-Type %q: status %d, body %s", ct, w.Code, w.Body)
			}
		}
		// A required body that is absent is still a 400, whatever the type.
		w := serve(bodyView(t, spec, false), httptest.NewRequest("POST", "/items", nil))
		p := checkProblem(t, w, 400)
		if !hasField(p.Errors, view.Body, "", "missing JSON body") {
			t.Errorf("errors %+v", p.Errors)
		}
	})

	t.Run("over real HTTP from an HTML form", func(t *testing.T) {
		srv := newServer(t, bodyView(t, spec, false))
		// What <form enctype="text/plain"> with one input named
		// `{"name":"teapot","x":"` and the value `"}` posts.
		resp, err := srv.Client().Post(srv.URL+"/items", "text/plain", strings.NewReader(`{"name":"teapot","x":"="}`))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		checkProblemParts(t, resp.StatusCode, resp.Header, b, 415)
	})
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
