package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/socket"
	"github.com/gofutures/futures/runtime/view"
)

// The load of issue 17: many idle event streams and sockets, each server
// in a process of its own (a child of the benchmark: the test binary run
// again), so that its memory is the server's alone; the clients are in
// the benchmark's process. For each kind of server, futures against the
// same thing written by hand on net/http and coder/websocket:
//
//   - bytes per connection: the server's heap and stacks in use (after a
//     GC), and its resident set, with N connections open and idle, less
//     the same before the first;
//   - the time to broadcast one message to all of them: from the server's
//     command to the last client's read of it.
//
// FUTURES_BENCH_CONNS sets N (default 10,000; bench/run.sh -quick uses
// 1,000). The command that gives the figures in IDLE.md:
//
//	go test -run '^$' -bench IdleConnections -benchtime 1x

// idleKinds are the servers, in the order measured.
var idleKinds = []string{"sse/futures", "sse/handwritten", "socket/futures", "socket/handwritten"}

// idleServerEnv, when set in the environment of the test binary, makes
// TestIdleServer serve that kind instead of skipping.
const idleServerEnv = "FUTURES_BENCH_IDLE_SERVER"

// note is the message the servers broadcast.
type note struct {
	Seq  int    `json:"seq"`
	Text string `json:"text"`
}

// hub holds one channel per idle connection and broadcasts to them.
type hub struct {
	mu   sync.Mutex
	subs map[chan note]struct{}
}

func (h *hub) join() chan note {
	ch := make(chan note, 1)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch
}

func (h *hub) leave(ch chan note) {
	h.mu.Lock()
	delete(h.subs, ch)
	h.mu.Unlock()
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (h *hub) broadcast(n note) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- n:
		default:
		}
	}
}

// raiseFileLimit lifts the soft limit on open files to the hard one: ten
// thousand connections need as many descriptors on each side.
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	return l.Cur, nil
}

// TestIdleServer is the child process of BenchmarkIdleConnections: it
// serves one kind of idle connection and answers commands on stdin, one a
// line: "count" (connections subscribed), "mem" (after a GC: heap and
// stacks in use, resident set, goroutines), "broadcast", "quit". Without
// FUTURES_BENCH_IDLE_SERVER it skips.
func TestIdleServer(t *testing.T) {
	kind := os.Getenv(idleServerEnv)
	if kind == "" {
		t.Skip("the child process of BenchmarkIdleConnections")
	}
	if _, err := raiseFileLimit(); err != nil {
		t.Fatal(err)
	}
	h := &hub{subs: map[chan note]struct{}{}}
	mux := http.NewServeMux()
	quiet := slog.New(slog.DiscardHandler)
	c := view.NewConfig(view.WithLogger(quiet))
	switch kind {
	case "sse/futures":
		spec := view.Spec{Name: "events", Pattern: "GET /events"}
		err := view.HandleStream(mux, c, &spec, func(ctx context.Context, r *http.Request) (iter.Seq2[note, error], error) {
			return func(yield func(note, error) bool) {
				ch := h.join()
				defer h.leave(ch)
				for {
					select {
					case n := <-ch:
						if !yield(n, nil) {
							return
						}
					case <-ctx.Done():
						return
					}
				}
			}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	case "sse/handwritten":
		mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
			rc.Flush()
			ch := h.join()
			defer h.leave(ch)
			heartbeat := time.NewTicker(view.DefaultHeartbeat)
			defer heartbeat.Stop()
			id := 0
			for {
				select {
				case n := <-ch:
					data, _ := json.Marshal(n)
					id++
					rc.SetWriteDeadline(time.Now().Add(time.Minute))
					if _, err := fmt.Fprintf(w, "id: %d\ndata: %s\n\n", id, data); err != nil {
						return
					}
					rc.Flush()
				case <-heartbeat.C:
					rc.SetWriteDeadline(time.Now().Add(time.Minute))
					io.WriteString(w, ": heartbeat\n\n")
					rc.Flush()
				case <-r.Context().Done():
					return
				}
			}
		})
	case "socket/futures":
		spec := socket.Spec{Name: "ws", Pattern: "GET /ws"}
		err := socket.Handle(mux, c, &spec, func(ctx context.Context, r *http.Request) (func(context.Context, *socket.Conn[note, note]) error, error) {
			return func(ctx context.Context, conn *socket.Conn[note, note]) error {
				ch := h.join()
				defer h.leave(ch)
				for {
					select {
					case n := <-ch:
						if err := conn.Send(ctx, n); err != nil {
							return nil
						}
					case <-ctx.Done():
						return nil
					}
				}
			}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	case "socket/handwritten":
		mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
			conn, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer conn.CloseNow()
			conn.SetReadLimit(socket.DefaultMaxMessage)
			ctx := conn.CloseRead(context.Background())
			ch := h.join()
			defer h.leave(ch)
			ping := time.NewTicker(socket.DefaultPing)
			defer ping.Stop()
			for {
				select {
				case n := <-ch:
					data, _ := json.Marshal(n)
					if err := conn.Write(ctx, websocket.MessageText, data); err != nil {
						return
					}
				case <-ping.C:
					pctx, cancel := context.WithTimeout(ctx, socket.DefaultPing)
					err := conn.Ping(pctx)
					cancel()
					if err != nil {
						return
					}
				case <-ctx.Done():
					return
				}
			}
		})
	default:
		t.Fatalf("unknown kind %q", kind)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	if strings.HasSuffix(kind, "/futures") {
		go func() {
			served <- server.Run(ctx, server.Config{Listeners: []net.Listener{ln}, Handler: mux, Logger: quiet,
				Signals: []os.Signal{}, MaxConns: 50_000, MaxSockets: 50_000, ShutdownTimeout: 2 * time.Second})
		}()
	} else {
		// What one would write by hand: the same timeouts as server.Run's
		// defaults.
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
			WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
		go func() { served <- srv.Serve(ln) }()
		defer srv.Close()
	}
	fmt.Printf("ADDR %s\n", ln.Addr())
	sc := bufio.NewScanner(os.Stdin)
	seq := 0
	for sc.Scan() {
		switch sc.Text() {
		case "count":
			fmt.Printf("COUNT %d\n", h.count())
		case "mem":
			runtime.GC()
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			fmt.Printf("MEM %d %d %d %d\n", m.HeapInuse+m.StackInuse, rss(), runtime.NumGoroutine(), m.HeapInuse)
		case "broadcast":
			seq++
			h.broadcast(note{Seq: seq, Text: "hello, everyone"})
			fmt.Printf("SENT %d\n", seq)
		case "quit":
			stop()
			return
		}
	}
}

// rss is the process's resident set in bytes, from /proc.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// child is a running TestIdleServer.
type child struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	addr string
}

