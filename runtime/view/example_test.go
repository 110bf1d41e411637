package view_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing/fstest"
	"time"

	"github.com/gofutures/futures/runtime/view"
)

// These examples call Handle as the code that futuresgen writes for a
// //futures:view function does: the function passed to Handle binds the
// request with the binders of this package and calls the user's function.
// Each request runs in-process through httptest.

// show runs a request through mux and prints the response.
func show(mux *http.ServeMux, r *http.Request) {
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Print(w.Body.String())
}

// quiet drops the views' logs, which the examples do not print.
var quiet = view.WithLogger(slog.New(slog.DiscardHandler))

type Greeting struct {
	Message string `json:"message"`
}

// Greet is the user's function: //futures:view GET /hello/{name}.
func Greet(ctx context.Context, req struct {
	Name  string
	Times int
}) (Greeting, error) {
	if req.Name == "nobody" {
		return Greeting{}, view.Error(http.StatusNotFound, "nobody is not here")
	}
	return Greeting{Message: strings.Repeat("hello, "+req.Name+"! ", req.Times)}, nil
}

var greetSpec = view.Spec{Name: "example.Greet", Pattern: "GET /hello/{name}", Timeout: 5 * time.Second}

// registerGreet is what futuresgen writes for Greet: it binds the path
// value and the query, reporting every problem at once.
func registerGreet(mux *http.ServeMux, c *view.Config) error {
	return view.Handle(mux, c, &greetSpec, func(ctx context.Context, r *http.Request) (result Greeting, err error) {
		var req struct {
			Name  string
			Times int
		}
		var p view.Problems
		query := view.ParseQuery(&p, r)
		p.Add(view.Path, "name", view.String(r.PathValue("name"), &req.Name))
		p.Add(view.Query, "times", view.Int(query.Get("times"), &req.Times))
		if err = p.Err(); err != nil {
			return
		}
		return Greet(ctx, req)
	})
}

func ExampleHandle() {
	mux := http.NewServeMux()
	if err := view.Register(mux, []func(*http.ServeMux, *view.Config) error{registerGreet}, quiet); err != nil {
		fmt.Println(err)
		return
	}
	show(mux, httptest.NewRequest("GET", "/hello/Ada?times=2", nil))
	// Output:
	// 200 application/json
	// {"message":"hello, Ada! hello, Ada! "}
}

// An error made with Error (or Wrap) sets the status, and its message
// reaches the client, in an RFC 9457 problem.
func ExampleError() {
	mux := http.NewServeMux()
	view.Register(mux, []func(*http.ServeMux, *view.Config) error{registerGreet}, quiet)
	show(mux, httptest.NewRequest("GET", "/hello/nobody?times=1", nil))
	// Output:
	// 404 application/problem+json
	// {"type":"about:blank","title":"Not Found","status":404,"detail":"nobody is not here"}
}

// Any other error is a 500 that tells the client nothing but the request's
// ID (its X-Request-ID, when it has a valid one); the error goes to the
// log with that ID.
func ExampleHandle_internalError() {
	spec := view.Spec{Name: "example.Broken", Pattern: "GET /broken"}
	mux := http.NewServeMux()
	view.Handle(mux, view.NewConfig(quiet), &spec, func(ctx context.Context, r *http.Request) (string, error) {
		return "", errors.New("database password rejected")
	})
	r := httptest.NewRequest("GET", "/broken", nil)
	r.Header.Set("X-Request-ID", "req-43")
	show(mux, r)
	// Output:
	// 500 application/problem+json
	// {"type":"about:blank","title":"Internal Server Error","status":500,"detail":"internal server error","request_id":"req-43"}
}

// ParseQuery keeps the pairs that parse and reports the others; a binder
// reports a value it cannot convert. Every problem of a request comes back
// in one 400, each with where it came from.
func ExampleParseQuery() {
	mux := http.NewServeMux()
	view.Register(mux, []func(*http.ServeMux, *view.Config) error{registerGreet}, quiet)
	show(mux, httptest.NewRequest("GET", "/hello/Ada?times=twice&x=%zz", nil))
	// Output:
	// 400 application/problem+json
	// {"type":"about:blank","title":"Bad Request","status":400,"detail":"2 request values are invalid","errors":[{"in":"query","name":"x","detail":"malformed %-escape in \"%zz\""},{"in":"query","name":"times","detail":"want an integer, got \"twice\""}]}
}

type Signup struct {
	Email string `json:"email"`
}

var signupSpec = view.Spec{Name: "example.Signup", Pattern: "POST /signups", ReadsBody: true, MaxBody: 1 << 10, Status: http.StatusCreated}

