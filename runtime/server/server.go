// Package server runs an HTTP service in production: Django Futures'
// run_tornado for Go. Run listens, serves with timeouts that keep slow or
// hostile clients from holding connections forever, optionally compresses
// responses and serves static files, and on SIGINT, SIGTERM or the end of
// its context shuts down in order within one deadline: stop accepting,
// finish the requests in flight, then drain the task loop, so that the
// after-response tasks those requests scheduled still run.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofutures/futures/runtime/internal/streams"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

// Config configures Run. The zero value of each field gives the default
// stated on it; Handler is required.
type Config struct {
	// Addr is the address to listen on. Default ":8080", every IPv4 and
	// IPv6 address of the host. "localhost:port" listens on both
	// 127.0.0.1 and [::1].
	Addr string
	// Listeners, when set, are served instead of listening on Addr (for
	// tests and socket activation). Run closes them.
	Listeners []net.Listener
	// Handler serves the requests.
	Handler http.Handler
	// Loop, when set, is the task loop of the service: Run starts it if it
	// has not started, gives it to every request's context (so that
	// after-response tasks run on it), and drains it at shutdown.
	Loop *taskloop.Loop

	// ReadHeaderTimeout bounds reading a request's headers; it is what cuts
	// off slowloris clients. Default 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included. Default
	// 60s.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request headers to
	// the end of the response. Default 60s; it must exceed the slowest
	// view's timeout.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long. Default
	// 120s.
	IdleTimeout time.Duration
	// MaxHeaderBytes limits the request headers. Default 1 MiB.
	MaxHeaderBytes int
	// MaxConns caps the connections the server holds open at once,
	// across its listeners. At the cap, a new connection makes the server
	// close the connection idle longest between two requests, or else
	// one that has sent nothing for a second; if every connection is
	// busy, the new one gets an immediate 503 with Retry-After and is
	// closed. A new client is never left waiting. Default: the open-file
	// limit less a quarter of it (at least 64 files) for the process's
	// other files; negative means no cap. Hijacked connections leave the
	// count.
	MaxConns int
	// MaxSockets caps the WebSockets (runtime/socket) open at once. A
	// socket over the cap is refused with a 503 and Retry-After before
	// its upgrade. Sockets count against MaxConns too, although net/http
	// hands their connections over. Default: three quarters of MaxConns,
	// so that plain requests (the page that opens the sockets) always
	// find room; negative means no cap but MaxConns.
	MaxSockets int
	// ShutdownTimeout is the one deadline for the whole shutdown: requests
	// in flight, event streams and sockets, then the task loop. Event
	// streams (view.HandleStream) are ended at once, without their end
	// event, so that their clients reconnect to the next server; sockets
	// are closed with 1001 (going away) and their functions' contexts
	// cancelled. Default 30s.
	ShutdownTimeout time.Duration
	// MaxBodyBytesInFlight bounds the bytes of request bodies that views
	// hold at once, across the server (a view.BodyBudget): before reading
	// its body a view reserves its Content-Length, or its maxbody when the
	// length is unknown, until its handler returns; one that finds no room
	// within BodyWait answers 503 with Retry-After. With the views' JSON
	// decoder limits this bounds the memory of request bodies: 64 or 256
	// concurrent 1 MiB bodies decoded into `any` fields stay well under
	// 256 MiB of RSS. Default DefaultMaxBodyBytesInFlight (16 MiB);
	// negative means no bound. A client that announces a large body and
	// sends it slowly holds its share until ReadTimeout.
	MaxBodyBytesInFlight int64
	// BodyWait is how long a view waits for room in MaxBodyBytesInFlight
	// before it answers 503. Default 5s.
	BodyWait time.Duration

	// Gzip compresses text, JSON, JavaScript, XML and SVG responses of
	// 1 KiB or more (or of unknown length) for clients that accept gzip.
	Gzip bool
	// Static, when set, serves its files under StaticPrefix. Directory
	// listings and dot files (.env, .git/…) are not served, nor are they
	// through a symbolic link (config.txt -> .env) when Static can read
	// links (os.DirFS, StaticDir); a directory answers with its
	// index.html.
	Static fs.FS
	// StaticDir is Static from a directory of the file system.
	StaticDir string
	// StaticPrefix is the URL path Static is served under. Default
	// "/static/".
	StaticPrefix string

	// Logger receives startup, shutdown and net/http's own errors.
	// Default slog.Default().
	Logger *slog.Logger
	// Signals stop the server. Nil means SIGINT and SIGTERM; an empty,
	// non-nil slice means no signal at all (only ctx stops the server).
	Signals []os.Signal
	// Ready, when set, is called with the listeners' addresses once the
	// server accepts connections.
	Ready func(addrs []net.Addr)
}

