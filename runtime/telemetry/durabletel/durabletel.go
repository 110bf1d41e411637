// Package durabletel carries a trace across processes with the jobs of
// runtime/durable: River middleware that stores the trace context of the
// code that stores a job in the job's metadata (traceparent, as W3C trace
// context), and continues that trace in the process that works the job,
// with a span per attempt of the task as the task loop makes them.
//
//	tel := telemetry.New(telemetry.Options{})
//	backend := durable.New(pool, durable.Options{Middleware: durabletel.Middleware(tel)})
//
// It uses River's own OpenTelemetry middleware (rivercontrib's otelriver)
// for the insert and work spans and River's metrics, with trace
// propagation on. otelriver links a job's work span to the span that
// stored the job, which starts a new trace; durabletel makes the stored
// span the work span's parent too, so that one trace runs from the
// request through its after-response task to the job on another machine
// (a job that runs much later stretches the trace over that time: that is
// what it took). Give the middleware to every process, those that insert
// and those that work.
package durabletel

import (
	"context"
	"encoding/json"
	"errors"
	"runtime/debug"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/telemetry"
)

// Middleware returns River middleware for durable.Options.Middleware, in
// order: the parent from the job's traceparent, otelriver's insert and
// work spans and metrics, and a span per attempt of the task named after
// it, as on the task loop (see package telemetry).
func Middleware(t *telemetry.Telemetry) []rivertype.Middleware {
	return []rivertype.Middleware{
		&parent{},
		otelriver.NewMiddleware(&otelriver.MiddlewareConfig{
			EnableTracePropagation:      true,
			EnableWorkSpanJobKindSuffix: true,
			TracerProvider:              t.TracerProvider(),
			MeterProvider:               t.MeterProvider(),
		}),
		&attempt{t: t},
	}
}

// parent makes the span whose context a job's metadata carries the parent
// of what works the job.
type parent struct{ river.MiddlewareDefaults }

func (*parent) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	return doInner(Extract(ctx, job.Metadata))
}

// Extract returns ctx with the remote span context that a job's metadata
// carries (its traceparent and tracestate keys), or ctx as it is when it
// carries none.
func Extract(ctx context.Context, metadata []byte) context.Context {
	var m map[string]any
	if len(metadata) == 0 || json.Unmarshal(metadata, &m) != nil {
		return ctx
	}
	carrier := propagation.MapCarrier{}
	for _, k := range (propagation.TraceContext{}).Fields() {
		if v, ok := m[k].(string); ok {
			carrier[k] = v
		}
	}
	return propagation.TraceContext{}.Extract(ctx, carrier)
}

// OutcomeSnoozed is the futures.task.outcome of the span of a job that was
// snoozed rather than run (river.JobSnooze: runtime/durable snoozes a job
// of a task with limit= when as many run in the process already). It is
// not an attempt: it counts neither in futures.task.duration nor as a
// retry, and the span is no error.
const OutcomeSnoozed = "snoozed"

// attempt makes a span per attempt of the task whose job is worked, and
// records its duration, through the Telemetry's task hooks.
type attempt struct {
	river.MiddlewareDefaults
	t *telemetry.Telemetry
}

func (a *attempt) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	e := taskloop.Event{
		Name: job.Kind, Queue: job.Queue, Durable: true,
		Attempt: job.Attempt, MaxAttempts: job.MaxAttempts, Started: time.Now(),
	}
	ctx = a.t.TaskStarted(ctx, e)
	panicked := true
	defer func() {
		e.Duration = time.Since(e.Started)
		e.Err = err
		if panicked {
			// River records the panic; the span records it too, then the
			// panic goes on to River.
			r := recover()
			e.Err = &future.PanicError{Value: r, Stack: debug.Stack()}
			a.t.TaskFinished(ctx, e)
			panic(r)
		}
		if _, ok := errors.AsType[*river.JobSnoozeError](err); ok {
			// Snoozed, as runtime/durable does a job of a task with limit=
			// that finds as many running in this process: the task did not
			// run, and River does not count an attempt. The span says so;
			// no attempt's duration, no retry, no error.
			span := trace.SpanFromContext(ctx)
			span.SetAttributes(telemetry.AttrTaskOutcome.String(OutcomeSnoozed))
			span.End()
			return
		}
		var cancel *river.JobCancelError
		e.Retrying = err != nil && !errors.As(err, &cancel) && job.Attempt < job.MaxAttempts
		a.t.TaskFinished(ctx, e)
	}()
	err = doInner(ctx)
	panicked = false
	return err
}
