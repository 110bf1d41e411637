package undirected

import (
	"context"

	"example.com/errors/other"
)

//futures:task
func Real(ctx context.Context) error { return nil }

// Helper has no directive.
func Helper(ctx context.Context, n int) error { return nil }

type Mailer struct{}

// Deliver has no directive.
func (m *Mailer) Deliver(ctx context.Context) error { return nil }

func use(ctx context.Context, m *Mailer) {
	RealLater(ctx)
	HelperAsync(ctx, 1)
	HelperLater(ctx, 2)
	m.DeliverAsync(ctx)
	other.SendLater(ctx, "x")
	NothingAsync(ctx)
}
