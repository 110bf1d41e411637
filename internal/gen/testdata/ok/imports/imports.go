// Package imports declares names that clash with the generated file's
// imports, and takes a type from a package named like a runtime package.
package imports

import (
	ctxpkg "context"

	tl "example.com/golden/imports/taskloop"
)

// future, context and time are package-level names here: the generated
// file must import the runtime's future, context and time under other names.
var future, context, time = 1, 2, 3

//futures:task timeout=5s
func Run(ctx ctxpkg.Context, job tl.Job) (tl.Job, error) { return job, nil }
