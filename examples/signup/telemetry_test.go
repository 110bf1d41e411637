package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/testkit"
)

// stdoutSpan is what the test reads of stdouttrace's JSON.
type stdoutSpan struct {
	Name        string
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct{ TraceID, SpanID string }
}

// TestTracingToStdout runs the example with -trace and no collector: the
// spans of a signup's request and of the confirmation it scheduled come
// out on stdout as JSON, in one trace, and the log lines carry trace_id.
func TestTracingToStdout(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, logs testkit.SyncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-mail-delay", "1ms", "-trace"}, &stdout, &logs,
			func(_ *Service, url string) { ready <- url })
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run: %v\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("the service did not start within 10s")
	}
	resp, body := do(t, "POST", base+"signups", `{"email":"ada@example.com","name":"Ada"}`, "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /signups: %s %s", resp.Status, body)
	}
	waitConfirmed(t, base+"signups/"+decode(t, body).ID)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run returned %v", err)
	}

	out := stdout.String()
	dec := json.NewDecoder(strings.NewReader(out[strings.Index(out, "{"):]))
	spans := map[string]stdoutSpan{}
	for {
		var s stdoutSpan
		if err := dec.Decode(&s); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("stdout is not spans as JSON: %v\n%s", err, out)
		}
		spans[s.Name] = s
	}
	view, task := spans["POST /signups"], spans["github.com/gofutures/futures/examples/signup.Service.SendConfirmation"]
	if view.SpanContext.TraceID == "" || task.SpanContext.TraceID != view.SpanContext.TraceID || task.Parent.SpanID != view.SpanContext.SpanID {
		t.Fatalf("view span %+v, task span %+v: want the task a child of the view", view, task)
	}
	if !strings.Contains(logs.String(), "trace_id="+task.SpanContext.TraceID) {
		t.Errorf("no log line carries the trace's ID:\n%s", logs.String())
	}
}
