// Package testkit holds what this repository's tests share: a buffer that
// goroutines or a child process write while the test reads it, and child
// processes that a test builds, starts and watches for a line of output.
//
// It is for tests only (the modules of this repository import it from
// their _test.go files; Go's internal rule lets runtime/durable and the
// examples, modules of their own under this path, do so too) and imports
// only the standard library.
package testkit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer whose Write and String are safe for
// concurrent use: for a logger that several goroutines use, or a child
// process's output that exec copies while the test reads it. The zero
// SyncBuffer is empty and ready to use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer; it never fails.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Tail returns the last n bytes of s, marked with a leading "…" when s was
// longer: for logging what a process wrote before it failed.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// Build builds the main packages pkgs with the go command into dir, adding
// flags to go build (say "-race"), and returns an error that carries the go
// command's output. Each command lands in dir under its package's last
// element. It runs in the test's working directory, so that pkgs resolve in
// its module; under go test, "go" is the toolchain running the test.
func Build(dir string, flags []string, pkgs ...string) error {
	args := append([]string{"build", "-o", dir + string(filepath.Separator)}, flags...)
	cmd := exec.Command("go", append(args, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(cmd.Args[1:], " "), err, out)
	}
	return nil
}

// Process is a child process started by Start. Its methods are safe for
// concurrent use.
type Process struct {
	// Cmd is the running command; signal it through Cmd.Process.
	Cmd *exec.Cmd
	// Stderr holds what the process has written to its standard error.
	Stderr *SyncBuffer

	exited   chan struct{} // closed once the process has exited
	err      error         // Cmd.Wait's error, set before exited is closed
	exitedAt time.Time     // set before exited is closed

	mu    sync.Mutex
	lines []string // standard output after the ready line
}

// Start starts cmd, with its standard error in the returned Process's
// Stderr, and reads its standard output line by line until a line
// satisfies ready; it returns the process and that line. Lines after it
// are kept for Output. Set up cmd (its environment, a stdin pipe) before;
// Start sets its Stdout and Stderr.
//
// Start fails t, with what the process wrote to its standard error, if the
// process cannot start, exits before it says a line that satisfies ready,
// or has not said one within the given time. When the test ends, a process
// still running is killed and waited for; if the test failed, the tail of
// its standard error is logged.
func Start(t testing.TB, cmd *exec.Cmd, within time.Duration, ready func(line string) bool) (*Process, string) {
	t.Helper()
	p := &Process{Cmd: cmd, Stderr: new(SyncBuffer), exited: make(chan struct{})}
	name := filepath.Base(cmd.Path)
	cmd.Stderr = p.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	readyLine := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20) // a summary line may be long
		found := false
		for sc.Scan() {
			switch line := sc.Text(); {
			case found:
				p.mu.Lock()
				p.lines = append(p.lines, line)
				p.mu.Unlock()
			case ready(line):
				found = true
				readyLine <- line
			}
		}
		// Wait must not be called before the reads from stdout are done.
		_, _ = io.Copy(io.Discard, stdout)
		err := cmd.Wait()
		p.err, p.exitedAt = err, time.Now()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s's standard error:\n%s", name, Tail(p.Stderr.String(), 8000))
		}
	})
	select {
	case line := <-readyLine:
		return p, line
	case <-p.exited:
		t.Fatalf("%s exited (%v) before it was ready:\n%s", name, p.err, p.Stderr.String())
	case <-time.After(within):
		t.Fatalf("%s was not ready within %v:\n%s", name, within, p.Stderr.String())
	}
	panic("unreachable")
}

// Exited returns a channel closed once the process has exited and its
// standard output has been read to the end.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err returns the process's exit error (nil for exit status 0), once
// Exited is closed; nil before.
func (p *Process) Err() error {
	select {
	case <-p.exited:
		return p.err
	default:
		return nil
	}
}

// ExitedAt returns when the process was seen to exit, once Exited is
// closed; the zero time before.
func (p *Process) ExitedAt() time.Time {
	select {
	case <-p.exited:
		return p.exitedAt
	default:
		return time.Time{}
	}
}

// Output returns the lines of standard output that followed the ready
// line so far; all of them once Exited is closed.
func (p *Process) Output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// Kill kills the process, if it is still running, and waits until it has
// exited.
func (p *Process) Kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.Cmd.Process.Kill()
	<-p.exited
}
