package main

import (
	"context"
	"io"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/gofutures/futures/runtime/telemetry"
)

// setupTracing sets up OpenTelemetry's SDK for the service, as any
// OpenTelemetry program does, and returns the Telemetry that traces its
// views, tasks and durable jobs, and the function that flushes the spans
// at exit. Spans go over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT when it
// is set (a collector, Jaeger, Tempo…), else to out as JSON: no collector
// is needed to see them.
func setupTracing(ctx context.Context, out io.Writer) (*telemetry.Telemetry, func(context.Context) error, error) {
	var exp sdktrace.SpanExporter
	var err error
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" {
		exp, err = otlptracehttp.New(ctx) // reads the endpoint and headers from the environment
	} else {
		exp, err = stdouttrace.New(stdouttrace.WithWriter(out), stdouttrace.WithPrettyPrint())
	}
	if err != nil {
		return nil, nil, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "signup"))),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return telemetry.New(telemetry.Options{}), tp.Shutdown, nil
}
