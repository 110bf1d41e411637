package httpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofutures/futures/runtime/future"
)

// Client sends HTTP requests and returns their responses as futures. Make one
// with New and share it: it holds the connection pool. A Client is configured
// once, by New, and never changes afterwards, so it is safe for concurrent use
// by any number of goroutines. The zero Client is not usable.
type Client struct {
	target    *target
	baseErr   error       // WithBaseURL or WithAllowedOrigins did not parse
	header    http.Header // read-only; value slices clipped (see clipHeader)
	timeout   time.Duration
	retries   int
	backoff   time.Duration
	maxWait   time.Duration
	maxBytes  int64
	limiter   *hostLimiter // nil: no per-host limit
	hc        *http.Client
	hooks     []Hooks
	hasBefore bool
	hasAfter  bool
	anyScheme bool // a transport from WithTransport may know more than http and https
	sleep     func(context.Context, time.Duration) error
	noJitter  bool
}

// New returns a client configured by opts; see each option for its default.
// New starts no goroutine and opens no connection.
func New(opts ...Option) *Client {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.applyClient(&cfg)
		}
	}
	clipHeader(cfg.header)
	c := &Client{
		header:    cfg.header,
		timeout:   cfg.timeout,
		retries:   cfg.retries,
		backoff:   cfg.backoff,
		maxWait:   cfg.maxBackoff,
		maxBytes:  cfg.maxBytes,
		hooks:     cfg.hooks,
		anyScheme: cfg.transport != nil,
		sleep:     cfg.sleep,
		noJitter:  cfg.noJitter,
	}
	if c.sleep == nil {
		c.sleep = sleep
	}
	for _, h := range c.hooks {
		c.hasBefore = c.hasBefore || h.BeforeRequest != nil
		c.hasAfter = c.hasAfter || h.AfterResponse != nil
	}
	var base *url.URL
	if cfg.baseURLSet {
		base, c.baseErr = parseBase(cfg.baseURL)
	}
	if c.baseErr == nil {
		c.target, c.baseErr = newTarget(base, cfg.origins)
	}
	if cfg.perHost > 0 {
		c.limiter = newHostLimiter(cfg.perHost)
	}
	rt := cfg.transport
	if rt == nil {
		idle := cfg.perHost
		if idle <= 0 {
			idle = DefaultMaxConcurrentPerHost
		}
		rt = newTransport(idle)
	}
	for _, wrap := range cfg.wraps {
		if wrap != nil {
			rt = wrap(rt)
		}
	}
	redirects := cfg.redirects
	c.hc = &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if redirects == 0 {
				return http.ErrUseLastResponse
			}
			if len(via) > redirects {
				return fmt.Errorf("%w: stopped after %d", ErrTooManyRedirects, redirects)
			}
			redirectOK(req, via)
			return nil
		},
	}
	return c
}

// CloseIdleConnections closes the connections of the client's transport that
// are idle, if the transport can (see http.Client.CloseIdleConnections). It
// does not interrupt requests in flight. Call it when a client is no longer
// needed, so that the goroutines serving its kept-alive connections end.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Get starts a GET of url with params appended to its query (see Query) and
// returns the future of its response. It never blocks: the request runs in
// its own goroutine, which ends when the future resolves. Await the future
// for the synchronous form; give several to future.All to fan out.
//
// The future fails when no response arrives: a bad URL (at once), a network
// error or timeout on the last attempt, a body over the size limit, too many
// redirects, or the end of ctx, which aborts the request, the wait for a slot
// and the waits between retries at once. An error status (4xx, 5xx) is not a
// failure: the future resolves with the response, and Response.Err reports
// the status. A 429, 502, 503 or 504 response is retried first (see
// WithRetries).
func (c *Client) Get(ctx context.Context, url string, params Query, opts ...CallOption) *future.Future[*Response] {
	return c.send(ctx, http.MethodGet, url, nil, params, opts)
}

