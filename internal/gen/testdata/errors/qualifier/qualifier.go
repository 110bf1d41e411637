package qualifier

import (
	"context"

	"example.com/errors/model"
)

//futures:task durable
func Refresh(ctx context.Context, f *model.Feed) error { return nil }

//futures:task
func Pair(ctx context.Context) (*model.Feed, int) { return nil, 0 }

type Local struct{ n int }

//futures:view GET /feeds
func Feeds(ctx context.Context) (*model.Feed, []Local) { return nil, nil }

//futures:view GET /feed
func Feed(ctx context.Context, k model.Kind) error { return nil }
