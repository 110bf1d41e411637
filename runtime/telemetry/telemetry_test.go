package telemetry_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/httpclient"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/telemetry"
	"github.com/gofutures/futures/runtime/telemetry/internal/e2eapp"
)

// rig is a Telemetry on in-memory providers.
type rig struct {
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	tel    *telemetry.Telemetry
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	r.tel = telemetry.New(telemetry.Options{TracerProvider: tp, MeterProvider: mp})
	return r
}

// waitSpans waits until a span named name has ended, and returns every
// span ended so far.
func (r *rig) waitSpans(t *testing.T, name string) tracetest.SpanStubs {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		spans := r.spans.GetSpans()
		if _, ok := find(spans, name); ok {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("no span %q ended; spans: %v", name, names(spans))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func find(spans tracetest.SpanStubs, name string) (tracetest.SpanStub, bool) {
	for _, s := range spans {
		if s.Name == name {
			return s, true
		}
	}
	return tracetest.SpanStub{}, false
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func attr(s tracetest.SpanStub, key attribute.Key) attribute.Value {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// serve serves the app's views as server.Run does (request scope
// outermost, then the traced mux) with loop in every request.
func serve(t *testing.T, r *rig, loop *taskloop.Loop) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	if err := e2eapp.RegisterViews(mux); err != nil {
		t.Fatal(err)
	}
	h := taskloop.Middleware(r.tel.Handler(mux))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.ServeHTTP(w, req.WithContext(taskloop.WithLoop(req.Context(), loop)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func startLoop(t *testing.T, opts taskloop.Options) *taskloop.Loop {
	t.Helper()
	loop := taskloop.New(opts)
	if err := e2eapp.RegisterTasks(loop); err != nil {
		t.Fatal(err)
	}
	if err := loop.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = loop.Shutdown(context.Background()) })
	return loop
}

func post(t *testing.T, url string, header http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %s", resp.Status)
	}
}

// TestOneTraceFromViewToTasks: the view's span, its after-response task's
// and the durable task's (here on the loop: no backend) are one trace,
// each the child of the one before, although the view's span has ended
// when its after-response task starts.
func TestOneTraceFromViewToTasks(t *testing.T) {
	r := newRig(t)
	loop := startLoop(t, taskloop.Options{Hooks: r.tel})
	srv := serve(t, r, loop)
	// A client's trace, which the view continues.
	traceparent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	post(t, srv.URL+"/orders/42", http.Header{"Traceparent": {traceparent}})

	spans := r.waitSpans(t, e2eapp.ShipName)
	view, ok := find(spans, "POST /orders/{id}")
	if !ok {
		t.Fatalf("no view span; spans: %v", names(spans))
	}
	confirm, _ := find(spans, e2eapp.ConfirmName)
	ship, _ := find(spans, e2eapp.ShipName)
	if got := view.SpanContext.TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("the view's trace is %s, not the client's", got)
	}
	if confirm.Parent.SpanID() != view.SpanContext.SpanID() || ship.Parent.SpanID() != confirm.SpanContext.SpanID() {
		t.Fatalf("parents: Confirm's %s (view %s), Ship's %s (Confirm %s)",
			confirm.Parent.SpanID(), view.SpanContext.SpanID(), ship.Parent.SpanID(), confirm.SpanContext.SpanID())
	}
	if !confirm.StartTime.After(view.EndTime) && !confirm.StartTime.Equal(view.EndTime) {
		t.Errorf("the after-response task started at %v, before its view's span ended at %v", confirm.StartTime, view.EndTime)
	}
	if attr(confirm, telemetry.AttrTaskAttempt).AsInt64() != 1 || attr(confirm, telemetry.AttrTaskQueue).AsString() != "default" ||
		attr(confirm, telemetry.AttrTaskDurable).AsBool() || attr(confirm, telemetry.AttrTaskOutcome).AsString() != "success" {
		t.Errorf("Confirm's attributes: %v", confirm.Attributes)
	}
	if !attr(ship, telemetry.AttrTaskDurable).AsBool() {
		t.Errorf("Ship's attributes: %v", ship.Attributes)
	}
}

func TestFailuresAndPanicsAreRecorded(t *testing.T) {
	r := newRig(t)
	loop := startLoop(t, taskloop.Options{Hooks: r.tel, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	_, err := taskloop.Submit(ctx, loop, taskloop.Spec{Name: "flaky", Retries: 1, Backoff: time.Millisecond},
		func(context.Context) (int, error) { return 0, errors.New("boom") }).Await(ctx)
	if err == nil {
		t.Fatal("no error")
	}
	_, err = taskloop.Submit(ctx, loop, taskloop.Spec{Name: "panics"},
		func(context.Context) (int, error) { panic("oops") }).Await(ctx)
	if err == nil {
		t.Fatal("no error")
	}
	spans := r.waitSpans(t, "panics")
	var flaky []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == "flaky" {
			flaky = append(flaky, s)
		}
	}
	if len(flaky) != 2 || flaky[0].Status.Code != codes.Error || len(flaky[0].Events) == 0 || flaky[0].Events[0].Name != "exception" ||
		attr(flaky[1], telemetry.AttrTaskAttempt).AsInt64() != 2 || attr(flaky[1], telemetry.AttrTaskOutcome).AsString() != "error" {
		t.Fatalf("flaky's spans: %+v", flaky)
	}
	p, _ := find(spans, "panics")
	if attr(p, telemetry.AttrTaskOutcome).AsString() != "panic" || len(p.Events) == 0 {
		t.Fatalf("the panic's span: %+v", p)
	}
	var stack string
	for _, kv := range p.Events[0].Attributes {
		if kv.Key == "exception.stacktrace" {
			stack = kv.Value.AsString()
		}
	}
	if !strings.Contains(stack, "telemetry_test.TestFailuresAndPanicsAreRecorded") {
		t.Errorf("the panic's event has no stack naming the task: %q", stack)
	}

	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = true
			if m.Name == "futures.task.retries" {
				if sum := m.Data.(metricdata.Sum[int64]); sum.DataPoints[0].Value != 1 {
					t.Errorf("retries = %d, want 1", sum.DataPoints[0].Value)
				}
			}
			if m.Name == "futures.task.duration" {
				outcomes := map[string]uint64{}
				for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
					o, _ := dp.Attributes.Value(telemetry.AttrTaskOutcome)
					outcomes[o.AsString()] += dp.Count
				}
				if outcomes["error"] != 2 || outcomes["panic"] != 1 {
					t.Errorf("duration by outcome: %v", outcomes)
				}
			}
		}
	}
	for _, name := range []string{"futures.task.duration", "futures.task.retries", "futures.task.queued", "futures.task.running"} {
		if !got[name] {
			t.Errorf("no metric %s; got %v", name, got)
		}
	}
}