// Head starts a HEAD request; see Get. The response has no body.
func (c *Client) Head(ctx context.Context, url string, params Query, opts ...CallOption) *future.Future[*Response] {
	return c.send(ctx, http.MethodHead, url, nil, params, opts)
}

// Delete starts a DELETE request; see Get. DELETE is idempotent, so it is
// retried like GET.
func (c *Client) Delete(ctx context.Context, url string, params Query, opts ...CallOption) *future.Future[*Response] {
	return c.send(ctx, http.MethodDelete, url, nil, params, opts)
}

// Post starts a POST of body; see Get for the rest. A POST is not retried
// unless made with Retry(true) or an Idempotency-Key header, since the server
// may have acted on an attempt that failed.
func (c *Client) Post(ctx context.Context, url string, body Body, params Query, opts ...CallOption) *future.Future[*Response] {
	return c.send(ctx, http.MethodPost, url, &body, params, opts)
}

// Put starts a PUT of body; see Get. PUT is idempotent, so it is retried
// like GET, with the same bytes.
func (c *Client) Put(ctx context.Context, url string, body Body, params Query, opts ...CallOption) *future.Future[*Response] {
	return c.send(ctx, http.MethodPut, url, &body, params, opts)
}

// Patch starts a PATCH of body; see Get. Like POST, it is retried only when
// made with Retry(true) or an Idempotency-Key header.
func (c *Client) Patch(ctx context.Context, url string, body Body, params Query, opts ...CallOption) *future.Future[*Response] {
	return c.send(ctx, http.MethodPatch, url, &body, params, opts)
}

// PostJSON starts a POST of v encoded with encoding/json, with content type
// application/json; see Post. v is encoded before PostJSON returns, so the
// caller may change it afterwards; when it cannot be encoded the future has
// already failed.
func (c *Client) PostJSON(ctx context.Context, url string, v any, params Query, opts ...CallOption) *future.Future[*Response] {
	return c.sendJSON(ctx, http.MethodPost, url, v, params, opts)
}

// PutJSON starts a PUT of v encoded as JSON; see PostJSON and Put.
func (c *Client) PutJSON(ctx context.Context, url string, v any, params Query, opts ...CallOption) *future.Future[*Response] {
	return c.sendJSON(ctx, http.MethodPut, url, v, params, opts)
}

// PatchJSON starts a PATCH of v encoded as JSON; see PostJSON and Patch.
func (c *Client) PatchJSON(ctx context.Context, url string, v any, params Query, opts ...CallOption) *future.Future[*Response] {
	return c.sendJSON(ctx, http.MethodPatch, url, v, params, opts)
}

// Do sends req, for what the other methods cannot express (another method,
// a streaming body), and returns the future of its response; see Get. The
// call's context is req.Context(). The client confines req.URL to its base
// URL as it does the other methods' URLs (see WithBaseURL) and adds its
// headers where req has none (see WithHeader); it does not modify req.
//
// A request with a body is retried only when it has GetBody (as
// http.NewRequest sets for bytes and strings readers), so that each attempt
// sends the same bytes. req.Body is closed by the time the future resolves,
// even on errors, as with http.Client.Do.
func (c *Client) Do(req *http.Request, opts ...CallOption) *future.Future[*Response] {
	if req == nil || req.URL == nil {
		return future.Failed[*Response](errors.New("httpclient: Do: nil request or URL"))
	}
	if c.baseErr != nil {
		closeBody(req.Body)
		return future.Failed[*Response](c.baseErr)
	}
	ctx := req.Context()
	r := req.Clone(context.Background())
	home := true
	if r.URL.Scheme == "" || c.target.base != nil {
		u, h, err := c.target.resolve(r.URL.String(), nil)
		if err != nil {
			closeBody(req.Body)
			return future.Failed[*Response](err)
		}
		r.URL, home = u, h
	}
	if err := c.checkScheme(r.URL); err != nil {
		closeBody(req.Body)
		return future.Failed[*Response](err)
	}
	if r.Header == nil {
		r.Header = make(http.Header, len(c.header))
	}
	for k, v := range c.header {
		if _, ok := r.Header[k]; !ok && (home || k == "User-Agent") {
			r.Header[k] = v
		}
	}
	if r.Body == nil {
		r.GetBody = nil
	}
	return c.start(ctx, r, callOptions(opts), true)
}