func (c *Config) withDefaults() error {
	if c.Handler == nil {
		return errors.New("server: Config.Handler is required")
	}
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ReadHeaderTimeout, 10*time.Second)
	def(&c.ReadTimeout, 60*time.Second)
	def(&c.WriteTimeout, 60*time.Second)
	def(&c.IdleTimeout, 120*time.Second)
	def(&c.ShutdownTimeout, 30*time.Second)
	def(&c.BodyWait, 5*time.Second)
	if c.MaxBodyBytesInFlight == 0 {
		c.MaxBodyBytesInFlight = DefaultMaxBodyBytesInFlight
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 1 << 20
	}
	if c.MaxConns == 0 {
		c.MaxConns = defaultMaxConns()
	}
	if c.MaxSockets == 0 && c.MaxConns > 0 {
		c.MaxSockets = max(c.MaxConns-c.MaxConns/4, 1)
	}
	if c.StaticDir != "" && c.Static == nil {
		// os.Root keeps symbolic links from leading out of the directory.
		root, err := os.OpenRoot(c.StaticDir)
		if err != nil {
			return fmt.Errorf("server: StaticDir: %w", err)
		}
		c.Static = root.FS()
	}
	if c.StaticPrefix == "" {
		c.StaticPrefix = "/static/"
	}
	if c.Static != nil && (!strings.HasPrefix(c.StaticPrefix, "/") || !strings.HasSuffix(c.StaticPrefix, "/")) {
		return fmt.Errorf("server: StaticPrefix %q must start and end with /", c.StaticPrefix)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Signals == nil {
		c.Signals = []os.Signal{os.Interrupt, syscall.SIGTERM}
	}
	return nil
}

// ShutdownError is Run's error when the shutdown did not finish
// everything: the deadline passed before the requests or the loop's tasks
// were done, or the loop did not run every task it had accepted (delayed
// tasks not yet due).
type ShutdownError struct {
	// Requests is how many requests were still running when their
	// connections were closed.
	Requests int
	// Sockets is how many sockets' functions had not returned by the
	// deadline: their connections were closed.
	Sockets int
	// Tasks is the task loop's *taskloop.ShutdownError, if it did not run
	// every task.
	Tasks error
}

func (e *ShutdownError) Error() string {
	var parts []string
	if e.Requests > 0 {
		parts = append(parts, fmt.Sprintf("%d request(s) cut off", e.Requests))
	}
	if e.Sockets > 0 {
		parts = append(parts, fmt.Sprintf("%d socket(s) cut off", e.Sockets))
	}
	if e.Tasks != nil {
		parts = append(parts, e.Tasks.Error())
	}
	return "server: shutdown incomplete: " + strings.Join(parts, "; ")
}

func (e *ShutdownError) Unwrap() error { return e.Tasks }