// registerSignup is what futuresgen writes for a view with a JSON body.
func registerSignup(mux *http.ServeMux, c *view.Config) error {
	return view.Handle(mux, c, &signupSpec, func(ctx context.Context, r *http.Request) (result Signup, err error) {
		var req struct{ Body Signup }
		var p view.Problems
		view.JSON(&p, r, &req.Body, false, false)
		if err = p.Err(); err != nil {
			return
		}
		return req.Body, nil
	})
}

// JSON decodes the body: it must be typed as JSON (else 415), fit the
// view's MaxBody (else 413) and hold no field the type lacks (else 400).
func ExampleJSON() {
	mux := http.NewServeMux()
	view.Register(mux, []func(*http.ServeMux, *view.Config) error{registerSignup}, quiet)
	post := func(contentType, body string) {
		r := httptest.NewRequest("POST", "/signups", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		show(mux, r)
	}
	post("application/json", `{"email":"ada@example.com"}`)
	post("application/json", `{"email":"ada@example.com","admin":true}`)
	post("text/plain", `{"email":"ada@example.com"}`)
	post("application/json", `{"email":"`+strings.Repeat("a", 2000)+`"}`)
	// Output:
	// 201 application/json
	// {"email":"ada@example.com"}
	// 400 application/problem+json
	// {"type":"about:blank","title":"Bad Request","status":400,"detail":"1 request value is invalid","errors":[{"in":"body","name":"admin","detail":"unknown field"}]}
	// 415 application/problem+json
	// {"type":"about:blank","title":"Unsupported Media Type","status":415,"detail":"the request body must be JSON, sent with Content-Type application/json (or application/*+json), not \"text/plain\""}
	// 413 application/problem+json
	// {"type":"about:blank","title":"Request Entity Too Large","status":413,"detail":"the request body is larger than 1024 bytes"}
}

// WithJSONLimits bounds what the decoder accepts before it decodes
// anything: nesting too deep is a 400, too many values a 413.
func ExampleWithJSONLimits() {
	mux := http.NewServeMux()
	view.Register(mux, []func(*http.ServeMux, *view.Config) error{registerSignup}, quiet, view.WithJSONLimits(3, 10))
	post := func(body string) {
		r := httptest.NewRequest("POST", "/signups", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		show(mux, r)
	}
	post(`{"email":"ada@example.com","x":[[[1]]]}`)
	post(`{"email":"ada@example.com","x":[1,2,3,4,5,6,7,8,9,10]}`)
	// Output:
	// 400 application/problem+json
	// {"type":"about:blank","title":"Bad Request","status":400,"detail":"1 request value is invalid","errors":[{"in":"body","name":"","detail":"the JSON nests deeper than 3 levels"}]}
	// 413 application/problem+json
	// {"type":"about:blank","title":"Request Entity Too Large","status":413,"detail":"the JSON body has more than 10 values"}
}

// Problems collects binding problems; a binder returns "" when the value
// is good, else what is wrong with it.
func ExampleProblems() {
	var p view.Problems
	var n int
	var d time.Duration
	p.Add(view.Query, "n", view.Int("12", &n))
	p.Add(view.Query, "wait", view.Duration("soon", &d))
	fmt.Println(n)
	fmt.Println(p.Err())
	var be *view.BindError
	if errors.As(p.Err(), &be) {
		for _, f := range be.Fields {
			fmt.Printf("%s %s: %s\n", f.In, f.Name, f.Detail)
		}
	}
	// Output:
	// 12
	// bad request: query wait: want a duration such as 1m30s, got "soon"
	// query wait: want a duration such as 1m30s, got "soon"
}

// A view with a Template renders its result through html/template for
// clients that prefer HTML (a browser's Accept), and as JSON for the rest.
func ExampleWithTemplates() {
	templates := fstest.MapFS{"greet.html": {Data: []byte(`<p>{{.Message}}</p>` + "\n")}}
	spec := view.Spec{Name: "example.GreetPage", Pattern: "GET /greet", Template: "greet.html"}
	mux := http.NewServeMux()
	err := view.Handle(mux, view.NewConfig(quiet, view.WithTemplates(templates)), &spec, func(ctx context.Context, r *http.Request) (Greeting, error) {
		return Greeting{Message: "hello & welcome"}, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	r := httptest.NewRequest("GET", "/greet", nil)
	r.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	show(mux, r)
	show(mux, httptest.NewRequest("GET", "/greet", nil))
	// Output:
	// 200 text/html; charset=utf-8
	// <p>hello &amp; welcome</p>
	// 200 application/json
	// {"message":"hello \u0026 welcome"}
}
