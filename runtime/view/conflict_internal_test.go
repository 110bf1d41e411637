package view

import (
	"net/http"
	"runtime"
	"testing"
	"time"
)

// TestRegistryForgetsCollectedMuxes: the patterns Handle records for
// conflict errors go with their mux, so that a process that makes many
// muxes (tests do) does not keep them all.
func TestRegistryForgetsCollectedMuxes(t *testing.T) {
	count := func() int {
		registry.Lock()
		defer registry.Unlock()
		return len(registry.views)
	}
	before := count()
	const n = 200
	for range n {
		mux := http.NewServeMux()
		if err := handle(mux, &Spec{Name: "v", Pattern: "GET /x"}, http.NotFoundHandler()); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(); got < before+n {
		t.Fatalf("%d muxes recorded after registering on %d, want at least %d", got, n, before+n)
	}
	// Cleanups run after a collection, in their own goroutine: wait for
	// them, with a bound that only catches a registry that never forgets.
	deadline := time.Now().Add(30 * time.Second)
	for count() >= before+n/2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d muxes still recorded after they were collected", count()-before)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
