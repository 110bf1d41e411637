package server_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/server/internal/loadviews"
)

// The load-with-shutdown test's size: FUTURES_LOAD_REQUESTS requests
// (default 20000) from FUTURES_LOAD_CONNS keep-alive connections (default
// 64). SIGTERM goes to the server when half the requests have been
// answered. For a bigger run:
//
//	FUTURES_LOAD_REQUESTS=200000 FUTURES_LOAD_CONNS=256 go test -run TestLoadShutdown -v ./runtime/server
//
// and for the server under the race detector too:
//
//	FUTURES_LOAD_SERVER_RACE=1 go test -race -run TestLoadShutdown -v ./runtime/server
func loadSize(t *testing.T) (requests, conns int) {
	t.Helper()
	get := func(name string, def int) int {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("%s=%q: want a positive integer", name, v)
		}
		return n
	}
	return get("FUTURES_LOAD_REQUESTS", 20000), get("FUTURES_LOAD_CONNS", 64)
}

// loadShutdownTimeout is the server's ShutdownTimeout: the process must
// exit within it after SIGTERM.
const loadShutdownTimeout = 10 * time.Second

// The after-response tasks of the slowTasks requests before the middle of
// the load (and of those in flight at SIGTERM) each work for slowWork; the
// others do not wait at all.
const (
	slowTasks = 1000
	slowWork  = 10 * time.Millisecond
)

// outcome is what happened to one request of the load.
type outcome uint8

const (
	notSent   outcome = iota
	completed         // a complete, correct 200
	refused           // the dial was refused: the server no longer listens
	closed            // the connection was closed or reset before any byte of a response
	bad               // anything else: a wrong, truncated or failed response
)

// loadResult records every request of the load by its number.
type loadResult struct {
	mu      sync.Mutex
	outcome []outcome
	bad     []string // what went wrong with the bad ones, the first 20
	nBad    int
}

func (r *loadResult) set(i int, o outcome, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcome[i] = o
	if o == bad {
		r.nBad++
		if len(r.bad) < 20 {
			r.bad = append(r.bad, fmt.Sprintf("request %d: %s", i, why))
		}
	}
}

// countingConn counts the bytes read from a connection.
type countingConn struct {
	net.Conn
	n int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += int64(n)
	return n, err
}

// loadID names request i; the server's task records it.
func loadID(i int) string { return "o" + strconv.Itoa(i) }

// loadPad is how many bytes of filler request i asks for, so that
// responses come in many sizes: mostly 0 to 255, one in eight 1024 to
// 2047, over the 1 KiB from which Gzip compresses.
func loadPad(i int) int {
	if i%8 == 0 {
		return 1024 + i*37%1024
	}
	return i * 37 % 256
}

// buildLoadServer builds cmd loadserver into a temporary directory. In a
// -race run the load generator has the race detector; the server has it
// too with FUTURES_LOAD_SERVER_RACE=1, which doubles the test's time (to
// 12 to 25 s on 2 cores), too close to CI's budget to be the default. The
// server's code runs under the race detector in this package's other
// tests.
func buildLoadServer(t *testing.T) string {
	t.Helper()
	var flags []string
	if raceEnabled && os.Getenv("FUTURES_LOAD_SERVER_RACE") == "1" {
		flags = append(flags, "-race")
	}
	dir := t.TempDir()
	if err := testkit.Build(dir, flags, "github.com/gofutures/futures/runtime/server/internal/loadserver"); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "loadserver")
}

