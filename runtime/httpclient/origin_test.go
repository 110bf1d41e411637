package httpclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gofutures/futures/runtime/httpclient"
)

// The origin tests attack a client with a base URL and credentials, as a
// view that passes a path from its request ({path...}) to the client would
// let anyone do: a second loopback server stands for the other host and
// records whatever reaches it.

// seen is a request a server received.
type seen struct {
	Method string
	Path   string // as sent, escaped
	Header http.Header
	Body   string
}

// origin is a loopback server that records every request and answers with
// handle, or 200 "ok" when handle is nil or leaves the response alone.
type origin struct {
	*httptest.Server
	host string // host:port

	mu   sync.Mutex
	reqs []seen
}

func newOrigin(t *testing.T, handle func(w http.ResponseWriter, r *http.Request) bool) *origin {
	t.Helper()
	o := &origin{}
	o.Server = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		o.mu.Lock()
		o.reqs = append(o.reqs, seen{r.Method, r.URL.EscapedPath(), r.Header.Clone(), string(b)})
		o.mu.Unlock()
		if handle == nil || !handle(w, r) {
			io.WriteString(w, "ok")
		}
	})
	o.host = strings.TrimPrefix(o.URL, "http://")
	return o
}

func (o *origin) requests() []seen {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]seen(nil), o.reqs...)
}

func (o *origin) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reqs = nil
}

// secrets are the client's headers (WithHeader) and the call's (Header) in
// the origin tests: none may reach another origin.
var secrets = map[string]string{
	"Authorization": "Bearer home-secret",
	"Cookie":        "session=home",
	"X-Api-Key":     "home-key",
}

const callSecret = "X-Call-Token"

func secretClient(t *testing.T, base string, opts ...httpclient.Option) *httpclient.Client {
	t.Helper()
	for k, v := range secrets {
		opts = append(opts, httpclient.WithHeader(k, v))
	}
	return newClient(t, append([]httpclient.Option{httpclient.WithBaseURL(base)}, opts...)...)
}

// leaked returns the secret headers h carries.
func leaked(h http.Header) []string {
	var got []string
	for k := range secrets {
		if h.Get(k) != "" {
			got = append(got, k)
		}
	}
	for _, k := range []string{callSecret, "Referer"} {
		if h.Get(k) != "" {
			got = append(got, k)
		}
	}
	return got
}

