// Package testapp is a small service with views and tasks, written as a
// user would write one, for the tests and examples of futurestest.
package testapp

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
)

// Mail is an email that SendWelcome or Remind sent.
type Mail struct {
	To, Subject string
}

// Outbox records the emails sent.
type Outbox struct {
	mu    sync.Mutex
	sent  []Mail
	fails int // how many sends fail before one succeeds
}

// FailNext makes the next n sends fail.
func (o *Outbox) FailNext(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fails = n
}

func (o *Outbox) send(m Mail) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fails > 0 {
		o.fails--
		return errors.New("mail server unavailable")
	}
	o.sent = append(o.sent, m)
	return nil
}

// Sent returns the emails sent so far.
func (o *Outbox) Sent() []Mail {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Mail(nil), o.sent...)
}

// Mailbox is the service's outbox.
var Mailbox = &Outbox{}

// CreateRequest is CreateSignup's request: a JSON body.
type CreateRequest struct {
	Body struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
}

// Signup is a stored signup.
type Signup struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// CreateSignup answers at once; the welcome email goes out after the
// response, and a reminder a day later.
//
//futures:view POST /signups status=201
func CreateSignup(ctx context.Context, req CreateRequest) (Signup, error) {
	if req.Body.Email == "" {
		return Signup{}, errors.New("no email")
	}
	SendWelcomeLater(ctx, req.Body.Email, req.Body.Name)
	RemindLater(ctx, req.Body.Email)
	return Signup{Email: req.Body.Email, Name: req.Body.Name}, nil
}

// SendWelcome sends the welcome email.
//
//futures:task retries=2 backoff=1s
func SendWelcome(ctx context.Context, to, name string) error {
	return Mailbox.send(Mail{To: to, Subject: "Welcome, " + name})
}

// Remind sends a reminder a day after the signup.
//
//futures:task delay=24h
func Remind(ctx context.Context, to string) error {
	return Mailbox.send(Mail{To: to, Subject: "Still there?"})
}

// Note is a durable task's argument. A worker gets it from JSON: an
// Amount of NaN does not encode at all, and a Level above 0 encodes as its
// name, which nothing decodes (Level has MarshalText and no
// UnmarshalText).
type Note struct {
	Text   string
	Amount float64
	Level  Level `json:",omitempty"`
	Line   *Line `json:",omitempty"`
}

// Line is an order line of a note. Its JSON carries a Total for the
// readers of an API, which a worker's strict decoding refuses: Line has no
// such field.
type Line struct {
	Qty   int
	Price float64
}

// MarshalJSON adds the line's total.
func (l Line) MarshalJSON() ([]byte, error) {
	type plain Line
	return json.Marshal(struct {
		plain
		Total float64
	}{plain(l), float64(l.Qty) * l.Price})
}

// Level is a note's level.
type Level int

// MarshalText names the level; nothing reads the name back.
func (l Level) MarshalText() ([]byte, error) {
	if l > 0 {
		return []byte("high"), nil
	}
	return []byte("low"), nil
}

// Received are the notes that Archive received, as it received them.
var Received struct {
	sync.Mutex
	Notes []Note
}

// Archive stores a note, on a durable backend's worker in production.
//
//futures:task durable
func Archive(ctx context.Context, n Note) error {
	Received.Lock()
	defer Received.Unlock()
	Received.Notes = append(Received.Notes, n)
	return nil
}

// Ticks counts Tick's runs.
var Ticks struct {
	sync.Mutex
	N int
}

// Tick runs every hour once registered.
//
//futures:task every=1h
func Tick(ctx context.Context) error {
	Ticks.Lock()
	defer Ticks.Unlock()
	Ticks.N++
	return nil
}

// Confirmed are the emails that Confirm confirmed, in order.
var Confirmed struct {
	sync.Mutex
	Emails []string
}

// Confirm confirms a signup's email, once per email however often it is
// asked for while pending, at most two at once, before other jobs.
//
//futures:task durable unique=args limit=2 priority=2
func Confirm(ctx context.Context, email string) error {
	Confirmed.Lock()
	defer Confirmed.Unlock()
	Confirmed.Emails = append(Confirmed.Emails, email)
	return nil
}

// Refreshes counts Refresh's runs.
var Refreshes struct {
	sync.Mutex
	N int
}

// Refresh refreshes a cache entry and returns how many refreshes ran;
// asking again while one is pending waits for that one.
//
//futures:task unique=args
func Refresh(ctx context.Context, key string) (int, error) {
	Refreshes.Lock()
	defer Refreshes.Unlock()
	Refreshes.N++
	return Refreshes.N, nil
}

// Digests counts Digest's runs.
var Digests struct {
	sync.Mutex
	N int
}

// Digest sends the daily digest at 09:00 UTC once registered.
//
//futures:task cron="0 9 * * *"
func Digest(ctx context.Context) error {
	Digests.Lock()
	defer Digests.Unlock()
	Digests.N++
	return nil
}
