package httpclient

import (
	"context"
	"net/http"
	"slices"
	"time"
)

// Defaults of the options of New. Each option's doc comment repeats its
// default.
const (
	// DefaultTimeout bounds each attempt of a call (see WithTimeout).
	DefaultTimeout = 30 * time.Second
	// DefaultRetries is how many times a retryable call is tried again
	// (see WithRetries).
	DefaultRetries = 2
	// DefaultBackoff is the wait before the first retry (see WithBackoff).
	DefaultBackoff = 100 * time.Millisecond
	// DefaultMaxBackoff caps every wait between attempts, including one
	// asked for by Retry-After (see WithBackoff).
	DefaultMaxBackoff = 10 * time.Second
	// DefaultMaxResponseBytes is the response size limit: 32 MiB (see
	// WithMaxResponseBytes).
	DefaultMaxResponseBytes = 32 << 20
	// DefaultMaxConcurrentPerHost is how many requests may be in flight to
	// one host at once (see WithMaxConcurrentPerHost).
	DefaultMaxConcurrentPerHost = 1024
	// DefaultRedirects is how many redirects a call follows (see
	// WithRedirects).
	DefaultRedirects = 10
	// DefaultUserAgent is the User-Agent header sent unless WithUserAgent or
	// a header says otherwise.
	DefaultUserAgent = "gofutures-httpclient/1"
)

// Option configures a Client. Options are applied by New, in order; a later
// option overrides an earlier one of the same kind, except WithHeader and
// WithHooks, which accumulate.
type Option interface {
	applyClient(*config)
}

type optionFunc func(*config)

func (f optionFunc) applyClient(c *config) { f(c) }

// config is what the options of New set. A Client copies what it needs from
// it and never changes afterwards.
type config struct {
	baseURL    string
	baseURLSet bool
	origins    []string
	header     http.Header
	timeout    time.Duration
	retries    int
	backoff    time.Duration
	maxBackoff time.Duration
	maxBytes   int64
	perHost    int
	redirects  int
	transport  http.RoundTripper
	wraps      []func(http.RoundTripper) http.RoundTripper
	hooks      []Hooks
	sleep      func(context.Context, time.Duration) error // tests only
	noJitter   bool                                       // tests only: wait the full backoff
}

func defaultConfig() config {
	return config{
		header:     http.Header{"User-Agent": {DefaultUserAgent}},
		timeout:    DefaultTimeout,
		retries:    DefaultRetries,
		backoff:    DefaultBackoff,
		maxBackoff: DefaultMaxBackoff,
		maxBytes:   DefaultMaxResponseBytes,
		perHost:    DefaultMaxConcurrentPerHost,
		redirects:  DefaultRedirects,
	}
}

// WithBaseURL makes relative URLs given to the client's methods relative to
// base, which must be an absolute http or https URL, and confines the
// client's calls to it. A relative URL is joined to base's path, whether or
// not it starts with a slash: with base "https://api.example.com/v1", both
// "users/7" and "/users/7" mean "https://api.example.com/v1/users/7"; its
// query is kept, after base's.
//
// A URL can never take the call out of base, even when it comes from user
// input (a view's {path...}): the call fails at once, before sending, with
// an error that matches ErrOutsideBase, when a relative URL names a host
// ("//other.example/x"), when its path climbs above base's ("../admin";
// dot segments are resolved by the client, also when percent-encoded, and
// a dot segment that is encoded twice or behind an encoded slash, as
// "..%2Fadmin", is refused since servers disagree on it), when its path
// holds a backslash in any encoding, and when an absolute URL is outside
// base, unless WithAllowedOrigins allows its origin.
//
// Default: none; relative URLs then fail, and absolute URLs go anywhere.
// When base does not parse, every call of the client fails with the parse
// error.
func WithBaseURL(base string) Option {
	return optionFunc(func(c *config) { c.baseURL, c.baseURLSet = base, true })
}

// WithAllowedOrigins lets a client with a base URL (WithBaseURL) send
// absolute URLs to the given origins ("https://cdn.example.com", scheme,
// host and optional port), or to any origin with "*". Such URLs are used as
// they are; the client's headers (WithHeader) are not sent with them, only
// the call's own (Header). Naming base's own origin allows absolute URLs
// anywhere on it. It may be given more than once; the origins accumulate.
// Without a base URL it has no effect: every absolute URL is allowed.
// Default: none. When an origin does not parse, every call of the client
// fails with an error naming it.
func WithAllowedOrigins(origins ...string) Option {
	return optionFunc(func(c *config) { c.origins = append(c.origins, origins...) })
}

