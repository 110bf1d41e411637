package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/testkit"
)

// startLoadServer starts the loadserver binary (runtime/server/internal/loadserver:
// server.Run with its defaults serving the generated views of loadviews)
// and returns its process and address. shell, when set, is a sh command
// line prefix run before the server (a ulimit, say).
func startLoadServer(t *testing.T, bin, shell string) (*exec.Cmd, string) {
	t.Helper()
	args := []string{bin, "-out", filepath.Join(t.TempDir(), "ids.txt")}
	var cmd *exec.Cmd
	if shell != "" {
		cmd = exec.Command("/bin/sh", "-c", shell+`; exec "$@"`, "sh")
		cmd.Args = append(cmd.Args, args...)
	} else {
		cmd = exec.Command(args[0], args[1:]...)
	}
	proc, line := testkit.Start(t, cmd, 30*time.Second, isListening)
	// Registered after Start's, so it runs first: a graceful stop, which
	// Start's cleanup turns into a kill if it takes too long.
	t.Cleanup(func() {
		proc.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-proc.Exited():
		case <-time.After(30 * time.Second):
		}
	})
	return cmd, strings.TrimPrefix(line, "listening ")
}

// peakRSS returns the peak resident set size of process pid (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/pid/status")
	return 0
}

// docBody returns a JSON body for loadviews' POST /docs (a Doc, whose
// Data is an `any`) of about size bytes: an array of objects of one member
// whose string value is pad bytes long.
func docBody(size, pad int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"title":"t","data":[`)
	elem := `{"a":"` + strings.Repeat("x", pad) + `"}`
	for b.Len()+len(elem)+3 < size {
		if b.Bytes()[b.Len()-1] != '[' {
			b.WriteByte(',')
		}
		b.WriteString(elem)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// TestBodyMemory sends, 64 at a time, JSON bodies of just under 1 MiB
// (the view's maxbody) to a view that decodes them into an `any` field, and
// checks the server process's peak RSS stays under 256 MiB: bodies of many
// small objects, which cost some 40 times their size once decoded, and
// bodies with as many values as the default decoder limit allows, padded
// out to 1 MiB. Every request must get an answer: 200, 413 (over a decoder
// limit) or 503 with Retry-After (no room in the server's body budget in
// time); and the server must still answer afterwards.
//
// The server is a separate process built without the race detector, so
// that its RSS is its own and the race detector's shadow memory is not
// counted.
func TestBodyMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a server process; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads the server's peak RSS from /proc")
	}
	bin := buildLoadServer(t)
	cmd, addr := startLoadServer(t, bin, "")
	const maxRSS = 256 << 20
	const conns = 64
	before := peakRSS(t, cmd.Process.Pid)

	client := &http.Client{
		Timeout:   2 * time.Minute, // a hang fails; it is no timing assertion
		Transport: &http.Transport{MaxIdleConnsPerHost: 4 * conns},
	}
	defer client.CloseIdleConnections()
	for _, shape := range []struct {
		name  string
		body  []byte
		conns int
	}{
		// 1 MiB of {"a":""}: some 110,000 objects, 220,000 values.
		{"dense", docBody(1<<20-64, 0), conns},
		// About 4,600 objects of 230 bytes: some 9,200 values, under
		// view.DefaultMaxValues, so that these are decoded.
		{"padded", docBody(1<<20-64, 220), conns},
		// 1,000 strings of 1 KiB.
		{"strings", docBody(1<<20-64, 1000), conns},
		// Four times as many: the body budget holds them back.
		{"padded ×4", docBody(1<<20-64, 220), 4 * conns},
	} {
		var (
			mu     sync.Mutex
			counts = map[int]int{}
			wg     sync.WaitGroup
		)
		began := time.Now()
		for range shape.conns {
			wg.Go(func() {
				req, err := http.NewRequest("POST", "http://"+addr+"/docs", bytes.NewReader(shape.body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("%s: %v", shape.name, err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case 200, 413:
				case 503:
					if resp.Header.Get("Retry-After") == "" {
						t.Errorf("%s: 503 without Retry-After", shape.name)
					}
				default:
					t.Errorf("%s: status %d: %.200s", shape.name, resp.StatusCode, body)
				}
				mu.Lock()
				counts[resp.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
		rss := peakRSS(t, cmd.Process.Pid)
		t.Logf("%s: %d bodies of %d bytes at once in %v: statuses %v; peak RSS %.1f MiB (%.1f MiB before any)",
			shape.name, shape.conns, len(shape.body), time.Since(began).Round(time.Millisecond), counts, float64(rss)/(1<<20), float64(before)/(1<<20))
		if rss > maxRSS {
			t.Errorf("%s: peak RSS %.1f MiB, over %d MiB", shape.name, float64(rss)/(1<<20), maxRSS>>20)
		}
	}
	resp, err := client.Post("http://"+addr+"/docs", "application/json", strings.NewReader(`{"title":"after","data":[1]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after the load: status %d", resp.StatusCode)
	}
}
