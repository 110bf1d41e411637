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
