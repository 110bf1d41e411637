package view

import (
	"container/list"
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// retryAfter is the Retry-After of a 503 for a body that found no room in
// the budget: a second, about what the bodies ahead of it take to decode.
const retryAfter = "1"

// BodyBudget bounds the bytes of request bodies that the views of a server
// hold at once. Each view that reads a body reserves, before it reads the
// first byte, min(Content-Length, its maxbody), or its maxbody when the
// length is unknown (chunked); it keeps the reservation until its handler
// returns, because the value decoded from the body lives that long. A view
// that finds no room waits its turn (first come, first served) for up to
// the budget's wait, or less if its context ends first, and then answers
// 503 with Retry-After, without reading the body.
//
// A body larger than the whole budget reserves the whole budget: it waits
// for every other body to finish, then runs alone, so that a view whose
// maxbody exceeds the budget still works.
//
// server.Run makes one per server (Config.MaxBodyBytesInFlight); for a
// server of your own, make one and put it in the requests' context with
// WithBodyBudget (http.Server.BaseContext). Without one, views reserve
// nothing. A BodyBudget is safe for concurrent use.
type BodyBudget struct {
	limit int64
	wait  time.Duration

	mu      sync.Mutex
	used    int64
	waiters list.List // of *budgetWaiter, oldest first
}

type budgetWaiter struct {
	n     int64
	ready chan struct{} // closed when the bytes are granted
}

// NewBodyBudget returns a budget of limit bytes (at least 1) whose views
// wait up to wait for room; a wait of 0 or less refuses at once.
func NewBodyBudget(limit int64, wait time.Duration) *BodyBudget {
	return &BodyBudget{limit: max(limit, 1), wait: wait}
}

// Limit returns the budget's size in bytes.
func (b *BodyBudget) Limit() int64 { return b.limit }

// InUse returns the bytes reserved now.
func (b *BodyBudget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// acquire reserves n bytes (at most the limit: the caller passes
// min(n, b.limit)), waiting in line for up to b.wait or until ctx ends. It
// reports whether the bytes are reserved; the caller then releases them.
func (b *BodyBudget) acquire(ctx context.Context, n int64) bool {
	b.mu.Lock()
	if b.waiters.Len() == 0 && b.used+n <= b.limit {
		b.used += n
		b.mu.Unlock()
		return true
	}
	if b.wait <= 0 {
		b.mu.Unlock()
		return false
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	elem := b.waiters.PushBack(w)
	b.mu.Unlock()

	timer := time.NewTimer(b.wait)
	defer timer.Stop()
	select {
	case <-w.ready:
		return true
	case <-ctx.Done():
	case <-timer.C:
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready:
		// Granted while giving up: keep it, the caller releases it.
		return true
	default:
	}
	first := b.waiters.Front() == elem
	b.waiters.Remove(elem)
	if first {
		// A large request at the head may have held back smaller ones
		// that fit now.
		b.grantLocked()
	}
	return false
}

// release returns n reserved bytes and grants them to the waiters, in
// order, while they fit.
func (b *BodyBudget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	b.grantLocked()
}

func (b *BodyBudget) grantLocked() {
	for elem := b.waiters.Front(); elem != nil; elem = b.waiters.Front() {
		w := elem.Value.(*budgetWaiter)
		if b.used+w.n > b.limit {
			// First come, first served: a large body is not starved by a
			// stream of small ones behind it.
			return
		}
		b.used += w.n
		b.waiters.Remove(elem)
		close(w.ready)
	}
}

type budgetKey struct{}

// WithBodyBudget returns a copy of ctx whose requests' views reserve their
// bodies in b. server.Run does this for every request.
func WithBodyBudget(ctx context.Context, b *BodyBudget) context.Context {
	return context.WithValue(ctx, budgetKey{}, b)
}

func bodyBudgetFrom(ctx context.Context) *BodyBudget {
	b, _ := ctx.Value(budgetKey{}).(*BodyBudget)
	return b
}

// requestBody is the body of a request to a view that reads one: limited
// to the view's maxbody, reserved in the server's budget before its first
// byte is read, and carrying the view's decoder limits to JSON.
type requestBody struct {
	io.ReadCloser // http.MaxBytesReader of the request's body
	ctx           context.Context
	budget        *BodyBudget
	need          int64 // bytes to reserve
	held          int64 // bytes reserved; released when the handler returns
	refused       bool
	released      bool // the handler has returned: reserve nothing more
	// decoder is what JSON reads this body through, with the view's
	// limits; here rather than on its own, it saves an allocation.
	decoder limitedJSON
}

func newRequestBody(ctx context.Context, w http.ResponseWriter, r *http.Request, maxBody int64, limits jsonLimits) *requestBody {
	need := maxBody
	if r.ContentLength > 0 && r.ContentLength < maxBody {
		need = r.ContentLength
	}
	b := &requestBody{
		ReadCloser: http.MaxBytesReader(w, r.Body, maxBody),
		ctx:        ctx,
		budget:     bodyBudgetFrom(r.Context()),
		need:       need,
	}
	b.decoder.init(b, limits)
	return b
}

// errNoRoom is what reading a body that found no room in the budget
// returns. A view's error that wraps it is a 503 with Retry-After.
var errNoRoom error = &BindError{
	Status: http.StatusServiceUnavailable,
	Detail: "the server is busy with other requests' bodies; retry later",
}

// reserve takes the body's bytes from the budget, once.
func (b *requestBody) reserve() error {
	if b.held > 0 || b.budget == nil || b.released {
		return nil
	}
	if b.refused {
		return errNoRoom
	}
	n := min(b.need, b.budget.limit)
	if !b.budget.acquire(b.ctx, n) {
		b.refused = true
		return errNoRoom
	}
	b.held = n
	return nil
}

func (b *requestBody) Read(p []byte) (int, error) {
	if err := b.reserve(); err != nil {
		return 0, err
	}
	return b.ReadCloser.Read(p)
}

// jsonReader returns the body with the view's decoder limits, for JSON.
func (b *requestBody) jsonReader() *limitedJSON { return &b.decoder }

// release gives the reserved bytes back; the handler calls it when it
// returns.
func (b *requestBody) release() {
	b.released = true
	if b.held > 0 {
		b.budget.release(b.held)
		b.held = 0
	}
}
