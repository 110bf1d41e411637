package futurestest_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gofutures/futures/runtime/futurestest"
	"github.com/gofutures/futures/runtime/futurestest/internal/testapp"
	"github.com/gofutures/futures/runtime/taskloop"
)

func reset() {
	testapp.Mailbox = &testapp.Outbox{}
	testapp.Received.Lock()
	testapp.Received.Notes = nil
	testapp.Received.Unlock()
	testapp.Ticks.Lock()
	testapp.Ticks.N = 0
	testapp.Ticks.Unlock()
}

// signup posts a signup to the app's views through h.
func signup(t *testing.T, h *futurestest.Harness, body string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	if err := testapp.RegisterViews(mux); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/signups", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-ID", "req-1")
	h.Handler(mux).ServeHTTP(rec, req)
	return rec
}

func TestViewSchedulesTaskWithArgumentsAndRunsItOnDemand(t *testing.T) {
	reset()
	h := futurestest.New(t)
	if rec := signup(t, h, `{"email":"ada@example.com","name":"Ada"}`); rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}

	welcome := h.Only("SendWelcome")
	if welcome.Arg("to") != "ada@example.com" || welcome.Arg("name") != "Ada" {
		t.Errorf("SendWelcome scheduled with %v", welcome)
	}
	if !welcome.Later || welcome.RequestID != "req-1" {
		t.Errorf("SendWelcome: Later %v, request %q; want an after-response task of req-1", welcome.Later, welcome.RequestID)
	}
	if welcome.Done() || len(testapp.Mailbox.Sent()) != 0 {
		t.Fatal("the task ran before the test asked")
	}
	if got := len(h.Pending()); got != 2 {
		t.Fatalf("%d tasks pending, want 2 (SendWelcome and the delayed Remind): %v", got, h.Tasks())
	}

	if n := h.RunUntilIdle(); n != 1 {
		t.Fatalf("RunUntilIdle ran %d tasks, want 1 (Remind waits for its day)", n)
	}
	if !welcome.Done() || welcome.Err() != nil {
		t.Fatalf("SendWelcome: done %v, err %v", welcome.Done(), welcome.Err())
	}
	if sent := testapp.Mailbox.Sent(); len(sent) != 1 || sent[0] != (testapp.Mail{To: "ada@example.com", Subject: "Welcome, Ada"}) {
		t.Fatalf("sent %v", sent)
	}
	if remind := h.Only("Remind"); remind.Done() || remind.Spec.Delay != 24*time.Hour {
		t.Fatalf("Remind: done %v, delay %v", remind.Done(), remind.Spec.Delay)
	}
}

