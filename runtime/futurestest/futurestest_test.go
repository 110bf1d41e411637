package futurestest_test

import (
	"context"
	"errors"
	"fmt"
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
	testapp.Confirmed.Lock()
	testapp.Confirmed.Emails = nil
	testapp.Confirmed.Unlock()
	testapp.Refreshes.Lock()
	testapp.Refreshes.N = 0
	testapp.Refreshes.Unlock()
	testapp.Digests.Lock()
	testapp.Digests.N = 0
	testapp.Digests.Unlock()
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

// TestDurableArgumentsDecodeStrictly: the harness decodes a durable task's
// arguments as a worker does, strictly, so that JSON with a key that the
// argument's type lacks (a Total that only MarshalJSON writes) fails here
// as the job would fail on a worker, and ArgsErr says why.
func TestDurableArgumentsDecodeStrictly(t *testing.T) {
	reset()
	h := futurestest.New(t)
	if err := testapp.RegisterTasks(h); err != nil {
		t.Fatal(err)
	}
	ctx := h.Context(context.Background())
	f := testapp.ArchiveAsync(ctx, testapp.Note{Text: "line", Line: &testapp.Line{Qty: 2, Price: 3}})
	h.RunUntilIdle()
	task := h.Only("Archive")
	if !strings.Contains(string(task.JSON), `"Total":6`) {
		t.Fatalf("JSON %s, want the line's Total", task.JSON)
	}
	_, err := f.Await(ctx)
	if err == nil || !taskloop.IsPermanent(err) || !strings.Contains(err.Error(), `unknown field "Total"`) {
		t.Fatalf("task error %v, want a permanent unknown-field error", err)
	}
	if task.ArgsErr == nil || !strings.Contains(task.ArgsErr.Error(), `unknown field "Total"`) {
		t.Fatalf("ArgsErr %v, want the worker's decoding error", task.ArgsErr)
	}
	testapp.Received.Lock()
	defer testapp.Received.Unlock()
	if len(testapp.Received.Notes) != 0 {
		t.Fatalf("Archive received %v", testapp.Received.Notes)
	}
}

// TestUniqueDuplicatesAreRecorded: a duplicate of a unique task is
// recorded with Duplicate set and does not run; a durable duplicate's
// future resolves at once with a duplicate Receipt, another task's follows
// the original's result; limit= and priority= are in the recorded Spec.
func TestUniqueDuplicatesAreRecorded(t *testing.T) {
	reset()
	h := futurestest.New(t)
	if err := testapp.RegisterTasks(h); err != nil {
		t.Fatal(err)
	}
	ctx := h.Context(context.Background())

	testapp.ConfirmAsync(ctx, "ada@example.com")
	dup := testapp.ConfirmAsync(ctx, "ada@example.com")
	testapp.ConfirmAsync(ctx, "bob@example.com")
	confirms := h.Find("Confirm")
	if len(confirms) != 3 || confirms[0].Duplicate || !confirms[1].Duplicate || confirms[2].Duplicate {
		t.Fatalf("recorded %v, want the second a duplicate", confirms)
	}
	if r, ok := dup.Peek(); !ok || r.Err != nil || !r.Value.Duplicate || !confirms[1].Done() {
		t.Fatalf("the duplicate's future: %+v (resolved %v), want a duplicate Receipt at once", r, ok)
	}
	if s := confirms[0].Spec; s.Limit != 2 || s.Priority != 2 || s.Unique == nil || !s.Unique.ByArgs {
		t.Fatalf("Confirm's spec %+v", s)
	}
	if n := h.RunUntilIdle(); n != 2 {
		t.Fatalf("ran %d, want ada and bob once each", n)
	}
	// Done, ada's is forgotten (no period): asking again runs again.
	testapp.ConfirmAsync(ctx, "ada@example.com")
	if again := h.Find("Confirm")[3]; again.Duplicate || h.RunUntilIdle() != 1 {
		t.Fatalf("a confirmation asked for after the first ran: %v", again)
	}
	testapp.Confirmed.Lock()
	if got := strings.Join(testapp.Confirmed.Emails, " "); got != "ada@example.com bob@example.com ada@example.com" {
		t.Errorf("confirmed %s", got)
	}
	testapp.Confirmed.Unlock()

	// Inside a request, the second LaterDurable is the duplicate.
	mux := http.NewServeMux()
	mux.HandleFunc("POST /confirm", func(w http.ResponseWriter, r *http.Request) {
		testapp.ConfirmLater(r.Context(), "cy@example.com")
		testapp.ConfirmLater(r.Context(), "cy@example.com")
	})
	h.Handler(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/confirm", nil))
	confirms = h.Find("Confirm")[4:]
	if len(confirms) != 2 || !confirms[0].Later || confirms[0].Duplicate || confirms[1].Later || !confirms[1].Duplicate {
		t.Fatalf("in a request: %v (later %v, %v)", confirms, confirms[0].Later, confirms[1].Later)
	}
	if n := h.RunUntilIdle(); n != 1 {
		t.Fatalf("ran %d after the request, want cy's once", n)
	}

	// A unique task that is not durable: the duplicate waits for the
	// original and has its result.
	first := testapp.RefreshAsync(ctx, "k")
	second := testapp.RefreshAsync(ctx, "k")
	refreshes := h.Find("Refresh")
	if len(refreshes) != 2 || !refreshes[1].Duplicate || refreshes[1].Done() || refreshes[1].Arg("key") != "k" {
		t.Fatalf("recorded %v, want a pending duplicate with its key", refreshes)
	}
	if n := h.RunUntilIdle(); n != 1 {
		t.Fatalf("ran %d, want one refresh", n)
	}
	a, errA := first.Await(ctx)
	b, errB := second.Await(ctx)
	if errA != nil || errB != nil || a != 1 || b != 1 || !refreshes[1].Done() {
		t.Fatalf("results %d, %v and %d, %v; want both the one run's 1", a, errA, b, errB)
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

// TestCronOnFakeTime: a cron= task registered with the harness runs at
// its schedule's times on the bubble's clock, to the nanosecond.
func TestCronOnFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reset()
		h := futurestest.New(t)
		if err := testapp.RegisterTasks(h); err != nil { // starts Digest's schedule
			t.Fatal(err)
		}
		digest := h.Only("Digest")
		if fmt.Sprint(digest.Spec.Cron) != "0 9 * * *" || !strings.Contains(digest.String(), `cron="0 9 * * *"`) {
			t.Fatalf("Digest's schedule %v (%s)", digest.Spec.Cron, digest)
		}
		digests := func() int {
			testapp.Digests.Lock()
			defer testapp.Digests.Unlock()
			return testapp.Digests.N
		}
		now := time.Now().UTC()
		nine := time.Date(now.Year(), now.Month(), now.Day(), 9, 0, 0, 0, time.UTC)
		if !nine.After(now) {
			nine = nine.AddDate(0, 0, 1)
		}
		time.Sleep(time.Until(nine) - time.Nanosecond)
		h.RunPending() // Tick's hours, not Digest
		if n := digests(); n != 0 {
			t.Fatalf("Digest ran %d times before 09:00", n)
		}
		time.Sleep(time.Nanosecond)
		h.RunPending()
		if n := digests(); n != 1 {
			t.Fatalf("Digest ran %d times at 09:00, want 1", n)
		}
		for day := 1; day <= 2; day++ {
			time.Sleep(24 * time.Hour)
			h.RunPending()
			if n := digests(); n != 1+day {
				t.Fatalf("day %d: Digest ran %d times", day, n)
			}
		}
		if digest.Done() {
			t.Fatal("Digest's schedule ended")
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
