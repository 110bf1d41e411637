// Package telemetry traces and measures a futures service with
// OpenTelemetry: a span for each request to a view, a span for each
// attempt of each task, after-response tasks in the trace of the request
// that scheduled them, and metrics of both. It is a module of its own, so
// that OpenTelemetry enters only the builds that import it: the core
// runtime and the code futuresgen writes know nothing of it.
//
//	tel := telemetry.New(telemetry.Options{})
//	loop := taskloop.New(taskloop.Options{Hooks: tel})                        // tasks
//	err := server.Run(ctx, server.Config{Handler: tel.Handler(mux), Loop: loop}) // views
//
// Durable tasks carry the trace to the process that runs their job with
// runtime/telemetry/durabletel's River middleware, and calls of
// runtime/httpclient carry it to the servers they call with
// HTTPClientOption. LogHandler adds the trace and span IDs to every log
// line written with a context, so that logs and traces join; the runtime's
// own log lines carry the request's ID and its context.
//
// The spans and metrics go to the TracerProvider and MeterProvider of
// Options, or OpenTelemetry's global ones (otel.SetTracerProvider): set up
// the SDK and its exporters as for any OpenTelemetry program
// (examples/signup exports to stdout, or over OTLP when
// OTEL_EXPORTER_OTLP_ENDPOINT is set).
//
// # Spans
//
// A view's span is otelhttp's server span, named after the view's pattern
// ("POST /signups") with HTTP's semantic conventions. A task attempt's
// span is named after the task ("example.com/app.SendWelcome") and has
// the attributes futures.task.name, futures.task.attempt,
// futures.task.queue, futures.task.durable and, when it ends,
// futures.task.outcome (success, error, panic, timeout or canceled; a
// durable job snoozed by its task's limit, snoozed: see durabletel); a
// failed attempt records its error (a panic, its stack) and has status
// Error. A task's span is a child of the span that was current where it
// was scheduled: a view's after-response task is a child of the view's
// span, although it starts once that span has ended. On a loop with a
// durable backend, a durable task's attempts on the loop store its job:
// their spans are named "enqueue " and the task's name.
//
// # Metrics
//
// From the loop: futures.task.duration (a histogram of attempts, in
// seconds, by task, queue, durable and outcome), futures.task.retries,
// futures.task.rejected (by reason: queue_full, closed, canceled),
// futures.task.dropped (accepted tasks that did not run to their end, by
// reason: shutdown, aborted), and the gauges futures.task.queued (tasks
// ready to run, and those waiting for a delay, an interval or a retry, by
// state) and futures.task.running. From the views, otelhttp's
// http.server.request.duration and its companions, by route and status.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"weak"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/httpclient"
	"github.com/gofutures/futures/runtime/taskloop"
)

// ScopeName is the instrumentation scope of the spans and metrics of this
// package.
const ScopeName = "github.com/gofutures/futures/runtime/telemetry"

// Attribute keys of task spans and metrics.
const (
	AttrTaskName    = attribute.Key("futures.task.name")
	AttrTaskAttempt = attribute.Key("futures.task.attempt")
	AttrTaskQueue   = attribute.Key("futures.task.queue")
	AttrTaskDurable = attribute.Key("futures.task.durable")
	AttrTaskOutcome = attribute.Key("futures.task.outcome")
	AttrReason      = attribute.Key("futures.task.reason")
)

// Options configure New. The zero value uses OpenTelemetry's global
// providers and W3C trace context.
type Options struct {
	// TracerProvider makes the spans. Default: otel.GetTracerProvider(),
	// which follows a later otel.SetTracerProvider.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the metrics. Default: otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Propagator reads and writes the trace context of requests and of
	// client calls. Default: W3C trace context and baggage.
	Propagator propagation.TextMapPropagator
}

// Telemetry traces and measures views, tasks and client calls. It is the
// task loop's taskloop.Hooks (taskloop.Options{Hooks: tel}); make one per
// process with New. Safe for concurrent use.
type Telemetry struct {
	tp         trace.TracerProvider
	mp         metric.MeterProvider
	prop       propagation.TextMapPropagator
	tracer     trace.Tracer
	duration   metric.Float64Histogram
	retries    metric.Int64Counter
	rejected   metric.Int64Counter
	dropped    metric.Int64Counter
	queued     metric.Int64ObservableGauge
	running    metric.Int64ObservableGauge
	gaugesOnce sync.Once

	mu    sync.Mutex
	loops []weak.Pointer[taskloop.Loop]
}

