// Command futuresvet reports //futures: directives that futuresgen would
// refuse and generated files that are stale, missing or orphaned, with
// futuresgen's own messages, as a go vet tool:
//
//	go install github.com/gofutures/futures/cmd/futuresvet
//	go vet -vettool=$(which futuresvet) ./...
//
// or alone, where -fix applies the suggested fixes (a misspelled option
// or directive name, a space after // in a directive):
//
//	futuresvet [-fix] [-output name] ./...
//
// Its exit status is that of go vet: 0 when nothing was found, 1 (or, run
// alone, 3) when something was. The analyzer is package
// github.com/gofutures/futures/analysis/futuresvet, which golangci-lint
// can load as a module plugin (see the README).
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"github.com/gofutures/futures/analysis/futuresvet"
)

func main() { singlechecker.Main(futuresvet.Analyzer) }