func closeBody(b io.ReadCloser) {
	if b != nil {
		b.Close()
	}
}

func (c *Client) sendJSON(ctx context.Context, method, url string, v any, params Query, opts []CallOption) *future.Future[*Response] {
	data, err := json.Marshal(v)
	if err != nil {
		return future.Failed[*Response](fmt.Errorf("httpclient: encoding the JSON body of %s %s: %w", method, url, err))
	}
	return c.send(ctx, method, url, &Body{ContentType: "application/json", Data: data}, params, opts)
}

func (c *Client) checkScheme(u *url.URL) error {
	if c.anyScheme || u.Scheme == "http" || u.Scheme == "https" {
		return nil
	}
	return &url.Error{Op: "parse", URL: u.Redacted(), Err: fmt.Errorf("unsupported protocol scheme %q", u.Scheme)}
}

// send builds the request in the caller's goroutine, so that everything
// taken from the arguments but the body's bytes is copied before the method
// returns, and so that a bad URL fails without starting a goroutine.
func (c *Client) send(ctx context.Context, method, rawURL string, body *Body, params Query, opts []CallOption) *future.Future[*Response] {
	req, err := c.newRequest(method, rawURL, body, params)
	if err != nil {
		return future.Failed[*Response](err)
	}
	return c.start(ctx, req, callOptions(opts), false)
}

// newRequest builds the request of a call: the URL resolved against the
// base and confined to it, the client's headers where they may go, and
// the body.
func (c *Client) newRequest(method, rawURL string, body *Body, params Query) (*http.Request, error) {
	if c.baseErr != nil {
		return nil, c.baseErr
	}
	u, home, err := c.target.resolve(rawURL, params)
	if err != nil {
		return nil, err
	}
	if err := c.checkScheme(u); err != nil {
		return nil, err
	}
	// What http.NewRequest does, without parsing the URL a second time.
	req := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, len(c.header)+1),
		Host:       strings.TrimSuffix(u.Host, ":"),
	}
	for k, v := range c.header {
		if home || k == "User-Agent" { // the client's headers are for its base's origin
			req.Header[k] = v
		}
	}
	if body != nil {
		data := body.Data
		req.ContentLength = int64(len(data))
		if len(data) == 0 {
			req.Body = http.NoBody
			req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		} else {
			req.Body = io.NopCloser(bytes.NewReader(data))
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		}
		if body.ContentType != "" {
			req.Header["Content-Type"] = []string{body.ContentType}
		}
	}
	return req, nil
}

func callOptions(opts []CallOption) *callConfig {
	if len(opts) == 0 {
		return nil
	}
	cc := new(callConfig)
	for _, o := range opts {
		if o != nil {
			o.applyCall(cc)
		}
	}
	return cc
}

// call is one call of a method: the request every attempt copies, and what
// the attempts share.
type call struct {
	c         *Client
	req       *http.Request // template: never sent itself, never modified
	key       hostKey
	timeout   time.Duration
	max       int  // attempts allowed
	bodySent  bool // req.Body was handed to an attempt (which closes it)
	closeBody bool // Do: close req.Body if no attempt did
	// stream (Stream) keeps a 2xx event stream open: its response has
	// the body unread, and the attempt's context lives on with it, the
	// timeout bounding only the wait for the response's header.
	stream bool
	// handshake (Upgrade) sends each attempt instead of the client's
	// http.Client.Do, and returns what the upgraded connection became.
	handshake func(ctx context.Context, hc *http.Client, req *http.Request) (any, *http.Response, error)
}

