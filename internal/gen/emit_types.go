package gen

import (
	"fmt"
	"go/types"
	"unicode"
	"unicode/utf8"

	"github.com/dave/jennifer/jen"
)

// typeCode renders t as jennifer code, qualifying named types with their
// package path so that the file's import names (chosen up front from
// go/types, see imports) apply.
func typeCode(t types.Type) jen.Code {
	switch t := t.(type) {
	case *types.Basic:
		if t.Kind() == types.UnsafePointer {
			return jen.Qual("unsafe", "Pointer")
		}
		return jen.Id(t.Name())
	case *types.Alias:
		return namedCode(t.Obj(), t.TypeArgs())
	case *types.Named:
		return namedCode(t.Obj(), t.TypeArgs())
	case *types.Pointer:
		return jen.Op("*").Add(typeCode(t.Elem()))
	case *types.Slice:
		return jen.Index().Add(typeCode(t.Elem()))
	case *types.Array:
		return jen.Index(jen.Lit(int(t.Len()))).Add(typeCode(t.Elem()))
	case *types.Map:
		return jen.Map(typeCode(t.Key())).Add(typeCode(t.Elem()))
	case *types.Chan:
		elem := typeCode(t.Elem())
		if inner, ok := t.Elem().(*types.Chan); ok && inner.Dir() == types.RecvOnly && t.Dir() != types.RecvOnly {
			// chan <-chan T reads as chan<- chan T: parenthesize.
			elem = jen.Parens(elem)
		}
		switch t.Dir() {
		case types.SendOnly:
			return jen.Chan().Op("<-").Add(elem)
		case types.RecvOnly:
			return jen.Op("<-").Chan().Add(elem)
		}
		return jen.Chan().Add(elem)
	case *types.Signature:
		return jen.Func().Add(signatureCode(t))
	case *types.Struct:
		fields := make([]jen.Code, t.NumFields())
		for i := range t.NumFields() {
			f := t.Field(i)
			var c *jen.Statement
			if f.Embedded() {
				c = jen.Add(typeCode(f.Type()))
			} else {
				c = jen.Id(f.Name()).Add(typeCode(f.Type()))
			}
			if tag := t.Tag(i); tag != "" {
				// The tag is part of the type's identity: keep it verbatim,
				// raw-quoted as people write tags when it can be.
				if !rawQuotable(tag) {
					c = c.Add(jen.Lit(tag))
				} else {
					c = c.Op("`" + tag + "`")
				}
			}
			fields[i] = c
		}
		return jen.Struct(fields...)
	case *types.Interface:
		var items []jen.Code
		for i := range t.NumEmbeddeds() {
			items = append(items, typeCode(t.EmbeddedType(i)))
		}
		for i := range t.NumExplicitMethods() {
			m := t.ExplicitMethod(i)
			items = append(items, jen.Id(m.Name()).Add(signatureCode(m.Type().(*types.Signature))))
		}
		return jen.Interface(items...)
	case *types.Union:
		var c *jen.Statement
		for i := range t.Len() {
			term := t.Term(i)
			tc := typeCode(term.Type())
			if term.Tilde() {
				tc = jen.Op("~").Add(tc)
			}
			if c == nil {
				c = jen.Add(tc)
			} else {
				c = c.Op("|").Add(tc)
			}
		}
		return c
	case *types.TypeParam:
		return jen.Id(t.Obj().Name())
	}
	panic(fmt.Sprintf("futuresgen: unexpected type %T (%v)", t, t))
}

// rawQuotable reports whether s can be written as a raw string literal:
// valid UTF-8 with no back quote, carriage return or other control
// character but tab and newline.
func rawQuotable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '`' || r == '\uFEFF' || (unicode.IsControl(r) && r != '\t' && r != '\n') {
			return false
		}
	}
	return true
}

func namedCode(obj *types.TypeName, args *types.TypeList) jen.Code {
	var c *jen.Statement
	if obj.Pkg() == nil {
		c = jen.Id(obj.Name()) // error, any, comparable
	} else {
		c = jen.Qual(obj.Pkg().Path(), obj.Name())
	}
	if args != nil && args.Len() > 0 {
		ts := make([]jen.Code, args.Len())
		for i := range args.Len() {
			ts[i] = typeCode(args.At(i))
		}
		c = c.Types(ts...)
	}
	return c
}

// signatureCode renders a signature's parameters and results (without func).
func signatureCode(sig *types.Signature) jen.Code {
	params := make([]jen.Code, sig.Params().Len())
	for i := range params {
		p := sig.Params().At(i)
		if sig.Variadic() && i == len(params)-1 {
			params[i] = jen.Op("...").Add(typeCode(p.Type().(*types.Slice).Elem()))
		} else {
			params[i] = typeCode(p.Type())
		}
	}
	results := make([]jen.Code, sig.Results().Len())
	for i := range results {
		results[i] = typeCode(sig.Results().At(i).Type())
	}
	c := jen.Params(params...)
	switch len(results) {
	case 0:
		return c
	case 1:
		return c.Add(results[0])
	}
	return c.Params(results...)
}

// packagesOf adds to seen every package whose names t spells.
func packagesOf(t types.Type, seen map[string]*types.Package) {
	var walk func(t types.Type)
	visiting := map[types.Type]bool{}
	walk = func(t types.Type) {
		if visiting[t] {
			return
		}
		visiting[t] = true
		switch t := t.(type) {
		case *types.Basic:
			if t.Kind() == types.UnsafePointer {
				seen["unsafe"] = types.Unsafe
			}
		case *types.Alias:
			addNamed(t.Obj(), seen)
			for i := range t.TypeArgs().Len() {
				walk(t.TypeArgs().At(i))
			}
		case *types.Named:
			addNamed(t.Obj(), seen)
			for i := range t.TypeArgs().Len() {
				walk(t.TypeArgs().At(i))
			}
		case *types.Pointer:
			walk(t.Elem())
		case *types.Slice:
			walk(t.Elem())
		case *types.Array:
			walk(t.Elem())
		case *types.Map:
			walk(t.Key())
			walk(t.Elem())
		case *types.Chan:
			walk(t.Elem())
		case *types.Signature:
			for i := range t.Params().Len() {
				walk(t.Params().At(i).Type())
			}
			for i := range t.Results().Len() {
				walk(t.Results().At(i).Type())
			}
		case *types.Struct:
			for i := range t.NumFields() {
				walk(t.Field(i).Type())
			}
		case *types.Interface:
			for i := range t.NumEmbeddeds() {
				walk(t.EmbeddedType(i))
			}
			for i := range t.NumExplicitMethods() {
				walk(t.ExplicitMethod(i).Type())
			}
		case *types.Union:
			for i := range t.Len() {
				walk(t.Term(i).Type())
			}
		}
	}
	walk(t)
}

func addNamed(obj *types.TypeName, seen map[string]*types.Package) {
	if obj.Pkg() != nil {
		seen[obj.Pkg().Path()] = obj.Pkg()
	}
}
