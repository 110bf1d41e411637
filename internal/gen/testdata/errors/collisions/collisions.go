package collisions

import "context"

//futures:task
func Send(ctx context.Context) error { return nil }

// SendAsync is already taken.
func SendAsync() {}

type Mailer struct {
	DeliverLater int
}

//futures:task
func (m *Mailer) Deliver(ctx context.Context) error { return nil }

func (m *Mailer) DeliverAsync() {}

//futures:task
func Other(ctx context.Context) error { return nil }

func RegisterTasks() {}

var futuresSpec_Other = 1