func (c *Client) start(ctx context.Context, req *http.Request, cc *callConfig, fromDo bool) *future.Future[*Response] {
	return future.Go(ctx, c.newCall(req, cc, fromDo).run)
}

// newCall prepares the attempts of a call of req: its timeout, and how
// many attempts it may make.
func (c *Client) newCall(req *http.Request, cc *callConfig, fromDo bool) *call {
	cl := &call{
		c:         c,
		req:       req,
		key:       hostKey{req.URL.Scheme, strings.ToLower(req.URL.Host)},
		timeout:   c.timeout,
		max:       1,
		closeBody: fromDo,
	}
	if cc != nil {
		for k, v := range cc.header {
			req.Header[k] = v
		}
	}
	retry := idempotent(req.Method, req.Header)
	if cc != nil {
		if cc.timeoutSet {
			cl.timeout = cc.timeout
		}
		switch cc.retry {
		case 1:
			retry = true
		case -1:
			retry = false
		}
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		retry = false // the body cannot be sent twice
	}
	if retry {
		cl.max += c.retries
	}
	return cl
}

// run is the future's function: attempts, and waits between them, until one
// succeeds, one fails for good, the attempts run out or ctx ends.
func (cl *call) run(ctx context.Context) (*Response, error) {
	growStack()
	c := cl.c
	defer func() {
		if cl.closeBody && !cl.bodySent && cl.req.Body != nil {
			cl.req.Body.Close()
		}
	}()
	for n := 1; ; n++ {
		req, resp, elapsed, err := cl.attempt(ctx, n)
		var (
			wait     time.Duration
			retrying bool
		)
		if n < cl.max && ctx.Err() == nil {
			wait, retrying = cl.shouldRetry(ctx, n, resp, err)
		}
		if resp != nil {
			resp.Attempts = n
		}
		if c.hasAfter && req != nil {
			a := Attempt{Number: n, Max: cl.max, Elapsed: elapsed, Retrying: retrying, Wait: wait}
			for _, h := range c.hooks {
				if h.AfterResponse != nil {
					h.AfterResponse(req, resp, err, a)
				}
			}
		}
		if !retrying {
			if err != nil && n > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, n)
			}
			return resp, err
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%w (after %d attempts)", cl.urlError(err), n)
		}
	}
}

