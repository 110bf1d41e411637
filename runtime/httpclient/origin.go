package httpclient

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ErrOutsideBase is matched (errors.Is) by the error of a call whose URL,
// on a client with a base URL (WithBaseURL), would leave it: a relative URL
// that names a host ("//host/x") or climbs above the base's path ("../x",
// also when encoded as "%2e%2e/x" or "..%2Fx"), a path with a backslash in
// any encoding, or an absolute URL outside the base whose origin
// WithAllowedOrigins does not allow. No request is sent.
var ErrOutsideBase = errors.New("httpclient: URL outside the client's base URL")

// target is where a client may send requests and with which of its
// headers: its base URL, the origins it allows besides, or anywhere when
// it has no base. Fixed by New.
type target struct {
	base       *url.URL // nil: no base, absolute URLs only, anywhere
	baseOrigin string   // origin(base)
	basePath   string   // base's escaped path without its trailing slash: "" or "/v1"
	origins    map[string]bool
	anyOrigin  bool
}

func newTarget(base *url.URL, allowed []string) (*target, error) {
	t := &target{base: base}
	if base == nil {
		return t, nil
	}
	t.baseOrigin = origin(base)
	t.basePath = strings.TrimSuffix(base.EscapedPath(), "/")
	for _, o := range allowed {
		if o == "*" {
			t.anyOrigin = true
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("httpclient: WithAllowedOrigins: %q is not an origin (scheme://host[:port], or *)", o)
		}
		if t.origins == nil {
			t.origins = map[string]bool{}
		}
		t.origins[origin(u)] = true
	}
	return t, nil
}

// origin returns u's origin as RFC 6454 compares them: scheme, host and
// port, lowercased, the scheme's default port left out.
func origin(u *url.URL) string {
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}

func (t *target) allows(o string) bool { return t.anyOrigin || t.origins[o] }

// resolve parses raw, confines it to the base (see ErrOutsideBase), and
// appends params to its query. home reports that the request goes to the
// base's origin (or that there is no base), where the client's headers
// may go.
func (t *target) resolve(raw string, params Query) (u *url.URL, home bool, err error) {
	u, err = url.Parse(raw)
	if err != nil {
		if t.base != nil && hasBackslash(pathPart(raw)) {
			return nil, false, t.outside(raw, nil, "its path has a backslash")
		}
		return nil, false, err
	}
	switch {
	case t.base == nil:
		if u.Scheme == "" {
			return nil, false, &url.Error{Op: "parse", URL: raw, Err: errNoBase}
		}
		home = true
	case u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || strings.HasPrefix(raw, "//"):
		u, home, err = t.absolute(raw, u)
		if err != nil {
			return nil, false, err
		}
	default:
		p, err := cleanPath(u.EscapedPath())
		if err != nil {
			return nil, false, t.outside(raw, u, "%v", err)
		}
		j := *t.base
		setPath(&j, t.basePath+p)
		j.RawQuery = joinQuery(t.base.RawQuery, u.RawQuery)
		j.Fragment, j.RawFragment = u.Fragment, u.RawFragment
		u, home = &j, true
	}
	if params != nil {
		u.RawQuery = joinQuery(u.RawQuery, params.Encode())
	}
	return u, home, nil
}

// absolute checks a URL with a scheme or a host (given to a client with a
// base): on the base's origin it must stay under the base's path, cleaned
// of its dot segments as the server would; elsewhere its origin must be
// allowed, and it is used as it is.
func (t *target) absolute(raw string, u *url.URL) (*url.URL, bool, error) {
	shown := u.Redacted()
	if u.Scheme == "" { // "//host/path": the base's scheme
		u.Scheme = t.base.Scheme
	}
	o := origin(u)
	if u.Host == "" {
		return nil, false, t.outside(raw, u, "it names no host")
	}
	if o != t.baseOrigin {
		if !t.allows(o) {
			return nil, false, t.outside(shown, nil, "it names the origin %s (absolute URLs to other origins need WithAllowedOrigins)", o)
		}
		return u, false, nil
	}
	p, err := cleanPath(u.EscapedPath())
	switch {
	case u.User != nil:
		err = errors.New("it has user information")
	case err == nil && p != t.basePath && !strings.HasPrefix(p, t.basePath+"/"):
		err = fmt.Errorf("its path %s is not under the base's %s/", p, t.basePath)
	}
	if err != nil {
		if t.allows(o) { // the base's origin, allowed as a whole
			return u, true, nil
		}
		return nil, false, t.outside(shown, nil, "%v (absolute URLs elsewhere on the base's origin need WithAllowedOrigins)", err)
	}
	// The base's own spelling of its origin ("Home.example:" is
	// "home.example"), as for relative URLs.
	u.Scheme, u.Host = t.base.Scheme, t.base.Host
	setPath(u, p)
	return u, true, nil
}

