package gen

import (
	"github.com/dave/jennifer/jen"
	"golang.org/x/tools/go/types/typeutil"
)

func (v *view) display() string {
	if v.recv != nil {
		return v.recv.named.Obj().Name() + "." + v.fn.Name()
	}
	return v.fn.Name()
}

// specCode renders the view's view.Spec.
func (v *view) specCode() jen.Code {
	fields := []jen.Code{
		fieldOf(pathView, "Spec", "Name", jen.Lit(v.name)),
		fieldOf(pathView, "Spec", "Pattern", jen.Lit(v.method+" "+v.pattern)),
	}
	if v.timeout > 0 {
		fields = append(fields, fieldOf(pathView, "Spec", "Timeout", durationCode(v.timeout)))
	}
	// A view of the raw request reads the body as it likes; it is limited
	// when the directive asks for a limit.
	if v.body != nil || v.request == requestHTTP && v.maxBody > 0 {
		fields = append(fields, fieldOf(pathView, "Spec", "ReadsBody", jen.True()))
	}
	if v.maxBody > 0 {
		fields = append(fields, fieldOf(pathView, "Spec", "MaxBody", jen.Lit(int(v.maxBody))))
	}
	if v.status > 0 {
		fields = append(fields, fieldOf(pathView, "Spec", "Status", jen.Lit(v.status)))
	}
	if v.template != "" {
		fields = append(fields, fieldOf(pathView, "Spec", "Template", jen.Lit(v.template)))
	}
	if v.errTmpl != "" {
		fields = append(fields, fieldOf(pathView, "Spec", "ErrorTemplate", jen.Lit(v.errTmpl)))
	}
	if v.beat > 0 {
		fields = append(fields, fieldOf(pathView, "Spec", "Heartbeat", durationCode(v.beat)))
	}
	return rt(pathView, "Spec").Add(literal(fields))
}

// emitView writes the view's Spec variable and the function that registers
// its handler: a closure that binds the request, field by field, with the
// typed binders of runtime/view, then calls the user's function.
func emitView(f *jen.File, n *names, v *view) {
	docComment(f, "%s describes the view %s.", v.specName, v.display())
	f.Var().Id(v.specName).Op("=").Add(v.specCode())
	f.Line()

	reserved := []string{v.specName, v.registerName}
	if v.recv == nil {
		reserved = append(reserved, v.fn.Name())
	}
	s := n.scope(reserved...)
	mux, c := s.name("mux"), s.name("c")
	params := []jen.Code{jen.Id(mux).Op("*").Qual(pathHTTP, "ServeMux"), jen.Id(c).Op("*").Add(rt(pathView, "Config"))}
	var recv string
	if v.recv != nil {
		recv = s.name(preferred(v.recv.v.Name(), "recv"))
		params = append(params, jen.Id(recv).Op("*").Id(v.recv.named.Obj().Name()))
	}
	ctx, r := s.name("ctx"), s.name("r")
	body, results, decls := v.serveBody(s, ctx, r, recv)

	handle := "Handle"
	switch {
	case v.result == resultError:
		handle = "HandleEmpty"
	case v.isStream():
		handle = "HandleStream"
	}
	docComment(f, "%s registers %s on mux at %q.", v.registerName, v.display(), v.method+" "+v.pattern)
	f.Func().Id(v.registerName).Params(params...).Error().Block(append(decls,
		jen.Return(rt(pathView, handle).Call(
			jen.Id(mux), jen.Id(c), jen.Op("&").Id(v.specName),
			jen.Func().Params(jen.Id(ctx).Qual(pathContext, "Context"), jen.Id(r).Op("*").Qual(pathHTTP, "Request")).Add(results).Block(body...),
		)))...,
	)
	f.Line()
}

