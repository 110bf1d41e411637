// Package httpclient is a requests-style HTTP client whose calls return
// futures: Django Futures' HttpClient, for Go services that fan out to many
// backends.
//
//	c := httpclient.New(httpclient.WithBaseURL("https://api.example.com/v1"))
//
//	// One call, synchronously:
//	resp, err := c.Get(ctx, "/users/7", nil).Await(ctx)
//
//	// Many at once; the first failure cancels the rest:
//	resps, err := future.All(
//		c.Get(ctx, "/quotes", httpclient.Params{"symbol": "ACME"}),
//		c.PostJSON(ctx, "/orders", order, nil),
//	).Await(ctx)
//
// Every method (Get, Head, Delete, Post, Put, Patch, the JSON forms and Do)
// starts its request in a new goroutine and returns a
// *future.Future[*Response] at once. Django Futures' client was asynchronous
// when Tornado's loop ran and synchronous otherwise, because a blocking call
// would have stalled the loop; in Go a goroutine per request is cheap and
// blocks nothing, so calls are always concurrent, need no task loop, and
// Await is the synchronous form. The package-level functions (Get, Post, …)
// call the default client, which SetDefault replaces (Django Futures'
// configure).
//
// # Responses and errors
//
// A future resolves with a *Response whose body has been read in full, or
// fails when there is no response: the URL is bad, the network failed or an
// attempt timed out (and no retry was left), the body was over the size
// limit (ErrResponseTooLarge), there were too many redirects
// (ErrTooManyRedirects), or the context ended. Those errors are *url.Error
// values naming the method and URL; errors.Is sees through them to
// context.Canceled, context.DeadlineExceeded (also for the client's own
// timeout) and the package's sentinels. An error status is a response, not a
// failure: Response.Err returns a *StatusError for 4xx and 5xx, as
// requests' raise_for_status.
//
// # Retries
//
// A call whose method is idempotent (GET, HEAD, OPTIONS, TRACE, PUT,
// DELETE), or that has an Idempotency-Key header, is retried up to twice
// (WithRetries) after a network error, a timeout, or a 429, 502, 503 or 504
// response. POST and PATCH are retried only when the call says so with
// Retry(true), since the server may have acted on an attempt that failed.
// The wait before retry k is drawn from [d/2, d] with d = 100 ms·2^(k-1)
// capped at 10 s (WithBackoff); a Retry-After header (seconds or HTTP date)
// replaces it, and one over the cap ends the retries with that response.
// No wait is started that would outlast the call's context. Bodies are
// bytes, so every attempt sends the same ones; a request from Do with a
// streaming body is sent once. Errors that a retry would only repeat (the
// size and redirect limits, an unknown host, an untrusted certificate) and
// the end of the context are never retried.
//
// # Cancellation and goroutines
//
// The context given to a method (req.Context() for Do) bounds the whole
// call. When it ends, or when the future's Cancel is called, the request in
// flight is aborted, as is the wait for a per-host slot or between retries,
// and the future fails at once with the context's error. Each call owns
// exactly one goroutine, which reads and closes the body itself and ends
// when the future resolves; no goroutine outlives its call. The transport
// keeps two goroutines per idle kept-alive HTTP/1 connection, as every
// net/http client does, until the connection has been idle for 90 s or
// Client.CloseIdleConnections is called.
//
// # Defaults
//
// A Client is configured once, by New, and is immutable afterwards: there is
// no setter to race with requests in flight, and a Client is safe for
// concurrent use. The zero Client is not usable; call New. Every option
// states its default; together:
//
//	option                    default
//	WithBaseURL               none: URLs must be absolute
//	WithHeader, WithUserAgent User-Agent: gofutures-httpclient/1
//	WithTimeout               30 s per attempt (dial, send, headers, body)
//	WithRetries               2, for idempotent calls
//	WithBackoff               100 ms doubling, capped at 10 s (also the Retry-After cap)
//	WithMaxResponseBytes      32 MiB
//	WithMaxConcurrentPerHost  1024 requests in flight per host
//	WithRedirects             10
//	WithTransport             NewTransport(), tuned for fan-out
//	WithHooks                 none
//
// Per-call options (Header, Timeout, Retry) are a separate type, CallOption:
// a call can change only what is its own, while the pool, limits and hooks
// belong to the client, and the compiler then rejects a client option
// passed to a call.
//
// The transport is http.DefaultTransport's configuration (proxy from the
// environment, 30 s dial timeout and keep-alive, HTTP/2 over TLS when the
// server offers it, 10 s TLS handshake timeout, 90 s idle timeout) with a
// larger idle pool. net/http keeps 2 idle connections per host, so after a
// burst of 100 requests to one host it closes 98 connections and dials them
// again for the next burst; this client keeps as many per host as the
// per-host limit allows (1024) and 4096 in all. The per-host limit is high
// enough that a fan-out of 1000 requests to one host runs at once, and low
// enough that a runaway loop queues instead of opening tens of thousands of
// sockets; a call waits for a slot before each attempt, and its context ends
// the wait.
//
// # Cost
//
// Measured on a shared 2-core x86-64 VM (Go 1.26) with
//
//	go test -run '^$' -bench . -count 5 ./runtime/httpclient
//
// BenchmarkFanOut fetches a 50 KB page N times at once from a loopback
// server that answers after 10 ms, and divides the wall time of the batch by
// that of a batch of 1 timed just before it (xN1). Medians:
//
//	N      httpclient         raw net/http, same transport
//	1      FANOUT1
//	10     FANOUT10
//	100    FANOUT100
//	1000   FANOUT1000
//
// BenchmarkOverhead runs sequential GETs with no delay through the client
// and through the raw net/http idiom (NewRequest, Do, io.ReadAll) on the same
// transport, alternating them request by request (via=paired) so that both
// see the same machine:
//
//	OVERHEAD
package httpclient
