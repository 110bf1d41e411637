package gen

import (
	"fmt"
	"go/token"
	"go/types"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
)

// viewOptions are the options of //futures:view.
var viewOptions = []optSpec{
	{"timeout", optDuration},
	{"maxbody", optSize},
	{"status", optStatus},
	{"template", optName},
	{"name", optName},
	{"errors", optStatuses},
	{"errortemplate", optName},
	{"heartbeat", optDuration},
}

var viewMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// view is a checked //futures:view function, ready to emit.
type view struct {
	decl     *decl
	fn       *types.Func
	recv     *receiver
	hasCtx   bool
	request  requestKind
	reqType  types.Type // the request struct's type, for requestStruct
	fields   []*bindField
	body     *bindField
	result   resultKind
	value    types.Type // T of (T, error) or *future.Future[T]
	method   string
	pattern  string // as in the directive, without the method
	timeout  time.Duration
	maxBody  int64
	status   int
	template string
	errTmpl  string        // errortemplate=
	beat     time.Duration // heartbeat=, for streams
	seq      types.Type    // iter.Seq2[T, error] of a stream, T in value
	socket   *socketInfo   // set for a //futures:socket
	name     string
	errors   []int // statuses declared with errors=, for the OpenAPI document

	specName     string // futuresView_F
	registerName string // futuresRegister_F
}

type requestKind int

const (
	requestNone   requestKind = iota
	requestStruct             // a struct bound by tags
	requestHTTP               // *http.Request for full control
)

type resultKind int

const (
	resultValue     resultKind = iota // (T, error)
	resultError                       // (error): 204
	resultFuture                      // (*future.Future[T])
	resultStream                      // (iter.Seq2[T, error]): server-sent events
	resultStreamErr                   // (iter.Seq2[T, error], error)
)

// isStream reports whether the view streams server-sent events.
func (v *view) isStream() bool { return v.result == resultStream || v.result == resultStreamErr }

// bindField is one field of a request struct and where it comes from.
type bindField struct {
	name     string // Go field name
	in       string // path, query, header, cookie, body
	key      string // the path wildcard, query key, header or cookie name
	typ      types.Type
	binder   string     // view.Int, view.String, …
	elem     types.Type // for slices: the element type
	slice    bool
	pointer  bool // a scalar through a pointer: nil when absent
	optional bool // body: a pointer, so an empty body is fine
	unknown  bool // body: unknown JSON fields allowed
	pos      token.Pos
	field    *types.Var // the request struct's field
	tag      string     // its struct tag
	rules    *rules     // its validate tag, nil when it has none
}

func (v *view) declOf() *decl { return v.decl }
func (v *view) kind() string  { return "view" }

func (v *view) recvNamed() *types.Named {
	if v.recv == nil {
		return nil
	}
	return v.recv.named
}

func (v *view) packageNames() []string { return []string{v.specName, v.registerName} }
func (v *view) methodNames() []string  { return nil }

