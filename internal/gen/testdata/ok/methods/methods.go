// Package methods has tasks on methods.
package methods

import "context"

type Mailer struct{ From string }

//futures:task retries=2
func (m *Mailer) Deliver(ctx context.Context, to string) error { return nil }

//futures:task
func (m Mailer) Preview(to string) string { return m.From + to }

//futures:task every=1h
func (*Mailer) Sweep(ctx context.Context) (int, error) { return 0, nil }

type store struct{}

//futures:task
func (future *store) save(ctx context.Context, key string) error { return nil }

//futures:task every=30s delay=5s
func (s store) compact() {}

//futures:task
func Plain(ctx context.Context) error { return nil }
