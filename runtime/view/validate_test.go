package view_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gofutures/futures/runtime/view"
)

// TestChecks holds each string check of validate tags to cases on both
// sides of its definition. bench/validate_test.go holds them to
// go-playground/validator on the same cases.
func TestChecks(t *testing.T) {
	for _, tc := range []struct {
		name      string
		check     func(string) bool
		good, bad []string
	}{
		{"IsEmail", view.IsEmail,
			[]string{"ada@example.com", "a.b+tag@mail.example.org", "o'neil@example.ie", `"a b"@example.com`, "ü@exämple.de"},
			[]string{"", "ada", "x@localhost", "a@[192.0.2.1]", "a@[IPv6:2001:db8::1]", "@example.com", "ada@", "ada@@example.com", "a..b@example.com", ".a@example.com", "a.@example.com", "a b@example.com",
				"ada@-example.com", "ada@example-.com", "ada@exa_mple.com", "ada@example..com", "ada@[300.1.1.1]", strings.Repeat("a", 65) + "@example.com",
				"Ada <ada@example.com>", `"a"b"@example.com`}},
		{"IsURL", view.IsURL,
			[]string{"https://example.com", "http://example.com/a?b=c#d", "mailto:ada@example.com", "ftp://files.example.com/x", "file:///etc/hosts", "urn:isbn:0451450523"},
			[]string{"", "example.com", "/relative/path", "https://", "file:///", "http://[::1", "://x"}},
		{"IsUUID", view.IsUUID,
			[]string{"123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000"},
			[]string{"", "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400", "123e4567-e89b-12d3-a456-42661417400g", "{123e4567-e89b-12d3-a456-426614174000}"}},
		{"IsAlpha", view.IsAlpha, []string{"abc", "ABCxyz"}, []string{"", "abc1", "ab c", "é"}},
		{"IsAlphanumeric", view.IsAlphanumeric, []string{"abc1", "A9"}, []string{"", "a-b", "a b", "ü"}},
		{"IsNumeric", view.IsNumeric, []string{"0", "-1", "+12", "3.14", "-0.5"}, []string{"", "1.", ".5", "1e3", "0x10", "--1", "1.2.3", "+"}},
		{"IsHostname", view.IsHostname,
			[]string{"example", "example.com", "a-b.example.com", "x1.example.com", "a.1b.c", strings.Repeat("a", 63) + ".com"},
			[]string{"", "1example.com", "-a.com", "a-.com", "a..com", "a.com.", "exa_mple.com", "ü.com", strings.Repeat("a", 64) + ".com"}},
		{"IsIP", view.IsIP, []string{"192.0.2.1", "::1", "2001:db8::1", "::ffff:192.0.2.1"}, []string{"", "192.0.2", "256.1.1.1", "01.2.3.4", "fe80::1%eth0", "example.com"}},
	} {
		for _, s := range tc.good {
			if !tc.check(s) {
				t.Errorf("%s(%q) = false; want true", tc.name, s)
			}
		}
		for _, s := range tc.bad {
			if tc.check(s) {
				t.Errorf("%s(%q) = true; want false", tc.name, s)
			}
		}
	}
	if !view.IsTime("2024-02-29", "2006-01-02") || view.IsTime("2023-02-29", "2006-01-02") || view.IsTime("29/02/2024", "2006-01-02") {
		t.Error("IsTime does not follow time.Parse")
	}
}

func TestPointerKey(t *testing.T) {
	for in, want := range map[string]string{"plain": "plain", "a/b": "a~1b", "a~b": "a~0b", "~/": "~0~1", "": ""} {
		if got := view.PointerKey(in); got != want {
			t.Errorf("PointerKey(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestHeaderList(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  []string
	}{
		{nil, nil},
		{[]string{"a"}, []string{"a"}},
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]string{"a,b"}, []string{"a", "b"}},
		{[]string{" a , b ", "c"}, []string{"a", "b", "c"}},
		{[]string{"a,,b", ""}, []string{"a", "b"}},
		{[]string{" a"}, []string{"a"}},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, l := range tc.lines {
			r.Header.Add("X-List", l)
		}
		if got := view.HeaderList(r, "X-List"); !slices.Equal(got, tc.want) {
			t.Errorf("HeaderList of %q = %q; want %q", tc.lines, got, tc.want)
		}
	}
}

// TestJSONReportsSuccess checks JSON's result, on which generated code
// checks a body's rules: true when the body decoded or an optional one is
// absent, false with a problem recorded.
func TestJSONReportsSuccess(t *testing.T) {
	type item struct {
		Name string `json:"name"`
	}
	for _, tc := range []struct {
		body     string
		ct       string
		optional bool
		want     bool
	}{
		{`{"name":"a"}`, "application/json", false, true},
		{"", "", true, true},
		{"", "", false, false},
		{`{"name":1}`, "application/json", false, false},
		{`{"nom":"a"}`, "application/json", false, false},
		{`{"name":"a"}`, "text/plain", false, false},
		{`{"name":"a"} x`, "application/json", false, false},
	} {
		var body *strings.Reader
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if tc.body != "" {
			body = strings.NewReader(tc.body)
			r = httptest.NewRequest(http.MethodPost, "/", body)
			r.Header.Set("Content-Type", tc.ct)
		}
		var p view.Problems
		if tc.optional {
			var dst *item
			got := view.JSON(&p, r, &dst, false, true)
			if got != tc.want || (p.Err() == nil) != tc.want {
				t.Errorf("optional %q: JSON = %v, problems %v; want %v", tc.body, got, p.Err(), tc.want)
			}
			continue
		}
		var dst item
		got := view.JSON(&p, r, &dst, false, false)
		if got != tc.want || (p.Err() == nil) != tc.want {
			t.Errorf("%q (%s): JSON = %v, problems %v; want %v", tc.body, tc.ct, got, p.Err(), tc.want)
		}
	}
}
