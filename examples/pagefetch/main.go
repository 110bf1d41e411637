// Command pagefetch is Django Futures' demo in Go: a view that fetches a
// page of about 50 KB N times at once and shows each request's time, the
// wall time of the whole batch, the sum of the requests' times and the
// speed-up that running them at once gave.
//
//	go run ./examples/pagefetch
//
// then open the address it prints (http://127.0.0.1:8000/ unless that port
// is taken, when it picks a free one) and choose N. It serves until Ctrl-C
// (or SIGTERM), then shuts down gracefully.
//
// So that it works with no network, it fetches from a page server of its
// own on a free loopback port, which answers every request with the same
// generated 50 KB page after a short delay (-delay, 20ms), as a remote site
// would. Flags:
//
//	-addr HOST:PORT  where to serve the demo (default 127.0.0.1:8000; if that
//	                 port is taken and -addr was not given, a free port)
//	-url URL         fetch this page instead of the built-in one
//	-delay DURATION  the built-in page server's delay (default 20ms)
//
// The page is a //futures:view (see fetch.go) rendered with html/template
// for browsers; other clients get the same report as JSON. n is any number
// from 1 to 1000 (10 when absent); a bad one is a 400, which a browser
// sees as the page with the error (errortemplate=). Pressing Fetch on the
// page streams the batch instead: the page opens an EventSource on
// /stream, another //futures:view, whose result is an iter.Seq2 of
// events, and each request's row appears the moment its response is in.
//
//	curl 'http://127.0.0.1:8000/?n=100'
//	curl 'http://127.0.0.1:8000/stream?n=100'
package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/gofutures/futures/runtime/httpclient"
	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

// templates are the views' html/templates.
//
//go:embed templates
var templates embed.FS

// defaultAddr is where the demo serves unless -addr says otherwise.
const defaultAddr = "127.0.0.1:8000"

// pageSize is the size of the built-in page: about that of Django Futures'
// demo page.
const pageSize = 50 << 10

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "pagefetch:", err)
		os.Exit(1)
	}
}

// run serves the demo until ctx ends or SIGINT or SIGTERM arrives, then
// shuts down gracefully. It prints the address to open on stdout and logs
// on stderr; ready, when not nil, is called with that address once the demo
// accepts connections.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(url string)) error {
	flags := flag.NewFlagSet("pagefetch", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", defaultAddr, "`host:port` to serve the demo on; if the default is taken, a free port")
	target := flags.String("url", "", "fetch this `URL` instead of the built-in page server's 50 KB page")
	delay := flags.Duration("delay", 20*time.Millisecond, "how long the built-in page server waits before answering")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see -h", flags.Args())
	}
	addrSet := false
	flags.Visit(func(f *flag.Flag) { addrSet = addrSet || f.Name == "addr" })

	logger := slog.New(slog.NewTextHandler(stderr, nil))

	ln, err := listen(*addr, addrSet, stdout)
	if err != nil {
		return err
	}

	url := *target
	if url == "" {
		pages, err := startPageServer(*delay)
		if err != nil {
			ln.Close()
			return err
		}
		defer pages.Close()
		url = pages.URL
		fmt.Fprintf(stdout, "pagefetch: fetching %s, a %d-byte page served after %v by a server of its own (-url to fetch another)\n", url, pageSize, *delay)
	} else {
		fmt.Fprintf(stdout, "pagefetch: fetching %s\n", url)
	}

	client := httpclient.New()
	defer client.CloseIdleConnections()
	fetcher := &Fetcher{Client: client, URL: url, Logger: logger}

	loop := taskloop.New(taskloop.Options{Logger: logger})
	if err := RegisterFetcherTasks(loop, fetcher); err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	if err := RegisterFetcherViews(mux, fetcher, view.WithTemplates(templates), view.WithLogger(logger)); err != nil {
		ln.Close()
		return err
	}

	return server.Run(ctx, server.Config{
		Listeners: []net.Listener{ln},
		Handler:   mux,
		Loop:      loop,
		Gzip:      true,
		Logger:    logger,
		Ready: func(addrs []net.Addr) {
			open := "http://" + addrs[0].String() + "/"
			fmt.Fprintf(stdout, "pagefetch: open %s in a browser; Ctrl-C to stop\n", open)
			if ready != nil {
				ready(open)
			}
		},
	})
}

// listen listens on addr. When that fails and addr is the default rather
// than the user's choice (the port is taken, say by another demo), it
// listens on a free loopback port instead, and says so.
func listen(addr string, chosen bool, stdout io.Writer) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil || chosen {
		return ln, err
	}
	ln, err2 := net.Listen("tcp", "127.0.0.1:0")
	if err2 != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "pagefetch: cannot listen on %s (%v); listening on %s instead\n", addr, err, ln.Addr())
	return ln, nil
}

// pageServer serves the built-in page on loopback.
type pageServer struct {
	URL string
	srv *http.Server
}

// startPageServer serves a generated page of pageSize bytes on a free
// loopback port, answering each request after delay, as a remote site
// would.
func startPageServer(delay time.Duration) (*pageServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	page := makePage(pageSize)
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Length", strconv.Itoa(len(page)))
			w.Write(page)
		}),
	}
	go srv.Serve(ln)
	return &pageServer{URL: "http://" + ln.Addr().String() + "/page", srv: srv}, nil
}

// Close stops the page server at once: by now nothing fetches from it.
func (p *pageServer) Close() error { return p.srv.Close() }

// makePage returns an HTML page of exactly size bytes.
func makePage(size int) []byte {
	const (
		head = "<!doctype html>\n<html><head><title>A page to fetch</title></head><body>\n"
		para = "<p>Futures fan out to many backends at once, and the wall time stays close to one request's.</p>\n"
		tail = "</body></html>\n"
	)
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(head)
	for b.Len()+len(para)+len(tail) <= size {
		b.WriteString(para)
	}
	for b.Len()+len(tail) < size {
		b.WriteByte(' ')
	}
	b.WriteString(tail)
	return b.Bytes()
}
