package gen

import (
	"strings"
	"testing"
)

// FuzzDirectiveOffsets extends FuzzParseDirective (directive_test.go):
// beyond staying inside the line, every offset the parser returns must
// point at the text it stands for, since errors are reported at
// line.Slash + offset and editors jump there. The kind is at kindOff, each
// argument and option key at its offset, each value right after its '=';
// quoted words and values start with their quote and unquote to the text;
// and every problem that checkOptions finds, against the task and the view
// schemas, is at the start of a key or a value.
//
//	go test -run '^$' -fuzz '^FuzzDirectiveOffsets$' -fuzztime 2m ./internal/gen
func FuzzDirectiveOffsets(f *testing.F) {
	for _, seed := range []string{
		"//futures:task",
		"//futures:task retries=3 timeout=30s durable",
		"//futures:task\tdurable queue=mail\t",
		`//futures:task name="a b" queue=` + "`x y`" + ` durable=false`,
		"//futures:view POST /signup/{id...} maxbody=1MiB status=201 bogus",
		`//futures:view "GET" "/a b" name="\u00e9"`,
		"//futures:view GET /x timeout=1s timeout=2s retries=3",
		"//futures:task retries=x timeout=y bogus=1 durable=maybe name=",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if !strings.HasPrefix(line, directivePrefix) {
			line = directivePrefix + line
		}
		d, err := parseDirective(line)
		if err != nil {
			return // FuzzParseDirective checks errors
		}
		if !strings.HasPrefix(line[d.kindOff:], d.kind) {
			t.Fatalf("kind %q is not at offset %d of %q", d.kind, d.kindOff, line)
		}
		at := func(off int, text, what string) {
			t.Helper()
			if off < 0 || off >= len(line) {
				t.Fatalf("%s %q at offset %d, outside %q", what, text, off, line)
			}
			if q := line[off]; q == '"' || q == '`' {
				s, _, serr := unquoteAt(line, off)
				if serr != nil || s != text {
					t.Fatalf("%s %q at offset %d: the quoted string there is %q (%v), in %q", what, text, off, s, serr, line)
				}
				return
			}
			if !strings.HasPrefix(line[off:], text) {
				t.Fatalf("%s %q is not at offset %d of %q", what, text, off, line)
			}
		}
		starts := map[int]bool{}
		for _, a := range d.args {
			at(a.off, a.text, "argument")
			starts[a.off] = true
		}
		for _, o := range d.options {
			at(o.off, o.key, "option key")
			starts[o.off] = true
			if o.hasValue {
				if o.valueOff < 1 || line[o.valueOff-1] != '=' {
					t.Fatalf("value of %s at offset %d does not follow an '=' in %q", o.key, o.valueOff, line)
				}
				at(o.valueOff, o.value, "value of "+o.key)
				starts[o.valueOff] = true
			}
		}
		for _, specs := range [][]optSpec{taskOptions, viewOptions} {
			// checkOptions works on options only; the checkers move flags
			// out of args first, as checkDirectiveOptions does.
			dd := *d
			_, problems := checkOptions(&dd, specs)
			for _, p := range problems {
				if !starts[p.off] {
					t.Fatalf("problem %q at offset %d, which starts no key or value of %q", p.msg, p.off, line)
				}
			}
		}
	})
}