// checkView validates a //futures:view declaration: method, pattern,
// options, the request struct's bindings and the result.
func checkView(pkg *types.Package, d *decl, e *errs, mux *patternSet) *view {
	opts, ok := checkDirectiveOptions(d, 2, viewOptions, e)
	if !checkCallable(d, e) {
		return nil
	}
	if len(d.dir.args) < 2 {
		e.add(d.at(d.dir.kindOff), "//futures:view needs a method and a path pattern, as in //futures:view GET /signup/{id}")
		return nil
	}
	if d.obj == nil {
		return nil // the type checker has reported why
	}
	fnName := d.fn.Name.Name
	v := &view{decl: d, fn: d.obj, method: d.dir.args[0].text, pattern: d.dir.args[1].text}
	v.timeout = opts["timeout"].dur
	v.maxBody = opts["maxbody"].n
	v.status = int(opts["status"].n)
	v.template = opts["template"].str
	v.errTmpl = opts["errortemplate"].str
	v.beat = opts["heartbeat"].dur
	v.name = opts["name"].str
	v.errors = statusList(opts["errors"].str)
	if v.name == "" {
		v.name = pkg.Path() + "." + fnName
	}

	if !slices.Contains(viewMethods, v.method) {
		e.add(d.at(d.dir.args[0].off), "unknown method %q; a view's method is one of %s", v.method, strings.Join(viewMethods, ", "))
		ok = false
	}
	wildcards, msg := patternWildcards(v.pattern)
	if msg != "" {
		e.add(d.at(d.dir.args[1].off), "bad pattern %q: %s", v.pattern, msg)
		ok = false
	} else if msg := mux.add(v.method+" "+v.pattern, fmt.Sprintf("%s at %s", d.fn.Name.Name, positionString(e.fset.Position(d.at(d.dir.args[1].off))))); msg != "" {
		e.add(d.at(d.dir.args[1].off), "%s", msg)
		ok = false
	}

	sig := d.obj.Type().(*types.Signature)
	if d.fn.Type.TypeParams != nil {
		e.add(d.fn.Type.TypeParams.Pos(), "%s is generic: a view needs concrete types", fnName)
		ok = false
	}
	if r := sig.Recv(); r != nil {
		recv, good := checkReceiver(d, r, e)
		if recv == nil {
			return nil
		}
		ok = ok && good
		v.recv = recv
		v.name = strings.TrimSuffix(v.name, "."+fnName)
		if opts["name"].str == "" {
			v.name = pkg.Path() + "." + recv.named.Obj().Name() + "." + fnName
		}
	}

	q := qualifier(pkg)
	params := sig.Params()
	i := 0
	if params.Len() > 0 && isContext(params.At(0).Type()) {
		v.hasCtx = true
		i = 1
	}
	misplaced := false
	for j := i; j < params.Len(); j++ {
		if p := params.At(j); isContext(p.Type()) {
			e.add(p.Pos(), "%s", misplacedContext(d, p, v.hasCtx))
			ok, misplaced = false, true
		}
	}
	switch rest := params.Len() - i; {
	case misplaced:
	case rest == 0:
	case rest > 1:
		e.add(params.At(i+1).Pos(), "%s takes too many parameters: a view takes an optional context.Context, then a request struct or *http.Request", fnName)
		ok = false
	case isPointerTo(params.At(i).Type(), "net/http", "Request"):
		v.request = requestHTTP
	default:
		p := params.At(i)
		st, isStruct := p.Type().Underlying().(*types.Struct)
		if !isStruct {
			e.add(p.Pos(), "%s's request is %s: a view takes a struct whose fields are tagged path, query, header or cookie (and a JSON Body), or *http.Request",
				fnName, types.TypeString(p.Type(), q))
			ok = false
			break
		}
		v.request, v.reqType = requestStruct, p.Type()
		if !v.checkFields(pkg, st, wildcards, e) {
			ok = false
		}
	}
	if v.request == requestNone && len(wildcards) > 0 && msg == "" {
		// A view of the raw request reads r.PathValue itself.
		e.add(d.at(d.dir.args[1].off), "the pattern has {%s}, but %s has no request struct with a path:%q field to receive it (nor an *http.Request to read it from)", wildcards[0], fnName, wildcards[0])
		ok = false
	}

	requestOK := ok
	res := sig.Results()
	resultsOK := true
	switch {
	case res.Len() == 1 && seq2Elem(res.At(0).Type()) != nil:
		v.result, v.value, v.seq = resultStream, seq2Elem(res.At(0).Type()), res.At(0).Type()
	case res.Len() == 2 && seq2Elem(res.At(0).Type()) != nil && isError(res.At(1).Type()):
		v.result, v.value, v.seq = resultStreamErr, seq2Elem(res.At(0).Type()), res.At(0).Type()
	case res.Len() == 1 && isError(res.At(0).Type()):
		v.result = resultError
	case res.Len() == 2 && isError(res.At(1).Type()):
		v.result, v.value = resultValue, res.At(0).Type()
	case res.Len() == 1 && futureElem(res.At(0).Type()) != nil:
		v.result, v.value = resultFuture, futureElem(res.At(0).Type())
	default:
		e.add(resultsPos(d), "%s returns %s: a view returns (T, error), (error), (*future.Future[T]), or for server-sent events iter.Seq2[T, error] or (iter.Seq2[T, error], error)", fnName, types.TypeString(res, q))
		ok, resultsOK = false, false
	}
	// Options that cannot act on this function.
	if v.timeout > 0 && !v.hasCtx && v.request != requestHTTP && resultsOK && v.result != resultFuture && !misplaced {
		uselessOption(d, "timeout", e, "it takes no context.Context, no *http.Request and returns no future to await, so nothing sees the deadline: take ctx context.Context as its first parameter, or remove timeout")
		ok = false
	}
	if v.maxBody > 0 && v.body == nil && v.request != requestHTTP && requestOK {
		uselessOption(d, "maxbody", e, "it reads no request body (no field named Body or tagged body:\"json\", and no *http.Request): remove maxbody")
		ok = false
	}
	if v.value != nil {
		if msg := encodeProblem(v.value, q); msg != "" {
			e.add(resultsPos(d), "%s's result %s", fnName, msg)
			ok = false
		}
	}
	if v.template != "" && v.result == resultError {
		e.add(d.at(d.dir.kindOff), "%s has template=%s but returns only an error: there is nothing to render", fnName, v.template)
		ok = false
	}
	if v.template != "" && v.isStream() {
		uselessOption(d, "template", e, "it streams server-sent events, which no template renders: remove template (errortemplate= renders its errors for browsers)")
		ok = false
	}
	if v.beat > 0 && resultsOK && !v.isStream() {
		uselessOption(d, "heartbeat", e, "it does not stream events (its result is not iter.Seq2[T, error]): remove heartbeat")
		ok = false
	}
	if v.isStream() && v.status > 0 && v.status != http.StatusOK {
		uselessOption(d, "status", e, "an event stream's status is 200: remove status")
		ok = false
	}

	v.specName, v.registerName = "futuresView_"+fnName, "futuresRegister_"+fnName
	if v.recv != nil {
		name := v.recv.named.Obj().Name()
		v.specName, v.registerName = "futuresView_"+name+"_"+fnName, "futuresRegister_"+name+"_"+fnName
	}
	if !ok {
		return nil
	}
	return v
}

