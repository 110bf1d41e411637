//futures:api title=Signups version=1.0.0 description="Sign up, and see whether the confirmation email has gone out."
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofutures/futures/runtime/view"
)

//go:generate go tool futuresgen

// The states of a signup.
const (
	Pending   = "pending"   // the confirmation email has not gone out yet
	Confirmed = "confirmed" // it has
)

// Signup is one stored signup.
type Signup struct {
	ID          string     `json:"id"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	State       string     `json:"state"`
	CreatedAt   time.Time  `json:"created_at"`
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
	URL         string     `json:"url"` // where to see it
}

// Signups stores signups: Store in memory, PGStore in PostgreSQL, so that
// a worker process on another machine can confirm them.
type Signups interface {
	// Add stores sg, unless a signup with the same email is stored
	// already, and reports whether it did.
	Add(ctx context.Context, sg Signup) (bool, error)
	// Get returns the signup with id.
	Get(ctx context.Context, id string) (Signup, bool, error)
	// Confirm marks the signup with id as confirmed at t.
	Confirm(ctx context.Context, id string, t time.Time) error
	// DeleteBefore forgets the signups created before t and returns how
	// many.
	DeleteBefore(ctx context.Context, t time.Time) (int, error)
	// List returns every signup, newest first.
	List(ctx context.Context) ([]Signup, error)
}

// Store keeps signups in memory. It is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	signups map[string]Signup
}

var _ Signups = (*Store)(nil)

// NewStore returns an empty store.
func NewStore() *Store { return &Store{signups: map[string]Signup{}} }

// Add stores sg unless its email is taken.
func (s *Store) Add(_ context.Context, sg Signup) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, other := range s.signups {
		if strings.EqualFold(other.Email, sg.Email) {
			return false, nil
		}
	}
	s.signups[sg.ID] = sg
	return true, nil
}

// Get returns the signup with id.
func (s *Store) Get(_ context.Context, id string) (Signup, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sg, ok := s.signups[id]
	return sg, ok, nil
}

// Confirm marks the signup with id as confirmed at t.
func (s *Store) Confirm(_ context.Context, id string, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sg, ok := s.signups[id]; ok {
		sg.State, sg.ConfirmedAt = Confirmed, &t
		s.signups[id] = sg
	}
	return nil
}

// DeleteBefore forgets the signups created before t.
func (s *Store) DeleteBefore(_ context.Context, t time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, sg := range s.signups {
		if sg.CreatedAt.Before(t) {
			delete(s.signups, id)
			n++
		}
	}
	return n, nil
}

// List returns every signup, newest first.
func (s *Store) List(_ context.Context) ([]Signup, error) {
	s.mu.Lock()
	list := make([]Signup, 0, len(s.signups))
	for _, sg := range s.signups {
		list = append(list, sg)
	}
	s.mu.Unlock()
	slices.SortFunc(list, func(a, b Signup) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return list, nil
}

// Email is a message for a Mailer.
type Email struct {
	To, Subject, Body string
}

// Mailer sends email.
type Mailer interface {
	Send(ctx context.Context, m Email) error
}

// LogMailer pretends to send email: it waits Delay, as a mail server
// might, then logs the message.
type LogMailer struct {
	Logger *slog.Logger
	Delay  time.Duration
}

// Send logs m after l.Delay, or fails when ctx ends first.
func (l *LogMailer) Send(ctx context.Context, m Email) error {
	t := time.NewTimer(l.Delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	l.Logger.InfoContext(ctx, "sent email", "to", m.To, "subject", m.Subject)
	return nil
}

// Service is the signup service: its methods are the views and tasks,
// and its fields their dependencies.
type Service struct {
	Store  Signups
	Mailer Mailer
	Logger *slog.Logger
	// Retention is how long Cleanup keeps a signup. Default 24h.
	Retention time.Duration
	// Now tells the time; default time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// SignupForm is the JSON body of a signup. Its rules are checked, before
// CreateSignup runs, by the code that futuresgen generates from the
// validate tags; they are in the OpenAPI document too.
type SignupForm struct {
	Email string `json:"email" validate:"required,email,max=254"`
	Name  string `json:"name,omitempty" validate:"max=100"`
}

// CreateRequest is the request of CreateSignup.
type CreateRequest struct {
	Body SignupForm
}

// CreateSignup stores a signup and answers 201 at once; the confirmation
// email goes out after the response, on the task loop.
//
//	curl --json '{"email":"ada@example.com","name":"Ada"}' localhost:8080/signups
//
//futures:view POST /signups status=201 maxbody=4KiB timeout=5s errors=409
func (s *Service) CreateSignup(ctx context.Context, req CreateRequest) (Signup, error) {
	form := req.Body
	form.Name = strings.TrimSpace(form.Name)
	sg := Signup{ID: newID(), Email: form.Email, Name: form.Name, State: Pending, CreatedAt: s.now().UTC()}
	sg.URL = "/signups/" + sg.ID
	added, err := s.Store.Add(ctx, sg)
	if err != nil {
		return Signup{}, err
	}
	if !added {
		return Signup{}, view.Error(http.StatusConflict, "this email has signed up already")
	}
	// Runs after this response has been written. Awaiting it here would
	// fail with taskloop.ErrAwaitInScope rather than wait forever.
	s.SendConfirmationLater(ctx, Confirmation{SignupID: sg.ID, Email: sg.Email, Name: sg.Name})
	return sg, nil
}

// ShowRequest is the request of ShowSignup.
type ShowRequest struct {
	ID string `path:"id"`
}

// ShowSignup shows a signup and its state: HTML for browsers, JSON for the
// rest.
//
//futures:view GET /signups/{id} template=templates/signup.html errors=404
func (s *Service) ShowSignup(ctx context.Context, req ShowRequest) (Signup, error) {
	sg, ok, err := s.Store.Get(ctx, req.ID)
	if err != nil {
		return Signup{}, err
	}
	if !ok {
		return Signup{}, view.Error(http.StatusNotFound, "no such signup")
	}
	return sg, nil
}

// Home is the home page's result.
type Home struct {
	Signups []Signup `json:"signups"`
}

// Home lists the signups, newest first, and gives browsers a form to sign
// up with.
//
//futures:view GET /{$} template=templates/home.html
func (s *Service) Home(ctx context.Context) (Home, error) {
	list, err := s.Store.List(ctx)
	return Home{Signups: list}, err
}

// Confirmation is what SendConfirmation needs. Its fields are plain values
// that survive JSON, so that the task may run on a durable backend.
type Confirmation struct {
	SignupID string `json:"signup_id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
}