func startChild(b *testing.B, kind string) *child {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestIdleServer$", "-test.count", "1")
	cmd.Env = append(os.Environ(), idleServerEnv+"="+kind, "GOMAXPROCS=2")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	c.addr = c.expect(b, "ADDR")[0]
	return c
}

// expect reads lines until one starting with word and returns its fields.
func (c *child) expect(b *testing.B, word string) []string {
	b.Helper()
	for c.out.Scan() {
		if f := strings.Fields(c.out.Text()); len(f) > 0 && f[0] == word {
			return f[1:]
		}
	}
	b.Fatalf("the server process ended before saying %s", word)
	return nil
}

func (c *child) send(b *testing.B, cmd string) {
	b.Helper()
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		b.Fatal(err)
	}
}

func (c *child) mem(b *testing.B) (inuse, rss int64, goroutines int) {
	c.send(b, "mem")
	f := c.expect(b, "MEM")
	inuse, _ = strconv.ParseInt(f[0], 10, 64)
	rss, _ = strconv.ParseInt(f[1], 10, 64)
	goroutines, _ = strconv.Atoi(f[2])
	return
}

func (c *child) stop() {
	io.WriteString(c.in, "quit\n")
	c.in.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// idleClient is one connection: it reads until the broadcast comes, and
// says when.
type idleClient struct {
	close func()
	got   chan time.Time
}

// dialSSE opens an event stream on a plain TCP connection, reading with a
// small buffer: the clients' memory is not measured, but there are many.
func dialSSE(addr string) (*idleClient, error) {
	conn, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(conn, "GET /events HTTP/1.1\r\nHost: "+addr+"\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	r := bufio.NewReaderSize(conn, 512)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	status, err := r.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		conn.Close()
		return nil, fmt.Errorf("stream: %q %v", status, err)
	}
	conn.SetReadDeadline(time.Time{})
	c := &idleClient{close: func() { conn.Close() }, got: make(chan time.Time, 1)}
	go func() {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if strings.HasPrefix(line, "data: ") {
				c.got <- time.Now()
				io.Copy(io.Discard, r)
				return
			}
		}
	}()
	return c, nil
}

var wsClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1}}

func dialSocket(addr string) (*idleClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{HTTPClient: wsClient})
	if err != nil {
		return nil, err
	}
	c := &idleClient{close: func() { conn.CloseNow() }, got: make(chan time.Time, 1)}
	go func() {
		if _, _, err := conn.Read(context.Background()); err == nil {
			c.got <- time.Now()
		}
		conn.Read(context.Background()) // until the close
	}()
	return c, nil
}

