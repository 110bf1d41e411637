package view

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestLimitedJSONCounts checks the scanner's value count and deepest
// nesting against encoding/json's view of random documents, split into
// reads at random places.
func TestLimitedJSONCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		var b strings.Builder
		randomJSON(rng, &b, 0)
		doc := b.String()
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("generated invalid JSON %q: %v", doc, err)
		}
		wantValues, wantDepth := countJSON(v, 1)

		l := newLimitedJSON(nil, jsonLimits{})
		for rest := []byte(doc); len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			if !l.scan(rest[:n]) {
				t.Fatalf("doc %d: a limit with no limits", i)
			}
			rest = rest[n:]
		}
		if l.values != wantValues {
			t.Fatalf("doc %d %.200q: counted %d values, want %d", i, doc, l.values, wantValues)
		}
		if len(l.stack) != 0 || l.inString {
			t.Fatalf("doc %d %.200q: ends inside a container or string", i, doc)
		}
		// At the exact limits the document passes; one below, it does not.
		for _, tt := range []struct {
			limits jsonLimits
			ok     bool
		}{
			{jsonLimits{depth: wantDepth, values: wantValues}, true},
			{jsonLimits{depth: wantDepth - 1, values: wantValues}, wantDepth == 0},
			{jsonLimits{depth: wantDepth, values: wantValues - 1}, wantValues == 0},
		} {
			if tt.limits.depth == 0 || tt.limits.values == 0 {
				continue // 0 is no limit
			}
			if got := newLimitedJSON(nil, tt.limits).scan([]byte(doc)); got != tt.ok {
				t.Fatalf("doc %d %.200q: limits %+v pass = %v, want %v (values %d, depth %d)", i, doc, tt.limits, got, tt.ok, wantValues, wantDepth)
			}
		}
	}
}

// countJSON returns the number of values in v, itself included, and the
// depth of its deepest container (0 for a scalar) at depth d.
func countJSON(v any, d int) (values, depth int) {
	values = 1
	switch v := v.(type) {
	case []any:
		depth = d
		for _, e := range v {
			n, dd := countJSON(e, d+1)
			values += n
			depth = max(depth, dd)
		}
	case map[string]any:
		depth = d
		for _, e := range v {
			n, dd := countJSON(e, d+1)
			values += n
			depth = max(depth, dd)
		}
	}
	return values, depth
}

// randomJSON writes a random JSON value with white space, escapes and
// brackets inside strings.
func randomJSON(rng *rand.Rand, b *strings.Builder, depth int) {
	ws := func() {
		if rng.IntN(4) == 0 {
			b.WriteString([]string{" ", "\n", "\t", "\r\n  "}[rng.IntN(4)])
		}
	}
	ws()
	kind := rng.IntN(8)
	if depth > 6 {
		kind = 7
	}
	switch kind {
	case 0, 1:
		b.WriteByte('[')
		for i := range rng.IntN(5) {
			if i > 0 {
				b.WriteByte(',')
			}
			randomJSON(rng, b, depth+1)
		}
		ws()
		b.WriteByte(']')
	case 2, 3:
		b.WriteByte('{')
		for i := range rng.IntN(5) {
			if i > 0 {
				b.WriteByte(',')
			}
			ws()
			b.WriteString(randomString(rng, i))
			ws()
			b.WriteByte(':')
			randomJSON(rng, b, depth+1)
		}
		ws()
		b.WriteByte('}')
	case 4:
		b.WriteString(randomString(rng, 0))
	case 5:
		b.WriteString([]string{"true", "false", "null"}[rng.IntN(3)])
	default:
		b.WriteString([]string{"0", "-1", "12.5e3", "1E-2", "123456789"}[rng.IntN(5)])
	}
	ws()
}

func randomString(rng *rand.Rand, key int) string {
	parts := []string{`a`, `[`, `]`, `{`, `}`, `,`, `:`, `\"`, `\\`, `\n`, `\u005b`, `é`, ` `}
	var b strings.Builder
	b.WriteByte('"')
	b.WriteByte(byte('a' + key)) // distinct keys in one object
	for range rng.IntN(6) {
		b.WriteString(parts[rng.IntN(len(parts))])
	}
	b.WriteByte('"')
	return b.String()
}
