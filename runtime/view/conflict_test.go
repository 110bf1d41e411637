package view_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gofutures/futures/runtime/view"
)

// TestConflictingViewsNameBoth: views of two packages whose patterns
// conflict on one mux fail registration with an error naming both views,
// where ServeMux would panic naming two lines inside this package.
func TestConflictingViewsNameBoth(t *testing.T) {
	show := func(ctx context.Context, r *http.Request) (string, error) { return "", nil }
	register := func(name, pattern string) func(*http.ServeMux, *view.Config) error {
		return func(mux *http.ServeMux, c *view.Config) error {
			return view.Handle(mux, c, &view.Spec{Name: name, Pattern: pattern}, show)
		}
	}
	cases := []struct {
		name          string
		first, second string
		other         string // the view the error must name; "" for none
		foreign       bool   // the first pattern is registered by plain mux.Handle
	}{
		{"identical", "GET /things/{id}", "GET /things/{id}", "a.Show", false},
		{"same shape, other names", "GET /things/{id}", "GET /things/{name}", "a.Show", false},
		{"overlapping without precedence", "GET /things/{id}/x", "GET /things/y/{z}", "a.Show", false},
		{"registered outside the views", "GET /things/{id}", "GET /things/{id}", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mux := http.NewServeMux()
			if c.foreign {
				mux.HandleFunc(c.first, func(http.ResponseWriter, *http.Request) {})
			} else if err := view.Register(mux, []func(*http.ServeMux, *view.Config) error{register("a.Show", c.first)}); err != nil {
				t.Fatal(err)
			}
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("registering the second view panicked: %v", p)
					}
				}()
				err = view.Register(mux, []func(*http.ServeMux, *view.Config) error{register("b.Show", c.second)})
			}()
			var ce *view.ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *view.ConflictError", err)
			}
			if ce.View != "b.Show" || ce.Pattern != c.second || ce.Other != c.other {
				t.Errorf("ConflictError{View: %q, Pattern: %q, Other: %q}, want {%q, %q, %q}", ce.View, ce.Pattern, ce.Other, "b.Show", c.second, c.other)
			}
			msg := err.Error()
			for _, want := range []string{"b.Show", c.second, c.first} {
				if !strings.Contains(msg, want) {
					t.Errorf("the error does not name %q: %s", want, msg)
				}
			}
			if c.other != "" && !strings.Contains(msg, c.other) {
				t.Errorf("the error does not name the other view %q: %s", c.other, msg)
			}
			// The mux still serves the first registration.
			if _, pattern := mux.Handler(mustRequest(t, strings.ReplaceAll(strings.ReplaceAll(c.first, "{id}", "7"), "{z}", "z"))); pattern != c.first {
				t.Errorf("the mux serves %q, want the first pattern %q", pattern, c.first)
			}
		})
	}
}

func mustRequest(t *testing.T, pattern string) *http.Request {
	t.Helper()
	method, path, _ := strings.Cut(pattern, " ")
	r, err := http.NewRequest(method, "http://example.com"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
