package view_test

import (
	"testing"

	"github.com/gofutures/futures/runtime/view"
)

// BenchmarkChecks times each string check of validate tags on a value
// that passes it.
func BenchmarkChecks(b *testing.B) {
	for _, c := range []struct {
		name  string
		check func(string) bool
		value string
	}{
		{"IsEmail", view.IsEmail, "ada.lovelace@example.com"},
		{"IsURL", view.IsURL, "https://ada.example.com/notes?id=1"},
		{"IsUUID", view.IsUUID, "123e4567-e89b-12d3-a456-426614174000"},
		{"IsHostname", view.IsHostname, "ada.example.com"},
		{"IsIP", view.IsIP, "2001:db8::1"},
		{"IsAlphanumeric", view.IsAlphanumeric, "engines42"},
		{"IsNumeric", view.IsNumeric, "-12.5"},
		{"IsTime", func(s string) bool { return view.IsTime(s, "2006-01-02") }, "2024-01-31"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !c.check(c.value) {
					b.Fatal(c.value)
				}
			}
		})
	}
}