func (t *target) outside(raw string, u *url.URL, format string, args ...any) error {
	if u != nil && u.User != nil {
		raw = u.Redacted()
	}
	return &url.Error{Op: "parse", URL: raw, Err: fmt.Errorf("%w %s: "+format,
		append([]any{ErrOutsideBase, t.baseOrigin + t.basePath + "/"}, args...)...)}
}

// setPath sets u's path from its escaped form, which is what the request
// will carry, as it is.
func setPath(u *url.URL, escaped string) {
	if escaped == "" {
		escaped = "/"
	}
	p, err := url.PathUnescape(escaped)
	if err != nil { // cleanPath only returns segments that url.Parse accepted
		p = escaped
	}
	u.Path, u.RawPath = p, escaped
}

// pathPart returns raw up to its query or fragment.
func pathPart(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i]
	}
	return raw
}

// maxDecodings is how many times a segment is percent-decoded in search of
// a dot segment or a backslash: servers and proxies that decode more than
// once exist; that many times, none.
const maxDecodings = 8

// hasBackslash reports whether s holds a backslash, literally or encoded
// (%5C, %255C, …): some servers take it for a slash.
func hasBackslash(s string) bool {
	for range maxDecodings {
		if strings.ContainsRune(s, '\\') {
			return true
		}
		d, err := url.PathUnescape(s)
		if err != nil || d == s {
			return false
		}
		s = d
	}
	return false
}

// cleanPath resolves the dot segments of an escaped path relative to its
// start, and returns it as "" or "/seg/…" (with a trailing slash when the
// path ends with one or with a dot segment); empty segments go. It fails
// when the path climbs above its start, or has a segment that some server
// could read as a dot segment or a separator where the client would not: a
// backslash in any encoding, or, once decoded more than once or split at
// an encoded slash, a "." or ".." (also with ";params", as Tomcat reads
// "..;"). A segment that decodes once to exactly "." or ".." is one, and
// is resolved, so that no server sees it.
func cleanPath(escaped string) (string, error) {
	segs := strings.Split(escaped, "/")
	out := make([]string, 0, len(segs))
	trailing := false
	for i, s := range segs {
		last := i == len(segs)-1
		if s == "" {
			trailing = trailing || (last && i > 0)
			continue
		}
		kind, err := segment(s)
		if err != nil {
			return "", err
		}
		switch kind {
		case dotSegment:
			trailing = last
		case dotDotSegment:
			if len(out) == 0 {
				return "", errors.New("its path climbs above the base's")
			}
			out = out[:len(out)-1]
			trailing = last
		default:
			out = append(out, s)
		}
	}
	var b strings.Builder
	for _, s := range out {
		b.WriteByte('/')
		b.WriteString(s)
	}
	if trailing {
		b.WriteByte('/')
	}
	return b.String(), nil
}

const (
	plainSegment = iota
	dotSegment
	dotDotSegment
)

// segment classifies one escaped path segment; see cleanPath.
func segment(s string) (int, error) {
	if hasBackslash(s) {
		return 0, errors.New("its path has a backslash")
	}
	switch s {
	case ".":
		return dotSegment, nil
	case "..":
		return dotDotSegment, nil
	}
	if dotty(s) {
		return 0, fmt.Errorf("its path has the segment %q", s)
	}
	cur := s
	for depth := 1; depth <= maxDecodings; depth++ {
		d, err := url.PathUnescape(cur)
		if err != nil || d == cur {
			break
		}
		cur = d
		if depth == 1 {
			switch cur {
			case ".":
				return dotSegment, nil
			case "..":
				return dotDotSegment, nil
			}
		}
		for part := range strings.SplitSeq(cur, "/") {
			if dotty(part) {
				return 0, fmt.Errorf("its path has the segment %q, which decodes to a dot segment", s)
			}
		}
	}
	return plainSegment, nil
}

// dotty reports whether a decoded path segment is "." or "..", perhaps
// followed by ";params".
func dotty(part string) bool {
	if i := strings.IndexByte(part, ';'); i >= 0 {
		part = part[:i]
	}
	return part == "." || part == ".."
}

// redirectOK applies the client's rules to a redirect that net/http is
// about to follow: once the chain has left the origin of the call's
// request, the request carries none of the headers the caller set (the
// client's, the call's, those of a request given to Do, and the Referer,
// which would tell the URL it came from), only User-Agent and the headers
// that describe the body, when a 307 or 308 sends it along. net/http
// itself drops only Authorization and Cookie, and only when the host name
// changes, not the port or the scheme.
func redirectOK(req *http.Request, via []*http.Request) {
	home := origin(via[0].URL)
	left := origin(req.URL) != home
	for _, r := range via[1:] {
		left = left || origin(r.URL) != home
	}
	if !left {
		return
	}
	for k := range req.Header {
		switch http.CanonicalHeaderKey(k) {
		case "User-Agent", "Content-Type", "Content-Encoding", "Content-Language":
		default:
			delete(req.Header, k)
		}
	}
}
