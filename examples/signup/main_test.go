package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

// TestRun runs the example as main does, on a free port: a signup is
// pending when the response is sent, and confirmed once the pretend mailer
// has sent its email.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var logs testkit.SyncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-mail-delay", "20ms"}, io.Discard, &logs,
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
	sg := decode(t, body)
	if sg.State != Pending || sg.Email != "ada@example.com" || sg.URL != "/signups/"+sg.ID {
		t.Errorf("created %+v, want a pending signup of ada@example.com", sg)
	}
	waitConfirmed(t, base+strings.TrimPrefix(sg.URL, "/"))

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run returned %v", err)
	}
	if !strings.Contains(logs.String(), `msg="sent email" to=ada@example.com`) {
		t.Errorf("no email in the log:\n%s", logs.String())
	}
}

// TestConfirmationAfterResponse holds the mailer until the client has the
// response and has seen the signup pending; the email then goes out and the
// signup turns confirmed.
func TestConfirmationAfterResponse(t *testing.T) {
	mailer := newGatedMailer()
	base, _ := serve(t, &Service{Store: NewStore(), Mailer: mailer})

	resp, body := do(t, "POST", base+"signups", `{"email":"grace@example.com"}`, "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /signups: %s %s", resp.Status, body)
	}
	sg := decode(t, body)
	url := base + "signups/" + sg.ID
	if _, body := do(t, "GET", url, "", ""); decode(t, body).State != Pending {
		t.Fatalf("before the email: %s, want pending", body)
	}
	resp, body = do(t, "GET", url, "", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, `<span id="state" class="state pending">pending</span>`) ||
		!strings.Contains(body, `http-equiv="refresh"`) {
		t.Errorf("a browser gets %q:\n%s", resp.Header.Get("Content-Type"), body)
	}

	close(mailer.release)
	select {
	case m := <-mailer.sent:
		if m.To != "grace@example.com" || !strings.Contains(m.Body, "thank you for signing up") {
			t.Errorf("sent %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no confirmation email within 10s")
	}
	waitConfirmed(t, url)
	_, body = do(t, "GET", url, "", "text/html")
	if !strings.Contains(body, `class="state confirmed"`) || strings.Contains(body, "refresh") {
		t.Errorf("a confirmed signup's page:\n%s", body)
	}
	_, body = do(t, "GET", base, "", "")
	var home Home
	if err := json.Unmarshal([]byte(body), &home); err != nil || len(home.Signups) != 1 || home.Signups[0].ID != sg.ID {
		t.Errorf("home: %s (%v)", body, err)
	}
}

func TestRefusals(t *testing.T) {
	base, svc := serve(t, &Service{Store: NewStore(), Mailer: &LogMailer{Logger: quiet}})
	cases := []struct {
		name, method, path, body string
		status                   int
		detail                   string
	}{
		{"bad email", "POST", "signups", `{"email":"ada"}`, 400, `"name":"/email","detail":"must be an email address"`},
		{"address with a name", "POST", "signups", `{"email":"Ada <ada@example.com>"}`, 400, `"name":"/email","detail":"must be an email address"`},
		{"long name", "POST", "signups", `{"email":"ada@example.com","name":"` + strings.Repeat("a", 101) + `"}`, 400, `"name":"/name","detail":"must be at most 100 characters long"`},
		{"unknown field", "POST", "signups", `{"email":"ada@example.com","admin":true}`, 400, `"name":"admin"`},
		{"not JSON", "POST", "signups", `email=ada@example.com`, 400, `"in":"body"`},
		{"too large", "POST", "signups", `{"email":"` + strings.Repeat("a", 5000) + `@example.com"}`, 413, "larger than 4096 bytes"},
		{"no such signup", "GET", "signups/0123456789abcdef", "", 404, "no such signup"},
		{"wrong method", "PUT", "signups", `{}`, 405, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := do(t, c.method, base+c.path, c.body, "")
			if resp.StatusCode != c.status || !strings.Contains(body, c.detail) {
				t.Errorf("%s %s: %s %s, want %d saying %s", c.method, c.path, resp.Status, body, c.status, c.detail)
			}
		})
	}
	if n := len(mustList(t, svc.Store)); n != 0 {
		t.Errorf("%d signups stored by refused requests", n)
	}

	if resp, body := do(t, "POST", base+"signups", `{"email":"ada@example.com"}`, ""); resp.StatusCode != 201 {
		t.Fatalf("first signup: %s %s", resp.Status, body)
	}
	if resp, body := do(t, "POST", base+"signups", `{"email":"ADA@example.com"}`, ""); resp.StatusCode != 409 {
		t.Errorf("the same email again: %s %s, want 409", resp.Status, body)
	}
}

