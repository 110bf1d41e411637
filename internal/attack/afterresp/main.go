// Command afterresp is issue 13's attack on after-response tasks (items 2
// and 10), against server.Run on loopback. RELIABILITY.md gives its figures
// before and after the fix.
//
//	go run ./internal/attack/afterresp reject
//	go run ./internal/attack/afterresp gzip
//
// reject runs policy Reject with 5,000 requests, each scheduling an
// after-response task, and counts the answered requests, the tasks run, the
// rejections and the Warn lines that name the task. gzip runs policy Block
// with gzip on, 2 KiB responses and slow after-response tasks, and measures
// per request the time from the response's headers to its complete gzip
// body, and the whole latency.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type reply struct {
	Filler string `json:"filler"`
}

func main() {
	mode := os.Args[1]
	logs := &syncBuf{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	opts := taskloop.Options{Workers: 2, QueueSize: 16, Logger: logger}
	work := 5 * time.Millisecond
	gz := false
	requests, conns := 5000, 32
	if mode == "reject" {
		opts.WhenFull = taskloop.Reject
	} else {
		work, gz, requests, conns = 20*time.Millisecond, true, 320, 16
	}
	loop := taskloop.New(opts)
	var ran atomic.Int64
	mux := http.NewServeMux()
	spec := view.Spec{Name: "attack.Order", Pattern: "GET /order"}
	filler := strings.Repeat("x", 2048)
	if err := view.Handle(mux, view.NewConfig(view.WithLogger(logger)), &spec, func(ctx context.Context, r *http.Request) (reply, error) {
		taskloop.Later(ctx, taskloop.Spec{Name: "attack.record"}, func(context.Context) (struct{}, error) {
			time.Sleep(work)
			ran.Add(1)
			return struct{}{}, nil
		})
		return reply{Filler: filler}, nil
	}); err != nil {
		panic(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{Listeners: []net.Listener{ln}, Handler: mux, Loop: loop, Gzip: gz, Logger: logger, Signals: []os.Signal{}})
	}()
	url := "http://" + ln.Addr().String() + "/order"
	tr := &http.Transport{MaxIdleConnsPerHost: conns, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	var answered, failed atomic.Int64
	var mu sync.Mutex
	var bodyWait, total []time.Duration
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for range requests / conns {
				start := time.Now()
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Accept-Encoding", "gzip")
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				headers := time.Now()
				var body []byte
				if resp.Header.Get("Content-Encoding") == "gzip" {
					zr, err := gzip.NewReader(resp.Body)
					if err == nil {
						zr.Multistream(false)
						body, err = io.ReadAll(zr)
					}
					if err != nil {
						failed.Add(1)
						resp.Body.Close()
						continue
					}
				} else {
					body, _ = io.ReadAll(resp.Body)
				}
				complete := time.Now()
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && bytes.Contains(body, []byte(filler)) {
					answered.Add(1)
				} else {
					failed.Add(1)
				}
				mu.Lock()
				bodyWait = append(bodyWait, complete.Sub(headers))
				total = append(total, complete.Sub(start))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	tr.CloseIdleConnections()
	cancel()
	runErr := <-done
	s := loop.Stats()
	warn, withID := 0, 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, `"task":"attack.record"`) {
			warn++
			if strings.Contains(line, `"request_id":"`) {
				withID++
			}
		}
	}
	slices.Sort(bodyWait)
	slices.Sort(total)
	q := func(d []time.Duration, p float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[int(p*float64(len(d)-1))].Round(10 * time.Microsecond)
	}
	fmt.Printf("%s: %d requests over %d conns: %d answered, %d failed; after-response tasks run %d, rejected %d (Stats.Rejected); Warn lines naming the task %d (with request_id %d); Run = %v\n",
		mode, requests, conns, answered.Load(), failed.Load(), ran.Load(), s.Rejected, warn, withID, runErr)
	fmt.Printf("%s: headers -> complete body: median %v, p99 %v, max %v; request latency: median %v, p99 %v, max %v\n",
		mode, q(bodyWait, 0.5), q(bodyWait, 0.99), q(bodyWait, 1), q(total, 0.5), q(total, 0.99), q(total, 1))
}
