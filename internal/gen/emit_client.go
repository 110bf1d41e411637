package gen

import (
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"
)

// emitClient writes what //futures:client adds to the package's main
// generated file: the Client type, NewClient, and a method per view that
// builds the view's request with runtime/httpclient's formatters (the
// inverses of the binders that the view's handler calls) and sends it.
func emitClient(f *jen.File, n *names, c *client) {
	client, newClient := clientNames[0], clientNames[1]
	docComment(f, "%s calls the views of %s over HTTP, one method per view: each sends the view's request, encoded as the view's handler binds it, and returns the future of the view's result, or of its error (an *httpclient.Problem for the problems the view answers). Make one with %s; it is safe for concurrent use.", client, c.target, newClient)
	f.Type().Id(client).Struct(jen.Id("hc").Op("*").Add(rt(pathHTTPClient, "Client")))
	f.Line()

	s := n.scope(clientNames...)
	hc := s.name("hc")
	docComment(f, "%s returns a %s that sends its requests with %s, whose base URL (httpclient.WithBaseURL) is where the views are served, such as http://localhost:8080 or https://api.example.com/v1; its options (headers, timeouts, retries, limits) apply to every call.", newClient, client, hc)
	f.Func().Id(newClient).Params(jen.Id(hc).Op("*").Add(rt(pathHTTPClient, "Client"))).Op("*").Id(client).Block(
		jen.Return(jen.Op("&").Id(client).Values(jen.Dict{jen.Id("hc"): jen.Id(hc)})),
	)
	f.Line()

	for _, m := range c.methods {
		emitClientMethod(f, n, c, m)
	}
}

// emitClientMethod writes the Client method that calls one view.
func emitClientMethod(f *jen.File, n *names, c *client, m *clientMethod) {
	v := m.v
	docComment(f, "%s sends %s %s to the view %s of %s and returns the future of its result.", m.name, v.method, v.pattern, v.display(), c.target)
	if len(v.errors) > 0 {
		var statuses []string
		for _, st := range v.errors {
			statuses = append(statuses, strconv.Itoa(st))
		}
		f.Comment("//")
		docComment(f, "The view declares the error statuses %s (errors=): they fail the future with an *httpclient.Problem of that status.", strings.Join(statuses, ", "))
	}
	if doc := strings.TrimSpace(m.doc); doc != "" {
		f.Comment("//")
		for line := range strings.SplitSeq(doc, "\n") {
			if line == "" {
				f.Comment("//")
			} else {
				f.Comment(line)
			}
		}
	}

	s := n.scope(clientNames...)
	recv, ctx, req, opts, r := s.name("c"), s.name("ctx"), s.name("req"), s.name("opts"), s.name("r")
	params := []jen.Code{jen.Id(ctx).Qual(pathContext, "Context")}
	if v.request == requestStruct {
		params = append(params, jen.Id(req).Add(typeCode(v.reqType)))
	}
	params = append(params, jen.Id(opts).Op("...").Add(rt(pathHTTPClient, "CallOption")))
	result := jen.Struct()
	if v.value != nil {
		result = jen.Add(typeCode(v.value))
	}

	body := []jen.Code{
		jen.Id(r).Op(":=").Add(rt(pathHTTPClient, "NewRequest")).Call(jen.Lit(v.method), jen.Lit(v.pattern)),
	}
	for _, b := range v.fields {
		body = append(body, b.encodeCode(r, req))
	}
	body = append(body, jen.Return(rt(pathHTTPClient, "Send").Types(result).Call(
		jen.Id(ctx), jen.Id(recv).Dot("hc"), jen.Id(r), jen.Id(opts).Op("..."))))

	f.Func().Params(jen.Id(recv).Op("*").Id(clientNames[0])).Id(m.name).Params(params...).
		Op("*").Add(rt(pathFuture, "Future")).Types(result).Block(body...)
	f.Line()
}

// formatters are the httpclient formatters by the binder they invert.
var formatters = map[string]string{
	"String": "FormatString", "Int": "FormatInt", "Uint": "FormatUint", "Float": "FormatFloat",
	"Bool": "FormatBool", "Time": "FormatTime", "Duration": "FormatDuration", "Text": "FormatText",
}

// encodeCode adds one request field to the request r:
// httpclient.Param(r, httpclient.InQuery, "n", req.N,
// httpclient.FormatInt[int]), and the like; the body with r.JSON.
func (b *bindField) encodeCode(r, req string) jen.Code {
	x := jen.Id(req).Dot(b.name)
	if b.in == "body" {
		set := jen.Id(r).Dot(member(pathHTTPClient, "Request", "JSON")).Call(x)
		if b.optional {
			// Absent, as the view takes an optional body to be.
			return jen.If(jen.Id(req).Dot(b.name).Op("!=").Nil()).Block(set)
		}
		return set
	}
	scalar := b.typ
	if b.elem != nil {
		scalar = b.elem
	}
	format := rt(pathHTTPClient, formatters[b.binder])
	if b.binder != "Time" && b.binder != "Duration" {
		format = format.Types(typeCode(scalar))
	}
	var in jen.Code
	if b.in != "path" {
		in = rt(pathHTTPClient, map[string]string{"query": "InQuery", "header": "InHeader", "cookie": "InCookie"}[b.in])
	}
	switch {
	case b.in == "path" && b.pointer:
		return jen.If(jen.Id(req).Dot(b.name).Op("!=").Nil()).Block(
			rt(pathHTTPClient, "PathParam").Call(jen.Id(r), jen.Lit(b.key), jen.Op("*").Id(req).Dot(b.name), format))
	case b.in == "path":
		return rt(pathHTTPClient, "PathParam").Call(jen.Id(r), jen.Lit(b.key), x, format)
	case b.slice:
		return rt(pathHTTPClient, "ListParam").Call(jen.Id(r), in, jen.Lit(b.key), x, format)
	case b.pointer:
		return rt(pathHTTPClient, "OptionalParam").Call(jen.Id(r), in, jen.Lit(b.key), x, format)
	}
	// Comparable: cannotCall leaves out the views of other values.
	return rt(pathHTTPClient, "Param").Call(jen.Id(r), in, jen.Lit(b.key), x, format)
}
