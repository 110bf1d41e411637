package gen

import (
	"github.com/dave/jennifer/jen"
)

// emitAPI writes, in the package's main generated file, what //futures:api
// adds to the package: the document, embedded from the file futuresgen
// writes beside this one, and OpenAPI, which returns it.
func emitAPI(f *jen.File, a *api) {
	f.Anon("embed")
	docComment(f, "%s is %s, the OpenAPI document of this package's views, which futuresgen writes beside this file.", apiNames[1], a.out)
	f.Comment("//")
	f.Comment("//go:embed " + a.out)
	f.Var().Id(apiNames[1]).String()
	f.Line()
	docComment(f, "%s returns the OpenAPI %s document of this package's views, %s, as futuresgen wrote it: a new copy on each call. Serve it with view.ServeOpenAPI.", apiNames[0], a.openapi, a.out)
	f.Func().Id(apiNames[0]).Params().Index().Byte().Block(
		jen.Return(jen.Index().Byte().Call(jen.Id(apiNames[1]))),
	)
	f.Line()
}
