package httpclient_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gofutures/futures/runtime/httpclient"
)

// upgradeTo is a handshake of a made-up protocol: the response's status
// says whether the server switched.
func upgradeTo(ctx context.Context, hc *http.Client, req *http.Request) (string, *http.Response, error) {
	req = req.Clone(ctx)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "test")
	resp, err := hc.Do(req)
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return "", resp, errors.New("not switched")
	}
	resp.Body.Close()
	return "switched to " + resp.Header.Get("Upgrade"), resp, nil
}

func TestUpgrade(t *testing.T) {
	var calls atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case r.URL.Path == "/missing":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"status":404,"title":"Not Found","detail":"no such socket"}`))
		case r.URL.Path == "/plain":
			w.Write([]byte("hello"))
		case n == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.Header.Get("X-Token") != "t" || r.URL.Query().Get("room") != "a b":
			http.Error(w, "bad request", http.StatusBadRequest)
		default:
			w.Header().Set("Upgrade", "test")
			w.Header().Set("Connection", "Upgrade")
			w.WriteHeader(http.StatusSwitchingProtocols)
		}
	})
	var hooked atomic.Int32
	c := newClient(t, httpclient.WithBaseURL(srv.URL), httpclient.WithHeader("X-Token", "t"),
		httpclient.WithHooks(httpclient.Hooks{BeforeRequest: func(*http.Request, httpclient.Attempt) { hooked.Add(1) }}))

	// A 503 is retried, as for any GET; the client's headers and the
	// request's values go with the handshake.
	r := httpclient.NewRequest("GET", "/socket")
	httpclient.Param(r, httpclient.InQuery, "room", "a b", httpclient.FormatString[string])
	got, err := httpclient.Upgrade(t.Context(), c, r, upgradeTo)
	if err != nil || got != "switched to test" || calls.Load() != 2 || hooked.Load() != 2 {
		t.Fatalf("got %q, %v after %d calls (%d hooked); want switched on the second", got, err, calls.Load(), hooked.Load())
	}
	_, err = httpclient.Upgrade(t.Context(), c, httpclient.NewRequest("GET", "/missing"), upgradeTo)
	if p, ok := errors.AsType[*httpclient.Problem](err); !ok || p.Status != 404 || p.Detail != "no such socket" {
		t.Errorf("a refusal: %v; want its problem", err)
	}
	_, err = httpclient.Upgrade(t.Context(), c, httpclient.NewRequest("GET", "/plain"), upgradeTo)
	if err == nil || !strings.Contains(err.Error(), "did not switch protocols") {
		t.Errorf("a 200: %v; want an error that says nothing was switched", err)
	}
	// A handshake with no response to show (a browser's WebSocket).
	got, err = httpclient.Upgrade(t.Context(), c, httpclient.NewRequest("GET", "/socket"),
		func(context.Context, *http.Client, *http.Request) (string, *http.Response, error) {
			return "open", nil, nil
		})
	if err != nil || got != "open" {
		t.Errorf("no response: %q, %v", got, err)
	}
}