// serveBody returns the statements of the closure that serves one request,
// its results, and the declarations it needs before it (the functions
// that check types that contain themselves).
func (v *view) serveBody(s *localScope, ctx, r, recv string) ([]jen.Code, jen.Code, []jen.Code) {
	var decls []jen.Code
	var stmts []jen.Code
	var args []jen.Code
	if v.hasCtx {
		args = append(args, jen.Id(ctx))
	}
	var errName string
	results := jen.Error()
	if v.result != resultError {
		result, err := s.name("result"), s.name("err")
		errName = err
		resultType := v.value
		if v.isStream() {
			resultType = v.seq
		}
		results = jen.Params(jen.Id(result).Add(typeCode(resultType)), jen.Id(err).Error())
	}

	switch v.request {
	case requestHTTP:
		args = append(args, jen.Id(r).Dot("WithContext").Call(jen.Id(ctx)))
	case requestStruct:
		req, p := s.name("req"), s.name("p")
		stmts = append(stmts,
			jen.Var().Id(req).Add(typeCode(v.reqType)),
			jen.Var().Id(p).Add(rt(pathView, "Problems")),
		)
		query := ""
		for _, b := range v.fields {
			if b.in == "query" && query == "" {
				query = s.name("query")
				// view.ParseQuery, unlike r.URL.Query(), reports the pairs that do not parse.
				stmts = append(stmts, jen.Id(query).Op(":=").Add(rt(pathView, "ParseQuery")).Call(jen.Op("&").Id(p), jen.Id(r)))
			}
		}
		g := &validator{pkg: v.fn.Pkg(), s: s, p: p, ptrVars: map[string]bool{}}
		for _, b := range v.fields {
			stmts = append(stmts, b.bindCode(g, p, r, req, query))
		}
		decls = g.declareFuncs()
		if errName != "" {
			stmts = append(stmts, jen.If(jen.Id(errName).Op("=").Id(p).Dot(member(pathView, "Problems", "Err")).Call(), jen.Id(errName).Op("!=").Nil()).Block(jen.Return()))
		} else {
			err := s.name("err")
			stmts = append(stmts, jen.If(jen.Id(err).Op(":=").Id(p).Dot(member(pathView, "Problems", "Err")).Call(), jen.Id(err).Op("!=").Nil()).Block(jen.Return(jen.Id(err))))
		}
		args = append(args, jen.Id(req))
	}

	if v.socket != nil {
		// The function to run once the socket is open, with the bound
		// request; it gets the socket's context.
		conn := s.name("conn")
		args = append(args, jen.Id(conn))
		call := jen.Id(v.fn.Name()).Call(args...)
		if v.recv != nil {
			call = jen.Id(recv).Dot(v.fn.Name()).Call(args...)
		}
		run := jen.Func().Params(jen.Id(ctx).Add(typeCode(v.socket.ctxType)), jen.Id(conn).Add(typeCode(v.socket.conn))).Error().Block(jen.Return(call))
		return append(stmts, jen.Return(run, jen.Nil())), results, decls
	}
	call := jen.Id(v.fn.Name()).Call(args...)
	if v.recv != nil {
		call = jen.Id(recv).Dot(v.fn.Name()).Call(args...)
	}
	if v.result == resultFuture {
		call = call.Dot(member(pathFuture, "Future", "Await")).Call(jen.Id(ctx))
	}
	if v.result == resultStream {
		return append(stmts, jen.Return(call, jen.Nil())), results, decls
	}
	return append(stmts, jen.Return(call)), results, decls
}

// bindCode binds one request field: p.Add(view.Query, "n",
// view.Int(query.Get("n"), &req.N)), and the like; and then, when its
// value bound and it has rules to check, checks them.
func (b *bindField) bindCode(g *validator, p, r, req, query string) jen.Code {
	dst := jen.Op("&").Id(req).Dot(b.name)
	if b.in == "body" {
		decode := rt(pathView, "JSON").Call(jen.Op("&").Id(p), jen.Id(r), dst, jen.Lit(b.unknown), jen.Lit(b.optional))
		if !needsCheck(b.typ, b.rules, &typeutil.Map{}) {
			return decode
		}
		return jen.If(decode).Block(g.value(req+"."+b.name, b.typ, b.rules, where{in: "Body"}, false)...)
	}
	var raw jen.Code
	switch b.in {
	case "path":
		raw = jen.Id(r).Dot("PathValue").Call(jen.Lit(b.key))
	case "query":
		if b.slice {
			raw = jen.Id(query).Index(jen.Lit(b.key))
		} else {
			raw = jen.Id(query).Dot("Get").Call(jen.Lit(b.key))
		}
	case "header":
		if b.slice {
			raw = rt(pathView, "HeaderList").Call(jen.Id(r), jen.Lit(b.key))
		} else {
			raw = jen.Id(r).Dot("Header").Dot("Get").Call(jen.Lit(b.key))
		}
	case "cookie":
		raw = rt(pathView, "CookieValue").Call(jen.Id(r), jen.Lit(b.key))
	}
	in := rt(pathView, map[string]string{"path": "Path", "query": "Query", "header": "Header", "cookie": "Cookie"}[b.in])
	bind := rt(pathView, b.binder).Call(raw, dst)
	// As a function value, a generic binder needs its type argument; Time
	// and Duration are not generic.
	elemBinder := rt(pathView, b.binder)
	if b.binder != "Time" && b.binder != "Duration" && b.elem != nil {
		elemBinder = elemBinder.Types(typeCode(b.elem))
	}
	switch {
	case b.slice:
		bind = rt(pathView, "Slice").Call(raw, dst, elemBinder)
	case b.pointer:
		bind = rt(pathView, "Optional").Call(raw, dst, elemBinder)
	}
	add := func(detail jen.Code) jen.Code {
		return jen.Id(p).Dot(member(pathView, "Problems", "Add")).Call(in, jen.Lit(b.key), detail)
	}
	if b.rules == nil {
		return add(bind)
	}
	place := map[string]string{"path": "Path", "query": "Query", "header": "Header", "cookie": "Cookie"}[b.in]
	checks := g.value(req+"."+b.name, b.typ, b.rules, where{in: place, name: []part{{lit: b.key}}}, true)
	if len(checks) == 0 {
		return add(bind)
	}
	msg := g.s.name("msg")
	defer g.release(msg)
	return g.orElse(jen.If(jen.Id(msg).Op(":=").Add(bind), jen.Id(msg).Op("!=").Lit("")).Block(add(jen.Id(msg))), checks)
}

