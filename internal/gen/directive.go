package gen

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// directivePrefix starts every directive. Like //go: lines, a directive has
// no space after the slashes; gofmt keeps such lines apart from the prose of
// a doc comment.
const directivePrefix = "//futures:"

// directive is one parsed //futures: line.
type directive struct {
	kind    string // "task" or "view"
	kindOff int    // byte offset of kind in the line
	args    []word
	options []option
}

// word is a word of a directive and its byte offset in the line.
type word struct {
	text string
	off  int
}

// option is key=value, or a bare key (a flag such as durable).
type option struct {
	key      string
	value    string
	hasValue bool
	off      int // of the key
	valueOff int
}

// syntaxError is a problem at a byte offset of a directive line.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.msg) }

// parseDirective splits a directive line (starting with directivePrefix)
// into its kind, positional arguments and options. It checks the syntax
// only; what the options mean is checked by the kind's schema.
func parseDirective(line string) (*directive, *syntaxError) {
	if !strings.HasPrefix(line, directivePrefix) {
		return nil, &syntaxError{0, "not a //futures: directive"}
	}
	if !utf8.ValidString(line) {
		return nil, &syntaxError{0, "directive is not valid UTF-8"}
	}
	i := len(directivePrefix)
	start := i
	for i < len(line) && isWordByte(line[i]) {
		i++
	}
	d := &directive{kind: line[start:i], kindOff: start}
	if d.kind == "" {
		return nil, &syntaxError{start, "missing directive name after //futures: (//futures:task or //futures:view)"}
	}
	if i < len(line) && !isSpace(line[i]) {
		return nil, &syntaxError{i, fmt.Sprintf("unexpected %q after //futures:%s", line[i:i+1], d.kind)}
	}
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return d, nil
		}
		tokStart := i
		// A word runs to the next space, an '=' or a quote.
		for i < len(line) && !isSpace(line[i]) && line[i] != '=' && line[i] != '"' && line[i] != '`' {
			i++
		}
		text := line[tokStart:i]
		if i < len(line) && (line[i] == '"' || line[i] == '`') {
			if text != "" {
				return nil, &syntaxError{i, fmt.Sprintf("unexpected quote in %q; quote the whole value", text+line[i:i+1])}
			}
			s, n, err := unquoteAt(line, i)
			if err != nil {
				return nil, err
			}
			i += n
			if i < len(line) && !isSpace(line[i]) {
				return nil, &syntaxError{i, "expected a space after the quoted string"}
			}
			d.args = append(d.args, word{s, tokStart})
			continue
		}
		if i >= len(line) || line[i] != '=' {
			if len(d.options) > 0 {
				// A bare word after an option is a flag, such as durable.
				d.options = append(d.options, option{key: text, off: tokStart})
			} else {
				d.args = append(d.args, word{text, tokStart})
			}
			continue
		}
		// key=value
		if text == "" {
			return nil, &syntaxError{tokStart, "missing option name before '='"}
		}
		i++ // '='
		valueOff := i
		var value string
		switch {
		case i < len(line) && (line[i] == '"' || line[i] == '`'):
			s, n, err := unquoteAt(line, i)
			if err != nil {
				return nil, err
			}
			value = s
			i += n
			if i < len(line) && !isSpace(line[i]) {
				return nil, &syntaxError{i, "expected a space after the quoted value"}
			}
		default:
			for i < len(line) && !isSpace(line[i]) {
				if line[i] == '"' || line[i] == '`' {
					return nil, &syntaxError{i, fmt.Sprintf("unexpected quote in the value of %s; quote the whole value", text)}
				}
				i++
			}
			value = line[valueOff:i]
			if value == "" {
				return nil, &syntaxError{valueOff, fmt.Sprintf("missing value after %s=", text)}
			}
		}
		d.options = append(d.options, option{key: text, value: value, hasValue: true, off: tokStart, valueOff: valueOff})
	}
}

// unquoteAt reads the Go string literal starting at line[i] and returns its
// value and its length in bytes.
func unquoteAt(line string, i int) (string, int, *syntaxError) {
	q := line[i]
	j := i + 1
	for j < len(line) && line[j] != q {
		if q == '"' && line[j] == '\\' {
			j++
		}
		j++
	}
	if j >= len(line) {
		return "", 0, &syntaxError{i, "unterminated quoted string"}
	}
	s, err := strconv.Unquote(line[i : j+1])
	if err != nil {
		return "", 0, &syntaxError{i, fmt.Sprintf("bad quoted string %s: %v", line[i:j+1], err)}
	}
	return s, j + 1 - i, nil
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' }

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
}

// optKind is the type of an option's value.
type optKind int

const (
	optInt      optKind = iota // an integer ≥ 0
	optDuration                // a positive Go duration: 30s, 1h30m
	optSize                    // a positive byte size: 1024, 64KiB, 1MiB, 2MB
	optBool                    // a bare flag, or =true / =false
	optName                    // a non-empty name: letters, digits and . _ - /
	optStatus                  // an HTTP status code, 100 to 599
	optText                    // any non-empty text; quoted when it has spaces
	optStatuses                // comma-separated error statuses, 400 to 599
)

func (k optKind) String() string {
	switch k {
	case optInt:
		return "integer ≥ 0"
	case optDuration:
		return "duration such as 30s or 1m30s"
	case optSize:
		return "size such as 1MiB or 512KB"
	case optBool:
		return "flag"
	case optName:
		return "name"
	case optStatus:
		return "HTTP status code"
	case optText:
		return "text, quoted if it has spaces"
	case optStatuses:
		return "list of error statuses such as 404,409"
	}
	return "value"
}

