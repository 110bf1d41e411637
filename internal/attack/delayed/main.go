// Command delayed is issue 13's attack on the task loop's bound (item 3):
// 1,000,000 tasks with a delay under policy Reject, then Shutdown. It prints
// how many were rejected, the peak goroutines and RSS, and Shutdown's
// result. RELIABILITY.md gives its figures before and after the fix.
//
//	go run ./internal/attack/delayed
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofutures/futures/runtime/taskloop"
)

func rssKB(field string) string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			return strings.TrimSpace(strings.TrimPrefix(line, field))
		}
	}
	return "?"
}

func main() {
	n := 1_000_000
	l := taskloop.New(taskloop.Options{WhenFull: taskloop.Reject, Logger: slog.New(slog.DiscardHandler)})
	if err := l.Start(context.Background()); err != nil {
		panic(err)
	}
	var peak atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if g := int64(runtime.NumGoroutine()); g > peak.Load() {
				peak.Store(g)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var ran atomic.Int64
	ctx := context.Background()
	start := time.Now()
	for i := range n {
		// Delays spread over 0.5 s to 1.5 s, so that timers fire while
		// tasks are still being submitted and after.
		d := 500*time.Millisecond + time.Duration(i%1000)*time.Millisecond
		taskloop.Submit(ctx, l, taskloop.Spec{Name: "delayed", Delay: d}, func(context.Context) (struct{}, error) {
			ran.Add(1)
			return struct{}{}, nil
		})
	}
	submitted := time.Since(start)
	time.Sleep(time.Second) // let about half of the delays pass
	s := l.Stats()
	fmt.Printf("submitted %d in %v; after 1 s: rejected %d, waiting %d, queued %d, ran %d; peak goroutines %d; RSS %s (peak %s)\n",
		n, submitted.Round(time.Millisecond), s.Rejected, s.Waiting, s.Queued, ran.Load(), peak.Load(), rssKB("VmRSS:"), rssKB("VmHWM:"))
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := l.Shutdown(sctx)
	close(stop)
	s = l.Stats()
	var se *taskloop.ShutdownError
	fmt.Printf("Shutdown = %v (ShutdownError: %v); ran %d, failed %d, succeeded %d, rejected %d\n",
		err, errors.As(err, &se), ran.Load(), s.Failed, s.Succeeded, s.Rejected)
}