// attempt sends the request once and reads the response. req is nil when it
// failed before sending.
func (cl *call) attempt(ctx context.Context, n int) (req *http.Request, resp *Response, elapsed time.Duration, err error) {
	c := cl.c
	if c.limiter != nil {
		if err := c.limiter.acquire(ctx, cl.key); err != nil {
			return nil, nil, 0, cl.urlError(err)
		}
		defer c.limiter.release(cl.key)
	}
	actx := ctx
	var (
		release context.CancelCauseFunc // a stream's: ends actx, when the stream is done
		timer   *time.Timer             // a stream's timeout, stopped at the header
	)
	switch {
	case cl.stream:
		actx, release = context.WithCancelCause(ctx)
		defer func() {
			if resp == nil || resp.stream == nil {
				release(nil)
			}
		}()
		if cl.timeout > 0 {
			timer = time.AfterFunc(cl.timeout, func() { release(&timeoutError{cl.timeout}) })
			defer timer.Stop()
		}
	case cl.timeout > 0:
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, cl.timeout)
		defer cancel()
	}
	req = cl.req.WithContext(actx)
	if n == 1 {
		cl.bodySent = true
	} else if cl.req.GetBody != nil {
		body, err := cl.req.GetBody()
		if err != nil {
			cl.max = n // no body, no more attempts
			return nil, nil, 0, cl.urlError(err)
		}
		req.Body = body
	}
	if c.hasBefore {
		req.Header = cl.req.Header.Clone()
		a := Attempt{Number: n, Max: cl.max}
		for _, h := range c.hooks {
			if h.BeforeRequest != nil {
				h.BeforeRequest(req, a)
			}
		}
	}

	start := time.Now()
	var (
		hr       *http.Response
		upgraded any
	)
	if cl.handshake != nil {
		upgraded, hr, err = cl.handshake(actx, c.hc, req)
		switch {
		case err == nil:
			if hr == nil {
				// A handshake that has no response to show (a browser's).
				hr = &http.Response{StatusCode: http.StatusSwitchingProtocols, Status: "101 Switching Protocols", Proto: "HTTP/1.1", Header: http.Header{}}
			}
			// The connection is the caller's now; actx ends with the
			// attempt, which no longer matters to it.
			return req, &Response{
				StatusCode: hr.StatusCode, Status: hr.Status, Proto: hr.Proto, Header: hr.Header,
				Method: cl.req.Method, URL: req.URL, Elapsed: time.Since(start), upgraded: upgraded, switched: true,
			}, time.Since(start), nil
		case hr != nil && hr.StatusCode != http.StatusSwitchingProtocols && hr.Body != nil:
			err = nil // refused: the response says why
		default:
			hr = nil
		}
	} else {
		hr, err = c.hc.Do(req)
	}
	if err != nil {
		return req, nil, time.Since(start), cl.attemptError(ctx, actx, err)
	}
	if cl.stream && hr.StatusCode >= 200 && hr.StatusCode <= 299 && isEventStream(hr.Header.Get("Content-Type")) {
		elapsed = time.Since(start)
		if timer != nil && !timer.Stop() {
			// The timeout ended actx as the header came: the body is
			// cut already.
			hr.Body.Close()
			return req, nil, elapsed, cl.attemptError(ctx, actx, context.DeadlineExceeded)
		}
		return req, &Response{
			StatusCode: hr.StatusCode, Status: hr.Status, Proto: hr.Proto, Header: hr.Header,
			Method: cl.req.Method, URL: hr.Request.URL, Elapsed: elapsed, stream: hr.Body, release: release,
		}, elapsed, nil
	}
	var data []byte
	if hr.Body != http.NoBody {
		data, err = readBody(hr.Body, c.maxBytes, hr.ContentLength)
	}
	hr.Body.Close()
	elapsed = time.Since(start)
	if err != nil {
		return req, nil, elapsed, cl.attemptError(ctx, actx, err)
	}
	return req, &Response{
		StatusCode: hr.StatusCode,
		Status:     hr.Status,
		Proto:      hr.Proto,
		Header:     hr.Header,
		Body:       data,
		Method:     cl.req.Method,
		URL:        hr.Request.URL,
		Elapsed:    elapsed,
	}, elapsed, nil
}

// shouldRetry decides whether attempt n is followed by another, and after
// how long.
func (cl *call) shouldRetry(ctx context.Context, n int, resp *Response, err error) (time.Duration, bool) {
	c := cl.c
	var wait time.Duration
	switch {
	case err != nil:
		if !retryableError(err) {
			return 0, false
		}
		wait = backoff(c.backoff, c.maxWait, n, c.noJitter)
	case retryableStatus(resp.StatusCode):
		if d, ok := retryAfter(resp.Header, time.Now()); ok {
			if d > c.maxWait {
				return 0, false // the server asks for more patience than we have
			}
			wait = d
		} else {
			wait = backoff(c.backoff, c.maxWait, n, c.noJitter)
		}
	default:
		return 0, false
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
		return 0, false // resolve now with what we have rather than fail later
	}
	return wait, true
}

// attemptError turns an attempt's error into a *url.Error naming the method
// and URL, whose cause is ctx's error when ctx has ended, a timeoutError when
// the attempt's own deadline passed, and the transport's error otherwise.
func (cl *call) attemptError(ctx, actx context.Context, err error) error {
	u := ""
	if ue, ok := err.(*url.Error); ok {
		u, err = ue.URL, ue.Err
	}
	switch {
	case ctx.Err() != nil:
		err = ctx.Err()
	case actx != ctx && actx.Err() != nil:
		err = &timeoutError{cl.timeout}
	}
	if u == "" {
		u = redacted(cl.req.URL)
	}
	return &url.Error{Op: urlErrorOp(cl.req.Method), URL: u, Err: err}
}