// WithHeader adds a header sent with every request to the client's origin,
// replacing an earlier WithHeader of the same key. A header given to a call
// (Header) replaces it for that call. With a base URL (WithBaseURL), the
// client's origin is base's: the header is not sent with absolute URLs to
// other origins (WithAllowedOrigins). Without one, it is the origin of the
// URL each call names. On a redirect to another origin, it is dropped, as is
// every header the caller set; see Header.
// Default: only User-Agent (see WithUserAgent), which goes everywhere.
func WithHeader(key, value string) Option {
	return optionFunc(func(c *config) { c.header.Set(key, value) })
}

// WithUserAgent sets the User-Agent header of every request. Default:
// DefaultUserAgent. An empty ua sends net/http's own ("Go-http-client/1.1").
func WithUserAgent(ua string) Option {
	return optionFunc(func(c *config) {
		if ua == "" {
			c.header.Del("User-Agent")
			return
		}
		c.header.Set("User-Agent", ua)
	})
}

// WithTimeout bounds each attempt of a call: waiting for the connection,
// sending the request, waiting for the response and reading its body. An
// attempt that times out fails with an error that matches
// context.DeadlineExceeded and is retried like a network error. The wait for
// a per-host slot and the waits between attempts are not counted; bound the
// whole call with the context given to the method. Default: DefaultTimeout
// (30 s); d <= 0 means no timeout.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithRetries sets how many times a retryable call is tried again after its
// first attempt fails with a network error, a timeout, or a 429, 502, 503 or
// 504 response. Calls with an idempotent method (GET, HEAD, OPTIONS, TRACE,
// PUT, DELETE) or an Idempotency-Key header are retryable; others only when
// made with Retry(true). Default: DefaultRetries (2, so at most 3 attempts);
// n <= 0 disables retries.
func WithRetries(n int) Option {
	return optionFunc(func(c *config) { c.retries = max(n, 0) })
}

// WithBackoff sets the waits between attempts. The wait before retry k
// (k = 1, 2, …) is drawn uniformly from [d/2, d], where d is
// initial·2^(k-1) capped at maxWait. A response with a Retry-After header
// (seconds or an HTTP date) is retried after exactly that long instead; when
// Retry-After asks for more than maxWait (a number too large to represent,
// such as 99999999999999999999, counts as more), the call is not retried and
// resolves with that response, because retrying sooner than asked would only
// earn another refusal. Neither wait is taken when the call's context would
// end first: the call resolves at once with what it has.
//
// Defaults: DefaultBackoff (100 ms) and DefaultMaxBackoff (10 s).
func WithBackoff(initial, maxWait time.Duration) Option {
	return optionFunc(func(c *config) {
		c.backoff = max(initial, 0)
		c.maxBackoff = max(maxWait, c.backoff)
	})
}

// WithMaxResponseBytes limits the size of a response body. The client reads
// at most n+1 bytes; a response whose Content-Length or body is larger fails
// with an error that matches ErrResponseTooLarge (errors.Is) and is not
// retried. The limit applies to the decoded body when the transport
// decompresses it. Default: DefaultMaxResponseBytes (32 MiB); n <= 0 means
// no limit.
func WithMaxResponseBytes(n int64) Option {
	return optionFunc(func(c *config) { c.maxBytes = n })
}

// WithMaxConcurrentPerHost limits the requests in flight to one host (scheme
// and host:port of the URL the call was made with; redirects to other hosts
// count against the original one). A call waits for a free slot before each
// attempt, and gives up when its context ends. The limit counts requests, not
// connections: over HTTP/2 many requests share a connection.
//
// It also sizes the tuned transport's idle pool per host, so that every
// connection a burst needed can be kept and reused by the next burst instead
// of being closed and dialled again. With a transport from WithTransport, only
// the limit applies.
//
// Default: DefaultMaxConcurrentPerHost (1024), which lets a fan-out of 1000
// requests to one host run at once while keeping a runaway loop from opening
// tens of thousands of sockets; n <= 0 means no limit (and an idle pool of
// 1024 per host).
func WithMaxConcurrentPerHost(n int) Option {
	return optionFunc(func(c *config) { c.perHost = max(n, 0) })
}

// WithRedirects sets how many redirects a call follows. Following more fails
// with an error that matches ErrTooManyRedirects. With n <= 0, redirects are
// not followed: the call resolves with the 3xx response. Default:
// DefaultRedirects (10), as net/http.
func WithRedirects(n int) Option {
	return optionFunc(func(c *config) { c.redirects = max(n, 0) })
}

