package ctxorder

import "context"

//futures:task
func Send(to string, ctx context.Context) error { return nil }

//futures:task
func Two(ctx context.Context, other context.Context) error { return nil }

type Mailer struct{}

//futures:task timeout=1s
func (m *Mailer) Deliver(to string, c context.Context, n int) error { return nil }

type Req struct {
	Q string `query:"q"`
}

//futures:view GET /v
func View(req Req, ctx context.Context) error { return nil }

//futures:task
func Unnamed(string, context.Context) error { return nil }