func TestRejectedAndDroppedAreCounted(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	loop := taskloop.New(taskloop.Options{Hooks: r.tel, QueueSize: 1, WhenFull: taskloop.Reject, Logger: slog.New(slog.DiscardHandler)})
	// Not started: the first task waits, the second finds the queue full.
	taskloop.Submit(ctx, loop, taskloop.Spec{Name: "waits", Delay: time.Hour}, func(context.Context) (int, error) { return 1, nil })
	taskloop.Submit(ctx, loop, taskloop.Spec{Name: "refused"}, func(context.Context) (int, error) { return 1, nil })
	_ = loop.Shutdown(ctx) // the delayed task never starts
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	counts := map[string]string{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					reason, _ := dp.Attributes.Value(telemetry.AttrReason)
					counts[m.Name] += reason.AsString()
				}
			}
		}
	}
	if counts["futures.task.rejected"] != "queue_full" || counts["futures.task.dropped"] != "shutdown" {
		t.Fatalf("counters by reason: %v", counts)
	}
}

// TestLogsJoinTraces: the runtime's log lines and the user's carry the
// request's ID and the trace and span of their context.
func TestLogsJoinTraces(t *testing.T) {
	r := newRig(t)
	var buf testkit.SyncBuffer
	logger := slog.New(telemetry.LogHandler(slog.NewJSONHandler(&buf, nil)))
	prev := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(prev) })
	loop := startLoop(t, taskloop.Options{Hooks: r.tel, Logger: logger})
	srv := serve(t, r, loop)
	post(t, srv.URL+"/orders/fail", http.Header{"X-Request-Id": {"req-7"}})
	spans := r.waitSpans(t, e2eapp.ConfirmName)
	confirm, _ := find(spans, e2eapp.ConfirmName)
	view, _ := find(spans, "POST /orders/{id}")

	lines := map[string]map[string]any{}
	deadline := time.Now().Add(10 * time.Second)
	for lines["task failed"] == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no 'task failed' line in:\n%s", buf.String())
		}
		time.Sleep(5 * time.Millisecond)
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil {
				lines[m["msg"].(string)] = m
			}
		}
	}
	for msg, sc := range map[string]trace.SpanContext{
		"placing an order": view.SpanContext,    // the user's, in the view
		"cannot confirm":   confirm.SpanContext, // the user's, in the task
		"task failed":      confirm.SpanContext, // the loop's, about the task
	} {
		l := lines[msg]
		if l["trace_id"] != sc.TraceID().String() || l["span_id"] != sc.SpanID().String() {
			t.Errorf("%q: trace %v span %v, want %s %s", msg, l["trace_id"], l["span_id"], sc.TraceID(), sc.SpanID())
		}
		if msg == "task failed" && l["request_id"] != "req-7" {
			t.Errorf("the loop's line about the request's task has request_id %v, want req-7", l["request_id"])
		}
	}
}

func TestHTTPClientPropagates(t *testing.T) {
	r := newRig(t)
	got := make(chan string, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got <- req.Header.Get("Traceparent")
	}))
	defer upstream.Close()
	client := httpclient.New(r.tel.HTTPClientOption())
	loop := startLoop(t, taskloop.Options{Hooks: r.tel})
	ctx := context.Background()
	_, err := taskloop.Submit(ctx, loop, taskloop.Spec{Name: "calls"}, func(ctx context.Context) (*httpclient.Response, error) {
		return client.Get(ctx, upstream.URL, nil).Await(ctx)
	}).Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spans := r.waitSpans(t, "calls")
	task, _ := find(spans, "calls")
	tp := <-got
	if !strings.HasPrefix(tp, "00-"+task.SpanContext.TraceID().String()+"-") {
		t.Fatalf("the upstream got traceparent %q, want the task's trace %s", tp, task.SpanContext.TraceID())
	}
	if _, ok := find(spans, "HTTP GET"); !ok {
		t.Errorf("no client span; spans %v", names(spans))
	}
}
