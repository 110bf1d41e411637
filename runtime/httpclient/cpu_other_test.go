//go:build !unix

package httpclient_test

import "time"

// processCPU is not measured here; the benchmarks then report 0 cpu-µs/req.
func processCPU() time.Duration { return 0 }