// SendConfirmation emails the confirmation of a signup and marks it
// confirmed: Django Futures' send_signup_confirmation. It is safe to run
// twice: a signup already confirmed, or forgotten, gets no email. A second
// request for the same confirmation, while the first waits, runs or has
// run lately, is a duplicate and stores no job (unique=args); each process
// sends at most 10 emails at once (limit=10), as a mail server allows.
//
//futures:task retries=3 backoff=1s timeout=30s durable unique=args limit=10
func (s *Service) SendConfirmation(ctx context.Context, c Confirmation) error {
	sg, ok, err := s.Store.Get(ctx, c.SignupID)
	if err != nil {
		return err
	}
	if !ok || sg.State == Confirmed {
		return nil
	}
	greeting := "Hello"
	if c.Name != "" {
		greeting += " " + c.Name
	}
	err = s.Mailer.Send(ctx, Email{
		To:      c.Email,
		Subject: "Your signup",
		Body:    fmt.Sprintf("%s,\n\nthank you for signing up.\n", greeting),
	})
	if err != nil {
		return err
	}
	return s.Store.Confirm(ctx, c.SignupID, s.now().UTC())
}

// Cleanup forgets signups older than the retention, so that the store does
// not grow without end. RegisterServiceTasks starts it, every five
// minutes. It is durable so that, with PostgreSQL, it runs once every five
// minutes across all processes rather than once in each.
//
//futures:task cron="*/5 * * * *" durable
func (s *Service) Cleanup(ctx context.Context) error {
	retention := s.Retention
	if retention <= 0 {
		retention = 24 * time.Hour
	}
	n, err := s.Store.DeleteBefore(ctx, s.now().Add(-retention))
	if n > 0 {
		s.Logger.InfoContext(ctx, "cleaned up signups", "deleted", n)
	}
	return err
}

// newID returns a random signup ID that others cannot guess.
func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
