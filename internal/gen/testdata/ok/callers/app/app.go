// Package app calls another package's wrappers and registration before
// they exist.
package app

import (
	"context"

	"example.com/golden/callers"
	"github.com/gofutures/futures/runtime/taskloop"
)

func Start(ctx context.Context, l *taskloop.Loop) error {
	if err := callers.RegisterTasks(l); err != nil {
		return err
	}
	if err := callers.RegisterMailerTasks(l, &callers.Mailer{}); err != nil {
		return err
	}
	_, err := callers.SendAsync(ctx, "x").Await(ctx)
	return err
}
