//go:build never

package fresh

import "context"

// Never is in a file that no build has: its task is out of scope, but
// RegisterTasks exists for it in futures_gen.go on every platform.
//
//futures:task
func Never(ctx context.Context) error { return nil }

// Sweep is a method task of Service, whose registration is in
// futures_gen.go whether or not this file is built.
//
//futures:task
func (s *Service) Sweep(ctx context.Context) error { return nil }
