package gen

// The fuzzed packages of FuzzGenerate (fuzz_gen_test.go) and
// FuzzGenerateFast (fuzz_fast_test.go): a valid package with a fuzzed
// directive line on one of many function shapes, in one of many places.
// Exported for the external test package; test files only.

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"os"
	"runtime"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/assign"
	"golang.org/x/tools/go/analysis/passes/bools"
	"golang.org/x/tools/go/analysis/passes/composite"
	"golang.org/x/tools/go/analysis/passes/copylock"
	"golang.org/x/tools/go/analysis/passes/httpresponse"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/analysis/passes/nilfunc"
	"golang.org/x/tools/go/analysis/passes/shift"
	"golang.org/x/tools/go/analysis/passes/stdmethods"
	"golang.org/x/tools/go/analysis/passes/stringintconv"
	"golang.org/x/tools/go/analysis/passes/structtag"
	"golang.org/x/tools/go/analysis/passes/unmarshal"
	"golang.org/x/tools/go/analysis/passes/unreachable"
	"golang.org/x/tools/go/analysis/passes/unusedresult"
	"golang.org/x/tools/go/ast/inspector"
)

// FuzzedSeed is one input of the generator's fuzz targets.
type FuzzedSeed struct {
	Directive           string
	Shape, Place, Flags uint8
}

// FuzzedShapes is the number of shapes, FuzzedPlacements of placements.
var FuzzedShapes = len(fuzzShapes)

// fuzzImports is the import block of every file of a fuzzed package, with a
// use of each import so that none is unused whatever the shape.
const fuzzImports = `import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"time"
	"unsafe"

	"github.com/gofutures/futures/runtime/future"
)

var (
	_ context.Context
	_ json.Marshaler
	_ io.Reader
	_ http.Handler
	_ netip.Addr
	_ url.Values
	_ time.Time
	_ unsafe.Pointer
	_ *future.Future[int]
)
`

// fuzzTypes are the types the shapes use.
const fuzzTypes = `
type Msg struct {
	To   string ` + "`json:\"to\"`" + `
	N    int
	note string
}

type Box[T any] struct{ V T }

type Alias = map[string][]int

type Named int

type Text string

func (t *Text) UnmarshalText(b []byte) error { *t = Text(b); return nil }

type Stamp struct{ unix int64 }

func (s Stamp) MarshalJSON() ([]byte, error) { return []byte("0"), nil }
func (s *Stamp) UnmarshalJSON([]byte) error  { return nil }

type Svc struct{ name string }

type Gen[T any] struct{ v T }

type Iface interface{ M() }

type étape struct{}

type SvcAlias = Svc

type Ctx = context.Context

type MyCtx context.Context

type MyErr struct{}

func (MyErr) Error() string { return "" }

type E = error

type recv int

type Req struct {
	ID    string   ` + "`path:\"id\"`" + `
	Q     []string ` + "`query:\"q\"`" + `
	Token string   ` + "`header:\"X-Token\"`" + `
	S     string   ` + "`cookie:\"s\"`" + `
	Body  *Msg
}
`

// fuzzShape is a declaration that a directive annotates: BODY stands for
// its body; Ref is how other code names it, so that callers can refer to
// RefLater and RefAsync before they exist.
type fuzzShape struct{ Decl, Ref string }

