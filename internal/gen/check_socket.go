package gen

import (
	"fmt"
	"go/types"
	"path"
	"strings"
	"time"
)

// socketOptions are the options of //futures:socket.
var socketOptions = []optSpec{
	{"maxmsg", optSize},
	{"origins", optText},
	{"messages", optName},
	{"ping", optDuration},
	{"name", optName},
}

// socketInfo is what a //futures:socket adds to the view it is checked
// as: sockets bind their request like views and register with them.
type socketInfo struct {
	ctxType  types.Type // context.Context, as the function spells it
	conn     types.Type // *socket.Conn[In, Out]
	in, out  types.Type
	maxMsg   int64
	origins  []string
	messages string // json, text or binary
	ping     time.Duration
}

// checkSocket validates a //futures:socket declaration: GET and a
// pattern, options, and the signature func(ctx context.Context, [req R,]
// conn *socket.Conn[In, Out]) error.
func checkSocket(pkg *types.Package, d *decl, e *errs, mux *patternSet) *view {
	opts, ok := checkDirectiveOptions(d, 2, socketOptions, e)
	if !checkCallable(d, e) {
		return nil
	}
	if len(d.dir.args) < 2 {
		e.add(d.at(d.dir.kindOff), "//futures:socket needs GET and a path pattern, as in //futures:socket GET /chat/{room}")
		return nil
	}
	if d.obj == nil {
		return nil
	}
	fnName := d.fn.Name.Name
	si := &socketInfo{maxMsg: opts["maxmsg"].n, messages: opts["messages"].str, ping: opts["ping"].dur}
	v := &view{decl: d, fn: d.obj, method: d.dir.args[0].text, pattern: d.dir.args[1].text, socket: si, result: resultValue}
	v.name = opts["name"].str
	if v.name == "" {
		v.name = pkg.Path() + "." + fnName
	}
	switch si.messages {
	case "", "json", "text", "binary":
	default:
		e.add(d.at(d.dir.kindOff), "messages=%s: a socket's messages are json (the default), text or binary", si.messages)
		ok = false
	}
	if o := opts["origins"].str; o != "" {
		for p := range strings.SplitSeq(o, ",") {
			p = strings.TrimSpace(p)
			if _, err := path.Match(p, ""); err != nil || p == "" {
				e.add(d.at(d.dir.kindOff), "origins=%s: %q is not a host pattern such as app.example.com or *.example.com", o, p)
				ok = false
				continue
			}
			si.origins = append(si.origins, p)
		}
	}
	if v.method != "GET" {
		e.add(d.at(d.dir.args[0].off), "a socket opens with GET, not %s: //futures:socket GET %s", v.method, v.pattern)
		ok = false
	}
	wildcards, msg := patternWildcards(v.pattern)
	if msg != "" {
		e.add(d.at(d.dir.args[1].off), "bad pattern %q: %s", v.pattern, msg)
		ok = false
	} else if msg := mux.add(v.method+" "+v.pattern, fmt.Sprintf("%s at %s", fnName, positionString(e.fset.Position(d.at(d.dir.args[1].off))))); msg != "" {
		e.add(d.at(d.dir.args[1].off), "%s", msg)
		ok = false
	}

	sig := d.obj.Type().(*types.Signature)
	if d.fn.Type.TypeParams != nil {
		e.add(d.fn.Type.TypeParams.Pos(), "%s is generic: a socket needs concrete types", fnName)
		ok = false
	}
	if r := sig.Recv(); r != nil {
		recv, good := checkReceiver(d, r, e)
		if recv == nil {
			return nil
		}
		ok = ok && good
		v.recv = recv
		if opts["name"].str == "" {
			v.name = pkg.Path() + "." + recv.named.Obj().Name() + "." + fnName
		}
	}

	q := qualifier(pkg)
	params := sig.Params()
	const shape = "a socket is func(ctx context.Context, req R, conn *socket.Conn[In, Out]) error, with req optional"
	n := params.Len()
	if n == 0 || !isContext(params.At(0).Type()) {
		e.add(d.fn.Type.Params.Pos(), "%s takes no context.Context first, which a socket needs to know when it closes: %s", fnName, shape)
		return nil
	}
	v.hasCtx = true
	si.ctxType = params.At(0).Type()
	if n < 2 || socketConn(params.At(n-1).Type()) == nil {
		e.add(d.fn.Type.Params.Pos(), "%s takes no *socket.Conn[In, Out] last: %s", fnName, shape)
		return nil
	}
	si.conn = params.At(n - 1).Type()
	args := socketConn(si.conn)
	si.in, si.out = args.At(0), args.At(1)
	switch {
	case n > 3:
		e.add(params.At(2).Pos(), "%s takes too many parameters: %s", fnName, shape)
		ok = false
	case n == 3:
		p := params.At(1)
		st, isStruct := p.Type().Underlying().(*types.Struct)
		if !isStruct || isContext(p.Type()) {
			e.add(p.Pos(), "%s's request is %s: a socket's request is a struct whose fields are tagged path, query, header or cookie", fnName, types.TypeString(p.Type(), q))
			ok = false
			break
		}
		v.request, v.reqType = requestStruct, p.Type()
		if !v.checkFields(pkg, st, wildcards, e) {
			ok = false
		}
		if v.body != nil {
			e.add(v.body.pos, "request field %s: a socket's request has no body (it opens with GET); its messages come through the socket", v.body.name)
			ok = false
		}
	}
	if v.request == requestNone && len(wildcards) > 0 && msg == "" {
		e.add(d.at(d.dir.args[1].off), "the pattern has {%s}, but %s has no request struct with a path:%q field to receive it", wildcards[0], fnName, wildcards[0])
		ok = false
	}
	res := sig.Results()
	if res.Len() != 1 || !isError(res.At(0).Type()) {
		e.add(resultsPos(d), "%s returns %s: a socket returns error, which closes it (nil: 1000, a view.Error: 4000+status, else 1011)", fnName, types.TypeString(res, q))
		ok = false
	}
	raw := func(t types.Type) bool {
		b, isBasic := t.Underlying().(*types.Basic)
		return isBasic && b.Info()&types.IsString != 0 || isBytes(t)
	}
	if si.messages == "text" || si.messages == "binary" {
		for _, t := range []types.Type{si.in, si.out} {
			if !raw(t) {
				e.add(params.At(n-1).Pos(), "messages=%s sends and receives messages as they are: In and Out must be string or []byte, not %s", si.messages, types.TypeString(t, q))
				ok = false
			}
		}
	} else {
		if msg := jsonProblem(si.in, "In", q); msg != "" {
			e.add(params.At(n-1).Pos(), "%s's messages are JSON, but %s", fnName, msg)
			ok = false
		}
		if msg := encodeProblem(si.out, q); msg != "" {
			e.add(params.At(n-1).Pos(), "%s's Out %s", fnName, msg)
			ok = false
		}
	}
	// The generated bind function returns the function to run on the
	// socket: func(context.Context, *socket.Conn[In, Out]) error.
	v.value = types.NewSignatureType(nil, nil, nil,
		types.NewTuple(types.NewVar(0, nil, "", si.ctxType), types.NewVar(0, nil, "", si.conn)),
		types.NewTuple(types.NewVar(0, nil, "", types.Universe.Lookup("error").Type())), false)

	v.specName, v.registerName = "futuresSocket_"+fnName, "futuresRegister_"+fnName
	if v.recv != nil {
		name := v.recv.named.Obj().Name()
		v.specName, v.registerName = "futuresSocket_"+name+"_"+fnName, "futuresRegister_"+name+"_"+fnName
	}
	if !ok {
		return nil
	}
	return v
}

// socketConn returns the type arguments [In, Out] when t is
// *socket.Conn[In, Out] from the runtime.
func socketConn(t types.Type) *types.TypeList {
	p, ok := t.(*types.Pointer)
	if !ok {
		return nil
	}
	n, ok := types.Unalias(p.Elem()).(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != pathSocket || n.Obj().Name() != "Conn" || n.TypeArgs().Len() != 2 {
		return nil
	}
	return n.TypeArgs()
}
