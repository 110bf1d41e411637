package httpclient_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/httpclient"
)

// page is the ~50 KB page of Django Futures' demo.
var page = bytes.Repeat([]byte("<p>Futures fan out to many backends at once.</p>\n"), 50<<10/50)

// benchServer serves page after a fixed 10 ms at /slow, at once at /page,
// and a 2-byte body at once at /small.
func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := page
		switch r.URL.Path {
		case "/slow":
			time.Sleep(10 * time.Millisecond)
		case "/small":
			body = []byte("ok")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// rawGet is the raw net/http idiom the client replaces.
func rawGet(ctx context.Context, hc *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	return body, err
}

// BenchmarkFanOut reproduces Django Futures' demo: fetch a ~50 KB page N
// times at once from a server that answers after 10 ms, and wait for all.
// ns/op is the wall time of a batch of N. Before each batch, with the timer
// stopped, the benchmark times a batch of 1, so that xN1 (the batch's time
// over that of a batch of 1) compares runs that saw the same machine.
// Target: N=100 at most 1.5 xN1.
//
// via=httpclient is the client (Get for each, then future.All); via=raw is
// the same on a plain http.Client with the same transport, a goroutine per
// request and a sync.WaitGroup, to tell the client's cost from the machine's.
// cpu-µs/req is the CPU time of the whole process (client, server and the
// kernel's loopback TCP, user and system) per request of the timed batches:
// on a machine with C cores a batch of N cannot take less than
// N × cpu-µs/req ÷ C on top of the server's 10 ms.
func BenchmarkFanOut(b *testing.B) {
	srv := benchServer(b)
	url := srv.URL + "/slow"
	ctx := context.Background()
	c := httpclient.New()
	b.Cleanup(c.CloseIdleConnections)
	hc := &http.Client{Transport: httpclient.NewTransport()}
	b.Cleanup(hc.CloseIdleConnections)

	batches := map[string]func(n int) error{
		"httpclient": func(n int) error {
			fs := make([]*future.Future[*httpclient.Response], n)
			for i := range fs {
				fs[i] = c.Get(ctx, url, nil)
			}
			resps, err := future.All(fs...).Await(ctx)
			if err == nil && len(resps[n-1].Body) != len(page) {
				err = fmt.Errorf("%d bytes", len(resps[n-1].Body))
			}
			return err
		},
		"raw": func(n int) error {
			var (
				wg   sync.WaitGroup
				errs = make([]error, n)
			)
			for i := range n {
				wg.Go(func() {
					body, err := rawGet(ctx, hc, url)
					if err == nil && len(body) != len(page) {
						err = fmt.Errorf("%d bytes", len(body))
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	for _, n := range []int{1, 10, 100, 1000} {
		for _, via := range []string{"httpclient", "raw"} {
			batch := batches[via]
			b.Run(fmt.Sprintf("N=%d/via=%s", n, via), func(b *testing.B) {
				// Warm up untimed: the pool then holds the connections a
				// batch needs, as in a service that has been running.
				if err := batch(n); err != nil {
					b.Fatal(err)
				}
				var one, cpu time.Duration
				for b.Loop() {
					b.StopTimer()
					start := time.Now()
					if err := batch(1); err != nil {
						b.Fatal(err)
					}
					one += time.Since(start)
					b.StartTimer()
					cpu0 := processCPU()
					if err := batch(n); err != nil {
						b.Fatal(err)
					}
					cpu += processCPU() - cpu0
				}
				b.ReportMetric(float64(b.Elapsed())/float64(one), "xN1")
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*n), "cpu-µs/req")
			})
		}
	}
}

// BenchmarkOverhead compares sequential GETs through the client (Get, then
// Await) with the raw net/http idiom (NewRequest, Do, io.ReadAll, Close) on
// an http.Client with the same tuned transport, against the same server with
// no delay: a 2-byte body (body=small) and the 50 KB page (body=page).
//
// via=raw and via=httpclient give each one's ns/op and allocs/op. Since
// loopback round trips on a shared machine drift by tens of percent from one
// second to the next, via=paired runs three contenders in turn, request by
// request, in one loop, and reports each one's median time over raw's (the
// median, because a stalled request now and then on a shared machine would
// swamp a mean): xraw
// for the client (target: at most 1.10) and future-xraw for the raw idiom
// run inside future.Go and awaited, which is what any future-returning call
// costs, whatever it does inside.
func BenchmarkOverhead(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	for _, body := range []string{"small", "page"} {
		url := srv.URL + "/" + body
		hc := &http.Client{Transport: httpclient.NewTransport()}
		c := httpclient.New()
		viaRaw := func(b *testing.B) {
			if _, err := rawGet(ctx, hc, url); err != nil {
				b.Fatal(err)
			}
		}
		viaClient := func(b *testing.B) {
			resp, err := c.Get(ctx, url, nil).Await(ctx)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatal(err)
			}
		}
		viaFuture := func(b *testing.B) {
			f := future.Go(ctx, func(ctx context.Context) ([]byte, error) { return rawGet(ctx, hc, url) })
			if _, err := f.Await(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("body=%s/via=raw", body), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				viaRaw(b)
			}
		})
		b.Run(fmt.Sprintf("body=%s/via=httpclient", body), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				viaClient(b)
			}
		})
		b.Run(fmt.Sprintf("body=%s/via=paired", body), func(b *testing.B) {
			contenders := []func(*testing.B){viaRaw, viaClient, viaFuture}
			var times [3][]time.Duration
			i := 0
			for b.Loop() {
				// Rotate the order, so that none always follows another.
				for k := range contenders {
					j := (i + k) % len(contenders)
					start := time.Now()
					contenders[j](b)
					times[j] = append(times[j], time.Since(start))
				}
				i++
			}
			raw := median(times[0])
			b.ReportMetric(float64(median(times[1]))/float64(raw), "xraw")
			b.ReportMetric(float64(median(times[2]))/float64(raw), "future-xraw")
		})
		hc.CloseIdleConnections()
		c.CloseIdleConnections()
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// BenchmarkResolveURL is the cost of confining a relative URL to the base
// (WithBaseURL), which every call with a relative URL pays before sending.
func BenchmarkResolveURL(b *testing.B) {
	c := httpclient.New(httpclient.WithBaseURL("https://api.example.com/v1/?key=k"))
	for _, u := range []string{"users/7", "/users/7/orders/../profile?fields=name,email"} {
		b.Run(u, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := httpclient.ResolveURL(c, u); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
