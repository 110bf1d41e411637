package httpclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/httpclient"
)

// A quote service standing in for the backends of the examples.
func quoteServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/quote":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"symbol":%q,"price":%d}`, r.URL.Query().Get("symbol"), len(r.URL.Query().Get("symbol"))*10)
		case "/orders":
			w.WriteHeader(http.StatusCreated)
			io.Copy(w, r.Body)
		default:
			http.Error(w, "no such page", http.StatusNotFound)
		}
	}))
}

// Fan out to several backends at once and wait for all: the calls run
// concurrently, and the first failure cancels the others.
func Example() {
	srv := quoteServer()
	defer srv.Close()
	c := httpclient.New(httpclient.WithBaseURL(srv.URL))
	defer c.CloseIdleConnections()

	ctx := context.Background()
	var calls []*future.Future[*httpclient.Response]
	for _, sym := range []string{"ACME", "HOOLI", "INITECH"} {
		calls = append(calls, c.Get(ctx, "/quote", httpclient.Params{"symbol": sym}))
	}
	resps, err := future.All(calls...).Await(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range resps {
		var q struct {
			Symbol string
			Price  int
		}
		if err := r.JSON(&q); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(q.Symbol, q.Price)
	}
	// Output:
	// ACME 40
	// HOOLI 50
	// INITECH 70
}

// Await is the synchronous form.
func ExampleClient_Get() {
	srv := quoteServer()
	defer srv.Close()
	c := httpclient.New()
	defer c.CloseIdleConnections()

	ctx := context.Background()
	resp, err := c.Get(ctx, srv.URL+"/quote?symbol=ACME", nil).Await(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	fmt.Println(resp.Text())
	// Output:
	// 200 application/json
	// {"symbol":"ACME","price":40}
}

func ExampleClient_PostJSON() {
	srv := quoteServer()
	defer srv.Close()
	c := httpclient.New(httpclient.WithBaseURL(srv.URL))
	defer c.CloseIdleConnections()

	type order struct {
		Symbol string `json:"symbol"`
		Qty    int    `json:"qty"`
	}
	ctx := context.Background()
	resp, err := c.PostJSON(ctx, "orders", order{"ACME", 3}, nil).Await(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	var echoed order
	if err := resp.JSON(&echoed); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, echoed)
	// Output: 201 Created {ACME 3}
}

// An error status is a response, not a failed future; Err turns it into an
// error (Python requests' raise_for_status).
func ExampleResponse_Err() {
	srv := quoteServer()
	defer srv.Close()
	c := httpclient.New(httpclient.WithBaseURL(srv.URL))
	defer c.CloseIdleConnections()

	ctx := context.Background()
	resp, err := c.Get(ctx, "/nope", nil).Await(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	var se *httpclient.StatusError
	if err := resp.Err(); errors.As(err, &se) {
		fmt.Println(se.StatusCode, se.Method, strings.TrimSpace(string(se.Body)))
	}
	// Output: 404 GET no such page
}

// A busy backend answers 503 with Retry-After; the client waits as asked and
// tries again. The hook logs each attempt.
func ExampleWithHooks() {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	logAttempt := func(req *http.Request, resp *httpclient.Response, err error, a httpclient.Attempt) {
		if err != nil {
			fmt.Printf("%s attempt %d of %d: %v\n", req.Method, a.Number, a.Max, err)
			return
		}
		fmt.Printf("%s attempt %d of %d: %d, retrying: %v\n", req.Method, a.Number, a.Max, resp.StatusCode, a.Retrying)
	}
	c := httpclient.New(
		httpclient.WithRetries(3),
		httpclient.WithHooks(httpclient.Hooks{AfterResponse: logAttempt}),
	)
	defer c.CloseIdleConnections()

	ctx := context.Background()
	resp, err := c.Get(ctx, srv.URL, nil).Await(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text(), "after", resp.Attempts, "attempts")
	// Output:
	// GET attempt 1 of 4: 503, retrying: true
	// GET attempt 2 of 4: 200, retrying: false
	// ok after 2 attempts
}

// Per-call options adjust one call: a header, a tighter timeout, and
// permission to retry a POST the server deduplicates.
func ExampleRetry() {
	srv := quoteServer()
	defer srv.Close()
	c := httpclient.New(httpclient.WithBaseURL(srv.URL), httpclient.WithHeader("Authorization", "Bearer t0ken"))
	defer c.CloseIdleConnections()

	ctx := context.Background()
	body := httpclient.Body{ContentType: "text/plain", Data: []byte("buy ACME")}
	resp, err := c.Post(ctx, "/orders", body, nil,
		httpclient.Header("X-Request-Id", "42"),
		httpclient.Timeout(2*time.Second),
		httpclient.Retry(true),
	).Await(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, resp.Text())
	// Output: 201 buy ACME
}

// The package-level functions use the default client, which SetDefault
// replaces, typically once in main.
func ExampleSetDefault() {
	srv := quoteServer()
	defer srv.Close()
	c := httpclient.New(httpclient.WithBaseURL(srv.URL), httpclient.WithTimeout(5*time.Second))
	defer c.CloseIdleConnections()
	previous := httpclient.SetDefault(c)
	defer httpclient.SetDefault(previous)

	ctx := context.Background()
	resp, err := httpclient.Get(ctx, "/quote", httpclient.Params{"symbol": "HOOLI"}).Await(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text())
	// Output: {"symbol":"HOOLI","price":50}
}

// Over the size limit, the call fails with an error that matches
// ErrResponseTooLarge.
func ExampleWithMaxResponseBytes() {
	srv := quoteServer()
	defer srv.Close()
	c := httpclient.New(httpclient.WithBaseURL(srv.URL), httpclient.WithMaxResponseBytes(16))
	defer c.CloseIdleConnections()

	ctx := context.Background()
	_, err := c.Get(ctx, "/quote", httpclient.Params{"symbol": "ACME"}).Await(ctx)
	fmt.Println(errors.Is(err, httpclient.ErrResponseTooLarge))
	// Output: true
}

// A path from user input cannot take a client with a base URL, or its
// credentials, anywhere else: the call fails before sending.
func ExampleWithBaseURL() {
	c := httpclient.New(
		httpclient.WithBaseURL("https://api.example.com/v1/"),
		httpclient.WithHeader("Authorization", "Bearer secret"),
	)
	ctx := context.Background()
	for _, path := range []string{"//attacker.example/steal", "../admin", "%2e%2e/admin", `..\admin`} {
		_, err := c.Get(ctx, path, nil).Await(ctx)
		fmt.Println(errors.Is(err, httpclient.ErrOutsideBase))
	}
	_, err := c.Get(ctx, "https://attacker.example/steal", nil).Await(ctx)
	fmt.Println(err)
	// Output:
	// true
	// true
	// true
	// true
	// parse "https://attacker.example/steal": httpclient: URL outside the client's base URL https://api.example.com/v1/: it names the origin https://attacker.example (absolute URLs to other origins need WithAllowedOrigins)
}