// TestLoadShutdown runs a real server (runtime/server.Run serving the
// generated views of loadviews, in its own process) under load from many
// keep-alive connections, sends it SIGTERM when half the requests have been
// answered, and checks that every request it accepted got a complete,
// correct response, that every one of those ran its after-response task
// exactly once, that every other request failed with a connection error
// before any byte of a response, and that the process exited 0 within its
// shutdown deadline.
func TestLoadShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a server process; skipped with -short")
	}
	total, conns := loadSize(t)
	began := time.Now()
	bin := buildLoadServer(t)
	built := time.Since(began)

	idsFile := filepath.Join(t.TempDir(), "ids.txt")
	cmd := exec.Command(bin, "-out", idsFile, "-shutdown-timeout", loadShutdownTimeout.String(),
		"-workers", "8", "-queue", "512")
	// The race detector's default 1 s sleep at exit is not the server's.
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	proc, line := testkit.Start(t, cmd, 30*time.Second, isListening)
	addr := strings.TrimPrefix(line, "listening ")

	res := &loadResult{outcome: make([]outcome, total)}
	var (
		next      atomic.Int64 // the next request to send
		done      atomic.Int64 // requests answered
		sigOnce   sync.Once
		sigSentAt time.Time
		sigCh     = make(chan struct{})
		wg        sync.WaitGroup
	)
	sendSIGTERM := func() {
		sigOnce.Do(func() {
			sigSentAt = time.Now()
			if err := proc.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Errorf("SIGTERM: %v", err)
			}
			close(sigCh)
		})
	}
	// The tasks of the requests just before SIGTERM work for a while, so
	// that the loop has a backlog to drain when it comes: up to
	// slowTasks×slowWork of work for 8 workers.
	slowFrom := max(total/2-slowTasks, 0)
	loadStart := time.Now()
	for w := range conns {
		wg.Go(func() {
			loadClient(w, addr, total, &next, res, slowFrom, func() {
				if done.Add(1) == int64(total/2) {
					sendSIGTERM()
				}
			})
		})
	}
	wg.Wait()
	loadTook := time.Since(loadStart)
	sendSIGTERM() // in case fewer than half were answered

	select {
	case <-proc.Exited():
	case <-time.After(loadShutdownTimeout + 20*time.Second):
		proc.Kill()
		t.Fatalf("loadserver did not exit %v after SIGTERM", loadShutdownTimeout+20*time.Second)
	}
	exitErr := proc.Err()
	exitTook := proc.ExitedAt().Sub(sigSentAt)
	lines := proc.Output()

	// The server's figures.
	var summary struct {
		TasksRecorded int64 `json:"tasks_recorded"`
		AtSignal      *struct {
			Submitted, Succeeded, Queued, Running int64
		} `json:"at_signal"`
		Final struct {
			Submitted, Succeeded, Failed, Rejected int64
		} `json:"final"`
		ShutdownMS float64 `json:"shutdown_ms"`
		RunErr     string  `json:"run_err"`
	}
	if len(lines) == 0 || json.Unmarshal([]byte(lines[len(lines)-1]), &summary) != nil {
		t.Errorf("loadserver printed no summary: %q", lines)
	}

	// Every task the server ran, from its file.
	raw, err := os.ReadFile(idsFile)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(map[string]int)
	tasksRun := 0
	for id := range strings.FieldsSeq(string(raw)) {
		ran[id]++
		tasksRun++
	}

	counts := map[outcome]int{}
	var missing, twice, withoutResponse, unknown []string
	for i, o := range res.outcome {
		counts[o]++
		id := loadID(i)
		n := ran[id]
		delete(ran, id)
		switch {
		case n > 1:
			twice = append(twice, id)
		case o == completed && n == 0:
			missing = append(missing, id)
		case o != completed && n > 0:
			withoutResponse = append(withoutResponse, fmt.Sprintf("%s (%s)", id, []string{"not sent", "completed", "refused", "closed", "bad"}[o]))
		}
	}
	for id := range ran {
		unknown = append(unknown, id)
	}
	slices.Sort(unknown)

	t.Logf("load: %d requests over %d connections in %v (server built in %v; race detector in the test %v, in the server %v)", total, conns, loadTook.Round(time.Millisecond), built.Round(time.Millisecond), raceEnabled, raceEnabled && os.Getenv("FUTURES_LOAD_SERVER_RACE") == "1")
	t.Logf("outcomes: %d completed, %d refused, %d closed before a response, %d bad, %d not sent",
		counts[completed], counts[refused], counts[closed], counts[bad], counts[notSent])
	if summary.AtSignal != nil {
		t.Logf("at SIGTERM the loop had %d queued and %d running of %d submitted", summary.AtSignal.Queued, summary.AtSignal.Running, summary.AtSignal.Submitted)
	}
	t.Logf("tasks run: %d (server: %d recorded, final loop stats %+v); process exited %v after SIGTERM (Run returned %.0f ms after it), exit %v",
		tasksRun, summary.TasksRecorded, summary.Final, exitTook.Round(time.Millisecond), summary.ShutdownMS, exitErr)

	if exitErr != nil {
		t.Errorf("loadserver exited with %v (Run: %q); stderr:\n%s", exitErr, summary.RunErr, testkit.Tail(proc.Stderr.String(), 4000))
	}
	if exitTook > loadShutdownTimeout+5*time.Second {
		// Generous: the deadline covers Run; the process then only writes
		// its summary and exits.
		t.Errorf("the process exited %v after SIGTERM, over its shutdown deadline %v", exitTook, loadShutdownTimeout)
	}
	if counts[bad] > 0 {
		t.Errorf("%d requests failed otherwise than with a connection error before the response, first: %s", counts[bad], strings.Join(res.bad, "\n"))
	}
	if counts[notSent] > 0 {
		t.Errorf("%d requests were never sent", counts[notSent])
	}
	if counts[completed] < total/2 {
		t.Errorf("only %d of %d requests completed", counts[completed], total)
	}
	if len(missing) > 0 {
		t.Errorf("%d answered requests did not run their after-response task: %v", len(missing), first(missing, 20))
	}
	if len(twice) > 0 {
		t.Errorf("%d after-response tasks ran more than once: %v", len(twice), first(twice, 20))
	}
	if len(withoutResponse) > 0 {
		t.Errorf("%d requests ran their task but got no response: %v", len(withoutResponse), first(withoutResponse, 20))
	}
	if len(unknown) > 0 {
		t.Errorf("%d tasks ran for ids that were never sent: %v", len(unknown), first(unknown, 20))
	}
	if summary.Final.Failed != 0 || summary.Final.Rejected != 0 {
		t.Errorf("the loop failed %d and rejected %d tasks", summary.Final.Failed, summary.Final.Rejected)
	}
	if strings.Contains(proc.Stderr.String(), "level=ERROR") || strings.Contains(proc.Stderr.String(), "panic") {
		t.Errorf("the server logged errors:\n%s", testkit.Tail(proc.Stderr.String(), 4000))
	}
}

