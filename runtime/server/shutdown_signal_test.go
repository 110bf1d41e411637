//go:build unix

package server

// Signal tests send signals to the test process, with syscall.Kill and
// signals that only Unix has.

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// A signal in Config.Signals shuts the server down cleanly.
func TestSignalStops(t *testing.T) {
	r := start(t, Config{Handler: hello, Signals: []os.Signal{syscall.SIGUSR1}})
	if got := do(t, newClient(t), "GET", r.url+"/"); got.status != 200 {
		t.Fatalf("GET / = %d", got.status)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if err := r.wait(); err != nil {
		t.Fatalf("Run after SIGUSR1 = %v, want nil", err)
	}
	if !refused(r.addr) {
		t.Errorf("the listener still accepts connections after Run returned")
	}
}

// An empty, non-nil Config.Signals cannot mean "every signal": the server
// would stop on SIGURG (which the Go runtime sends itself to preempt
// goroutines), SIGCHLD, SIGWINCH, SIGPIPE...
func TestEmptySignalsIgnoreUnrelatedSignals(t *testing.T) {
	r := start(t, Config{Handler: hello, Signals: []os.Signal{}})
	if err := syscall.Kill(os.Getpid(), syscall.SIGURG); err != nil {
		t.Fatal(err)
	}
	// Not a timing assertion: a server that wrongly stops usually does so
	// at once, and one that does not stop passes however long we wait.
	select {
	case <-r.done:
		t.Fatalf("Run returned %v after a SIGURG with Config.Signals = []os.Signal{}: signal.NotifyContext with no signals relays every signal", r.err)
	case <-time.After(300 * time.Millisecond):
	}
	if got := do(t, newClient(t), "GET", r.url+"/"); got.status != 200 {
		t.Fatalf("GET / = %d", got.status)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}
