package gen

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// The contract between generated code and the runtime: the only names of
// runtime/future, runtime/taskloop, runtime/view, runtime/socket and
// runtime/httpclient (for clients) that the emitter may write. The "For
// generated code" sections of the taskloop, view, socket and httpclient
// package docs list the same names; TestContract checks the table against
// those docs and against the runtime's declarations, and the emitter
// reaches the runtime only through rt and member, which refuse a name that
// is not here.
//
// To make generated code call a new runtime name: add it here and to the
// doc section, emit it through rt or member, and move versionAssertion to
// the next version, which taskloop and view then declare next to the
// older ones (an older runtime lacks the name, and the assertion says so).

// Import paths of the packages that generated code calls.
const (
	pathContext  = "context"
	pathErrors   = "errors"
	pathHTTP     = "net/http"
	pathTime     = "time"
	pathFmt      = "fmt"
	pathStrconv  = "strconv"
	pathUTF8     = "unicode/utf8"
	pathFuture   = "github.com/gofutures/futures/runtime/future"
	pathTaskloop = "github.com/gofutures/futures/runtime/taskloop"
	pathView     = "github.com/gofutures/futures/runtime/view"
	pathCron     = "github.com/gofutures/futures/runtime/cron"
	pathSocket   = "github.com/gofutures/futures/runtime/socket"
	pathIter     = "iter"
	// pathHTTPClient is what generated clients (//futures:client) call.
	pathHTTPClient = "github.com/gofutures/futures/runtime/httpclient"
)

// versionAssertion is the constant, declared by taskloop and by view, that
// every generated file asserts (const _ = taskloop.…), so that compiling it
// against a runtime without the names it uses fails on that line. A
// generator that uses a name the runtime did not always have asserts the
// next version, which the runtime then declares next to the older ones.
const versionAssertion = "SupportsGeneratedCodeVersion1"

// contract maps each runtime package to the names generated code may use:
// package-level names, and fields and methods as Type.Name.
var contract = map[string]map[string]bool{
	pathFuture: setOf("Future Future.Await"),
	pathTaskloop: setOf(versionAssertion + `
		Spec Spec.Name Spec.Retries Spec.Backoff Spec.Timeout Spec.Delay Spec.Every Spec.Queue Spec.Durable
		Spec.Cron Spec.Unique Spec.Priority Spec.Limit Unique Unique.ByArgs Unique.ByQueue Unique.Period Unique.States
		Async Later AsyncWith LaterWith AsyncDurable LaterDurable AsyncUnique LaterUnique DecodeArgs Receipt
		Definition Definition.Spec Definition.Run Definition.RunJSON Registrar Registrar.Register RegisterOn`),
	pathCron: setOf("Expr"),
	pathView: setOf(versionAssertion + `
		Spec Spec.Name Spec.Pattern Spec.Timeout Spec.ReadsBody Spec.MaxBody Spec.Status Spec.Template
		Spec.ErrorTemplate Spec.Heartbeat
		Config Option Register RegisterOn Handle HandleEmpty HandleStream
		Problems Problems.Add Problems.Err Path Query Header Cookie Body
		ParseQuery String Int Uint Float Bool Time Duration Text Slice Optional HeaderList CookieValue JSON
		IsEmail IsURL IsUUID IsAlpha IsAlphanumeric IsNumeric IsHostname IsIP IsTime PointerKey`),
	pathSocket: setOf(`Spec Spec.Name Spec.Pattern Spec.MaxMessage Spec.Origins Spec.Messages Spec.Ping
		Text Binary Conn Handle JSON Dial`),
	pathHTTPClient: setOf(versionAssertion + `
		Client CallOption Request NewRequest Request.JSON Send Stream
		In InPath InQuery InHeader InCookie PathParam Param OptionalParam ListParam
		FormatString FormatInt FormatUint FormatFloat FormatBool FormatTime FormatDuration FormatText`),
}

// rt is jen.Qual for a package-level name of the runtime. A name outside
// the contract is a bug of the emitter, caught by the tests that generate.
func rt(path, name string) *jen.Statement {
	mustContract(path, name)
	return jen.Qual(path, name)
}

// member returns the name of a field or method of the runtime type typ,
// for a composite literal's key or a selector, after the same check.
func member(path, typ, name string) string {
	mustContract(path, typ+"."+name)
	return name
}

func mustContract(path, name string) {
	if !contract[path][name] {
		panic(fmt.Sprintf("futuresgen: %s.%s is not among the runtime names generated code may use (contract.go)", path, name))
	}
}