// patternWildcards returns the wildcard names of a ServeMux path pattern,
// or a message saying what is wrong with it.
func patternWildcards(pattern string) ([]string, string) {
	i := strings.IndexByte(pattern, '/')
	if i < 0 {
		return nil, "a pattern is a path that starts with /"
	}
	var names []string
	segs := strings.Split(pattern[i+1:], "/")
	for j, seg := range segs {
		if !strings.ContainsAny(seg, "{}") {
			continue
		}
		if !strings.HasPrefix(seg, "{") || !strings.HasSuffix(seg, "}") {
			return nil, fmt.Sprintf("segment %q: a wildcard must be a whole segment, as in /users/{id}", seg)
		}
		name := seg[1 : len(seg)-1]
		last := j == len(segs)-1
		switch {
		case name == "$":
			if !last {
				return nil, "{$} must end the pattern"
			}
			continue
		case strings.HasSuffix(name, "..."):
			if !last {
				return nil, fmt.Sprintf("{%s} must end the pattern", name)
			}
			name = strings.TrimSuffix(name, "...")
		}
		if !token.IsIdentifier(name) {
			return nil, fmt.Sprintf("wildcard {%s}: a wildcard name is a Go identifier", name)
		}
		if slices.Contains(names, name) {
			return nil, fmt.Sprintf("wildcard {%s} appears twice", name)
		}
		names = append(names, name)
	}
	return names, ""
}

// patternSet registers the package's view patterns on a ServeMux, as the
// generated code will, so that ServeMux itself judges bad and conflicting
// patterns.
type patternSet struct {
	mux      *http.ServeMux
	patterns []string
	owners   []string // "Func at file:line:col", by pattern
}

func newPatternSet() *patternSet {
	return &patternSet{mux: http.NewServeMux()}
}

