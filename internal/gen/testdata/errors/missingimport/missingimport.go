package missingimport

import (
	"context"

	"fmtx"
)

//futures:task
func Send(ctx context.Context) error { return fmtx.Errorf("x") }
