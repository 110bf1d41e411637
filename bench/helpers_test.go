package bench

import (
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"
)

// work is the same small computation for every contender, so that the
// benchmarks compare the cost of starting and waiting, not the work.
//
//go:noinline
func work(n int) int {
	s := 0
	for i := range n {
		s += i
	}
	return s
}

const workSize = 16

var sink int

// quiet is a logger that drops everything.
var quiet = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError + 100}))

// processCPU is the CPU time (user and system) the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reports the process's CPU time per op as cpu-ns/op: a machine
// shared with other work stretches wall time more than CPU time, so the
// report shows both.
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{processCPU()} }

func (m cpuMeter) report(b *testing.B) {
	b.ReportMetric(float64(processCPU()-m.start)/float64(b.N), "cpu-ns/op")
}
