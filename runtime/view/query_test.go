package view_test

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofutures/futures/runtime/view"
)

// TestParseQuery: ParseQuery keeps what url.ParseQuery keeps and names each
// pair it drops.
func TestParseQuery(t *testing.T) {
	for _, tt := range []struct {
		raw    string
		want   url.Values
		errors []view.FieldError
	}{
		{raw: "", want: url.Values{}},
		{raw: "a=1&b=2&a=3", want: url.Values{"a": {"1", "3"}, "b": {"2"}}},
		{raw: "a=%41&&b", want: url.Values{"a": {"A"}, "b": {""}}},
		{raw: "a=%zz&b=2", want: url.Values{"b": {"2"}}, errors: []view.FieldError{
			{In: view.Query, Name: "a", Detail: `malformed %-escape in "%zz"`}}},
		{raw: "a=1;b=2&c=3", want: url.Values{"c": {"3"}}, errors: []view.FieldError{
			{In: view.Query, Name: "a", Detail: "a ; separates parameters: use & (and %3B for a ; in a value)"}}},
		{raw: "a;b=2", want: url.Values{}, errors: []view.FieldError{
			{In: view.Query, Name: "a;b=2", Detail: "a ; separates parameters: use & (and %3B for a ; in a value)"}}},
		{raw: "%zz=1&%E2%82%AC=%", want: url.Values{}, errors: []view.FieldError{
			{In: view.Query, Name: "%zz=1", Detail: "malformed %-escape in the parameter name"},
			{In: view.Query, Name: "€", Detail: `malformed %-escape in "%"`}}},
		// The name is clipped and made valid UTF-8, as every echoed value.
		{raw: "%FF%FE=%", want: url.Values{}, errors: []view.FieldError{
			{In: view.Query, Name: "\uFFFD", Detail: `malformed %-escape in "%"`}}},
		{raw: strings.Repeat("k", 100) + "=%", want: url.Values{}, errors: []view.FieldError{
			{In: view.Query, Name: strings.Repeat("k", 64) + "…", Detail: `malformed %-escape in "%"`}}},
		// More parameters than net/url takes: one problem, nothing bound.
		{raw: strings.Repeat("a=1&", 10000) + "b=2", want: url.Values{}, errors: []view.FieldError{
			{In: view.Query, Name: "", Detail: "the query has too many parameters"}}},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = tt.raw
		var p view.Problems
		got := view.ParseQuery(&p, r)
		name := tt.raw[:min(len(tt.raw), 40)]
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%q: values %v, want %v", name, got, tt.want)
		}
		err := p.Err()
		if len(tt.errors) == 0 {
			if err != nil {
				t.Errorf("%q: %v", name, err)
			}
			continue
		}
		be, ok := err.(*view.BindError)
		if !ok || be.Status != 400 {
			t.Fatalf("%q: error %v, want a 400 BindError", name, err)
		}
		if fmt.Sprint(be.Fields) != fmt.Sprint(tt.errors) {
			t.Errorf("%q: problems %+v, want %+v", name, be.Fields, tt.errors)
		}
	}
}