func (cl *call) urlError(err error) error {
	return &url.Error{Op: urlErrorOp(cl.req.Method), URL: redacted(cl.req.URL), Err: err}
}

// urlErrorOp returns the Op of a *url.Error as net/http writes it: "Get".
func urlErrorOp(method string) string {
	if method == "" {
		return "Get"
	}
	return method[:1] + strings.ToLower(method[1:])
}

// timeoutError is the cause of an attempt that ran out of time (WithTimeout,
// Timeout). It matches context.DeadlineExceeded, and reports Timeout() as
// net.Error does.
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("timeout: no complete response within %v", e.d)
}
func (e *timeoutError) Timeout() bool        { return true }
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

var defaultClient atomic.Pointer[Client]

// Default returns the client the package-level functions use: the one given
// to SetDefault, or else one made by New() with every default, made on first
// use.
func Default() *Client {
	for {
		if c := defaultClient.Load(); c != nil {
			return c
		}
		defaultClient.CompareAndSwap(nil, New())
	}
}

// SetDefault makes c the client of the package-level functions, atomically,
// and returns the previous one (nil if none was made yet). Calls already
// started keep the client they started with. SetDefault(nil) goes back to a
// client with every default, made on next use.
func SetDefault(c *Client) (previous *Client) {
	return defaultClient.Swap(c)
}

// Get calls Get on the default client; see Client.Get.
func Get(ctx context.Context, url string, params Query, opts ...CallOption) *future.Future[*Response] {
	return Default().Get(ctx, url, params, opts...)
}

// Head calls Head on the default client; see Client.Head.
func Head(ctx context.Context, url string, params Query, opts ...CallOption) *future.Future[*Response] {
	return Default().Head(ctx, url, params, opts...)
}

// Delete calls Delete on the default client; see Client.Delete.
func Delete(ctx context.Context, url string, params Query, opts ...CallOption) *future.Future[*Response] {
	return Default().Delete(ctx, url, params, opts...)
}

// Post calls Post on the default client; see Client.Post.
func Post(ctx context.Context, url string, body Body, params Query, opts ...CallOption) *future.Future[*Response] {
	return Default().Post(ctx, url, body, params, opts...)
}

// PostJSON calls PostJSON on the default client; see Client.PostJSON.
func PostJSON(ctx context.Context, url string, v any, params Query, opts ...CallOption) *future.Future[*Response] {
	return Default().PostJSON(ctx, url, v, params, opts...)
}

// Put calls Put on the default client; see Client.Put.
func Put(ctx context.Context, url string, body Body, params Query, opts ...CallOption) *future.Future[*Response] {
	return Default().Put(ctx, url, body, params, opts...)
}

// PutJSON calls PutJSON on the default client; see Client.PutJSON.
func PutJSON(ctx context.Context, url string, v any, params Query, opts ...CallOption) *future.Future[*Response] {
	return Default().PutJSON(ctx, url, v, params, opts...)
}

// Patch calls Patch on the default client; see Client.Patch.
func Patch(ctx context.Context, url string, body Body, params Query, opts ...CallOption) *future.Future[*Response] {
	return Default().Patch(ctx, url, body, params, opts...)
}

// PatchJSON calls PatchJSON on the default client; see Client.PatchJSON.
func PatchJSON(ctx context.Context, url string, v any, params Query, opts ...CallOption) *future.Future[*Response] {
	return Default().PatchJSON(ctx, url, v, params, opts...)
}

// Do calls Do on the default client; see Client.Do.
func Do(req *http.Request, opts ...CallOption) *future.Future[*Response] {
	return Default().Do(req, opts...)
}
