package httpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// idempotent reports whether a request may be sent twice without changing
// its effect: the methods RFC 9110 calls idempotent, or any method with an
// Idempotency-Key header, the convention net/http also honours.
func idempotent(method string, h http.Header) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	return h["Idempotency-Key"] != nil || h["X-Idempotency-Key"] != nil
}

// retryableStatus reports whether a response says that the same request may
// succeed later: 429 Too Many Requests, 502 Bad Gateway, 503 Service
// Unavailable, 504 Gateway Timeout.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableError reports whether an attempt's error may go away on its own.
// Network errors and timeouts may; what a retry would only repeat may not:
// the size limit, the redirect limit, an unknown host, a certificate the
// client does not trust, TLS spoken to a server that does not. The caller
// has already ruled out the end of the call's context.
func retryableError(err error) bool {
	if errors.Is(err, ErrResponseTooLarge) || errors.Is(err, ErrTooManyRedirects) {
		return false
	}
	var (
		dnsErr      *net.DNSError
		verifyErr   *tls.CertificateVerificationError
		recordErr   tls.RecordHeaderError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
	)
	switch {
	case strings.Contains(err.Error(), "server response headers exceeded"):
		// net/http's header limit: untyped, and the next attempt would
		// read as much again.
		return false
	case errors.As(err, &dnsErr):
		return !dnsErr.IsNotFound
	case errors.As(err, &verifyErr), errors.As(err, &recordErr),
		errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return false
	}
	return true
}

// backoff returns the wait before retry k (k >= 1): uniform in [d/2, d] with
// d = initial·2^(k-1) capped at maxWait. Half the wait is fixed so that a
// retry never follows at once; the other half is random so that clients that
// failed together do not retry together.
func backoff(initial, maxWait time.Duration, k int, noJitter bool) time.Duration {
	d := initial
	for i := 1; i < k && d < maxWait; i++ {
		if d > maxWait/2 {
			d = maxWait
			break
		}
		d *= 2
	}
	d = min(d, maxWait)
	if d <= 0 || noJitter {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// maxRetryAfter is the longest Retry-After the client represents: longer
// waits, and those too long to parse as a number, count as this, which is
// over any cap, so that the call is not retried.
const maxRetryAfter = 365 * 24 * time.Hour

// retryAfter parses a Retry-After header: a number of seconds (digits
// only, RFC 9110 delay-seconds) or an HTTP date. ok is false when the header
// is absent or malformed; a date in the past gives 0. A number too large
// for int64 (99999999999999999999) or a date centuries away is a valid
// answer, "not for a long while": it gives maxRetryAfter, never "absent",
// which would have the call retried after the ordinary backoff.
func retryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if digits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(maxRetryAfter/time.Second) { // digits only: the error is ErrRange
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), true // Sub saturates
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// sleep waits for d or until ctx ends, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