// idleResult is one kind's figures.
type idleResult struct {
	heapPerConn, rssPerConn float64 // bytes
	goroutinesPerConn       float64
	broadcastLast           time.Duration
	broadcastMedian         time.Duration
}

// BenchmarkIdleConnections opens N idle event streams, then N idle
// sockets, on futures and on hand-written servers, and reports the
// server's memory per connection and the time to broadcast one message
// to all of them.
func BenchmarkIdleConnections(b *testing.B) {
	if os.Getenv(idleServerEnv) != "" {
		b.Skip("in the server process")
	}
	n := 10_000
	if v := os.Getenv("FUTURES_BENCH_CONNS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("FUTURES_BENCH_CONNS=%q", v)
		}
	}
	limit, err := raiseFileLimit()
	if err != nil {
		b.Fatal(err)
	}
	if limit < uint64(n)+100 {
		b.Skipf("the open-file limit is %d: %d connections need more (ulimit -Hn)", limit, n)
	}
	results := map[string]idleResult{}
	for _, kind := range idleKinds {
		b.Run(kind, func(b *testing.B) {
			var r idleResult
			for b.Loop() {
				r = measureIdle(b, kind, n)
			}
			results[kind] = r
			b.ReportMetric(r.heapPerConn, "heapB/conn")
			b.ReportMetric(r.rssPerConn, "rssB/conn")
			b.ReportMetric(r.goroutinesPerConn, "goroutines/conn")
			b.ReportMetric(float64(r.broadcastLast.Microseconds())/1000, "ms/broadcast")
			b.ReportMetric(0, "ns/op")
		})
	}
	for _, k := range []string{"sse", "socket"} {
		f, h := results[k+"/futures"], results[k+"/handwritten"]
		if h.heapPerConn > 0 && h.rssPerConn > 0 {
			b.Logf("%s, %d connections: futures %.0f B/conn heap+stacks (%.2f× hand-written's %.0f), %.0f B/conn RSS (%.2f× %.0f); broadcast to all %v (hand-written %v), median client %v (%v)",
				k, n, f.heapPerConn, f.heapPerConn/h.heapPerConn, h.heapPerConn, f.rssPerConn, f.rssPerConn/h.rssPerConn, h.rssPerConn,
				f.broadcastLast.Round(time.Millisecond), h.broadcastLast.Round(time.Millisecond),
				f.broadcastMedian.Round(time.Millisecond), h.broadcastMedian.Round(time.Millisecond))
		}
	}
}

func measureIdle(b *testing.B, kind string, n int) idleResult {
	c := startChild(b, kind)
	defer c.stop()
	dial := dialSSE
	if strings.HasPrefix(kind, "socket") {
		dial = dialSocket
	}
	// The first connection warms the server up (its pools, its first
	// goroutines), so that the baseline is that of a server that serves.
	first, err := dial(c.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer first.close()
	waitCount(b, c, 1)
	heap0, rss0, g0 := c.mem(b)

	clients := make([]*idleClient, n-1)
	var next atomic.Int64
	var wg sync.WaitGroup
	var dialErr atomic.Value
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(clients) {
					return
				}
				cl, err := dial(c.addr)
				if err != nil {
					dialErr.Store(err)
					return
				}
				clients[i] = cl
			}
		})
	}
	wg.Wait()
	defer func() {
		for _, cl := range clients {
			if cl != nil {
				cl.close()
			}
		}
	}()
	if err, _ := dialErr.Load().(error); err != nil {
		b.Fatalf("dialing: %v", err)
	}
	waitCount(b, c, n)
	heap1, rss1, g1 := c.mem(b)

	all := append(clients, first)
	start := time.Now()
	c.send(b, "broadcast")
	times := make([]time.Duration, 0, n)
	for _, cl := range all {
		select {
		case at := <-cl.got:
			times = append(times, at.Sub(start))
		case <-time.After(60 * time.Second):
			b.Fatalf("a client got no broadcast within 60s (%d did)", len(times))
		}
	}
	slices.Sort(times)
	per := float64(n - 1)
	return idleResult{
		heapPerConn:       float64(heap1-heap0) / per,
		rssPerConn:        float64(rss1-rss0) / per,
		goroutinesPerConn: float64(g1-g0) / per,
		broadcastLast:     times[len(times)-1],
		broadcastMedian:   times[len(times)/2],
	}
}

// waitCount waits until the server has n subscribers.
func waitCount(b *testing.B, c *child, n int) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c.send(b, "count")
		got, _ := strconv.Atoi(c.expect(b, "COUNT")[0])
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal(errors.New("the server did not see every connection within 2 minutes: " + strconv.Itoa(got) + " of " + strconv.Itoa(n)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