var fuzzShapes = []fuzzShape{
	{"func F() BODY", "F"},
	{"func F(ctx context.Context) error BODY", "F"},
	{"func F(ctx context.Context, to string, n int) (string, error) BODY", "F"},
	{"func F(n int) string BODY", "F"},
	{"func F(ctx context.Context, prefix string, parts ...string) (int, error) BODY", "F"},
	{"func F(context.Context, string, int) error BODY", "F"},
	{"func F(_ context.Context, _ string, x int) error BODY", "F"},
	{"func F(ctx string) error BODY", "F"},
	{"func F(n int, ctx context.Context) error BODY", "F"},
	{"func F(ctx context.Context, m Msg, b Box[string], a Alias, ch <-chan int, fn func(int) error, s struct {\n\tA int `json:\"a\"`\n}, arr [3]byte, r *http.Request, q url.Values, e any, i Iface, p unsafe.Pointer, c complex128) ([]Box[int], error) BODY", "F"},
	{"func F(ctx context.Context) (int, int) BODY", "F"},
	{"func F(ctx context.Context) (int, string, error) BODY", "F"},
	{"func F(ctx context.Context) (error, int) BODY", "F"},
	{"func F(ctx context.Context) (n int, err error) BODY", "F"},
	{"func F[T any](ctx context.Context, v T) error BODY", "F"},
	{"func F[T any, U ~int](v T, u U) (T, error) BODY", "F"},
	{"func (s *Svc) F(ctx context.Context, to string) error BODY", "(*Svc).F"},
	{"func (s Svc) F(to string) string BODY", "Svc.F"},
	{"func (*Svc) F(ctx context.Context) (int, error) BODY", "(*Svc).F"},
	{"func (g *Gen[T]) F(ctx context.Context) error BODY", "(*Gen[int]).F"},
	{"func (g Gen[T]) F(v T) T BODY", "Gen[int].F"},
	{"func (n Named) F() error BODY", "Named.F"},
	{"func (ctx *Svc) F(context context.Context) error BODY", "(*Svc).F"},
	{"func (future *Svc) F(taskloop string, err error) (error, error) BODY", "(*Svc).F"},
	{"func F(ctx context.Context, req Req) (Msg, error) BODY", "F"},
	{"func F(ctx context.Context, req struct {\n\tID int `path:\"id\"`\n}) (*Msg, error) BODY", "F"},
	{"func F(r *http.Request) error BODY", "F"},
	{"func F(ctx context.Context, r *http.Request) (string, error) BODY", "F"},
	{"func F(ctx context.Context) *future.Future[Msg] BODY", "F"},
	{"func F(ctx context.Context) *future.Future[func()] BODY", "F"},
	{"func F(ctx context.Context, req struct {\n\tBody Msg\n\tX    Text          `query:\"x\"`\n\tT    time.Time     `query:\"t\"`\n\tD    time.Duration `header:\"d\"`\n\tA    []netip.Addr  `query:\"a\"`\n}) (map[string]any, error) BODY", "F"},
	{"func F(ctx context.Context, req struct {\n\tRest string `path:\"rest\"`\n\tPath string `path:\"path\"`\n\tSKU  string `path:\"sku\"`\n}) (string, error) BODY", "F"},
	{"func F(ctx context.Context, req struct {\n\tBody *map[string]any `body:\"json,allowunknown\"`\n\tN    []uint16        `query:\"n\"`\n\tF    float32         `query:\"f\"`\n\tB    bool            `cookie:\"b\"`\n}) error BODY", "F"},
	{"func F(ctx context.Context, req struct {\n\tM   map[string]int `query:\"m\"`\n\tDup string         `query:\"d\"`\n\tD2  string         `query:\"d\"`\n\tMsg\n}) error BODY", "F"},
	{"func F(ctx context.Context) (chan int, error) BODY", "F"},
	{"func F(ctx context.Context, s Stamp, ids []int64, m map[int]string, p *Msg) error BODY", "F"},
	{"func F(ctx context.Context, f func()) error BODY", "F"},
	{"func F(ctx context.Context, c chan int, m map[Msg]string) error BODY", "F"},
	{"func F(ctx context.Context, x interface{ M() }) error BODY", "F"},
	{"func F(future int, taskloop string, ctx context.Context, err error, args []string, time int) error BODY", "F"},
	{"func F(ctx context.Context, v ...Msg) error BODY", "F"},
	{"func F(ctx context.Context, n Named, t Text, s Stamp) (Named, error) BODY", "F"},
	{"func F(ctx context.Context) (Alias, error) BODY", "F"},
	{"func F(ctx context.Context, b []byte) ([]byte, error) BODY", "F"},
	{"func F(ctx context.Context) (struct{ A int }, error) BODY", "F"},
	{"func F(ctx context.Context) (any, error) BODY", "F"},
	{"func F(ctx context.Context) (func(), error) BODY", "F"},
	{"func F(ctx context.Context) (context.Context, error) BODY", "F"},
	{"func F(ctx context.Context) (*future.Future[int], error) BODY", "F"},
	{"func F(ctx context.Context) (e error) BODY", "F"},
	{"func F(ctx context.Context, _ ...int) BODY", "F"},
	{"func F(ctx context.Context, fn func(context.Context) (string, error)) error BODY", "F"},
	{"func F(ctx context.Context, p *[]*map[string]*Msg, ch chan<- struct{}) error BODY", "F"},
	{"func F(ctx context.Context, x, y int, s, t string) (r1 int, e error) BODY", "F"},
	{"func F(ctx context.Context, t time.Time, d time.Duration) (time.Time, error) BODY", "F"},
	{"func f(ctx context.Context, to string) error BODY", "f"},
	{"func (s *Svc) f(ctx context.Context) BODY", "(*Svc).f"},
	{"func F(ctx context.Context, cb func(...int) []chan<- map[string]func() error) error BODY", "F"},
	{"func F(ctx context.Context, a [0]int, b [1 << 3]Msg, c struct{}) (struct{}, error) BODY", "F"},
	{"func F(ctx context.Context, émail string, ñ int, _ bool, arg3 int, Arg3 string, a, A int) error BODY", "F"},
	{"func Ñandú(ctx context.Context, ids ...int64) (string, error) BODY", "Ñandú"},
	{"func (e *étape) F(ctx context.Context) error BODY", "(*étape).F"},
	{"func (s *SvcAlias) F(ctx context.Context, req Req) (Msg, error) BODY", "(*SvcAlias).F"},
	{"func init() BODY", "init"},
	{"func main() BODY", "main"},
	{"func _(ctx context.Context) error BODY", "_"},
	{"func (s *Svc) _(ctx context.Context) error BODY", "(*Svc)._"},
	{"func F(ctx MyCtx, c Ctx) error BODY", "F"},
	{"func F(ctx context.Context) (MyErr, error) BODY", "F"},
	{"func F(ctx context.Context) E BODY", "F"},
	{"func F(ctx context.Context, c chan (<-chan int), m map[string]chan (<-chan error)) error BODY", "F"},
	{`func F(ctx context.Context, s struct{ A int "json:\"a\"\x00" }) error BODY`, "F"},
	{"func (r recv) F(ctx context.Context, recv, mux, c, defs, i, def, opts, errs, register, a, data, req, p, query, result, err int) (int, error) BODY", "recv.F"},
	{"func F(ctx context.Context, _id int, to string) error BODY", "F"},
}