// socketCode renders the socket's socket.Spec.
func (v *view) socketCode() jen.Code {
	si := v.socket
	fields := []jen.Code{
		fieldOf(pathSocket, "Spec", "Name", jen.Lit(v.name)),
		fieldOf(pathSocket, "Spec", "Pattern", jen.Lit(v.method+" "+v.pattern)),
	}
	if si.maxMsg > 0 {
		fields = append(fields, fieldOf(pathSocket, "Spec", "MaxMessage", jen.Lit(int(si.maxMsg))))
	}
	if len(si.origins) > 0 {
		origins := make([]jen.Code, len(si.origins))
		for i, o := range si.origins {
			origins[i] = jen.Lit(o)
		}
		fields = append(fields, fieldOf(pathSocket, "Spec", "Origins", jen.Index().String().Values(origins...)))
	}
	switch si.messages {
	case "text":
		fields = append(fields, fieldOf(pathSocket, "Spec", "Messages", rt(pathSocket, "Text")))
	case "binary":
		fields = append(fields, fieldOf(pathSocket, "Spec", "Messages", rt(pathSocket, "Binary")))
	}
	if si.ping > 0 {
		fields = append(fields, fieldOf(pathSocket, "Spec", "Ping", durationCode(si.ping)))
	}
	return rt(pathSocket, "Spec").Add(literal(fields))
}

// emitSocket writes the socket's Spec variable and the function that
// registers it: a closure that binds the request, as a view's does, and
// returns the function that runs on the socket once it is open.
func emitSocket(f *jen.File, n *names, v *view) {
	docComment(f, "%s describes the socket %s.", v.specName, v.display())
	f.Var().Id(v.specName).Op("=").Add(v.socketCode())
	f.Line()

	reserved := []string{v.specName, v.registerName}
	if v.recv == nil {
		reserved = append(reserved, v.fn.Name())
	}
	s := n.scope(reserved...)
	mux, c := s.name("mux"), s.name("c")
	params := []jen.Code{jen.Id(mux).Op("*").Qual(pathHTTP, "ServeMux"), jen.Id(c).Op("*").Add(rt(pathView, "Config"))}
	var recv string
	if v.recv != nil {
		recv = s.name(preferred(v.recv.v.Name(), "recv"))
		params = append(params, jen.Id(recv).Op("*").Id(v.recv.named.Obj().Name()))
	}
	ctx, r := s.name("ctx"), s.name("r")
	body, results, decls := v.serveBody(s, ctx, r, recv)
	docComment(f, "%s registers the socket %s on mux at %q.", v.registerName, v.display(), v.method+" "+v.pattern)
	f.Func().Id(v.registerName).Params(params...).Error().Block(append(decls,
		jen.Return(rt(pathSocket, "Handle").Call(
			jen.Id(mux), jen.Id(c), jen.Op("&").Id(v.specName),
			jen.Func().Params(jen.Id(ctx).Qual(pathContext, "Context"), jen.Id(r).Op("*").Qual(pathHTTP, "Request")).Add(results).Block(body...),
		)))...,
	)
	f.Line()
}
