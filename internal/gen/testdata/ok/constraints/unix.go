//go:build unix && !special

package constraints

import "context"

//futures:task
func OnUnix(ctx context.Context) error { return nil }

type Cache struct{}

//futures:task every=1m
func (c *Cache) Refresh(ctx context.Context) error { return nil }