const fuzzBody = "{ panic(0) }"

// Placements of the directive relative to the shape.
const FuzzedPlacements = 12

func placeDirective(d string, shape fuzzShape, place int) string {
	decl := func(body string) string { return strings.Replace(shape.Decl, "BODY", body, 1) }
	fn := decl(fuzzBody)
	switch place % FuzzedPlacements {
	case 1: // after a paragraph of prose, as gofmt leaves it
		return "// F does something.\n//\n" + d + "\n" + fn
	case 2: // before the prose
		return d + "\n// F does something.\n" + fn
	case 3: // twice
		return d + "\n" + d + "\n" + fn
	case 4: // after another directive
		return "//futures:task\n" + d + "\n" + fn
	case 5: // floating, separated by a blank line
		return d + "\n\n" + fn
	case 6: // on a type
		return d + "\ntype T3 struct{}\n\n" + fn
	case 7: // inside the body
		return decl("{\n\t" + d + "\n\tpanic(0)\n}")
	case 8: // after the code, on the same line
		return fn + " " + d
	case 9: // in a var group
		return "var (\n\t" + d + "\n\tV = 1\n)\n\n" + fn
	case 10: // at the end of the file
		return fn + "\n\n" + d + "\n"
	case 11: // on two functions
		return d + "\n" + fn + "\n\n" + d + "\nfunc G(ctx context.Context) error " + fuzzBody
	}
	return d + "\n" + fn
}

// Flags of a fuzzed package.
const (
	flagCallers    = 1 << iota // code that uses the wrappers before they exist
	flagStale                  // a stale generated file is there already
	flagCRLF                   // the file has CRLF line endings
	flagConstraint             // the function is in a file with a build constraint
	flagClash                  // package-level names that generated code might import
	flagPkgFuture              // the package is named future
	flagSelfImport             // a file imports the package itself: an import cycle
	flagShadow                 // the package declares its own error type
)

// fuzzDirective turns fuzz input into a directive line: one line, a line
// comment, never a //line directive (which would move the positions of
// what follows out of the package, as the user asked).
func fuzzDirective(s string) string {
	if len(s) > 400 {
		s = s[:400]
	}
	s = strings.ReplaceAll(s, "\n", " ")
	if !strings.HasPrefix(s, "//") || strings.HasPrefix(s, "//line") {
		s = "//futures:" + strings.TrimPrefix(s, "//")
	}
	return s
}

// FuzzedFiles returns the files of the package for one fuzz input.
func FuzzedFiles(directive string, shapeIdx, place, flags uint8) map[string]string {
	shape := fuzzShapes[int(shapeIdx)%len(fuzzShapes)]
	d := fuzzDirective(directive)
	pkg := "p"
	if flags&flagPkgFuture != 0 {
		pkg = "future"
	}
	head := "package " + pkg + "\n\n" + fuzzImports
	main := head + fuzzTypes
	code := "\n" + placeDirective(d, shape, int(place)) + "\n"
	if flags&flagClash != 0 {
		main += "\nvar taskloop, view, errors, strconv = 1, 2, 3, 4\n"
	}
	if flags&flagShadow != 0 {
		// Legal Go: predeclared names may be declared again in a package.
		main += "\ntype error = interface {\n\tError() string\n\tTimeout() bool\n}\n"
	}
	if flags&flagCallers != 0 {
		main += "\nvar (\n\t_ = " + shape.Ref + "Later\n\t_ = " + shape.Ref + "Async\n)\n"
	}
	files := map[string]string{}
	if flags&flagConstraint != 0 {
		files["f_linux.go"] = "//go:build linux\n\n" + head + code
	} else {
		main += code
	}
	if flags&flagCRLF != 0 {
		main = strings.ReplaceAll(main, "\n", "\r\n")
	}
	files["p.go"] = main
	if flags&flagSelfImport != 0 {
		files["cycle.go"] = "package " + pkg + "\n\nimport _ \"example.com/fuzz/p\"\n"
	}
	if flags&flagStale != 0 {
		files[DefaultOutput] = Header + "\n\npackage " + pkg + "\n\nfunc FAsync() {}\n\nvar stale int = \"stale\"\n"
	}
	return files
}

