package durable_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/durable/internal/pgtest"
)

// stampMiddleware writes a mark into every job's metadata on insert, and
// reports the metadata of every job worked, as a tracing middleware
// carries a traceparent.
type stampMiddleware struct {
	river.MiddlewareDefaults
	worked chan string
}

func (m *stampMiddleware) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	for _, p := range params {
		p.Metadata = []byte(`{"mark":"stamped"}`)
	}
	return doInner(ctx)
}

func (m *stampMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	m.worked <- string(job.Metadata)
	return doInner(ctx)
}

// TestMiddleware: Options.Middleware runs around every insert and every
// job worked.
func TestMiddleware(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	def, sendAsync, _, runs := recordingSend()
	mw := &stampMiddleware{worked: make(chan string, 1)}
	w := startWorker(t, db, durable.Options{Middleware: []rivertype.Middleware{mw}}, def)
	if _, err := await(t, sendAsync(w.Ctx(), Message{Subject: "hi"}, nil, nil)); err != nil {
		t.Fatal(err)
	}
	receive(t, runs, "the task to run")
	select {
	case meta := <-mw.worked:
		if meta != `{"mark": "stamped"}` && meta != `{"mark":"stamped"}` {
			t.Fatalf("the worker's middleware saw metadata %s, want the insert middleware's mark", meta)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the worker middleware did not run")
	}
}