// Run serves until ctx ends or a stop signal arrives, then shuts down
// gracefully within Config.ShutdownTimeout, and returns: nil after a clean
// shutdown, a *ShutdownError when the deadline cut requests or tasks off
// or tasks were left unrun, or the error that kept the server from
// listening or serving.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.withDefaults(); err != nil {
		for _, ln := range cfg.Listeners {
			ln.Close()
		}
		return err
	}
	log := cfg.Logger
	listeners := cfg.Listeners
	if len(listeners) == 0 {
		var err error
		if listeners, err = listen(ctx, cfg.Addr); err != nil {
			return err
		}
	}

	if cfg.Loop != nil {
		// A loop started elsewhere is fine: Start reports it and changes
		// nothing.
		_ = cfg.Loop.Start(context.WithoutCancel(ctx))
	}
	var inFlight atomic.Int64
	// The count of connections serving a request when the deadline
	// passes is what the shutdown cut off.
	connState := trackActive(&inFlight)
	// The server's event streams and sockets: told when the shutdown
	// starts, and the sockets counted, capped and waited for.
	longLived := streams.New(cfg.WriteTimeout, cfg.MaxSockets)
	var conns *connLimiter
	if cfg.MaxConns > 0 {
		conns = newConnLimiter(cfg.MaxConns, log)
		conns.extra = longLived.Sockets
		listeners = slices.Clone(listeners) // not the caller's Config.Listeners
		for i, ln := range listeners {
			listeners[i] = conns.listener(ln)
		}
		track := connState
		connState = func(c net.Conn, state http.ConnState) {
			track(c, state)
			conns.connState(c, state)
		}
	}
	var bodies *view.BodyBudget
	if cfg.MaxBodyBytesInFlight > 0 {
		bodies = view.NewBodyBudget(cfg.MaxBodyBytesInFlight, cfg.BodyWait)
	}
	srv := &http.Server{
		Handler:           cfg.handler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context {
			base := streams.With(context.WithoutCancel(ctx), longLived)
			if cfg.Loop != nil {
				base = taskloop.WithLoop(base, cfg.Loop)
			}
			if bodies != nil {
				base = view.WithBodyBudget(base, bodies)
			}
			return base
		},
		ConnState: connState,
	}

	sigCtx := ctx
	if len(cfg.Signals) > 0 {
		// NotifyContext with no signals would catch every signal,
		// SIGURG included, which the runtime sends itself.
		var stopSignals context.CancelFunc
		sigCtx, stopSignals = signal.NotifyContext(ctx, cfg.Signals...)
		defer stopSignals()
	}

	serveErr := make(chan error, len(listeners))
	var wg sync.WaitGroup
	addrs := make([]net.Addr, len(listeners))
	for i, ln := range listeners {
		addrs[i] = ln.Addr()
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("server: serving %s: %w", ln.Addr(), err)
			}
		})
	}
	log.Info("server listening", "addrs", addrs)
	if cfg.Ready != nil {
		cfg.Ready(addrs)
	}

	var failure error
	select {
	case <-sigCtx.Done():
		reason := "context ended"
		if ctx.Err() == nil {
			reason = "signal"
		}
		log.Info("server shutting down", "reason", reason, "deadline", cfg.ShutdownTimeout)
	case failure = <-serveErr:
		log.Error("server failed; shutting down", "err", failure)
	}

	started := time.Now()
	sdCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	var sdErr ShutdownError
	// Streams and sockets never end by themselves: end them first, so
	// that Shutdown, which waits for responses to finish, does not wait
	// for them until the deadline.
	longLived.Stop()
	if err := srv.Shutdown(sdCtx); err != nil {
		// The deadline passed with requests still running: cut them off.
		sdErr.Requests = int(inFlight.Load())
		if errors.Is(err, context.DeadlineExceeded) {
			sdErr.Requests = max(sdErr.Requests, 1)
		}
		srv.Close()
	}
	wg.Wait()
	// Sockets have left net/http: Shutdown does not wait for them.
	if killed := longLived.Wait(sdCtx); killed > 0 {
		sdErr.Sockets = killed
	}
	if conns != nil {
		conns.wait() // the connections being refused, a second at most
	}
	if cfg.Loop != nil {
		if err := cfg.Loop.Shutdown(sdCtx); err != nil {
			sdErr.Tasks = err
		}
	}
	took := time.Since(started).Round(time.Millisecond)
	if sdErr.Requests > 0 || sdErr.Sockets > 0 || sdErr.Tasks != nil {
		log.Error("server stopped before everything finished", "took", took, "requests_cut_off", sdErr.Requests, "sockets_cut_off", sdErr.Sockets, "tasks", sdErr.Tasks)
		if failure == nil {
			return &sdErr
		}
		return errors.Join(failure, &sdErr)
	}
	log.Info("server stopped", "took", took)
	return failure
}

