package gen

import (
	"fmt"
	"go/types"
	"reflect"
	"strings"
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

// isContext reports whether t is context.Context.
func isContext(t types.Type) bool {
	return isNamed(t, "context", "Context")
}

// isError reports whether t is the predeclared error type.
func isError(t types.Type) bool {
	return types.Identical(t, types.Universe.Lookup("error").Type())
}

func isNamed(t types.Type, pkgPath, name string) bool {
	t = types.Unalias(t)
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == pkgPath && n.Obj().Name() == name
}

// jsonProblem explains why values of t, a parameter called name, would not
// survive a JSON round trip (encoding/json), or returns "" when they would.
// Types that marshal themselves are trusted. q qualifies type names.
func jsonProblem(t types.Type, name string, q types.Qualifier) string {
	return jsonCheck(t, map[types.Type]bool{}, name, q, true)
}

var (
	jsonMarshaler = types.NewInterfaceType([]*types.Func{
		types.NewFunc(0, nil, "MarshalJSON", types.NewSignatureType(nil, nil, nil, nil,
			types.NewTuple(types.NewVar(0, nil, "", types.NewSlice(types.Typ[types.Byte])), types.NewVar(0, nil, "", types.Universe.Lookup("error").Type())), false)),
	}, nil).Complete()
	textMarshaler = types.NewInterfaceType([]*types.Func{
		types.NewFunc(0, nil, "MarshalText", types.NewSignatureType(nil, nil, nil, nil,
			types.NewTuple(types.NewVar(0, nil, "", types.NewSlice(types.Typ[types.Byte])), types.NewVar(0, nil, "", types.Universe.Lookup("error").Type())), false)),
	}, nil).Complete()
)

func marshalsItself(t types.Type) bool {
	if _, isIface := t.Underlying().(*types.Interface); isIface {
		return false
	}
	for _, m := range []*types.Interface{jsonMarshaler, textMarshaler} {
		if types.Implements(t, m) || types.Implements(types.NewPointer(t), m) {
			return true
		}
	}
	return false
}

// jsonCheck walks t for what encoding/json refuses (channels, functions,
// complex numbers, unsafe pointers, bad map keys) and, when strict, for what
// would not come back the same (interfaces, unexported fields).
func jsonCheck(t types.Type, seen map[types.Type]bool, path string, q types.Qualifier, strict bool) string {
	if seen[t] {
		return ""
	}
	seen[t] = true
	if marshalsItself(t) {
		return ""
	}
	str := func(t types.Type) string { return types.TypeString(t, q) }
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Kind() == types.UnsafePointer:
			return fmt.Sprintf("%s is an unsafe.Pointer, which JSON cannot encode", path)
		case u.Info()&types.IsComplex != 0:
			return fmt.Sprintf("%s is a %s, which JSON cannot encode", path, str(t))
		}
	case *types.Chan:
		return fmt.Sprintf("%s is a channel (%s), which JSON cannot encode", path, str(t))
	case *types.Signature:
		return fmt.Sprintf("%s is a function (%s), which JSON cannot encode", path, str(t))
	case *types.Interface:
		if strict {
			return fmt.Sprintf("%s is an interface (%s), which gives JSON no concrete type to decode into", path, str(t))
		}
	case *types.Pointer:
		return jsonCheck(u.Elem(), seen, path, q, strict)
	case *types.Slice:
		return jsonCheck(u.Elem(), seen, path+"[i]", q, strict)
	case *types.Array:
		return jsonCheck(u.Elem(), seen, path+"[i]", q, strict)
	case *types.Map:
		k := u.Key()
		kb, isBasic := k.Underlying().(*types.Basic)
		okKey := isBasic && (kb.Info()&types.IsString != 0 || kb.Info()&types.IsInteger != 0) || marshalsItself(k)
		if !okKey {
			return fmt.Sprintf("%s is a map with %s keys; JSON keys must be strings, integers or encoding.TextMarshalers", path, str(k))
		}
		return jsonCheck(u.Elem(), seen, path+"[k]", q, strict)
	case *types.Struct:
		for i := range u.NumFields() {
			f := u.Field(i)
			tag, _, _ := strings.Cut(reflect.StructTag(u.Tag(i)).Get("json"), ",")
			if tag == "-" {
				continue
			}
			if !f.Exported() && strict {
				if f.Embedded() {
					if _, isStruct := derefStruct(f.Type()); isStruct {
						// encoding/json promotes the fields of embedded structs.
						if p := jsonCheck(f.Type(), seen, path, q, strict); p != "" {
							return p
						}
						continue
					}
				}
				return fmt.Sprintf("%s.%s is an unexported field of %s and would silently vanish in JSON; export it or tag it `json:\"-\"`",
					path, f.Name(), str(t))
			}
			if p := jsonCheck(f.Type(), seen, path+"."+f.Name(), q, strict); p != "" {
				return p
			}
		}
	}
	return ""
}

func derefStruct(t types.Type) (*types.Struct, bool) {
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	s, ok := t.Underlying().(*types.Struct)
	return s, ok
}
