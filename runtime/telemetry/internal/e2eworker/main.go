// Command e2eworker is the second process of package telemetry's
// end-to-end test: a durable worker of e2eapp's tasks, traced with
// telemetry and durabletel, that writes every span it ends to a file as
// a JSON line (name, trace_id, span_id, parent_span_id, attributes), for
// the test to read. It prints "ready" once it works jobs, and stops at
// the end of its standard input.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/telemetry"
	"github.com/gofutures/futures/runtime/telemetry/durabletel"
	"github.com/gofutures/futures/runtime/telemetry/internal/e2eapp"
)

// Span is a span as the file holds it.
type Span struct {
	Name         string            `json:"name"`
	TraceID      string            `json:"trace_id"`
	SpanID       string            `json:"span_id"`
	ParentSpanID string            `json:"parent_span_id"`
	Attributes   map[string]string `json:"attributes"`
}

// fileExporter writes each span as a JSON line.
type fileExporter struct {
	mu sync.Mutex
	w  io.Writer
}

func (e *fileExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range spans {
		out := Span{
			Name:       s.Name(),
			TraceID:    s.SpanContext().TraceID().String(),
			SpanID:     s.SpanContext().SpanID().String(),
			Attributes: map[string]string{},
		}
		if s.Parent().IsValid() {
			out.ParentSpanID = s.Parent().SpanID().String()
		}
		for _, kv := range s.Attributes() {
			out.Attributes[string(kv.Key)] = kv.Value.String()
		}
		line, err := json.Marshal(out)
		if err != nil {
			return err
		}
		if _, err := e.w.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return nil
}

func (e *fileExporter) Shutdown(context.Context) error { return nil }

func main() {
	url := flag.String("database-url", "", "PostgreSQL URL")
	schema := flag.String("schema", "", "schema of River's tables")
	spans := flag.String("spans", "", "file to write the spans to")
	flag.Parse()
	if err := run(*url, *schema, *spans); err != nil {
		fmt.Fprintln(os.Stderr, "e2eworker:", err)
		os.Exit(1)
	}
}

func run(url, schema, spansFile string) error {
	ctx := context.Background()
	f, err := os.OpenFile(spansFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(&fileExporter{w: f}))
	defer tp.Shutdown(ctx)
	tel := telemetry.New(telemetry.Options{TracerProvider: tp})

	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	backend := durable.New(pool, durable.Options{
		Schema: schema, FetchPollInterval: 50 * time.Millisecond, Middleware: durabletel.Middleware(tel),
	})
	loop := taskloop.New(taskloop.Options{Hooks: tel, Backend: backend})
	if err := e2eapp.RegisterTasks(loop); err != nil {
		return err
	}
	if err := loop.Start(ctx); err != nil {
		return err
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	stop, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return loop.Shutdown(stop)
}