// add registers pattern for owner, or returns what ServeMux refuses: a bad
// pattern, or a conflict with a view already added, which it names with its
// pattern and owner. Which one conflicts is found by registering the two
// alone on a mux of their own, not read from the panic's text, which names
// registration sites that mean nothing here.
func (ps *patternSet) add(pattern, owner string) string {
	refused := register(ps.mux, pattern)
	if refused == nil {
		ps.patterns = append(ps.patterns, pattern)
		ps.owners = append(ps.owners, owner)
		return ""
	}
	for i, prev := range ps.patterns {
		pair := http.NewServeMux()
		pair.Handle(prev, http.NotFoundHandler())
		if why := register(pair, pattern); why != nil {
			msg := fmt.Sprintf("pattern %q conflicts with %q of %s", pattern, prev, ps.owners[i])
			// The explanation follows the first line: "GET /a/{x} matches
			// the same requests as GET /a/{y}", or the paths each matches
			// alone.
			if _, explained, ok := strings.Cut(fmt.Sprint(why), "\n"); ok {
				msg += ": " + strings.ReplaceAll(explained, "\n", " ")
			}
			return msg
		}
	}
	return strings.TrimPrefix(fmt.Sprint(refused), "http: ")
}

// register registers pattern on mux and returns what it panicked with, if
// it did.
func register(mux *http.ServeMux, pattern string) (refused any) {
	defer func() { refused = recover() }()
	mux.Handle(pattern, http.NotFoundHandler())
	return nil
}

// checkFields reads the binding of every field of a request struct.
func (v *view) checkFields(pkg *types.Package, st *types.Struct, wildcards []string, e *errs) bool {
	ok := true
	q := qualifier(pkg)
	fnName := v.decl.fn.Name.Name
	seen := map[string]token.Pos{}
	for i := range st.NumFields() {
		f := st.Field(i)
		tag := reflect.StructTag(st.Tag(i))
		var places []string
		for _, in := range []string{"path", "query", "header", "cookie", "body"} {
			if _, has := tag.Lookup(in); has {
				places = append(places, in)
			}
		}
		if len(places) == 0 && f.Name() == "Body" {
			places = []string{"body"}
		}
		switch {
		case f.Embedded():
			e.add(f.Pos(), "request field %s is embedded: name it and tag it (path, query, header, cookie, or body:\"json\")", f.Name())
			ok = false
			continue
		case len(places) == 0:
			e.add(f.Pos(), "request field %s has no binding: tag it path:\"…\", query:\"…\", header:\"…\" or cookie:\"…\", or name it Body for the JSON body", f.Name())
			ok = false
			continue
		case len(places) > 1:
			e.add(f.Pos(), "request field %s is bound twice (%s): choose one", f.Name(), strings.Join(places, " and "))
			ok = false
			continue
		}
		b := &bindField{name: f.Name(), in: places[0], typ: f.Type(), pos: f.Pos(), field: f, tag: st.Tag(i)}
		b.key, _ = tag.Lookup(b.in)
		if b.in == "body" {
			opts := strings.Split(b.key, ",")
			if b.key != "" && opts[0] != "json" {
				e.add(f.Pos(), "request field %s: body:%q; the body is JSON: body:\"json\", or body:\"json,allowunknown\" to accept unknown fields", f.Name(), b.key)
				ok = false
				continue
			}
			if v.body != nil {
				e.add(f.Pos(), "request field %s is a second body; %s already receives the JSON body", f.Name(), v.body.name)
				ok = false
				continue
			}
			for _, o := range opts[1:] {
				if o != "allowunknown" {
					e.add(f.Pos(), "request field %s: unknown body option %q; the only one is allowunknown", f.Name(), o)
					ok = false
				}
				b.unknown = true
			}
			_, b.optional = f.Type().(*types.Pointer)
			if msg := encodeProblem(f.Type(), q); msg != "" {
				e.add(f.Pos(), "request body %s %s", f.Name(), msg)
				ok = false
				continue
			}
			v.body = b
			v.fields = append(v.fields, b)
			continue
		}
		if b.key == "" || strings.Contains(b.key, ",") {
			e.add(f.Pos(), "request field %s: %s:%q needs a plain name, as in %s:%q", f.Name(), b.in, b.key, b.in, strings.ToLower(f.Name()))
			ok = false
			continue
		}
		if b.in == "header" {
			b.key = http.CanonicalHeaderKey(b.key)
		}
		if prev, dup := seen[b.in+" "+b.key]; dup {
			e.add(f.Pos(), "request field %s binds %s %q, which the field at %s binds too", f.Name(), b.in, b.key, positionString(e.fset.Position(prev)))
			ok = false
			continue
		}
		seen[b.in+" "+b.key] = f.Pos()
		if b.in == "path" && !slices.Contains(wildcards, b.key) {
			e.add(f.Pos(), "request field %s is bound to path %q, but the pattern %s has no {%s}", f.Name(), b.key, v.pattern, b.key)
			ok = false
			continue
		}
		t := f.Type()
		if s, isSlice := t.(*types.Slice); isSlice && !isBytes(t) {
			if b.in != "query" && b.in != "header" {
				e.add(f.Pos(), "request field %s is a slice, but only query and header values repeat", f.Name())
				ok = false
				continue
			}
			b.slice, b.elem, t = true, s.Elem(), s.Elem()
		} else if p, isPtr := t.(*types.Pointer); isPtr {
			b.pointer, b.elem, t = true, p.Elem(), p.Elem()
		}
		b.binder = binderFor(t)
		if b.binder == "" {
			e.add(f.Pos(), "request field %s has type %s, which a %s value cannot bind to: use a string, bool, integer, float, time.Time, time.Duration, a type with UnmarshalText, a pointer to one of these (nil when absent), or a slice of these for query and header",
				f.Name(), types.TypeString(f.Type(), q), b.in)
			ok = false
			continue
		}
		v.fields = append(v.fields, b)
	}
	for _, w := range wildcards {
		if _, has := seen["path "+w]; !has {
			e.add(v.decl.at(v.decl.dir.args[1].off), "the pattern has {%s}, but %s's request struct has no field tagged path:%q", w, fnName, w)
			ok = false
		}
	}
	return ok
}