// trackActive counts the connections serving a request.
func trackActive(n *atomic.Int64) func(net.Conn, http.ConnState) {
	var mu sync.Mutex
	active := map[net.Conn]bool{}
	return func(c net.Conn, state http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch state {
		case http.StateActive:
			active[c] = true
		default:
			delete(active, c)
		}
		n.Store(int64(len(active)))
	}
}

// listen opens the listeners for addr: one for ":port" (dual-stack), or
// one per loopback family for "localhost:port".
func listen(ctx context.Context, addr string) ([]net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("server: address %q: %w", addr, err)
	}
	hosts := []string{host}
	if host == "localhost" {
		hosts = []string{"127.0.0.1", "::1"}
	}
	var lc net.ListenConfig
	var out []net.Listener
	for i, h := range hosts {
		ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(h, port))
		if err != nil {
			if i > 0 && familyUnavailable(err) {
				continue // a host without IPv6 still serves IPv4
			}
			for _, l := range out {
				l.Close()
			}
			return nil, fmt.Errorf("server: %w", err)
		}
		out = append(out, ln)
		if port == "0" {
			// Both families on the same ephemeral port is not guaranteed;
			// one listener is enough.
			break
		}
	}
	return out, nil
}

// handler wraps the configured handler with static files, gzip and a
// request scope for after-response tasks.
func (c *Config) handler() http.Handler {
	h := c.Handler
	if c.Static != nil {
		files := http.StripPrefix(strings.TrimSuffix(c.StaticPrefix, "/"), http.FileServerFS(noListing{c.Static}))
		next := h
		prefix := c.StaticPrefix
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, prefix) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				files.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	if c.Gzip {
		h = Gzip(h)
	}
	// Outermost, so that after-response tasks are handed over only once
	// every handler, whatever it wraps, has finished the response.
	return taskloop.Middleware(h)
}

// noListing hides directories without an index.html from http.FileServer,
// which would otherwise list their contents.
type noListing struct{ fs.FS }

func (n noListing) Open(name string) (fs.File, error) {
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, ".") && elem != "." {
			return nil, fs.ErrNotExist // dot files: .env, .git
		}
	}
	// Where symbolic links lead must pass the same checks (static.go).
	name, err := resolveLinks(n.FS, name)
	if err != nil {
		return nil, err
	}
	f, err := n.FS.Open(name)
	if err != nil {
		return nil, notFound(err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, notFound(err)
	}
	if info.IsDir() {
		// Through n, so that an index.html that is a link to a dot file, or
		// a directory, does not count: http.FileServer lists a directory
		// whose index.html it cannot use.
		index, err := n.Open(path.Join(name, "index.html"))
		if err != nil {
			f.Close()
			return nil, fs.ErrNotExist
		}
		indexInfo, err := index.Stat()
		index.Close()
		if err != nil || indexInfo.IsDir() {
			f.Close()
			return nil, fs.ErrNotExist
		}
	}
	return f, nil
}

// notFound turns every error but a permission problem into fs.ErrNotExist,
// so that odd names (a NUL byte) get a 404 rather than a 500.
func notFound(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return err
	}
	return fs.ErrNotExist
}
