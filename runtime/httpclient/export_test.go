package httpclient

import (
	"context"
	"net/url"
	"time"
)

// WithSleep replaces the wait between attempts, so that tests can record
// waits such as Retry-After without taking them.
func WithSleep(f func(context.Context, time.Duration) error) Option {
	return optionFunc(func(c *config) { c.sleep = f })
}

// WithoutJitter makes every backoff wait its full length.
func WithoutJitter() Option {
	return optionFunc(func(c *config) { c.noJitter = true })
}

// InFlight reports the per-host limiter's slots taken and waiters for a host.
func InFlight(c *Client, scheme, host string) (active, waiting int) {
	if c.limiter == nil {
		return 0, 0
	}
	return c.limiter.inFlight(hostKey{scheme, host})
}

var (
	Backoff        = backoff
	RetryAfter     = retryAfter
	ReadBody       = readBody
	RetryableError = retryableError
)

// ResolveURL resolves raw as the client's methods do before sending: the
// URL, and whether the client's headers go with it.
func ResolveURL(c *Client, raw string) (*url.URL, bool, error) {
	if c.baseErr != nil {
		return nil, false, c.baseErr
	}
	return c.target.resolve(raw, nil)
}
