package httpclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofutures/futures/runtime/httpclient"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// addHeader wraps rt so that every attempt carries X-Wrapped: name.
func addHeader(name string, rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Add("X-Wrapped", name)
		return rt.RoundTrip(r)
	})
}

func TestWithTransportWrapper(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Join(r.Header.Values("X-Wrapped"), ",")))
	}))
	defer srv.Close()
	var inner http.RoundTripper
	c := httpclient.New(
		httpclient.WithMaxConcurrentPerHost(7),
		httpclient.WithTransportWrapper(func(rt http.RoundTripper) http.RoundTripper {
			inner = rt
			return addHeader("first", rt)
		}),
		httpclient.WithTransportWrapper(func(rt http.RoundTripper) http.RoundTripper { return addHeader("second", rt) }),
	)
	tr, ok := inner.(*http.Transport)
	if !ok || tr.MaxIdleConnsPerHost != 7 {
		t.Fatalf("the first wrapper got %T (idle per host %v), want the tuned transport sized by WithMaxConcurrentPerHost", inner, tr)
	}
	resp, err := c.Get(context.Background(), srv.URL, nil).Await(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Text(); got != "second,first" {
		t.Fatalf("wrappers ran as %q, want the last given outermost: second,first", got)
	}
}