var (
	_ taskloop.DropHooks = (*Telemetry)(nil)
	_ taskloop.LoopHooks = (*Telemetry)(nil)
)

// New returns a Telemetry on opts' providers. An instrument that the
// MeterProvider refuses is reported to otel.Handle and left out.
func New(opts Options) *Telemetry {
	t := &Telemetry{tp: opts.TracerProvider, mp: opts.MeterProvider, prop: opts.Propagator}
	if t.tp == nil {
		t.tp = otel.GetTracerProvider()
	}
	if t.mp == nil {
		t.mp = otel.GetMeterProvider()
	}
	if t.prop == nil {
		t.prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	t.tracer = t.tp.Tracer(ScopeName)
	m := t.mp.Meter(ScopeName)
	var errs []error
	var err error
	t.duration, err = m.Float64Histogram("futures.task.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of task attempts."))
	errs = append(errs, err)
	t.retries, err = m.Int64Counter("futures.task.retries", metric.WithUnit("{attempt}"),
		metric.WithDescription("Failed task attempts that will be tried again."))
	errs = append(errs, err)
	t.rejected, err = m.Int64Counter("futures.task.rejected", metric.WithUnit("{task}"),
		metric.WithDescription("Tasks refused when submitted: queue full, loop shut down, submitter gone."))
	errs = append(errs, err)
	t.dropped, err = m.Int64Counter("futures.task.dropped", metric.WithUnit("{task}"),
		metric.WithDescription("Accepted tasks that did not run to their end: stopped by a shutdown, or dropped with a request whose handler panicked."))
	errs = append(errs, err)
	t.queued, err = m.Int64ObservableGauge("futures.task.queued", metric.WithUnit("{task}"),
		metric.WithDescription("Tasks waiting in the loop: ready to run, or waiting for a delay, an interval or a retry."))
	errs = append(errs, err)
	t.running, err = m.Int64ObservableGauge("futures.task.running", metric.WithUnit("{task}"),
		metric.WithDescription("Tasks running now."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		otel.Handle(fmt.Errorf("telemetry: %w", err))
	}
	return t
}

// TracerProvider returns the provider of the spans, for durabletel.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tp }

// MeterProvider returns the provider of the metrics, for durabletel.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.mp }

// Handler returns h traced and measured by otelhttp: a server span per
// request, named after the ServeMux pattern that served it ("GET
// /signups/{id}"), in the trace of the request's traceparent header if
// it has one, and the HTTP server metrics. Wrap the mux (or whatever
// routes to the views): server.Config{Handler: tel.Handler(mux)}.
func (t *Telemetry) Handler(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "http.server",
		otelhttp.WithTracerProvider(t.tp), otelhttp.WithMeterProvider(t.mp), otelhttp.WithPropagators(t.prop))
}

// HTTPClientOption returns an option of httpclient.New that traces every
// attempt of the client's calls with otelhttp (a client span, HTTP client
// metrics) and sends the trace context with it, so that the servers it
// calls continue the trace. For the package's default client:
// httpclient.SetDefault(httpclient.New(tel.HTTPClientOption())).
func (t *Telemetry) HTTPClientOption() httpclient.Option {
	return httpclient.WithTransportWrapper(func(rt http.RoundTripper) http.RoundTripper {
		return otelhttp.NewTransport(rt,
			otelhttp.WithTracerProvider(t.tp), otelhttp.WithMeterProvider(t.mp), otelhttp.WithPropagators(t.prop))
	})
}

// TaskStarted starts the attempt's span (taskloop.Hooks).
func (t *Telemetry) TaskStarted(ctx context.Context, e taskloop.Event) context.Context {
	name := e.Name
	if e.Enqueue {
		name = "enqueue " + e.Name
	}
	ctx, _ = t.tracer.Start(ctx, name, trace.WithAttributes(
		AttrTaskName.String(e.Name),
		AttrTaskAttempt.Int(e.Attempt),
		AttrTaskQueue.String(queueName(e.Queue)),
		AttrTaskDurable.Bool(e.Durable),
	))
	return ctx
}