func isBytes(t types.Type) bool {
	s, ok := t.Underlying().(*types.Slice)
	if !ok {
		return false
	}
	b, ok := s.Elem().Underlying().(*types.Basic)
	return ok && b.Kind() == types.Byte
}

var textUnmarshaler = types.NewInterfaceType([]*types.Func{
	types.NewFunc(0, nil, "UnmarshalText", types.NewSignatureType(nil, nil, nil,
		types.NewTuple(types.NewVar(0, nil, "", types.NewSlice(types.Typ[types.Byte]))),
		types.NewTuple(types.NewVar(0, nil, "", types.Universe.Lookup("error").Type())), false)),
}, nil).Complete()

// binderFor names the runtime/view function that binds a value of type t,
// or "" when none can.
func binderFor(t types.Type) string {
	switch {
	case isNamed(t, "time", "Time"):
		return "Time"
	case isNamed(t, "time", "Duration"):
		return "Duration"
	case types.Implements(types.NewPointer(t), textUnmarshaler):
		return "Text"
	}
	b, ok := t.Underlying().(*types.Basic)
	if !ok {
		return ""
	}
	info := b.Info()
	switch {
	case info&types.IsString != 0:
		return "String"
	case info&types.IsBoolean != 0:
		return "Bool"
	case info&types.IsUnsigned != 0:
		return "Uint"
	case info&types.IsInteger != 0:
		return "Int"
	case info&types.IsFloat != 0:
		return "Float"
	}
	return ""
}

func isPointerTo(t types.Type, pkgPath, name string) bool {
	p, ok := t.(*types.Pointer)
	return ok && isNamed(p.Elem(), pkgPath, name)
}

// futureElem returns T when t is *future.Future[T] from the runtime.
func futureElem(t types.Type) types.Type {
	p, ok := t.(*types.Pointer)
	if !ok {
		return nil
	}
	n, ok := types.Unalias(p.Elem()).(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != pathFuture || n.Obj().Name() != "Future" || n.TypeArgs().Len() != 1 {
		return nil
	}
	return n.TypeArgs().At(0)
}

// seq2Elem returns T when t is iter.Seq2[T, error].
func seq2Elem(t types.Type) types.Type {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != pathIter || n.Obj().Name() != "Seq2" || n.TypeArgs().Len() != 2 || !isError(n.TypeArgs().At(1)) {
		return nil
	}
	return n.TypeArgs().At(0)
}

// encodeProblem explains why t cannot travel as JSON, or returns "".
func encodeProblem(t types.Type, q types.Qualifier) string {
	// Interfaces encode fine (as their dynamic value) and unexported fields
	// are simply skipped; only what encoding/json refuses matters here.
	if msg := jsonCheck(t, map[types.Type]bool{}, "value", q, false); msg != "" {
		return "cannot travel as JSON: " + msg
	}
	return ""
}