// An httptest.Server's client has its response before the handler has
// handed its after-response tasks to the loop; the harness waits for the
// handler.
func TestHandlerOverARealServer(t *testing.T) {
	reset()
	h := futurestest.New(t)
	mux := http.NewServeMux()
	if err := testapp.RegisterViews(mux); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler(mux))
	defer srv.Close()
	for range 20 {
		resp, err := srv.Client().Post(srv.URL+"/signups", "application/json", strings.NewReader(`{"email":"a@b.c","name":"A"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h.RunPending()
	}
	if n := len(testapp.Mailbox.Sent()); n != 20 {
		t.Fatalf("%d welcome emails sent after 20 requests, each followed by RunPending", n)
	}
}

func TestDurableArgumentsMakeTheJSONTrip(t *testing.T) {
	reset()
	h := futurestest.New(t)
	if err := testapp.RegisterTasks(h); err != nil {
		t.Fatal(err)
	}
	ctx := h.Context(context.Background())

	ok := testapp.ArchiveAsync(ctx, testapp.Note{Text: "hi", Amount: 2})
	nan := testapp.ArchiveAsync(ctx, testapp.Note{Text: "nan", Amount: math.NaN()})
	high := testapp.ArchiveAsync(ctx, testapp.Note{Text: "high", Level: 1})
	h.RunUntilIdle()

	if _, err := ok.Await(ctx); err != nil {
		t.Fatalf("a note that survives JSON: %v", err)
	}
	tasks := h.Find("Archive")
	if len(tasks) != 3 || string(tasks[0].JSON) != `{"n":{"Text":"hi","Amount":2}}` {
		t.Fatalf("tasks %v, first JSON %s", tasks, tasks[0].JSON)
	}
	if _, err := nan.Await(ctx); err == nil || !strings.Contains(err.Error(), "NaN") || tasks[1].ArgsErr == nil {
		t.Fatalf("a NaN argument: task error %v, ArgsErr %v; want the encoding error", err, tasks[1].ArgsErr)
	}
	_, err := high.Await(ctx)
	if err == nil || !taskloop.IsPermanent(err) || !strings.Contains(err.Error(), "decoding task arguments") || tasks[2].ArgsErr == nil {
		t.Fatalf("a Level that encodes and does not decode: task error %v, ArgsErr %v", err, tasks[2].ArgsErr)
	}
	testapp.Received.Lock()
	defer testapp.Received.Unlock()
	if len(testapp.Received.Notes) != 1 {
		t.Fatalf("Archive received %v, want only the note that survives JSON", testapp.Received.Notes)
	}
}

func TestUnregisteredDurableTaskFails(t *testing.T) {
	h := futurestest.New(t)
	f := testapp.ArchiveAsync(h.Context(context.Background()), testapp.Note{Text: "x"})
	h.RunUntilIdle()
	if _, err := f.Await(context.Background()); !errors.Is(err, taskloop.ErrNotRegistered) {
		t.Fatalf("err = %v, want ErrNotRegistered", err)
	}
}

// TestDelayAndRetriesOnFakeTime is the harness under testing/synctest:
// time.Sleep moves the bubble's clock at once, and RunPending runs what
// fell due.
func TestDelayAndRetriesOnFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reset()
		h := futurestest.New(t)
		if rec := signup(t, h, `{"email":"ada@example.com","name":"Ada"}`); rec.Code != http.StatusCreated {
			t.Fatalf("status %d", rec.Code)
		}
		testapp.Mailbox.FailNext(1)
		if n := h.RunPending(); n != 1 {
			t.Fatalf("ran %d, want SendWelcome's first attempt", n)
		}
		welcome := h.Only("SendWelcome")
		if welcome.Done() {
			t.Fatal("a failed attempt with retries left ended the task")
		}
		time.Sleep(time.Second) // backoff=1s, with jitter over its upper half
		if n := h.RunPending(); n != 1 || welcome.Err() != nil || !welcome.Done() {
			t.Fatalf("after the backoff: ran %d, done %v, err %v", n, welcome.Done(), welcome.Err())
		}

		time.Sleep(24*time.Hour - time.Second - time.Nanosecond)
		if n := h.RunPending(); n != 0 {
			t.Fatalf("Remind ran a nanosecond before its day")
		}
		time.Sleep(time.Nanosecond)
		if n := h.RunPending(); n != 1 || !h.Only("Remind").Done() {
			t.Fatal("Remind did not run on its day")
		}
		if sent := testapp.Mailbox.Sent(); len(sent) != 2 || sent[1].Subject != "Still there?" {
			t.Fatalf("sent %v", sent)
		}
	})
}

func TestEveryOnFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reset()
		h := futurestest.New(t)
		if err := testapp.RegisterTasks(h); err != nil { // starts Tick's schedule
			t.Fatal(err)
		}
		tick := h.Only("Tick")
		if tick.Spec.Every != time.Hour {
			t.Fatalf("Tick every %v", tick.Spec.Every)
		}
		for hour := 1; hour <= 3; hour++ {
			time.Sleep(time.Hour)
			if n := h.RunPending(); n != 1 {
				t.Fatalf("hour %d: ran %d", hour, n)
			}
		}
		testapp.Ticks.Lock()
		defer testapp.Ticks.Unlock()
		if testapp.Ticks.N != 3 || tick.Done() {
			t.Fatalf("Tick ran %d times in 3 hours (done %v)", testapp.Ticks.N, tick.Done())
		}
	})
}

func TestPendingTasksAreDroppedQuietlyAtTheEnd(t *testing.T) {
	var f interface{ Done() <-chan struct{} }
	t.Run("inner", func(t *testing.T) {
		h := futurestest.New(t)
		f = testapp.SendWelcomeAsync(h.Context(context.Background()), "a@b.c", "A")
	})
	select {
	case <-f.Done():
	default:
		t.Fatal("a task pending when its test ended did not resolve")
	}
	if n := len(testapp.Mailbox.Sent()); n != 0 {
		t.Fatalf("the pending task ran at the end of its test (%d sent)", n)
	}
}