// TaskFinished ends the attempt's span and records its duration and
// outcome (taskloop.Hooks).
func (t *Telemetry) TaskFinished(ctx context.Context, e taskloop.Event) {
	span := trace.SpanFromContext(ctx)
	outcome := Outcome(e.Err)
	span.SetAttributes(AttrTaskOutcome.String(outcome))
	if e.Err != nil {
		var opts []trace.EventOption
		if pe, ok := errors.AsType[*future.PanicError](e.Err); ok {
			opts = append(opts, trace.WithAttributes(attribute.String("exception.stacktrace", string(pe.Stack))))
		}
		span.RecordError(e.Err, opts...)
		span.SetStatus(codes.Error, e.Err.Error())
		if e.Retrying {
			t.retries.Add(ctx, 1, metric.WithAttributes(AttrTaskName.String(e.Name), AttrTaskQueue.String(queueName(e.Queue))))
		}
	}
	span.End()
	t.duration.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(
		AttrTaskName.String(e.Name),
		AttrTaskQueue.String(queueName(e.Queue)),
		AttrTaskDurable.Bool(e.Durable),
		AttrTaskOutcome.String(outcome),
	))
}

// TaskDropped counts a task that did not run, or not to its end, and notes
// it on the span of its submitter, if that span is still recording
// (taskloop.DropHooks).
func (t *Telemetry) TaskDropped(ctx context.Context, e taskloop.Event) {
	counter, reason := t.rejected, "canceled"
	switch {
	case errors.Is(e.Err, taskloop.ErrStopped):
		counter, reason = t.dropped, "shutdown"
	case errors.Is(e.Err, taskloop.ErrScopeAborted):
		counter, reason = t.dropped, "aborted"
	case errors.Is(e.Err, taskloop.ErrQueueFull):
		reason = "queue_full"
	case errors.Is(e.Err, taskloop.ErrClosed):
		reason = "closed"
	}
	attrs := []attribute.KeyValue{AttrTaskName.String(e.Name), AttrTaskQueue.String(queueName(e.Queue)), AttrReason.String(reason)}
	counter.Add(ctx, 1, metric.WithAttributes(attrs...))
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("futures.task.dropped", trace.WithAttributes(append(attrs, attribute.String("error", fmt.Sprint(e.Err)))...))
	}
}

// ObserveLoop reports l's queue and running tasks in the gauges
// futures.task.queued and futures.task.running (taskloop.LoopHooks). The
// loop is held by a weak pointer: a loop nobody uses any more leaves the
// gauges.
func (t *Telemetry) ObserveLoop(l *taskloop.Loop) {
	t.mu.Lock()
	t.loops = append(t.loops, weak.Make(l))
	t.mu.Unlock()
	t.gaugesOnce.Do(func() {
		if t.queued == nil || t.running == nil {
			return
		}
		_, err := t.mp.Meter(ScopeName).RegisterCallback(t.observe, t.queued, t.running)
		if err != nil {
			otel.Handle(fmt.Errorf("telemetry: %w", err))
		}
	})
}

var (
	stateReady   = metric.WithAttributes(attribute.String("state", "ready"))
	stateWaiting = metric.WithAttributes(attribute.String("state", "waiting"))
)

func (t *Telemetry) observe(_ context.Context, o metric.Observer) error {
	var ready, waiting, running int64
	t.mu.Lock()
	live := t.loops[:0]
	for _, w := range t.loops {
		if l := w.Value(); l != nil {
			live = append(live, w)
			s := l.Stats()
			ready += s.Queued
			waiting += s.Waiting
			running += s.Running
		}
	}
	clear(t.loops[len(live):])
	t.loops = live
	t.mu.Unlock()
	o.ObserveInt64(t.queued, ready, stateReady)
	o.ObserveInt64(t.queued, waiting, stateWaiting)
	o.ObserveInt64(t.running, running)
	return nil
}

// Outcome names how a task attempt ended, as futures.task.outcome says:
// success, panic, timeout (its context's deadline), canceled, or error.
func Outcome(err error) string {
	switch {
	case err == nil:
		return "success"
	case errors.As(err, new(*future.PanicError)):
		return "panic"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "error"
}

func queueName(q string) string {
	if q == "" {
		return "default"
	}
	return q
}

// LogHandler returns h with the trace and span IDs of each record's
// context added as trace_id and span_id, when the context carries a span,
// so that a log line finds its trace and a trace its log lines. Log with
// the *Context methods of slog (logger.InfoContext(ctx, …)), as the
// runtime does:
//
//	slog.SetDefault(slog.New(telemetry.LogHandler(slog.NewJSONHandler(os.Stderr, nil))))
func LogHandler(h slog.Handler) slog.Handler { return &logHandler{Handler: h} }

type logHandler struct{ slog.Handler }

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{Handler: h.Handler.WithAttrs(attrs)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{Handler: h.Handler.WithGroup(name)}
}
