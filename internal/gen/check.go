package gen

import (
	"go/token"
	"go/types"
)

// Checks that tasks and views share.

// resultsPos is where a function's results are, or would be.
func resultsPos(d *decl) token.Pos {
	if d.fn.Type.Results == nil {
		return d.fn.Type.Params.End()
	}
	return d.fn.Type.Results.Pos()
}

// checkReceiver checks a method's receiver: a named, non-generic type.
func checkReceiver(d *decl, r *types.Var, e *errs) (*receiver, bool) {
	rt := r.Type()
	ptr, isPtr := rt.(*types.Pointer)
	if isPtr {
		rt = ptr.Elem()
	}
	named, _ := types.Unalias(rt).(*types.Named)
	if named == nil {
		e.add(d.fn.Recv.Pos(), "cannot wrap a method of %s", types.TypeString(r.Type(), nil))
		return nil, false
	}
	if named.TypeParams().Len() > 0 {
		e.add(d.fn.Recv.Pos(), "%s is a method of the generic type %s: a %s needs concrete types", d.fn.Name.Name, named.Obj().Name(), d.kind)
		return &receiver{v: r, named: named, pointer: isPtr}, false
	}
	return &receiver{v: r, named: named, pointer: isPtr}, true
}

// checkCallable reports a function that generated code cannot call: the
// blank identifier and init.
func checkCallable(d *decl, e *errs) bool {
	switch name := d.fn.Name.Name; {
	case name == "_":
		e.add(d.fn.Name.Pos(), "a function named _ cannot be called, so it cannot be a %s: give it a name", d.kind)
		return false
	case name == "init" && d.fn.Recv == nil:
		e.add(d.fn.Name.Pos(), "init cannot be called, so it cannot be a %s: move its body into a function with another name", d.kind)
		return false
	}
	return true
}

// predeclared are the predeclared identifiers that generated code names.
var predeclared = []string{
	"error", "nil", "true", "false", "len", "make", "append", "any", "comparable",
	"bool", "byte", "rune", "string", "int", "int8", "int16", "int32", "int64",
	"uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
	"float32", "float64", "complex64", "complex128",
}

// checkShadowing reports package-level declarations that shadow a
// predeclared identifier generated code needs: in the package's generated
// file, the name would mean the package's declaration instead.
func checkShadowing(pkg *types.Package, files map[*token.File]bool, fset *token.FileSet, e *errs) {
	for _, name := range predeclared {
		obj := pkg.Scope().Lookup(name)
		if obj == nil || !files[fset.File(obj.Pos())] {
			continue
		}
		e.add(obj.Pos(), "the package declares %s, which hides Go's predeclared %s that the generated code needs: rename it", name, name)
	}
}
