// Package bad holds directives futuresgen refuses; bad.go.golden is this // want package:"1 view"
// file with the suggested fixes applied.
package bad

import "context"

// want +2 `unknown option "retrys" for //futures:task \(did you mean "retries"\?\)` `unknown option "durabel" for //futures:task \(did you mean "durable"\?\)`
//
//futures:task retrys=3 durabel
func Send(ctx context.Context, to string) error { return nil }

// want +2 `unexpected "durabel": //futures:task takes key=value options \(did you mean durable=…\?\)`
//
//futures:task durabel
func Store(ctx context.Context, id int) error { return nil }

// want +2 `unknown directive //futures:tsak \(did you mean //futures:task\?\)`
//
//futures:tsak
func Third() {}

// want +1 `warning: "// futures:task" is a plain comment, not a directive`
// futures:task
func Other() {}

// want +3 `Pair returns \(int, string\): a task returns \(\), \(error\), \(R\) or \(R, error\)`
//
//futures:task timeout=30s
func Pair(ctx context.Context) (int, string) { return 0, "" }

// want +2 `unknown option "timout" for //futures:view \(did you mean "timeout"\?\)` `bad pattern "users": a pattern is a path that starts with /`
//
//futures:view GET users timout=1s
func Users(ctx context.Context) ([]string, error) { return nil, nil }

// want +2 `//futures:task must be in the doc comment of a function or method`
//
//futures:task
var x = 1
