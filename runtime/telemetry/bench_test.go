package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/telemetry"
	"github.com/gofutures/futures/runtime/view"
)

// discard is a span exporter that drops what it is given: the benchmarks
// measure making spans and metrics, not shipping them.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// benchTelemetry is a Telemetry on the SDK, sampling every span, with a
// metric reader that keeps every instrument live.
func benchTelemetry(b *testing.B) *telemetry.Telemetry {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(discard{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return telemetry.New(telemetry.Options{TracerProvider: tp, MeterProvider: mp})
}

// BenchmarkTask is a trivial task submitted and awaited, with tracing off
// (no hooks) and on (a span and a histogram point per attempt).
func BenchmarkTask(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		var opts taskloop.Options
		if on {
			name = "on"
			opts.Hooks = benchTelemetry(b)
		}
		b.Run(name, func(b *testing.B) {
			loop := taskloop.New(opts)
			if err := loop.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer loop.Shutdown(context.Background())
			ctx := context.Background()
			spec := taskloop.Spec{Name: "bench.task"}
			fn := func(context.Context) (int, error) { return 1, nil }
			b.ReportAllocs()
			for b.Loop() {
				if _, err := taskloop.Submit(ctx, loop, spec, fn).Await(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type benchResult struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// BenchmarkView is a GET of a view that answers JSON, served as server.Run
// serves it, with tracing off and on (otelhttp's span and metrics), and
// with spans but no metrics (spans-only).
func BenchmarkView(b *testing.B) {
	for _, mode := range []string{"off", "on", "spans-only"} {
		b.Run(mode, func(b *testing.B) {
			mux := http.NewServeMux()
			err := view.Handle(mux, view.NewConfig(), &view.Spec{Name: "bench.view", Pattern: "GET /items/{id}"},
				func(ctx context.Context, r *http.Request) (benchResult, error) {
					return benchResult{ID: r.PathValue("id"), Name: "item"}, nil
				})
			if err != nil {
				b.Fatal(err)
			}
			var h http.Handler = mux
			switch mode {
			case "on":
				h = benchTelemetry(b).Handler(mux)
			case "spans-only":
				tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(discard{}))
				h = telemetry.New(telemetry.Options{TracerProvider: tp, MeterProvider: noop.NewMeterProvider()}).Handler(mux)
			}
			h = taskloop.Middleware(h)
			req := httptest.NewRequest("GET", "/items/42", nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
