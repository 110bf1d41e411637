package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/httpclient"
)

const (
	// fetches is how many GETs a batch sends at once.
	fetches = 100
	// latency is how long the server waits before it answers.
	latency = 10 * time.Millisecond
)

// answer is the 2 KiB JSON body the server answers with.
var answer = append(append([]byte(`{"items":[`), bytes.Repeat([]byte(`{"id":1234,"name":"a teapot"},`), 2048/30)...), `{}]}`...)

// slowServer answers every request with answer after latency.
func slowServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		w.Write(answer)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// rawFetch is the net/http idiom: NewRequest, Do, ReadAll, Close, and a
// status check.
func rawFetch(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return checkAnswer(resp.StatusCode, body)
}

func checkAnswer(status int, body []byte) error {
	if status != http.StatusOK || len(body) != len(answer) {
		return fmt.Errorf("status %d, %d bytes", status, len(body))
	}
	return nil
}

// fanOut runs fetch n times at once, a goroutine each, and returns the
// first error.
func fanOutGoroutines(n int, fetch func() error) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = fetch() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkHTTPClient fans out 100 GETs at once to a loopback server that
// answers each after 10 ms with 2 KiB of JSON, and waits for all; ns/op is
// a batch of 100 (at least 10 ms). The server runs in this process, so
// allocs/op and cpu-µs/req count its work and the kernel's too.
//
// Contenders: futures (httpclient.Client.Get for each, then future.All),
// raw-default (net/http with a copy of http.DefaultTransport, a goroutine
// per request and a WaitGroup), raw-tuned (the same with
// MaxIdleConnsPerHost raised to 100, as a developer who knows the default
// of 2 would set it) and resty (go-resty/resty/v2's client, whose own
// transport keeps GOMAXPROCS+1 idle connections per host, a goroutine per
// request).
func BenchmarkHTTPClient(b *testing.B) {
	srv := slowServer(b)
	url := srv.URL + "/items"
	ctx := context.Background()

	c := httpclient.New()
	defaultClient := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	tuned := http.DefaultTransport.(*http.Transport).Clone()
	tuned.MaxIdleConns = fetches
	tuned.MaxIdleConnsPerHost = fetches
	tunedClient := &http.Client{Transport: tuned}
	rc := resty.New()
	b.Cleanup(func() {
		c.CloseIdleConnections()
		defaultClient.CloseIdleConnections()
		tunedClient.CloseIdleConnections()
		rc.GetClient().CloseIdleConnections()
	})

	for _, con := range []struct {
		name  string
		batch func() error
	}{
		{"futures", func() error {
			fs := make([]*future.Future[*httpclient.Response], fetches)
			for i := range fs {
				fs[i] = c.Get(ctx, url, nil)
			}
			resps, err := future.All(fs...).Await(ctx)
			if err != nil {
				return err
			}
			for _, r := range resps {
				if err := checkAnswer(r.StatusCode, r.Body); err != nil {
					return err
				}
			}
			return nil
		}},
		{"raw-default", func() error {
			return fanOutGoroutines(fetches, func() error { return rawFetch(ctx, defaultClient, url) })
		}},
		{"raw-tuned", func() error {
			return fanOutGoroutines(fetches, func() error { return rawFetch(ctx, tunedClient, url) })
		}},
		{"resty", func() error {
			return fanOutGoroutines(fetches, func() error {
				resp, err := rc.R().SetContext(ctx).Get(url)
				if err != nil {
					return err
				}
				return checkAnswer(resp.StatusCode(), resp.Body())
			})
		}},
	} {
		b.Run(fmt.Sprintf("fan-out-100/impl=%s", con.name), func(b *testing.B) {
			// Warm up untimed: the pool then holds what a batch leaves in
			// it, as in a service that has been running.
			if err := con.batch(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				if err := con.batch(); err != nil {
					b.Fatal(err)
				}
			}
			cpu := processCPU() - cpu0
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(b.N*fetches)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*fetches), "cpu-µs/req")
		})
	}
}
