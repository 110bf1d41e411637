package gen

import (
	"cmp"
	"go/types"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/tools/go/types/typeutil"
)

// jsonField is a field of a struct as encoding/json sees it: its JSON name
// and options, after the promotion of embedded structs' fields and Go's
// rules for hidden and conflicting names, as encoding/json's typeFields
// applies them.
type jsonField struct {
	name      string
	tagged    bool  // the name comes from a json tag
	index     []int // the path of field indexes from the outer struct
	v         *types.Var
	typ       types.Type // the field's type
	tag       string
	omitEmpty bool
	omitZero  bool
	quoted    bool // ,string on a bool, number or string
	// viaPointer: the field is promoted through an embedded pointer, which
	// encoding/json skips when it is nil.
	viaPointer bool
}

// mayBeAbsent reports whether encoding/json may leave the field out of an
// object it writes.
func (f *jsonField) mayBeAbsent() bool {
	return f.viaPointer || f.omitZero || f.omitEmpty && canBeEmpty(f.typ)
}

// canBeEmpty reports whether a value of t can be empty as omitempty means
// it: false, 0, "", a nil pointer or interface, or an empty array, slice,
// map or string. A struct never is.
func canBeEmpty(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Basic, *types.Pointer, *types.Interface, *types.Slice, *types.Map:
		return true
	case *types.Array:
		return u.Len() == 0
	}
	return false
}

// canBeNil reports whether a value of t can be written as JSON null: a nil
// pointer, slice, map or interface.
func canBeNil(t types.Type) bool {
	switch t.Underlying().(type) {
	case *types.Pointer, *types.Interface, *types.Slice, *types.Map:
		return true
	}
	return false
}

// jsonFields returns the fields of st that encoding/json encodes and
// decodes, in the order it writes them.
func jsonFields(st *types.Struct) []jsonField {
	type level struct {
		st         *types.Struct
		typ        types.Type
		index      []int
		viaPointer bool
	}
	var fields []jsonField
	next := []level{{st: st, typ: st}}
	var count, nextCount typeutil.Map
	var visited typeutil.Map
	for len(next) > 0 {
		current := next
		next = nil
		count, nextCount = nextCount, typeutil.Map{}
		for _, f := range current {
			if visited.At(f.typ) != nil {
				continue
			}
			visited.Set(f.typ, true)
			for i := range f.st.NumFields() {
				sf := f.st.Field(i)
				tag := f.st.Tag(i)
				if sf.Embedded() {
					t := sf.Type()
					if p, ok := t.Underlying().(*types.Pointer); ok {
						t = p.Elem()
					}
					if _, isStruct := t.Underlying().(*types.Struct); !sf.Exported() && !isStruct {
						continue
					}
				} else if !sf.Exported() {
					continue
				}
				jsonTag := reflect.StructTag(tag).Get("json")
				if jsonTag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(jsonTag, ",")
				if !validJSONName(name) {
					name = ""
				}
				index := append(slices.Clone(f.index), i)
				ft := sf.Type()
				pointer := false
				if p, ok := types.Unalias(ft).(*types.Pointer); ok {
					ft, pointer = p.Elem(), true
				}
				st, isStruct := ft.Underlying().(*types.Struct)
				if name != "" || !sf.Embedded() || !isStruct {
					quoted := false
					if hasOption(opts, "string") {
						if b, ok := ft.Underlying().(*types.Basic); ok && b.Info()&(types.IsBoolean|types.IsNumeric|types.IsString) != 0 && b.Info()&types.IsComplex == 0 {
							quoted = true
						}
					}
					tagged := name != ""
					if name == "" {
						name = sf.Name()
					}
					jf := jsonField{
						name: name, tagged: tagged, index: index, v: sf, typ: sf.Type(), tag: tag,
						omitEmpty: hasOption(opts, "omitempty"), omitZero: hasOption(opts, "omitzero"),
						quoted: quoted, viaPointer: f.viaPointer,
					}
					fields = append(fields, jf)
					if n, _ := count.At(f.typ).(int); n > 1 {
						// Two copies at the same depth annihilate each other
						// below, as in encoding/json.
						fields = append(fields, jf)
					}
					continue
				}
				n, _ := nextCount.At(ft).(int)
				nextCount.Set(ft, n+1)
				if n == 0 {
					next = append(next, level{st: st, typ: ft, index: index, viaPointer: f.viaPointer || pointer})
				}
			}
		}
	}
	slices.SortStableFunc(fields, func(a, b jsonField) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	// Keep the dominant field of each name: the shallowest, tagged over
	// untagged; two equally dominant ones hide each other.
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].name == fields[i].name {
			j++
		}
		group := fields[i:j]
		if len(group) == 1 || len(group[0].index) != len(group[1].index) || group[0].tagged != group[1].tagged {
			out = append(out, group[0])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b jsonField) int { return slices.Compare(a.index, b.index) })
	return out
}

func hasOption(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// validJSONName reports whether encoding/json accepts name from a tag.
func validJSONName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
