package view

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPrefersHTML(t *testing.T) {
	tests := []struct {
		accept string
		want   bool
	}{
		// What real clients send.
		{"", false},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true},                       // Firefox
		{"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", true}, // Chrome
		{"text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7", true},
		{"*/*", false},              // curl
		{"application/json", false}, // API clients
		{"application/json, text/plain, */*", false},
		{"application/problem+json", false},

		// Exact types.
		{"text/html", true},
		{"application/xhtml+xml", true},
		{"text/html, application/json", false}, // a tie goes to JSON
		{"application/json, text/html", false},
		{"text/html;q=0.8, application/json;q=0.8", false},
		{"text/html, application/json;q=0.9", true},
		{"text/html;q=0.9, application/json", false},
		{"application/json;q=0.1, text/html;q=0.2", true},
		{"text/html;q=0.5, application/problem+json", false},

		// q=0 means not acceptable.
		{"text/html;q=0", false},
		{"text/html;q=0, */*", false},
		{"text/html;q=0.0, application/json;q=0", false},
		{"text/html;q=0.001, */*;q=0", true},
		{"*/*;q=0.1, text/html;q=0", false},

		// The most specific range gives the weight.
		{"text/html, */*;q=0.1", true},
		{"text/html;q=0.1, */*", false},
		{"application/json, */*;q=0.9, text/html;q=0.5", false},
		{"text/html;q=0.5, text/*;q=1, application/json;q=0.6", false},
		{"text/html;q=0.7, application/*;q=0.6", true},
		{"text/html;q=0.6, application/*;q=0.7", false},
		{"text/html, application/*;q=0.5, application/json", false},
		{"application/*, text/html", true}, // a tie in q goes to the more specific range
		{"application/*;q=0.9, text/html", true},

		// text/* and application/json: ordering by q, then specificity.
		{"text/*, application/json, text/html;q=0", false},
		{"text/*;q=0.9, text/html;q=0.8, application/json;q=0.85", false},

		// Parameters and spelling.
		{"text/html; level=1; q=0.2, application/json; q=0.5", false},
		{"text/html ;q=0.9,application/json;q=0.8", true},
		{" text/html ; Q=0.4 , application/json ; q=0.3", true},
		{"text/html;q=abc, application/json", false}, // a bad q counts as 1
		{"text/html;charset=utf-8", true},
		{"texthtml", false},
		{"text/htmlx", false},
		{",,;;,text/html,,", true},
	}
	for _, tt := range tests {
		if got := prefersHTML(tt.accept); got != tt.want {
			t.Errorf("prefersHTML(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
}

// TestPrefersHTMLWildcardText: "text/*" ranks text/html (RFC 9110 §12.5.1)
// and prefersHTML has a case for it, but the early
// strings.Contains(accept, "html") makes any header without the letters
// "html" answer false first: text/* never selects HTML on its own.
func TestPrefersHTMLWildcardText(t *testing.T) {
	for _, accept := range []string{
		"text/*",
		"text/*, application/json;q=0.5",
		"text/*;q=0.9, application/*;q=0.1",
		// Here "html" appears, but application/xhtml+xml shares one weight
		// with text/html, and its more specific q=0.1 hides text/*'s 0.9
		// for text/html, the type the view renders.
		"application/json;q=0.5, text/*;q=0.9, application/xhtml+xml;q=0.1",
	} {
		if !prefersHTML(accept) {
			t.Errorf("prefersHTML(%q) = false, want true: text/* ranks text/html above application/json", accept)
		}
	}
}

// TestPrefersHTMLCase: media types are case-insensitive (RFC 9110 §8.3.1).
// The media types are lowered, but the early strings.Contains(accept,
// "html") is case-sensitive, so upper-case HTML is never preferred.
func TestPrefersHTMLCase(t *testing.T) {
	for _, accept := range []string{"TEXT/HTML", "Text/HTML, application/json;q=0.5", "APPLICATION/XHTML+XML"} {
		if !prefersHTML(accept) {
			t.Errorf("prefersHTML(%q) = false, want true", accept)
		}
	}
	if !prefersHTML("Text/Html, application/json;q=0.5") {
		t.Errorf("mixed case html")
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"", `""`},
		{"abc", `"abc"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\x00\t\n", `"\x00\t\n"`},
		{"\xff", "\"\uFFFD\""},
		{"a\xff\xfeb", "\"a\uFFFDb\""},
		{strings.Repeat("x", 64), `"` + strings.Repeat("x", 64) + `"`},
		{strings.Repeat("x", 65), `"` + strings.Repeat("x", 64) + `…"`},
		{strings.Repeat("x", 63) + "é", `"` + strings.Repeat("x", 63) + `…"`},
		{strings.Repeat("x", 62) + "é" + "y", `"` + strings.Repeat("x", 62) + `é…"`},
		{strings.Repeat("x", 63) + "\xff" + "y", `"` + strings.Repeat("x", 63) + `…"`},
		{strings.Repeat("😀", 20), `"` + strings.Repeat("😀", 16) + `…"`},
	}
	for _, tt := range tests {
		got := quote(tt.raw)
		if got != tt.want {
			t.Errorf("quote(%q) = %s, want %s", tt.raw, got, tt.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("quote(%q) = %q is not valid UTF-8", tt.raw, got)
		}
	}
}

func TestIsToken(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, "abc-DEF_0.9": true, "a b": false, "a/b": false, "a\x00": false, "é": false, "a+b": false,
	} {
		if got := isToken(s); got != want {
			t.Errorf("isToken(%q) = %v", s, got)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Request-ID", "abc")
	if got := requestID(r); got != "abc" {
		t.Errorf("requestID = %q", got)
	}
}
