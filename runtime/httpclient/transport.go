package httpclient

import (
	"net"
	"net/http"
	"time"
)

// NewTransport returns the transport New uses when WithTransport is not
// given, tuned for fan-out. It has http.DefaultTransport's settings (proxy
// from the environment, 30 s dial timeout and TCP keep-alive, HTTP/2 when a
// TLS server offers it, 10 s TLS handshake timeout, 1 s Expect: 100-continue
// timeout, idle connections closed after 90 s) except for the size of the
// idle pool: net/http keeps 2 idle connections per host and 100 in all, so a
// burst of 100 requests to one host closes 98 connections after use and
// dials them again for the next burst; this transport keeps up to 1024 per
// host and 4096 in all (New sizes the per-host pool after
// WithMaxConcurrentPerHost).
//
// To wrap the client's transport, for tracing say, use
// WithTransportWrapper, which keeps the pool sized by
// WithMaxConcurrentPerHost:
//
//	httpclient.New(httpclient.WithTransportWrapper(func(rt http.RoundTripper) http.RoundTripper {
//		return otelhttp.NewTransport(rt)
//	}))
func NewTransport() *http.Transport {
	return newTransport(DefaultMaxConcurrentPerHost)
}

func newTransport(idlePerHost int) *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          max(4096, idlePerHost),
		MaxIdleConnsPerHost:   idlePerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		// net/http's default is 10 MiB of headers; no API sends that much.
		MaxResponseHeaderBytes: 1 << 20,
	}
}
