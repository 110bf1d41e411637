// Package reqid names HTTP requests in logs: the views' error responses and
// the task loop's warnings about a request's tasks use the same rule, so
// that one request has one ID everywhere.
package reqid

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// FromRequest returns r's X-Request-ID header when Valid, else New().
// Callers that need the same ID twice keep the first.
func FromRequest(r *http.Request) string {
	if id := r.Header.Get("X-Request-ID"); Valid(id) {
		return id
	}
	return New()
}

// Valid reports whether a client's X-Request-ID can serve as the ID: a
// token of 1 to 64 characters that IsToken accepts.
func Valid(id string) bool { return id != "" && len(id) <= 64 && IsToken(id) }

// New returns a random ID of 16 hex digits.
func New() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// IsToken reports whether s holds only letters, digits, '-', '_' and '.':
// safe to echo in a header and a log line.
func IsToken(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
