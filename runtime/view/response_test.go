package view_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofutures/futures/runtime/view"
)

type created struct {
	ID string `json:"id"`
}

func (c created) SetResponseHeaders(h http.Header) {
	h.Set("Location", "/things/"+c.ID)
	h.Add("Set-Cookie", (&http.Cookie{Name: "last", Value: c.ID}).String())
}

func TestHeaderSetter(t *testing.T) {
	mux, _ := handle(t, view.Spec{Name: "t", Pattern: "POST /things", Status: 201}, func(context.Context, *http.Request) (created, error) {
		return created{ID: "42"}, nil
	})
	w := serve(mux, httptest.NewRequest("POST", "/things", nil))
	if w.Code != 201 || w.Header().Get("Location") != "/things/42" || w.Header().Get("Set-Cookie") != "last=42" {
		t.Fatalf("got %d, headers %v", w.Code, w.Header())
	}
}

func TestRedirect(t *testing.T) {
	for _, tc := range []struct {
		status, want int
	}{
		{303, 303}, {302, 302}, {307, 307}, {308, 308}, {301, 301}, {200, 303}, {500, 303},
	} {
		mux, _ := handle(t, view.Spec{Name: "t", Pattern: "POST /go"}, func(context.Context, *http.Request) (string, error) {
			return "", view.Redirect(tc.status, "/there")
		})
		w := serve(mux, httptest.NewRequest("POST", "/go", nil))
		if w.Code != tc.want || w.Header().Get("Location") != "/there" {
			t.Errorf("Redirect(%d): got %d to %q", tc.status, w.Code, w.Header().Get("Location"))
		}
	}
	// Wrapped, it still redirects.
	mux, _ := handle(t, view.Spec{Name: "t", Pattern: "POST /wrapped"}, func(context.Context, *http.Request) (string, error) {
		return "", errors.Join(errors.New("context"), view.Redirect(303, "/x"))
	})
	if w := serve(mux, httptest.NewRequest("POST", "/wrapped", nil)); w.Code != 303 {
		t.Fatalf("wrapped redirect: %d", w.Code)
	}
}

func TestOptional(t *testing.T) {
	var p *int
	if problem := view.Optional("", &p, view.Int[int]); problem != "" || p != nil {
		t.Fatalf("absent: %q, %v", problem, p)
	}
	if problem := view.Optional("0", &p, view.Int[int]); problem != "" || p == nil || *p != 0 {
		t.Fatalf("zero: %q, %v", problem, p)
	}
	var q *int
	if problem := view.Optional("x", &q, view.Int[int]); problem == "" || q != nil {
		t.Fatalf("bad: %q, %v", problem, q)
	}
}