// TestBaseURLConfinement: with WithBaseURL("http://home/api/"), a URL that
// would change the scheme or host, or leave /api/ (dot segments, encoded
// or not, encoded slashes, backslashes), fails at once with an error that
// matches ErrOutsideBase, and no request leaves; URLs inside the base work,
// with the client's headers.
func TestBaseURLConfinement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	home := newOrigin(t, nil)
	other := newOrigin(t, nil)
	c := secretClient(t, home.URL+"/api/")

	attacks := []string{
		"//" + other.host + "/steal",
		"///" + other.host + "/steal",
		"http://" + other.host + "/steal",
		"HTTP://" + other.host + "/steal",
		"https://" + other.host + "/steal",
		"http:" + other.host + "/steal",
		"//user:pass@" + other.host + "/steal",
		home.URL + "/admin",         // the base's origin, outside its path
		"//" + home.host + "/admin", // the same, scheme-relative
		home.URL + "/api/../admin",  // inside by prefix, outside once cleaned
		"../admin",
		"../../admin",
		"a/../../admin",
		"./../admin",
		"/../admin",
		"..",
		"%2e%2e/admin",
		"%2E%2E/admin",
		".%2e/admin",
		"%2e./admin",
		"..%2Fadmin",
		"..%2fadmin",
		"a/..%2F..%2Fadmin",
		"%2e%2e%2fadmin",
		"%252e%252e/admin", // decoded twice by some proxies
		"%25252e%25252e/admin",
		`\\` + other.host + `\steal`,
		`/\` + other.host + `/steal`,
		`..\admin`,
		`a\..\..\admin`,
		"%5c%5c" + other.host + "%5csteal",
		"..%5cadmin",
		"..%255cadmin",
		"mailto:root@home",
		"javascript:alert(1)",
	}
	for _, a := range attacks {
		f := c.Get(ctx, a, nil)
		r, ok := f.Peek()
		switch {
		case !ok:
			_, err := await(t, f)
			t.Errorf("Get(%q): not refused at once (then: %v)", a, err)
		case r.Err == nil:
			t.Errorf("Get(%q): sent to %v, want ErrOutsideBase", a, r.Value.URL)
		case !errors.Is(r.Err, httpclient.ErrOutsideBase):
			t.Errorf("Get(%q): %v, want ErrOutsideBase", a, r.Err)
		}
	}
	for _, s := range other.requests() {
		t.Errorf("the other host received %s %s with %v", s.Method, s.Path, leaked(s.Header))
	}
	for _, s := range home.requests() {
		t.Errorf("the home host received %s %s, outside /api/", s.Method, s.Path)
	}
	// The error says what is wrong, for the log of the view that passed
	// the path on.
	_, err := await(t, c.Get(ctx, "//"+other.host+"/steal", nil))
	var ue *url.Error
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "WithAllowedOrigins") || strings.Contains(err.Error(), "pass@") {
		t.Errorf("error %q: want a *url.Error naming the option that allows other origins", err)
	}
	if _, err := await(t, c.Get(ctx, "//user:pass@"+other.host+"/steal", nil)); err == nil || strings.Contains(err.Error(), "pass@") {
		t.Errorf("error %q shows the password", err)
	}

	// Do refuses the same.
	for _, a := range []string{"//" + other.host + "/steal", other.URL + "/steal", "../admin"} {
		req, _ := http.NewRequest(http.MethodGet, a, nil)
		if _, err := await(t, c.Do(req)); !errors.Is(err, httpclient.ErrOutsideBase) {
			t.Errorf("Do(%q): %v, want ErrOutsideBase", a, err)
		}
	}

	inside := []struct{ url, path string }{
		{"users/7", "/api/users/7"},
		{"/users/7", "/api/users/7"},
		{"", "/api"},
		{"/", "/api/"},
		{"users/", "/api/users/"},
		{"a/../b", "/api/b"},
		{"a/%2e%2e/b", "/api/b"},
		{"./x/.", "/api/x/"},
		{"a//b", "/api/a/b"},
		{"a%2Fb", "/api/a%2Fb"},
		{"..a/b..", "/api/..a/b.."},
		{"x?next=//evil/../../admin", "/api/x"},
		{home.URL + "/api/abs", "/api/abs"},
		{"//" + home.host + "/api/abs", "/api/abs"},
	}
	for _, in := range inside {
		home.reset()
		resp, err := await(t, c.Get(ctx, in.url, nil))
		reqs := home.requests()
		if err != nil || len(reqs) != 1 {
			t.Errorf("Get(%q): %v, %d requests at home", in.url, err, len(reqs))
			continue
		}
		if reqs[0].Path != in.path || resp.URL.EscapedPath() != in.path {
			t.Errorf("Get(%q): home saw %q (response URL %v), want %q", in.url, reqs[0].Path, resp.URL, in.path)
		}
		if len(leaked(reqs[0].Header)) != len(secrets) {
			t.Errorf("Get(%q): home received %v of the client's headers, want all", in.url, leaked(reqs[0].Header))
		}
	}
	if n := len(other.requests()); n != 0 {
		t.Errorf("the other host received %d requests", n)
	}
}

// TestAllowedOrigins: WithAllowedOrigins lets absolute URLs reach the
// origins it names, but the client's own headers stay with the base's
// origin; a call's headers go where the call goes.
func TestAllowedOrigins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	home := newOrigin(t, nil)
	other := newOrigin(t, nil)
	third := newOrigin(t, nil)
	c := secretClient(t, home.URL+"/api/", httpclient.WithAllowedOrigins(other.URL))
	for _, u := range []string{other.URL + "/anything/../at/all", "//" + other.host + "/x"} {
		if _, err := await(t, c.Get(ctx, u, nil, httpclient.Header(callSecret, "call"))); err != nil {
			t.Errorf("Get(%q) to an allowed origin: %v", u, err)
		}
	}
	reqs := other.requests()
	if len(reqs) != 2 {
		t.Fatalf("the allowed origin received %d requests, want 2", len(reqs))
	}
	for _, s := range reqs {
		if got := leaked(s.Header); len(got) != 1 || got[0] != callSecret {
			t.Errorf("the allowed origin received %v, want only the call's %s", got, callSecret)
		}
		if s.Header.Get("User-Agent") != httpclient.DefaultUserAgent {
			t.Errorf("User-Agent %q, want the client's", s.Header.Get("User-Agent"))
		}
	}
	if _, err := await(t, c.Get(ctx, third.URL+"/x", nil)); !errors.Is(err, httpclient.ErrOutsideBase) {
		t.Errorf("an origin not allowed: %v", err)
	}
	// The scheme is part of the origin.
	if _, err := await(t, c.Get(ctx, "https://"+other.host+"/x", nil)); !errors.Is(err, httpclient.ErrOutsideBase) {
		t.Errorf("https on an origin allowed for http: %v", err)
	}
	any := secretClient(t, home.URL+"/api/", httpclient.WithAllowedOrigins("*"))
	if _, err := await(t, any.Get(ctx, third.URL+"/x", nil)); err != nil {
		t.Errorf("WithAllowedOrigins(\"*\"): %v", err)
	}
	if s := third.requests(); len(s) != 1 || len(leaked(s[0].Header)) != 0 {
		t.Errorf("WithAllowedOrigins(\"*\"): %d requests, the last with %v", len(s), s)
	}
	// Relative URLs stay confined whatever the allowed origins.
	if _, err := await(t, any.Get(ctx, "../admin", nil)); !errors.Is(err, httpclient.ErrOutsideBase) {
		t.Errorf("../admin with any origin allowed: %v", err)
	}
	// A malformed origin is the client's error, as a bad base is.
	bad := newClient(t, httpclient.WithBaseURL(home.URL), httpclient.WithAllowedOrigins("not an origin"))
	if _, err := await(t, bad.Get(ctx, "x", nil)); err == nil || !strings.Contains(err.Error(), "WithAllowedOrigins") {
		t.Errorf("a malformed allowed origin: %v", err)
	}
}

// TestRedirectToOtherOrigin: a redirect (302, 307, 308) from the base's
// origin to another drops every header the client or the call set (and
// the Referer, which would tell the base URL), keeps User-Agent and, when
// the body goes along, its Content-Type; once dropped, they stay dropped
// should the chain come back. A redirect within the origin keeps them.
func TestRedirectToOtherOrigin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var home, other *origin
	home = newOrigin(t, func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/api/302":
			http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
		case "/api/307":
			http.Redirect(w, r, other.URL+"/landing", http.StatusTemporaryRedirect)
		case "/api/308":
			http.Redirect(w, r, other.URL+"/landing", http.StatusPermanentRedirect)
		case "/api/bounce":
			http.Redirect(w, r, other.URL+"/back", http.StatusFound)
		case "/api/local":
			http.Redirect(w, r, "/api/there", http.StatusFound)
		default:
			return false
		}
		return true
	})
	other = newOrigin(t, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/back" {
			http.Redirect(w, r, home.URL+"/api/returned", http.StatusFound)
			return true
		}
		return false
	})
	c := secretClient(t, home.URL+"/api/?key=base-query")
	call := httpclient.Header(callSecret, "call")

	for _, code := range []string{"302", "307", "308"} {
		other.reset()
		resp, err := await(t, c.Post(ctx, code, httpclient.Body{ContentType: "text/plain", Data: []byte("payload")}, nil, call))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", code, resp, err)
		}
		reqs := other.requests()
		if len(reqs) != 1 {
			t.Fatalf("%s: the other origin received %d requests", code, len(reqs))
		}
		s := reqs[0]
		t.Logf("%s: the other origin received %s %s with headers %v", code, s.Method, s.Path, s.Header)
		if got := leaked(s.Header); len(got) > 0 {
			t.Errorf("%s: the other origin received %v", code, got)
		}
		if s.Header.Get("User-Agent") != httpclient.DefaultUserAgent {
			t.Errorf("%s: User-Agent %q, want the client's", code, s.Header.Get("User-Agent"))
		}
		if code != "302" && (s.Body != "payload" || s.Header.Get("Content-Type") != "text/plain") {
			t.Errorf("%s: body %q of type %q, want the payload, typed", code, s.Body, s.Header.Get("Content-Type"))
		}
	}

	// A request given to Do loses its own headers the same way.
	other.reset()
	req, _ := http.NewRequest(http.MethodGet, "302", nil)
	req.Header.Set(callSecret, "do")
	if _, err := await(t, c.Do(req)); err != nil {
		t.Fatal(err)
	}
	if reqs := other.requests(); len(reqs) != 1 || len(leaked(reqs[0].Header)) > 0 {
		t.Errorf("Do: the other origin received %+v", reqs)
	}

	home.reset()
	if _, err := await(t, c.Get(ctx, "bounce", nil, call)); err != nil {
		t.Fatal(err)
	}
	if reqs := home.requests(); len(reqs) != 2 || reqs[1].Path != "/api/returned" || len(leaked(reqs[1].Header)) > 0 {
		t.Errorf("home → other → home: home saw %+v; want the return without the headers", reqs)
	}

	home.reset()
	if _, err := await(t, c.Get(ctx, "local", nil, call)); err != nil {
		t.Fatal(err)
	}
	if reqs := home.requests(); len(reqs) != 2 || len(leaked(reqs[1].Header)) != len(secrets)+2 {
		t.Errorf("a redirect within the origin: home saw %+v; want every header kept", reqs)
	}

	// Without a base URL, the client's headers go to the URL each call
	// names, and are dropped the same way on a redirect elsewhere.
	other.reset()
	bare := newClient(t, httpclient.WithHeader("Authorization", "Bearer home-secret"))
	if _, err := await(t, bare.Get(ctx, home.URL+"/api/302", nil)); err != nil {
		t.Fatal(err)
	}
	if reqs := other.requests(); len(reqs) != 1 || len(leaked(reqs[0].Header)) > 0 {
		t.Errorf("a client without a base: the other origin received %+v", reqs)
	}
}