// WithTransport makes the client send requests with rt, for tests or to wrap
// the transport (for tracing, say: wrap NewTransport()). The client never
// changes rt. Default: a transport from NewTransport, tuned for fan-out.
func WithTransport(rt http.RoundTripper) Option {
	return optionFunc(func(c *config) { c.transport = rt })
}

// WithTransportWrapper wraps the client's transport, the tuned one or
// WithTransport's, once, when New makes the client: for what must see
// every attempt on the wire, as a tracing transport that starts a client
// span and sends the trace context along (runtime/telemetry's
// HTTPClientOption uses it, so that this package needs no tracing
// library). It may be given more than once; the last wrapper given is the
// outermost. Default: none.
func WithTransportWrapper(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return optionFunc(func(c *config) { c.wraps = append(c.wraps, wrap) })
}

// WithHooks adds hooks called around every attempt of every call, for logging,
// metrics and tracing. It may be given more than once; hooks run in the order
// given. Default: none.
func WithHooks(h Hooks) Option {
	return optionFunc(func(c *config) { c.hooks = append(c.hooks, h) })
}

// Hooks are told about each attempt of a call. They run in the call's
// goroutine, so they must be quick; they must be safe for concurrent use,
// since calls run concurrently. Nil fields are skipped.
type Hooks struct {
	// BeforeRequest is called before each attempt with the request about to
	// be sent. It may set headers on req (every attempt has its own copy of
	// the headers when hooks are present), for example to propagate a trace.
	BeforeRequest func(req *http.Request, a Attempt)
	// AfterResponse is called after each attempt with its response, or with
	// a nil response and the error when the attempt failed. resp.Body has
	// been read in full; the hook must not modify resp. a.Retrying says
	// whether another attempt follows, after a.Wait.
	AfterResponse func(req *http.Request, resp *Response, err error, a Attempt)
}

// Attempt describes one attempt of a call, for Hooks.
type Attempt struct {
	// Number is 1 for the first attempt, 2 for the first retry, and so on.
	Number int
	// Max is the most attempts the call may make: 1 when it may not be
	// retried, otherwise the client's retries + 1.
	Max int
	// Elapsed is how long the attempt took, from sending to having read the
	// body (AfterResponse only).
	Elapsed time.Duration
	// Retrying reports that another attempt follows (AfterResponse only).
	Retrying bool
	// Wait is how long the call waits before that attempt (AfterResponse
	// only, when Retrying).
	Wait time.Duration
}

// CallOption configures one call of a method, over the client's options. It
// is a separate type from Option because a call can change only what is
// local to it; the connection pool, limits and hooks belong to the client.
type CallOption interface {
	applyCall(*callConfig)
}

type callOptionFunc func(*callConfig)

func (f callOptionFunc) applyCall(c *callConfig) { f(c) }

type callConfig struct {
	header     http.Header
	timeout    time.Duration
	timeoutSet bool
	retry      int8 // 0: by method, 1: yes, -1: no
}

// Header sets a header of this call's request, replacing the client's header
// of the same key (WithHeader, WithUserAgent) and the Content-Type of the
// body. It goes with the call's URL, whatever its origin. When a redirect
// takes the call to another origin than the one it was made to (scheme,
// host or port), the redirected request carries none of the headers the
// caller set, the client's (WithHeader), the call's, a Do request's or a
// BeforeRequest hook's, nor net/http's Referer: only User-Agent and, when a
// 307 or 308 sends the body along, Content-Type, Content-Encoding and
// Content-Language. They stay dropped if the chain comes back. A redirect
// within the origin keeps them all.
func Header(key, value string) CallOption {
	return callOptionFunc(func(c *callConfig) {
		if c.header == nil {
			c.header = make(http.Header, 1)
		}
		c.header.Set(key, value)
	})
}

// Timeout bounds each attempt of this call instead of the client's timeout
// (see WithTimeout); d <= 0 means no timeout.
func Timeout(d time.Duration) CallOption {
	return callOptionFunc(func(c *callConfig) { c.timeout, c.timeoutSet = d, true })
}

// Retry says whether this call may be retried (as often as WithRetries
// allows), whatever its method: Retry(true) for a POST or PATCH the server
// handles idempotently, Retry(false) for a GET that must be tried only once.
// A request from Do whose body cannot be replayed (no GetBody) is never
// retried.
func Retry(ok bool) CallOption {
	return callOptionFunc(func(c *callConfig) {
		if ok {
			c.retry = 1
		} else {
			c.retry = -1
		}
	})
}

// clipHeader makes every value slice of h full, so that an append to a copy
// that shares them (http.Header.Add) reallocates instead of writing into the
// shared array.
func clipHeader(h http.Header) {
	for k, v := range h {
		h[k] = slices.Clip(v)
	}
}