// optSpec declares one option of a directive kind.
type optSpec struct {
	key  string
	kind optKind
}

// optValue is a checked option value.
type optValue struct {
	set  bool
	n    int64 // optInt, optSize, optStatus
	dur  time.Duration
	str  string
	flag bool
}

// optionSet maps option keys to checked values.
type optionSet map[string]optValue

// checkOptions validates d's options against specs, returning the values and
// every problem found, each at the byte offset of the offending word.
func checkOptions(d *directive, specs []optSpec) (optionSet, []*syntaxError) {
	vals := optionSet{}
	var problems []*syntaxError
	for _, o := range d.options {
		i := slices.IndexFunc(specs, func(s optSpec) bool { return s.key == o.key })
		if i < 0 {
			problems = append(problems, &syntaxError{o.off, unknownOption(d.kind, o.key, specs)})
			continue
		}
		if vals[o.key].set {
			problems = append(problems, &syntaxError{o.off, fmt.Sprintf("duplicate option %s", o.key)})
			continue
		}
		v, msg := parseValue(specs[i], o)
		if msg != "" {
			off := o.valueOff
			if !o.hasValue {
				off = o.off
			}
			problems = append(problems, &syntaxError{off, msg})
			continue
		}
		vals[o.key] = v
	}
	return vals, problems
}

func unknownOption(kind, key string, specs []optSpec) string {
	keys := make([]string, len(specs))
	for i, s := range specs {
		keys[i] = s.key
	}
	slices.Sort(keys)
	msg := fmt.Sprintf("unknown option %q for //futures:%s", key, kind)
	if near := nearest(key, keys); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return msg + "; options are " + strings.Join(keys, ", ")
}

func parseValue(spec optSpec, o option) (optValue, string) {
	if spec.kind == optBool {
		if !o.hasValue {
			return optValue{set: true, flag: true}, ""
		}
		b, err := strconv.ParseBool(o.value)
		if err != nil {
			return optValue{}, fmt.Sprintf("%s wants true or false, not %q", o.key, o.value)
		}
		return optValue{set: true, flag: b}, ""
	}
	if !o.hasValue {
		return optValue{}, fmt.Sprintf("option %s needs a value (%s=…, a %s)", o.key, o.key, spec.kind)
	}
	v := optValue{set: true, str: o.value}
	switch spec.kind {
	case optInt:
		n, err := strconv.ParseInt(o.value, 10, 32)
		if err != nil || n < 0 {
			return optValue{}, fmt.Sprintf("%s wants an integer ≥ 0, not %q", o.key, o.value)
		}
		v.n = n
	case optDuration:
		d, err := time.ParseDuration(o.value)
		if err != nil || d <= 0 {
			return optValue{}, fmt.Sprintf("%s wants a positive duration such as 30s or 1m30s, not %q", o.key, o.value)
		}
		v.dur = d
	case optSize:
		n, ok := parseSize(o.value)
		if !ok {
			return optValue{}, fmt.Sprintf("%s wants a positive size such as 1MiB, 512KB or 1048576, not %q", o.key, o.value)
		}
		v.n = n
	case optName:
		if o.value == "" || strings.IndexFunc(o.value, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-/:", r)
		}) >= 0 {
			return optValue{}, fmt.Sprintf("%s wants a name of letters, digits and . _ - / :, not %q", o.key, o.value)
		}
	case optStatus:
		n, err := strconv.Atoi(o.value)
		if err != nil || n < 100 || n > 599 {
			return optValue{}, fmt.Sprintf("%s wants an HTTP status code from 100 to 599, not %q", o.key, o.value)
		}
		v.n = int64(n)
	case optText:
		if strings.TrimSpace(o.value) == "" {
			return optValue{}, fmt.Sprintf("%s wants a non-empty text, not %q", o.key, o.value)
		}
	case optStatuses:
		var seen []int
		for s := range strings.SplitSeq(o.value, ",") {
			n, err := strconv.Atoi(s)
			switch {
			case err != nil || n < 100 || n > 599:
				return optValue{}, fmt.Sprintf("%s wants comma-separated HTTP statuses such as 404,409, not %q", o.key, s)
			case n < 400:
				return optValue{}, fmt.Sprintf("%s lists error statuses, 400 to 599; %d is not one (status= sets the success status)", o.key, n)
			case slices.Contains(seen, n):
				return optValue{}, fmt.Sprintf("%s lists %d twice", o.key, n)
			}
			seen = append(seen, n)
		}
	}
	return v, ""
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

// statusList reads the value of an optStatuses option that parseValue
// has accepted.
func statusList(s string) []int {
	if s == "" {
		return nil
	}
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, _ := strconv.Atoi(part)
		out = append(out, n)
	}
	return out
}

// parseSize reads a positive byte count with an optional unit.
func parseSize(s string) (int64, bool) {
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}

// nearest returns the word of words closest to w, if it is close enough to
// be a likely typo: two edits, or three for words of five letters or more.
func nearest(w string, words []string) string {
	w = strings.ToLower(w)
	limit := 2
	if len(w) >= 5 {
		limit = 3
	}
	best, bestDist, bestPrefix := "", limit+1, 0
	for _, c := range words {
		d, p := editDistance(w, c), commonPrefix(w, c)
		// On a tie, the word that starts the same wins: typos are rarely
		// at the beginning.
		if d < bestDist || (d == bestDist && p > bestPrefix) {
			best, bestDist, bestPrefix = c, d, p
		}
	}
	return best
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
