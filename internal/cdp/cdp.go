// Package cdp drives a headless Chromium over the Chrome DevTools Protocol,
// for the examples' browser tests: pages in browser contexts of their own
// (two users with separate cookies and storage), JavaScript evaluated in
// them, and waits for conditions on their DOM. It speaks the protocol's
// JSON over a WebSocket (coder/websocket); it has none of a browser
// automation library's other features.
package cdp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Find returns the path of Chromium. Without one the test skips, unless
// CI is set: CI installs Chromium (.ci/run), so there a missing browser is
// a failure rather than a quiet skip.
func Find(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const how = "Chromium is not installed (on Debian or Ubuntu: apt-get install chromium)"
	if os.Getenv("CI") != "" {
		t.Fatalf("%s, and CI is set, so the browser test may not skip", how)
	}
	t.Skipf("%s; skipping the browser test", how)
	return ""
}

// Browser is a headless Chromium and its DevTools connection.
type Browser struct {
	cmd  *exec.Cmd
	conn *websocket.Conn
	done chan struct{} // closed when the reader stops

	mu      sync.Mutex
	nextID  int64
	waiting map[int64]chan reply
	err     error // why the reader stopped
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Start starts Chromium (Find's) for the test, which closes it when it
// ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	path := Find(t)
	// Not t.TempDir: Chromium's helper processes may write to the
	// profile for a moment after the browser has gone, and TempDir fails
	// the test when it cannot remove a directory.
	profile, err := os.MkdirTemp("", "futures-cdp-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--remote-debugging-port=0", "--user-data-dir="+profile, "about:blank")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	b := &Browser{cmd: cmd, done: make(chan struct{}), waiting: map[int64]chan reply{}}
	waited := make(chan struct{}) // stderr read to its end, as cmd.Wait wants
	exited := make(chan struct{})
	t.Cleanup(func() {
		if b.conn != nil {
			// Ask the browser to close, which ends its helpers too.
			cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
			b.call(cctx, "", "Browser.close", nil, nil)
			ccancel()
			b.conn.CloseNow()
			<-b.done
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cancel()
			<-exited
		}
		cancel()
		for range 50 {
			if os.RemoveAll(profile) == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// Chromium says where its DevTools listen on stderr; the rest of
	// stderr is drained so that it never blocks on a full pipe.
	found := make(chan string, 1)
	var startLog strings.Builder // read once found is closed
	go func() {
		sc := bufio.NewScanner(stderr)
		log := &startLog
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "DevTools listening on "); ok {
				found <- u
				break
			}
			log.WriteString(sc.Text() + "\n")
		}
		close(found)
		io.Copy(io.Discard, stderr)
		close(waited)
	}()
	go func() {
		<-waited
		cmd.Wait()
		close(exited)
	}()
	var url string
	select {
	case url = <-found:
	case <-time.After(60 * time.Second):
		t.Fatal("Chromium did not say where its DevTools listen within 60s")
	}
	if url == "" {
		t.Fatalf("Chromium exited without saying where its DevTools listen:\n%s", startLog.String())
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer dcancel()
	conn, _, err := websocket.Dial(dctx, url, nil)
	if err != nil {
		t.Fatalf("connecting to Chromium's DevTools: %v", err)
	}
	conn.SetReadLimit(64 << 20)
	b.conn = conn
	go b.read()
	return b
}

func (b *Browser) read() {
	defer close(b.done)
	for {
		_, data, err := b.conn.Read(context.Background())
		if err != nil {
			b.mu.Lock()
			b.err = err
			for id, ch := range b.waiting {
				close(ch)
				delete(b.waiting, id)
			}
			b.mu.Unlock()
			return
		}
		var msg struct {
			ID int64 `json:"id"`
			reply
		}
		if json.Unmarshal(data, &msg) != nil || msg.ID == 0 {
			continue // an event: nobody here listens to events
		}
		b.mu.Lock()
		ch := b.waiting[msg.ID]
		delete(b.waiting, msg.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- msg.reply
		}
	}
}

// call sends a command, in session (or to the browser when ""), and
// decodes its result into out.
func (b *Browser) call(ctx context.Context, session, method string, params, out any) error {
	b.mu.Lock()
	if b.err != nil {
		b.mu.Unlock()
		return b.err
	}
	b.nextID++
	id := b.nextID
	ch := make(chan reply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if err := b.conn.Write(ctx, websocket.MessageText, data); err != nil {
		return err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: the DevTools connection closed: %v", method, b.err)
		}
		if r.Error != nil {
			return fmt.Errorf("%s: %s", method, r.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.waiting, id)
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// Page is a tab in a browser context of its own: its cookies, storage and
// connections are not shared with another Page's.
type Page struct {
	b       *Browser
	session string
}

// NewPage opens url in a new browser context and waits until it has
// loaded.
func (b *Browser) NewPage(ctx context.Context, url string) (*Page, error) {
	var bc struct {
		BrowserContextID string `json:"browserContextId"`
	}
	if err := b.call(ctx, "", "Target.createBrowserContext", map[string]any{"disposeOnDetach": true}, &bc); err != nil {
		return nil, err
	}
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank", "browserContextId": bc.BrowserContextID}, &target); err != nil {
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: att.SessionID}
	return p, p.Navigate(ctx, url)
}

// Navigate loads url and waits until the document has loaded.
func (p *Page) Navigate(ctx context.Context, url string) error {
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.b.call(ctx, p.session, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return err
	}
	if nav.ErrorText != "" {
		return fmt.Errorf("navigating to %s: %s", url, nav.ErrorText)
	}
	return p.WaitFor(ctx, `document.readyState === "complete" && location.href !== "about:blank"`)
}

// Eval evaluates expr in the page, awaiting it if it is a promise, and
// decodes its value into out (which may be nil).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.b.call(ctx, p.session, "Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &res)
	if err != nil {
		return err
	}
	if e := res.ExceptionDetails; e != nil {
		return fmt.Errorf("evaluating %q: %s %s", expr, e.Text, e.Exception.Description)
	}
	if out == nil || len(res.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(res.Result.Value, out)
}

// WaitFor evaluates expr every 20ms until it is true or ctx ends.
func (p *Page) WaitFor(ctx context.Context, expr string) error {
	for {
		var ok bool
		err := p.Eval(ctx, "Boolean("+expr+")", &ok)
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = errors.New("still false")
			}
			return fmt.Errorf("waiting for %s: %w (%v)", expr, ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
