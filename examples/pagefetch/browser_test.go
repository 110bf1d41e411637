package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// chromium finds a Chromium to drive. Without one the browser test skips,
// unless CI is set: CI installs Chromium (.ci/run), so there a missing
// browser is a failure rather than a quiet skip.
func chromium(t *testing.T) string {
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

var (
	requestRow = regexp.MustCompile(`<tr class="request">`)
	timeCell   = regexp.MustCompile(`<td class="ms">([^<]*)</td>`)
	total      = func(id string) *regexp.Regexp {
		return regexp.MustCompile(`<span id="` + id + `">([^<]*)</span>`)
	}
)

// TestBrowser loads the page for N=10 in headless Chromium and checks the
// DOM that Chromium built: the form with 10 chosen, a table of 10 requests
// each with its time, and the totals and speed-up as numbers that agree.
func TestBrowser(t *testing.T) {
	browser := chromium(t)
	base := demo(t)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(),
		"--dump-dom", base+"?n=10")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\nstderr:\n%s", err, stderr.String())
	}
	dom := stdout.String()
	if dom == "" {
		t.Fatalf("chromium printed no DOM\nstderr:\n%s", stderr.String())
	}
	t.Logf("chromium rendered %d bytes of DOM", len(dom))

	if !bytes.Contains(stdout.Bytes(), []byte(`<option value="10" selected="">10</option>`)) {
		t.Errorf("the form does not show N=10 as chosen")
	}
	if rows := len(requestRow.FindAllString(dom, -1)); rows != 10 {
		t.Errorf("%d request rows, want 10", rows)
	}
	cells := timeCell.FindAllStringSubmatch(dom, -1)
	if len(cells) != 10 {
		t.Fatalf("%d request times, want 10:\n%s", len(cells), dom)
	}
	var cellSum float64
	for i, c := range cells {
		ms := number(t, "time of request "+strconv.Itoa(i), c[1])
		if ms < 19 { // the page server waits 20ms
			t.Errorf("request %d took %v ms, less than the page server's delay", i, ms)
		}
		cellSum += ms
	}
	totals := map[string]float64{}
	for _, id := range []string{"wall", "sum", "speedup"} {
		m := total(id).FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("no #%s in the DOM:\n%s", id, dom)
		}
		totals[id] = number(t, "#"+id, m[1])
	}
	wall, sum, speedup := totals["wall"], totals["sum"], totals["speedup"]
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
	// Ten requests at once on loopback overlap a lot, even on a busy
	// machine.
	if speedup < 1.5 {
		t.Errorf("speed-up %v: the ten requests hardly overlapped", speedup)
	}
}

// number parses a figure of the page.
func number(t *testing.T, what, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		t.Fatalf("%s is %q, not a positive number", what, s)
	}
	return f
}
