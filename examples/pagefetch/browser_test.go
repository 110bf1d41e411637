package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/cdp"
)

// pageFigures are the figures of the page as Chromium shows them.
type pageFigures struct {
	Rows    int       `json:"rows"`
	Times   []float64 `json:"times"`
	Wall    string    `json:"wall"`
	Sum     string    `json:"sum"`
	Speedup string    `json:"speedup"`
	Bytes   string    `json:"bytes"`
	N       string    `json:"n"`
	Status  string    `json:"status"`
}

const readFigures = `(() => {
	const text = (id) => document.getElementById(id).textContent;
	return {
		rows: document.querySelectorAll("tr.request").length,
		times: [...document.querySelectorAll("td.ms")].map((td) => parseFloat(td.textContent)),
		wall: text("wall"), sum: text("sum"), speedup: text("speedup"), bytes: text("bytes"),
		n: document.getElementById("n").value, status: text("status"),
	};
})()`

// TestBrowser loads the page for N=10 in headless Chromium and checks the
// DOM that Chromium built: the form holding 10, a table of 10 requests
// each with its time, and the totals and speed-up as numbers that agree.
func TestBrowser(t *testing.T) {
	browser := cdp.Start(t)
	base := demo(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	page, err := browser.NewPage(ctx, base+"?n=10")
	if err != nil {
		t.Fatal(err)
	}
	var f pageFigures
	if err := page.Eval(ctx, readFigures, &f); err != nil {
		t.Fatal(err)
	}
	if f.N != "10" || f.Rows != 10 || len(f.Times) != 10 {
		t.Fatalf("the page shows %+v, want 10 rows and n=10", f)
	}
	var cellSum float64
	for i, ms := range f.Times {
		if ms < 19 { // the page server waits 20ms
			t.Errorf("request %d took %v ms, less than the page server's delay", i, ms)
		}
		cellSum += ms
	}
	wall, sum, speedup := number(t, "#wall", f.Wall), number(t, "#sum", f.Sum), number(t, "#speedup", f.Speedup)
	// The page rounds every figure to 0.1.
	if !near(sum, cellSum, 0.05*11) {
		t.Errorf("sum %v ms, but the rows add up to %v ms", sum, cellSum)
	}
	if wall < 19 || wall > sum+0.1 {
		t.Errorf("wall time %v ms is not between one request's delay and the sum %v ms", wall, sum)
	}
	if want := sum / wall; !near(speedup, want, 0.05+want*0.01) {
		t.Errorf("speed-up %v, want sum/wall = %.2f", speedup, want)
	}
	if speedup < 1.5 {
		t.Errorf("speed-up %v: the ten requests hardly overlapped", speedup)
	}
	if f.Bytes != "500 KiB" {
		t.Errorf("received %q, want 500 KiB", f.Bytes)
	}
}

// TestBrowserStreams submits the form in Chromium and watches the rows
// arrive over the event stream while the batch is still running: the
// page server holds one of the 20 responses back until the page shows the
// other 19, which only a page that receives each row as its response
// comes in can do. Then the held response comes, and the page shows all
// 20 and the totals.
func TestBrowserStreams(t *testing.T) {
	browser := cdp.Start(t)
	var armed, holding atomic.Bool
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if armed.Load() && holding.CompareAndSwap(false, true) {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		io.WriteString(w, "a page of 25 bytes, to go")
	}))
	defer pages.Close()
	base := demo(t, "-url", pages.URL)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	page, err := browser.NewPage(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	submit := `document.getElementById("n").value = "20"; document.getElementById("fetch").requestSubmit();`
	if err := page.Eval(ctx, submit, nil); err != nil {
		t.Fatal(err)
	}
	if err := page.WaitFor(ctx, `document.querySelectorAll("tr.request").length === 19`); err != nil {
		t.Fatalf("the page did not show 19 rows while one response was held: %v", err)
	}
	var f pageFigures
	if err := page.Eval(ctx, readFigures, &f); err != nil {
		t.Fatal(err)
	}
	if f.Status != "19 of 20 in" || f.Wall != "…" || f.Bytes != strconv.Itoa(19*25)+" B" {
		t.Errorf("while one response is held the page shows %+v", f)
	}
	once.Do(func() { close(release) })
	if err := page.WaitFor(ctx, `document.getElementById("status").textContent === "done"`); err != nil {
		page.Eval(ctx, readFigures, &f)
		t.Fatalf("%v; the page shows %+v", err, f)
	}
	if err := page.Eval(ctx, readFigures, &f); err != nil {
		t.Fatal(err)
	}
	if f.Rows != 20 || f.Bytes != "500 B" || number(t, "#wall", f.Wall) <= 0 || number(t, "#speedup", f.Speedup) <= 0 {
		t.Errorf("after the stream the page shows %+v", f)
	}
	var href string
	if err := page.Eval(ctx, `location.search`, &href); err != nil || href != "?n=20" {
		t.Errorf("the page's address says %q (%v), want ?n=20", href, err)
	}
}

// TestBrowserBadN opens the page with n=0: Chromium shows the page with
// the error and the form holding 0, not problem JSON.
func TestBrowserBadN(t *testing.T) {
	browser := cdp.Start(t)
	base := demo(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	page, err := browser.NewPage(ctx, base+"?n=0")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Error string `json:"error"`
		N     string `json:"n"`
	}
	if err := page.Eval(ctx, `({error: document.getElementById("error").textContent, n: document.getElementById("n").value})`, &got); err != nil {
		t.Fatal(err)
	}
	if !contains(got.Error, "400 Bad Request") || !contains(got.Error, "must be at least 1") || got.N != "0" {
		t.Errorf("the page shows %+v", got)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// number parses a figure of the page.
func number(t *testing.T, what, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		t.Fatalf("%s is %q, not a positive number", what, s)
	}
	return f
}
