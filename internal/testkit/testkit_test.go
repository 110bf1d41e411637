package testkit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain doubles as the child process of the tests: with
// TESTKIT_CHILD set, the test binary plays a process that says a few lines
// and exits.
func TestMain(m *testing.M) {
	switch os.Getenv("TESTKIT_CHILD") {
	case "":
		os.Exit(m.Run())
	case "ready":
		fmt.Println("starting")
		fmt.Println("ready 42")
		fmt.Fprintln(os.Stderr, "a log line")
		fmt.Println("after 1")
		_, _ = io.Copy(io.Discard, os.Stdin) // until the test closes it
		fmt.Println("after 2")
		os.Exit(3)
	case "early":
		fmt.Fprintln(os.Stderr, "cannot start")
		os.Exit(1)
	case "silent":
		time.Sleep(time.Hour)
	}
}

func child(mode string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "TESTKIT_CHILD="+mode)
	return cmd
}

func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Fatalf("%d bytes, want 800", n)
	}
}

func TestTail(t *testing.T) {
	if got := Tail("abcdef", 3); got != "…def" {
		t.Errorf("Tail = %q", got)
	}
	if got := Tail("abc", 3); got != "abc" {
		t.Errorf("Tail = %q", got)
	}
}

func TestStart(t *testing.T) {
	cmd := child("ready")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, line := Start(t, cmd, 10*time.Second, func(l string) bool { return strings.HasPrefix(l, "ready ") })
	if line != "ready 42" {
		t.Fatalf("ready line %q", line)
	}
	if p.Err() != nil || !p.ExitedAt().IsZero() {
		t.Fatal("Err or ExitedAt set while the process runs")
	}
	stdin.Close()
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("the process did not exit")
	}
	var ee *exec.ExitError
	if err := p.Err(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Err = %v, want exit status 3", err)
	}
	if p.ExitedAt().IsZero() {
		t.Error("ExitedAt is zero after the exit")
	}
	if got := strings.Join(p.Output(), "|"); got != "after 1|after 2" {
		t.Errorf("Output = %q", got)
	}
	if got := p.Stderr.String(); got != "a log line\n" {
		t.Errorf("Stderr = %q", got)
	}
	p.Kill() // after the exit: returns at once
}

func TestKill(t *testing.T) {
	cmd := child("ready")
	if _, err := cmd.StdinPipe(); err != nil { // never closed: the child waits
		t.Fatal(err)
	}
	p, _ := Start(t, cmd, 10*time.Second, func(l string) bool { return strings.HasPrefix(l, "ready ") })
	p.Kill()
	if p.Err() == nil {
		t.Fatal("a killed process has no exit error")
	}
}

// fakeT records the failure of Start instead of failing the test, and the
// cleanups it registers.
type fakeT struct {
	testing.TB
	mu       sync.Mutex
	failure  string
	cleanups []func()
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.failure = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeT) Cleanup(fn func())   { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) Failed() bool        { return true }
func (f *fakeT) Logf(string, ...any) {}

func TestStartFails(t *testing.T) {
	for _, c := range []struct{ mode, want string }{
		{"early", "exited (exit status 1) before it was ready:\ncannot start"},
		{"silent", "was not ready within 200ms"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			f := &fakeT{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				Start(f, child(c.mode), 200*time.Millisecond, func(string) bool { return true })
			}()
			<-done
			if !strings.Contains(f.failure, c.want) {
				t.Errorf("failure %q, want it to say %q", f.failure, c.want)
			}
			for _, fn := range f.cleanups {
				fn() // kills the silent child
			}
		})
	}
}

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	if err := Build(dir, []string{"-trimpath"}, "./testdata/hello"); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(dir, "hello")).Output()
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("hello said %q, %v", out, err)
	}
	err = Build(dir, nil, "./testdata/missing")
	if err == nil || !strings.Contains(err.Error(), "testdata/missing") {
		t.Fatalf("building a missing package: %v, want an error naming it", err)
	}
}