// FuzzedCurated are the seeds that plain go test runs: each run of the
// generator costs a go list, and TestGenerateMutations covers testdata.
var FuzzedCurated = []FuzzedSeed{
	{"//futures:task retries=3 timeout=30s", 2, 0, flagCallers | flagStale},
	{"//futures:task every=1m queue=q", 18, 1, flagConstraint | flagCallers},
	{"//futures:view GET /users/{id} status=201 template=t.html", 24, 2, flagCRLF | flagClash | flagPkgFuture},
	{"//futures:task durable retries=2", 5, 0, 0},
	{"//futures:task retry=3 timeout=soon", 1, 3, 0},
	{"//futures:view GET /{id}", 25, 11, 0},
	{"// futures:task", 1, 6, flagStale},
}

// fuzzVetAnalyzers are the go vet checks that need nothing but the
// package's syntax and types (no facts from dependencies), so that the
// fuzz targets can run them in-process on every generated package.
var fuzzVetAnalyzers = []*analysis.Analyzer{
	assign.Analyzer, bools.Analyzer, composite.Analyzer, copylock.Analyzer,
	httpresponse.Analyzer, nilfunc.Analyzer, shift.Analyzer, stdmethods.Analyzer,
	stringintconv.Analyzer, structtag.Analyzer, unmarshal.Analyzer,
	unreachable.Analyzer, unusedresult.Analyzer,
}

// FuzzedVet runs those checks on a type-checked package (info must have
// every map go/types fills) and returns their reports about the files for
// which generated is true, except those that the other files get too: a
// struct tag that vet dislikes in the user's signature is copied into the
// generated code, as it must be, and is not the generator's doing.
func FuzzedVet(fset *token.FileSet, files []*ast.File, pkg *types.Package, info *types.Info, generated func(filename string) bool) []string {
	insp := inspector.New(files)
	var ours []string
	theirs := map[string]bool{}
	for _, a := range fuzzVetAnalyzers {
		pass := &analysis.Pass{
			Analyzer:          a,
			Fset:              fset,
			Files:             files,
			Pkg:               pkg,
			TypesInfo:         info,
			TypesSizes:        types.SizesFor("gc", runtime.GOARCH),
			ResultOf:          map[*analysis.Analyzer]any{inspect.Analyzer: insp},
			ReadFile:          os.ReadFile,
			ImportObjectFact:  func(types.Object, analysis.Fact) bool { return false },
			ExportObjectFact:  func(types.Object, analysis.Fact) {},
			ImportPackageFact: func(*types.Package, analysis.Fact) bool { return false },
			ExportPackageFact: func(analysis.Fact) {},
			AllObjectFacts:    func() []analysis.ObjectFact { return nil },
			AllPackageFacts:   func() []analysis.PackageFact { return nil },
			Report: func(d analysis.Diagnostic) {
				msg := a.Name + ": " + d.Message
				if pos := fset.Position(d.Pos); generated(pos.Filename) {
					ours = append(ours, fmt.Sprintf("%s: vet %s", pos, msg))
				} else {
					theirs[msg] = true
				}
			},
		}
		if _, err := a.Run(pass); err != nil {
			ours = append(ours, fmt.Sprintf("vet %s: %v", a.Name, err))
		}
	}
	var reports []string
	for _, r := range ours {
		if _, msg, _ := strings.Cut(r, ": vet "); !theirs[msg] {
			reports = append(reports, r)
		}
	}
	return reports
}

// FuzzedTypesInfo returns a types.Info with every map that go/types fills.
func FuzzedTypesInfo() *types.Info {
	return &types.Info{
		Types:        map[ast.Expr]types.TypeAndValue{},
		Defs:         map[*ast.Ident]types.Object{},
		Uses:         map[*ast.Ident]types.Object{},
		Implicits:    map[ast.Node]types.Object{},
		Selections:   map[*ast.SelectorExpr]*types.Selection{},
		Scopes:       map[ast.Node]*types.Scope{},
		Instances:    map[*ast.Ident]types.Instance{},
		FileVersions: map[*ast.File]string{},
	}
}
