package httpclient

// growStack makes the calling goroutine's stack big enough for a request in
// one step, while it is still shallow.
//
// Each call runs in a new goroutine (future.Go), which starts with a small
// stack (2 KiB, or the average the runtime has observed). net/http's client
// path needs about 16 KiB, so the stack grew three or four times during every
// request, and each growth copies the stack and adjusts every frame on it:
// on a 2-core machine that was 5 to 8 µs per request, about 15% of the CPU
// of a sequential loopback GET, and most of the client's overhead over the
// raw net/http idiom (see BenchmarkOverhead). A single frame of stackReserve
// bytes, entered while the stack holds only a few frames, grows it once, at
// almost no copying cost, to a size the runtime keeps in its per-P stack
// caches. The stack shrinks back at a later GC if the goroutine lived on.
//
//go:noinline
func growStack() {
	var b [stackReserve]byte
	touch(b[:])
}

// stackReserve is what growStack reserves; with the frames above it, the
// stack becomes 16 KiB.
const stackReserve = 10 << 10

//go:noinline
func touch(b []byte) { b[0] = 1 }