// TestSendConfirmationOnce calls the task without a loop, as a test or a
// script would: it runs in the caller, and a second run sends nothing.
func TestSendConfirmationOnce(t *testing.T) {
	mailer := newGatedMailer()
	close(mailer.release)
	svc := &Service{Store: NewStore(), Mailer: mailer}
	mustAdd(t, svc.Store, Signup{ID: "a1", Email: "ada@example.com", State: Pending, CreatedAt: time.Now()})
	c := Confirmation{SignupID: "a1", Email: "ada@example.com", Name: "Ada"}
	for range 2 {
		if _, err := svc.SendConfirmationAsync(t.Context(), c).Await(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(mailer.sent); n != 1 {
		t.Errorf("%d emails sent, want 1", n)
	}
	if sg, _, _ := svc.Store.Get(context.Background(), "a1"); sg.State != Confirmed || sg.ConfirmedAt == nil {
		t.Errorf("after the task: %+v", sg)
	}
	// A signup that is gone gets no email and no error: a retry or a
	// duplicate job must not fail for ever.
	if _, err := svc.SendConfirmationAsync(t.Context(), Confirmation{SignupID: "gone"}).Await(t.Context()); err != nil || len(mailer.sent) != 1 {
		t.Errorf("for a missing signup: %v, %d emails", err, len(mailer.sent))
	}
}

func TestCleanup(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	svc := &Service{Store: NewStore(), Logger: quiet, Now: func() time.Time { return now }}
	for i, age := range []time.Duration{time.Minute, 23 * time.Hour, 25 * time.Hour, 72 * time.Hour} {
		mustAdd(t, svc.Store, Signup{ID: string(rune('a' + i)), Email: string(rune('a'+i)) + "@example.com", CreatedAt: now.Add(-age)})
	}
	if _, err := svc.CleanupAsync(t.Context()).Await(t.Context()); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, sg := range mustList(t, svc.Store) {
		left = append(left, sg.ID)
	}
	if strings.Join(left, ",") != "a,b" {
		t.Errorf("after cleaning up: %v, want the two signups younger than a day", left)
	}
}

// serve serves svc's views on a free port as run does, but with the test's
// service, and returns the base URL.
func serve(t *testing.T, svc *Service) (string, *Service) {
	t.Helper()
	if svc.Logger == nil {
		svc.Logger = quiet
	}
	loop := taskloop.New(taskloop.Options{Logger: quiet})
	if err := RegisterServiceTasks(loop, svc); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	if err := RegisterServiceViews(mux, svc, view.WithTemplates(templates), view.WithLogger(quiet)); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{Listeners: []net.Listener{ln}, Handler: mux, Loop: loop, Logger: quiet, ShutdownTimeout: 5 * time.Second})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server.Run: %v", err)
		}
	})
	return "http://" + ln.Addr().String() + "/", svc
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// gatedMailer sends nothing until release is closed, then records each
// email on sent.
type gatedMailer struct {
	release chan struct{}
	sent    chan Email
}

func newGatedMailer() *gatedMailer {
	return &gatedMailer{release: make(chan struct{}), sent: make(chan Email, 10)}
}

func (m *gatedMailer) Send(ctx context.Context, e Email) error {
	select {
	case <-m.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case m.sent <- e:
		return nil
	default:
		return errors.New("gatedMailer: too many emails")
	}
}

func do(t *testing.T, method, url, body, accept string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(data)
}

func decode(t *testing.T, body string) Signup {
	t.Helper()
	var sg Signup
	if err := json.Unmarshal([]byte(body), &sg); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return sg
}

// waitConfirmed polls the signup at url until it is confirmed.
func waitConfirmed(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := do(t, "GET", url, "", "")
		sg := decode(t, body)
		if sg.State == Confirmed && sg.ConfirmedAt != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %s after 10s: %s", sg.State, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustList(t *testing.T, s Signups) []Signup {
	t.Helper()
	list, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func mustAdd(t *testing.T, s Signups, sg Signup) {
	t.Helper()
	if ok, err := s.Add(context.Background(), sg); err != nil || !ok {
		t.Fatalf("Add(%s) = %v, %v", sg.ID, ok, err)
	}
}
