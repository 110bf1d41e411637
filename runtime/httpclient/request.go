package httpclient

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Query is the params argument of the client's methods: anything that encodes
// itself as a URL query, such as url.Values or Params; nil for none. The
// encoded params are appended to the query already in the URL, which is kept
// as it is: "/search?lang=en" with Params{"q": "go"} requests
// "/search?lang=en&q=go". A key present in both is sent twice, as Python's
// requests does.
type Query interface {
	Encode() string
}

// Params is a query of single-valued parameters, the common case; use
// url.Values for repeated keys. Convert a map you already have with
// Params(m).
type Params map[string]string

// Encode returns the parameters URL-encoded and sorted by key, as
// url.Values.Encode does.
func (p Params) Encode() string {
	if len(p) == 0 {
		return ""
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p[k]))
	}
	return b.String()
}

// Body is the body of a Post, Put or Patch: the bytes to send and their
// content type. The same bytes are sent again, unchanged, on every attempt,
// so the caller must not modify Data until the call's future has resolved.
// The zero Body sends an empty body with no Content-Type.
type Body struct {
	// ContentType is sent as the Content-Type header unless empty or
	// replaced by a Header call option.
	ContentType string
	// Data is the body.
	Data []byte
}

// Form returns a body of v URL-encoded, with content type
// application/x-www-form-urlencoded: what an HTML form posts.
func Form(v url.Values) Body {
	return Body{ContentType: "application/x-www-form-urlencoded", Data: []byte(v.Encode())}
}

// errNoBase is the error of a relative URL on a client without a base URL.
var errNoBase = errors.New("not an absolute URL, and the client has no base URL (see WithBaseURL)")

// parseBase parses the argument of WithBaseURL.
func parseBase(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("httpclient: WithBaseURL: %w", err)
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("httpclient: WithBaseURL: %q is not an absolute URL", s)
	}
	if u.Path == "" {
		u.Path, u.RawPath = "/", "" // or JoinPath makes "http://hostpath"
	}
	return u, nil
}

func joinQuery(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "&" + b
}