// loadClient sends requests, numbered from next, over one keep-alive
// connection (redialled when the server closes it) until all are taken,
// and calls answered for each complete response.
func loadClient(w int, addr string, total int, next *atomic.Int64, res *loadResult, slowFrom int, answered func()) {
	var (
		cc *countingConn
		br *bufio.Reader
	)
	hangUp := func() {
		if cc != nil {
			cc.Close()
			cc, br = nil, nil
		}
	}
	defer hangUp()
	client := "w" + strconv.Itoa(w)
	for {
		i := int(next.Add(1) - 1)
		if i >= total {
			return
		}
		if cc == nil {
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				if errors.Is(err, syscall.ECONNREFUSED) {
					res.set(i, refused, "")
				} else {
					res.set(i, bad, "dial: "+err.Error())
				}
				continue
			}
			cc = &countingConn{Conn: c}
			br = bufio.NewReader(cc)
		}
		o, why, keep := loadRequest(cc, br, i, client, i >= slowFrom && i < slowFrom+slowTasks+200)
		res.set(i, o, why)
		if o == completed {
			answered()
		}
		if !keep {
			hangUp()
		}
	}
}

// loadRequest sends request i on cc and checks its response. keep says
// whether the connection can carry the next request.
func loadRequest(cc *countingConn, br *bufio.Reader, i int, client string, slow bool) (o outcome, why string, keep bool) {
	id, pad, qty := loadID(i), loadPad(i), i%7+1
	body := fmt.Sprintf(`{"item":"item-%d","qty":%d,"price":1.25,"notes":["n1","n2"]}`, i, qty)
	gz := i%16 == 0 || i%16 == 1 // half of them with a compressible body
	var req bytes.Buffer
	work := ""
	if slow {
		work = "&work=" + slowWork.String()
	}
	fmt.Fprintf(&req, "POST /orders/%s?pad=%d%s HTTP/1.1\r\nHost: loadtest\r\nX-Client: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", id, pad, work, client, len(body))
	if gz {
		req.WriteString("Accept-Encoding: gzip\r\n")
	}
	req.WriteString("\r\n")
	req.WriteString(body)

	// Generous: only keeps a hung server from hanging the test.
	cc.SetDeadline(time.Now().Add(30 * time.Second))
	cc.n = 0
	if _, err := cc.Write(req.Bytes()); err != nil {
		if connError(err) && cc.n == 0 {
			return closed, "", false
		}
		return bad, "write: " + err.Error(), false
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		if cc.n == 0 && connError(err) {
			return closed, "", false
		}
		return bad, fmt.Sprintf("reading the response after %d bytes: %v", cc.n, err), false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return bad, fmt.Sprintf("%d response truncated after %d body bytes: %v", resp.StatusCode, len(b), err), false
	}
	keep = !resp.Close
	if resp.StatusCode != 200 {
		return bad, fmt.Sprintf("status %d: %q", resp.StatusCode, b), keep
	}
	if resp.ContentLength >= 0 && int64(len(b)) != resp.ContentLength {
		return bad, fmt.Sprintf("Content-Length %d, body %d bytes", resp.ContentLength, len(b)), false
	}
	if enc := resp.Header.Get("Content-Encoding"); enc == "gzip" {
		if !gz {
			return bad, "gzip for a client that did not ask for it", keep
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return bad, "gzip: " + err.Error(), keep
		}
		if b, err = io.ReadAll(zr); err != nil {
			return bad, "gzip body truncated: " + err.Error(), keep
		}
	} else if enc != "" {
		return bad, "Content-Encoding " + enc, keep
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return bad, "Content-Type " + ct, keep
	}
	var got loadviews.Receipt
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		return bad, fmt.Sprintf("body %q: %v", b, err), keep
	}
	want := loadviews.Receipt{
		ID: id, Item: "item-" + strconv.Itoa(i), Qty: qty, Total: float64(qty) * 1.25,
		Client: client, Notes: 2, Pad: strings.Repeat("p", pad),
	}
	if got != want {
		return bad, fmt.Sprintf("receipt %+v, want %+v", got, want), keep
	}
	return completed, "", keep
}

// connError reports whether err is the server closing or resetting the
// connection.
func connError(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// isListening reports whether line is loadserver's first, which says where
// it listens: "listening ADDR".
func isListening(line string) bool { return strings.HasPrefix(line, "listening ") }

func first[T any](s []T, n int) []T { return s[:min(len(s), n)] }
