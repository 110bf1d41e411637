package useless

import (
	"context"
	"net/http"

	"github.com/gofutures/futures/runtime/future"
)

//futures:task timeout=1s retries=3
func NoCtxNoErr(n int) {}

//futures:task backoff=2s
func BackoffAlone(ctx context.Context) error { return nil }

//futures:task retries=2 backoff=1s
func NoErr(ctx context.Context) int { return 1 }

//futures:task every=1m timeout=5s
func NoCtx() error { return nil }

//futures:task durable backoff=1s
func DurableBackoff(ctx context.Context, id string) error { return nil }

// Fine uses every option it has.
//
//futures:task timeout=5s retries=1 backoff=1s delay=1s queue=q
func Fine(ctx context.Context) error { return nil }

type Q struct {
	ID string `path:"id"`
}

//futures:view GET /a/{id} maxbody=1KiB timeout=2s
func NoBody(req Q) (string, error) { return req.ID, nil }

// FutureNoCtx is awaited with the request's context, which the timeout
// bounds.
//
//futures:view GET /b timeout=2s
func FutureNoCtx() *future.Future[string] { return future.Resolved("b") }

// Raw reads its body and its context from r.
//
//futures:view POST /c maxbody=1KiB timeout=1s
func Raw(r *http.Request) error { return nil }

//futures:view POST /d maxbody=1KiB
func NoRequest(ctx context.Context) error { return nil }
