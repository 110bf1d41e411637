package httpclient_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gofutures/futures/runtime/httpclient"
)

// fuzzBases are the base URLs FuzzJoinBase confines URLs to.
var fuzzBases = []string{
	"http://home.example:8080/api/v1/?key=k",
	"https://home.example",
	"http://[::1]:8080/a%2Fb/c/",
}

// FuzzJoinBase: whatever URL a client with a base URL is given, either the
// call fails, or the request goes to the base's origin, under the base's
// path, with a path that no server can read as leaving it: no dot segment
// and no backslash however often it is decoded, nor behind an encoded
// slash. Checked on the URL as the client sends it and as a server parses
// it back.
func FuzzJoinBase(f *testing.F) {
	for _, s := range []string{
		"users/7", "/users/7", "", "/", "a/../b", "./x/.", "a%2Fb", "x?next=//evil/../../admin",
		"//other.example/steal", "///other.example", "http://other.example/", "HTTP://home.example:8080/api/v1/x",
		"//home.example:8080/api/v1/x", "//home.example:8080/api/v1/../../admin", "http://home.example:8080/admin",
		"../admin", "a/../../admin", "..", "%2e%2e/admin", ".%2E/x", "..%2Fadmin", "%252e%252e/admin",
		"..;/admin", "%2e%2e;x/admin", `\\other.example\x`, `..\admin`, "%5c%5cother", "..%255cadmin",
		"mailto:x@y", "//user:pass@home.example:8080/api/v1/x", "%zz", "a/%2e%2e%2f..", "a/b/../../..",
	} {
		f.Add(s)
	}
	clients := make([]*httpclient.Client, len(fuzzBases))
	bases := make([]*url.URL, len(fuzzBases))
	for i, b := range fuzzBases {
		clients[i] = httpclient.New(httpclient.WithBaseURL(b))
		bases[i], _ = url.Parse(b)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for i, c := range clients {
			u, home, err := httpclient.ResolveURL(c, raw)
			if err != nil {
				continue
			}
			base := bases[i]
			prefix := strings.TrimSuffix(base.EscapedPath(), "/")
			check := func(how string, u *url.URL) {
				t.Helper()
				if u.Scheme != base.Scheme || u.Host != base.Host || u.User != nil || u.Opaque != "" {
					t.Fatalf("base %s, %q: %s goes to %s://%s (user %v, opaque %q)", base, raw, how, u.Scheme, u.Host, u.User, u.Opaque)
				}
				p := u.EscapedPath()
				if p != prefix && !strings.HasPrefix(p, prefix+"/") {
					t.Fatalf("base %s, %q: %s has the path %q, not under %q", base, raw, how, p, prefix+"/")
				}
				for seg := range strings.SplitSeq(strings.TrimPrefix(p, prefix), "/") {
					if reads := dotOrBackslash(seg); reads != "" {
						t.Fatalf("base %s, %q: %s has the segment %q, which a server may read as %q", base, raw, how, seg, reads)
					}
				}
			}
			if !home {
				t.Fatalf("base %s, %q: resolved to %v without the client's headers, but no other origin is allowed", base, raw, u)
			}
			check("the URL", u)
			back, err := url.Parse(u.String())
			if err != nil {
				t.Fatalf("base %s, %q: %v does not parse back: %v", base, raw, u, err)
			}
			check("the URL parsed back", back)
			target, err := url.ParseRequestURI(u.RequestURI())
			if err != nil {
				t.Fatalf("base %s, %q: request target %q does not parse: %v", base, raw, u.RequestURI(), err)
			}
			target.Scheme, target.Host = base.Scheme, base.Host
			check("the request target", target)
		}
	})
}

// dotOrBackslash decodes seg again and again and returns what a server
// decoding it that often might take for a dot segment or a backslash
// ("" when none): a part between slashes (encoded ones too) that is "."
// or "..", perhaps with ";params", or a backslash.
func dotOrBackslash(seg string) string {
	for range 12 {
		if strings.Contains(seg, `\`) {
			return seg
		}
		for part := range strings.SplitSeq(seg, "/") {
			if i := strings.IndexByte(part, ';'); i >= 0 {
				part = part[:i]
			}
			if part == "." || part == ".." {
				return seg
			}
		}
		d, err := url.PathUnescape(seg)
		if err != nil || d == seg {
			return ""
		}
		seg = d
	}
	return seg
}
