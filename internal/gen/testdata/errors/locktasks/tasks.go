// Package errors removes, renames and demotes durable tasks that
// futures.lock.json, written for the previous version, locks.
package errors

import "context"

// Deleted is gone.

// NewName was OldName, renamed without name=.
//
//futures:task durable
func NewName(ctx context.Context, id int64) error { return nil }

// Demoted is no longer durable.
//
//futures:task
func Demoted(ctx context.Context, id int64) error { return nil }

// SendMail was Named, and kept its name: fine.
//
//futures:task durable name=mail.send
func SendMail(ctx context.Context, to string) error { return nil }
