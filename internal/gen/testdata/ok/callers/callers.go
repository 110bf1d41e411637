// Package callers calls its wrappers before they exist.
package callers

import "context"

//futures:task
func Send(ctx context.Context, to string) error { return nil }

type Mailer struct{}

//futures:task
func (m *Mailer) Deliver(ctx context.Context, to string) error { return nil }

func use(ctx context.Context) error {
	if err := SendLater(ctx, "a").Cancel; err == nil {
		return nil
	}
	_, err := (&Mailer{}).DeliverAsync(ctx, "b").Await(ctx)
	return err
}
