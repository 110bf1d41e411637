package view

import (
	"fmt"
	"io"
	"net/http"
)

// The decoder limits of a view's JSON body, unless WithJSONLimits or the
// view's Spec says otherwise.
//
// Memory, not the byte count, is what a JSON body costs once decoded: a
// 1 MiB body of small objects decoded into an `any` field holds some
// 40 MiB (about 170 bytes per value), so that a few dozen such requests at
// once took gigabytes. DefaultMaxValues bounds that to a few MiB per
// request, about 200 bytes of decoded value per value at worst, which
// together with the server's body budget (server.Config.MaxBodyBytesInFlight)
// bounds the memory of bodies in flight. Ten thousand values is a page of
// a thousand records of ten fields; raise it for bulk endpoints, with the
// budget in mind.
//
// DefaultMaxDepth is far deeper than any document people write (System.Text.Json
// stops at 64, serde_json at 128) and far below encoding/json's own 10,000,
// which recurses once per level.
const (
	DefaultMaxDepth  = 128
	DefaultMaxValues = 10_000
)

// jsonLimits are the decoder limits of one view; a limit ≤ 0 is none.
type jsonLimits struct {
	depth, values int
}

// resolve fills the limits that spec and config leave at 0: spec wins over
// config, config over the defaults, and a negative value means no limit.
func resolveLimits(spec, config jsonLimits) jsonLimits {
	pick := func(s, c, def int) int {
		switch {
		case s != 0:
			return s
		case c != 0:
			return c
		}
		return def
	}
	return jsonLimits{
		depth:  pick(spec.depth, config.depth, DefaultMaxDepth),
		values: pick(spec.values, config.values, DefaultMaxValues),
	}
}

// WithJSONLimits sets the decoder limits of the JSON bodies of the views
// registered with it: maxDepth, the deepest nesting of arrays and objects
// (the top-level value is depth 1), and maxValues, the number of values
// (every array element and object member, nested ones too, and the
// top-level value). 0 keeps the default (DefaultMaxDepth,
// DefaultMaxValues); a negative value means no limit. A view's
// Spec.MaxDepth and Spec.MaxValues win over these. A body nested too deep
// is a 400; one with too many values is a 413. Either is refused as soon
// as the decoder's reader reaches the value over the limit, before
// anything is decoded.
func WithJSONLimits(maxDepth, maxValues int) Option {
	return optionFunc(func(c *Config) { c.limits = jsonLimits{depth: maxDepth, values: maxValues} })
}

// limitError is a body over a decoder limit.
type limitError struct {
	status int // 400 for depth, 413 for values
	detail string
}

func (e *limitError) Error() string { return e.detail }

// limitedJSON passes a JSON body through to encoding/json, counting
// nesting and values as the bytes go by, and fails the read that would
// pass the byte over a limit. encoding/json reads a whole value before it
// decodes any of it, so that nothing of a body over a limit is decoded.
//
// It does not check the syntax: it only needs to tell strings, where
// brackets mean nothing, from the rest; the decoder reports malformed JSON.
type limitedJSON struct {
	r         io.Reader
	limits    jsonLimits
	values    int
	stack     []byte   // '[' or '{' per open container
	stackBuf  [16]byte // the stack up to this depth, without an allocation
	expect    bool     // the next significant byte starts a value
	inString  bool
	escaped   bool // the previous byte in a string was a backslash
	violation *limitError
}

func newLimitedJSON(r io.Reader, limits jsonLimits) *limitedJSON {
	l := new(limitedJSON)
	l.init(r, limits)
	return l
}

func (l *limitedJSON) init(r io.Reader, limits jsonLimits) {
	*l = limitedJSON{r: r, limits: limits, expect: true}
	l.stack = l.stackBuf[:0]
}

func (l *limitedJSON) Read(p []byte) (int, error) {
	if l.violation != nil {
		return 0, l.violation
	}
	n, err := l.r.Read(p)
	if !l.scan(p[:n]) {
		// None of this read: the decoder must not complete a value with
		// the bytes before the one over the limit.
		return 0, l.violation
	}
	return n, err
}

// scan follows p and reports false, with l.violation set, at the first
// byte over a limit.
func (l *limitedJSON) scan(p []byte) bool {
	for i := 0; i < len(p); i++ {
		if l.inString {
			if l.escaped {
				l.escaped = false // this byte is escaped, whatever it is
				continue
			}
			// Skip to the next quote or backslash.
			for i < len(p) && p[i] != '"' && p[i] != '\\' {
				i++
			}
			if i == len(p) {
				return true
			}
			if p[i] == '\\' {
				l.escaped = true
			} else {
				l.inString = false
			}
			continue
		}
		switch c := p[i]; c {
		case ' ', '\t', '\n', '\r':
		case '"':
			if l.expect && !l.count() {
				return false
			}
			l.expect = false
			l.inString = true
		case '[', '{':
			if l.expect && !l.count() {
				return false
			}
			if l.limits.depth > 0 && len(l.stack) >= l.limits.depth {
				l.violation = &limitError{status: http.StatusBadRequest, detail: fmt.Sprintf("the JSON nests deeper than %d levels", l.limits.depth)}
				return false
			}
			l.stack = append(l.stack, c)
			l.expect = c == '['
		case ']', '}':
			if len(l.stack) > 0 {
				l.stack = l.stack[:len(l.stack)-1]
			}
			l.expect = false
		case ',':
			l.expect = len(l.stack) > 0 && l.stack[len(l.stack)-1] == '['
		case ':':
			l.expect = true
		default:
			// The first byte of a number or literal (or of garbage, which
			// the decoder will report).
			if l.expect && !l.count() {
				return false
			}
			l.expect = false
		}
	}
	return true
}

// count counts one value.
func (l *limitedJSON) count() bool {
	l.values++
	if l.limits.values > 0 && l.values > l.limits.values {
		l.violation = &limitError{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("the JSON body has more than %d values", l.limits.values)}
		return false
	}
	return true
}
