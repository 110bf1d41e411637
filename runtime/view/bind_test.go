package view_test

import (
	"errors"
	"math"
	"net/http"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gofutures/futures/runtime/view"
)

type (
	myString string
	myInt    int
	myUint   uint16
	myFloat  float32
	myBool   bool
)

// secretText is a TextUnmarshaler whose error text must not reach clients.
type secretText struct{ v string }

func (s *secretText) UnmarshalText(b []byte) error {
	if !strings.HasPrefix(string(b), "ok") {
		return errors.New("SECRET: lookup in table users_internal failed")
	}
	s.v = string(b)
	return nil
}

// binder runs a binder on a destination that starts as start, and returns
// the destination's value afterwards with the problem.
type binder func(raw string) (any, string)

func bindFrom[T any](start T, bind func(string, *T) string) binder {
	return func(raw string) (any, string) {
		v := start
		problem := bind(raw, &v)
		return v, problem
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// goInternals are bits of Go's error texts that no problem detail may
// carry.
var goInternals = []string{
	"strconv", "ParseInt", "ParseUint", "ParseFloat", "ParseBool", "invalid syntax",
	"value out of range", "time: ", "parsing time", "cannot parse", "netip.Parse",
	"ParseAddr", "unable to parse", "SECRET", "json:", "Go value", "Go struct",
}

// checkDetail asserts what every problem detail promises: valid UTF-8, no
// Go-internal text, and the client's value, if any, quoted and at most 64
// bytes of raw (made valid UTF-8) before an ellipsis.
func checkDetail(t *testing.T, detail, raw string) {
	t.Helper()
	if !utf8.ValidString(detail) {
		t.Errorf("detail is not valid UTF-8: %q", detail)
	}
	for _, bad := range goInternals {
		if strings.Contains(detail, bad) {
			t.Errorf("detail %q contains Go-internal text %q", detail, bad)
		}
	}
	if raw == "" {
		return
	}
	i := strings.IndexByte(detail, '"')
	if i < 0 {
		t.Errorf("detail %q does not quote the client's value", detail)
		return
	}
	q, err := strconv.QuotedPrefix(detail[i:])
	if err != nil {
		t.Errorf("detail %q: quoted value does not end: %v", detail, err)
		return
	}
	shown, _ := strconv.Unquote(q)
	valid := strings.ToValidUTF8(raw, "\uFFFD")
	if cut, ok := strings.CutSuffix(shown, "…"); ok && len(valid) > 64 {
		shown = cut
		if len(shown) > 64 || len(shown) < 64-utf8.UTFMax+1 {
			t.Errorf("detail %q shows %d bytes of a %d-byte value, want the first 61 to 64", detail, len(shown), len(valid))
		}
		if !strings.HasPrefix(valid, shown) {
			t.Errorf("detail %q shows %q, not a prefix of the value %q", detail, shown, valid)
		}
	} else if shown != valid {
		t.Errorf("detail %q shows %q, want the whole value %q", detail, shown, valid)
	}
}

func TestBinders(t *testing.T) {
	t0 := mustTime("2024-05-01T10:20:30Z")
	tNano := mustTime("2024-05-01T10:20:30.123456789+02:00")
	sentinelTime := mustTime("1999-12-31T23:59:59Z")

	tests := []struct {
		name    string
		bind    binder
		raw     string
		want    any    // the destination afterwards
		problem string // "" for none
	}{
		// String
		{"string", bindFrom("old", view.String[string]), "héllo wörld", "héllo wörld", ""},
		{"string named", bindFrom(myString("old"), view.String[myString]), "x", myString("x"), ""},
		{"string empty", bindFrom("old", view.String[string]), "", "old", ""},

		// Int, every size
		{"int", bindFrom(7, view.Int[int]), "-9223372036854775808", math.MinInt, ""},
		{"int overflow", bindFrom(7, view.Int[int]), "9223372036854775808", 7, `"9223372036854775808" is out of range`},
		{"int plus sign", bindFrom(7, view.Int[int]), "+42", 42, ""},
		{"int not a number", bindFrom(7, view.Int[int]), "12abc", 7, `want an integer, got "12abc"`},
		{"int fraction", bindFrom(7, view.Int[int]), "1.5", 7, `want an integer, got "1.5"`},
		{"int space", bindFrom(7, view.Int[int]), " 1", 7, `want an integer, got " 1"`},
		{"int underscore", bindFrom(7, view.Int[int]), "1_000", 7, `want an integer, got "1_000"`},
		{"int hex", bindFrom(7, view.Int[int]), "0x10", 7, `want an integer, got "0x10"`},
		{"int empty", bindFrom(7, view.Int[int]), "", 7, ""},
		{"int8 max", bindFrom(int8(7), view.Int[int8]), "127", int8(127), ""},
		{"int8 min", bindFrom(int8(7), view.Int[int8]), "-128", int8(-128), ""},
		{"int8 overflow", bindFrom(int8(7), view.Int[int8]), "128", int8(7), `"128" is out of range`},
		{"int8 underflow", bindFrom(int8(7), view.Int[int8]), "-129", int8(7), `"-129" is out of range`},
		{"int8 empty", bindFrom(int8(7), view.Int[int8]), "", int8(7), ""},
		{"int16 max", bindFrom(int16(7), view.Int[int16]), "32767", int16(32767), ""},
		{"int16 overflow", bindFrom(int16(7), view.Int[int16]), "32768", int16(7), `"32768" is out of range`},
		{"int32 max", bindFrom(int32(7), view.Int[int32]), "2147483647", int32(2147483647), ""},
		{"int32 overflow", bindFrom(int32(7), view.Int[int32]), "2147483648", int32(7), `"2147483648" is out of range`},
		{"int32 bad", bindFrom(int32(7), view.Int[int32]), "x", int32(7), `want an integer, got "x"`},
		{"int64 min", bindFrom(int64(7), view.Int[int64]), "-9223372036854775808", int64(math.MinInt64), ""},
		{"int64 overflow", bindFrom(int64(7), view.Int[int64]), "9223372036854775808", int64(7), `"9223372036854775808" is out of range`},
		{"int named", bindFrom(myInt(7), view.Int[myInt]), "-3", myInt(-3), ""},

		// Uint, every size
		{"uint", bindFrom(uint(7), view.Uint[uint]), "18446744073709551615", uint(math.MaxUint), ""},
		{"uint negative", bindFrom(uint(7), view.Uint[uint]), "-1", uint(7), `want a non-negative integer, got "-1"`},
		{"uint overflow", bindFrom(uint(7), view.Uint[uint]), "18446744073709551616", uint(7), `"18446744073709551616" is out of range`},
		{"uint empty", bindFrom(uint(7), view.Uint[uint]), "", uint(7), ""},
		{"uint8 max", bindFrom(uint8(7), view.Uint[uint8]), "255", uint8(255), ""},
		{"uint8 overflow", bindFrom(uint8(7), view.Uint[uint8]), "256", uint8(7), `"256" is out of range`},
		{"uint8 negative", bindFrom(uint8(7), view.Uint[uint8]), "-1", uint8(7), `want a non-negative integer, got "-1"`},
		{"uint16 max", bindFrom(uint16(7), view.Uint[uint16]), "65535", uint16(65535), ""},
		{"uint16 overflow", bindFrom(uint16(7), view.Uint[uint16]), "65536", uint16(7), `"65536" is out of range`},
		{"uint32 max", bindFrom(uint32(7), view.Uint[uint32]), "4294967295", uint32(math.MaxUint32), ""},
		{"uint32 overflow", bindFrom(uint32(7), view.Uint[uint32]), "4294967296", uint32(7), `"4294967296" is out of range`},
		{"uint64 max", bindFrom(uint64(7), view.Uint[uint64]), "18446744073709551615", uint64(math.MaxUint64), ""},
		{"uint64 overflow", bindFrom(uint64(7), view.Uint[uint64]), "18446744073709551616", uint64(7), `"18446744073709551616" is out of range`},
		{"uint64 bad", bindFrom(uint64(7), view.Uint[uint64]), "1e3", uint64(7), `want a non-negative integer, got "1e3"`},
		{"uintptr", bindFrom(uintptr(7), view.Uint[uintptr]), "4096", uintptr(4096), ""},
		{"uint named", bindFrom(myUint(7), view.Uint[myUint]), "65536", myUint(7), `"65536" is out of range`},

		// Float
		{"float32", bindFrom(float32(7), view.Float[float32]), "0.1", float32(0.1), ""},
		{"float32 max", bindFrom(float32(7), view.Float[float32]), "3.4028234e38", float32(math.MaxFloat32), ""},
		{"float32 overflow", bindFrom(float32(7), view.Float[float32]), "3.5e38", float32(7), `"3.5e38" is out of range`},
		{"float32 overflow exp", bindFrom(float32(7), view.Float[float32]), "1e39", float32(7), `"1e39" is out of range`},
		{"float32 bad", bindFrom(float32(7), view.Float[float32]), "one", float32(7), `want a number, got "one"`},
		{"float64", bindFrom(7.0, view.Float[float64]), "-2.5e-3", -2.5e-3, ""},
		{"float64 overflow", bindFrom(7.0, view.Float[float64]), "1e309", 7.0, `"1e309" is out of range`},
		{"float64 bad", bindFrom(7.0, view.Float[float64]), "1,5", 7.0, `want a number, got "1,5"`},
		{"float64 empty", bindFrom(7.0, view.Float[float64]), "", 7.0, ""},
		{"float named", bindFrom(myFloat(7), view.Float[myFloat]), "1.25", myFloat(1.25), ""},

		// Bool
		{"bool true", bindFrom(false, view.Bool[bool]), "true", true, ""},
		{"bool 1", bindFrom(false, view.Bool[bool]), "1", true, ""},
		{"bool F", bindFrom(true, view.Bool[bool]), "F", false, ""},
		{"bool bad", bindFrom(true, view.Bool[bool]), "yes", true, `want true or false, got "yes"`},
		{"bool empty", bindFrom(true, view.Bool[bool]), "", true, ""},
		{"bool named", bindFrom(myBool(false), view.Bool[myBool]), "TRUE", myBool(true), ""},

		// Time
		{"time", bindFrom(sentinelTime, view.Time), "2024-05-01T10:20:30Z", t0, ""},
		{"time fraction", bindFrom(sentinelTime, view.Time), "2024-05-01T10:20:30.123456789+02:00", tNano, ""},
		{"time date only", bindFrom(sentinelTime, view.Time), "2024-05-01", sentinelTime, `want an RFC 3339 time such as 2006-01-02T15:04:05Z, got "2024-05-01"`},
		{"time bad month", bindFrom(sentinelTime, view.Time), "2024-13-01T00:00:00Z", sentinelTime, `want an RFC 3339 time such as 2006-01-02T15:04:05Z, got "2024-13-01T00:00:00Z"`},
		{"time words", bindFrom(sentinelTime, view.Time), "yesterday", sentinelTime, `want an RFC 3339 time such as 2006-01-02T15:04:05Z, got "yesterday"`},
		{"time empty", bindFrom(sentinelTime, view.Time), "", sentinelTime, ""},

		// Duration
		{"duration", bindFrom(time.Second, view.Duration), "1m30s", 90 * time.Second, ""},
		{"duration negative", bindFrom(time.Second, view.Duration), "-1.5h", -90 * time.Minute, ""},
		{"duration no unit", bindFrom(time.Second, view.Duration), "90", time.Second, `want a duration such as 1m30s, got "90"`},
		{"duration bad unit", bindFrom(time.Second, view.Duration), "1x", time.Second, `want a duration such as 1m30s, got "1x"`},
		{"duration empty", bindFrom(time.Second, view.Duration), "", time.Second, ""},

		// Text
		{"addr v4", bindFrom(netip.IPv6Loopback(), view.Text[netip.Addr]), "192.0.2.1", netip.MustParseAddr("192.0.2.1"), ""},
		{"addr v6", bindFrom(netip.IPv6Loopback(), view.Text[netip.Addr]), "2001:db8::1", netip.MustParseAddr("2001:db8::1"), ""},
		{"addr bad octet", bindFrom(netip.IPv6Loopback(), view.Text[netip.Addr]), "192.0.2.256", netip.IPv6Loopback(), `"192.0.2.256" is not a valid Addr`},
		{"addr words", bindFrom(netip.IPv6Loopback(), view.Text[netip.Addr]), "localhost", netip.IPv6Loopback(), `"localhost" is not a valid Addr`},
		{"addr empty", bindFrom(netip.IPv6Loopback(), view.Text[netip.Addr]), "", netip.IPv6Loopback(), ""},
		{"text custom", bindFrom(secretText{"old"}, view.Text[secretText]), "ok-1", secretText{"ok-1"}, ""},
		{"text custom error hidden", bindFrom(secretText{"old"}, view.Text[secretText]), "nope", secretText{"old"}, `"nope" is not a valid secretText`},

		// Client values that are long or not UTF-8.
		{"int long", bindFrom(7, view.Int[int]), strings.Repeat("9", 200), 7, `"` + strings.Repeat("9", 64) + `…" is out of range`},
		{"int invalid utf8", bindFrom(7, view.Int[int]), "1\xff\xfe2", 7, "want an integer, got \"1\uFFFD2\""},
		{"uint long invalid utf8", bindFrom(uint(7), view.Uint[uint]), "\xc3" + strings.Repeat("a", 100), uint(7), "want a non-negative integer, got \"\uFFFD" + strings.Repeat("a", 61) + "…\""},
		{"float rune across the cut", bindFrom(7.0, view.Float[float64]), strings.Repeat("a", 62) + "€" + "tail", 7.0, `want a number, got "` + strings.Repeat("a", 62) + `…"`},
		{"bool control chars", bindFrom(true, view.Bool[bool]), "\x00\n\"", true, `want true or false, got "\x00\n\""`},
		{"time long", bindFrom(sentinelTime, view.Time), strings.Repeat("é", 40), sentinelTime, `want an RFC 3339 time such as 2006-01-02T15:04:05Z, got "` + strings.Repeat("é", 32) + `…"`},
		{"duration invalid utf8", bindFrom(time.Second, view.Duration), "5\x80s", time.Second, "want a duration such as 1m30s, got \"5\uFFFDs\""},
		{"text long invalid utf8", bindFrom(netip.IPv6Loopback(), view.Text[netip.Addr]), strings.Repeat("\xff", 100), netip.IPv6Loopback(), "\"\uFFFD\" is not a valid Addr"},
		{"text long mixed", bindFrom(netip.IPv6Loopback(), view.Text[netip.Addr]), strings.Repeat("1\xff", 50), netip.IPv6Loopback(), "\"" + strings.Repeat("1\uFFFD", 16) + "…\" is not a valid Addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problem := tt.bind(tt.raw)
			if !reflect.DeepEqual(got, tt.want) {
				if gt, ok := got.(time.Time); !ok || !gt.Equal(tt.want.(time.Time)) {
					t.Errorf("dst = %#v, want %#v", got, tt.want)
				}
			}
			if problem != tt.problem {
				t.Errorf("problem = %q, want %q", problem, tt.problem)
			}
			if problem != "" {
				checkDetail(t, problem, tt.raw)
			}
		})
	}
}

func TestTimeKeepsOffset(t *testing.T) {
	var got time.Time
	if p := view.Time("2024-05-01T10:20:30.5-07:00", &got); p != "" {
		t.Fatal(p)
	}
	if _, off := got.Zone(); off != -7*3600 {
		t.Errorf("offset %d, want -25200", off)
	}
	if got.Nanosecond() != 500_000_000 {
		t.Errorf("nanoseconds %d, want 500000000", got.Nanosecond())
	}
}

func TestSlice(t *testing.T) {
	t.Run("ints", func(t *testing.T) {
		dst := []int{9}
		if p := view.Slice([]string{"1", "-2", "3"}, &dst, view.Int[int]); p != "" {
			t.Fatal(p)
		}
		if !reflect.DeepEqual(dst, []int{1, -2, 3}) {
			t.Errorf("dst = %v", dst)
		}
	})
	t.Run("bad value in the middle", func(t *testing.T) {
		dst := []int{9}
		p := view.Slice([]string{"1", "x", "3"}, &dst, view.Int[int])
		if p != `value 2: want an integer, got "x"` {
			t.Errorf("problem = %q", p)
		}
		if !reflect.DeepEqual(dst, []int{9}) {
			t.Errorf("dst = %v, want it unchanged", dst)
		}
	})
	t.Run("first bad value wins", func(t *testing.T) {
		var dst []int8
		p := view.Slice([]string{"1", "2", "128", "y"}, &dst, view.Int[int8])
		if p != `value 3: "128" is out of range` {
			t.Errorf("problem = %q", p)
		}
		if dst != nil {
			t.Errorf("dst = %v, want nil", dst)
		}
	})
	t.Run("empty values inside", func(t *testing.T) {
		var dst []uint16
		if p := view.Slice([]string{"", "5"}, &dst, view.Uint[uint16]); p != "" {
			t.Fatal(p)
		}
		if !reflect.DeepEqual(dst, []uint16{0, 5}) {
			t.Errorf("dst = %v", dst)
		}
	})
	t.Run("none leaves dst alone", func(t *testing.T) {
		dst := []int{9}
		if p := view.Slice(nil, &dst, view.Int[int]); p != "" {
			t.Fatal(p)
		}
		if p := view.Slice([]string{}, &dst, view.Int[int]); p != "" {
			t.Fatal(p)
		}
		if !reflect.DeepEqual(dst, []int{9}) {
			t.Errorf("dst = %v", dst)
		}
	})
	t.Run("strings alias", func(t *testing.T) {
		raws := []string{"a", "", "c"}
		var dst []string
		if p := view.Slice(raws, &dst, view.String[string]); p != "" {
			t.Fatal(p)
		}
		if len(dst) != 3 || &dst[0] != &raws[0] {
			t.Errorf("dst = %q does not alias the raw values", dst)
		}
	})
	t.Run("named strings copy", func(t *testing.T) {
		raws := []string{"a", "b"}
		var dst []myString
		if p := view.Slice(raws, &dst, view.String[myString]); p != "" {
			t.Fatal(p)
		}
		if !reflect.DeepEqual(dst, []myString{"a", "b"}) {
			t.Errorf("dst = %q", dst)
		}
	})
	t.Run("addrs", func(t *testing.T) {
		var dst []netip.Addr
		p := view.Slice([]string{"::1", "10.0.0.1", "10.0.0.300"}, &dst, view.Text[netip.Addr])
		if p != `value 3: "10.0.0.300" is not a valid Addr` {
			t.Errorf("problem = %q", p)
		}
		if p := view.Slice([]string{"::1", "10.0.0.1"}, &dst, view.Text[netip.Addr]); p != "" {
			t.Fatal(p)
		}
		if len(dst) != 2 || dst[1] != netip.MustParseAddr("10.0.0.1") {
			t.Errorf("dst = %v", dst)
		}
	})
	t.Run("times and durations", func(t *testing.T) {
		var ts []time.Time
		if p := view.Slice([]string{"2024-05-01T10:20:30Z", "2024-05-01T10:20:30.25Z"}, &ts, view.Time); p != "" {
			t.Fatal(p)
		}
		if len(ts) != 2 || ts[1].Nanosecond() != 250_000_000 {
			t.Errorf("ts = %v", ts)
		}
		var ds []time.Duration
		p := view.Slice([]string{"1s", "2"}, &ds, view.Duration)
		if p != `value 2: want a duration such as 1m30s, got "2"` {
			t.Errorf("problem = %q", p)
		}
	})
	t.Run("floats and bools", func(t *testing.T) {
		var fs []float32
		if p := view.Slice([]string{"1.5", "1e39"}, &fs, view.Float[float32]); p != `value 2: "1e39" is out of range` {
			t.Errorf("problem = %q", p)
		}
		var bs []bool
		if p := view.Slice([]string{"t", "0"}, &bs, view.Bool[bool]); p != "" || !reflect.DeepEqual(bs, []bool{true, false}) {
			t.Errorf("bs = %v, problem %q", bs, p)
		}
	})
}

func TestCookieValue(t *testing.T) {
	r, _ := http.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: "s1"})
	r.AddCookie(&http.Cookie{Name: "other", Value: "o"})
	if got := view.CookieValue(r, "session"); got != "s1" {
		t.Errorf("session = %q", got)
	}
	if got := view.CookieValue(r, "missing"); got != "" {
		t.Errorf("missing = %q", got)
	}
	bare, _ := http.NewRequest("GET", "/", nil)
	if got := view.CookieValue(bare, "session"); got != "" {
		t.Errorf("no cookies = %q", got)
	}
}

func TestProblems(t *testing.T) {
	var p view.Problems
	if err := p.Err(); err != nil {
		t.Fatalf("zero Problems: %v", err)
	}
	p.Add(view.Query, "ok", "")
	if err := p.Err(); err != nil {
		t.Fatalf("Add with an empty detail recorded a problem: %v", err)
	}
	p.Add(view.Path, "id", "bad id")
	p.Add(view.Header, "X-N", "bad n")
	err := p.Err()
	var be *view.BindError
	if !errors.As(err, &be) {
		t.Fatalf("Err() = %T, want *view.BindError", err)
	}
	if be.Status != http.StatusBadRequest || be.StatusCode() != http.StatusBadRequest {
		t.Errorf("status %d / %d", be.Status, be.StatusCode())
	}
	want := []view.FieldError{{In: view.Path, Name: "id", Detail: "bad id"}, {In: view.Header, Name: "X-N", Detail: "bad n"}}
	if !reflect.DeepEqual(be.Fields, want) {
		t.Errorf("fields = %+v", be.Fields)
	}
	if got := be.Error(); got != "bad request: path id: bad id; header X-N: bad n" {
		t.Errorf("Error() = %q", got)
	}
	tooLarge := &view.BindError{Status: http.StatusRequestEntityTooLarge, Limit: 10}
	if got := tooLarge.Error(); got != "request body larger than 10 bytes" {
		t.Errorf("Error() = %q", got)
	}
	// The In values are what generated code and clients see.
	for in, s := range map[view.In]string{view.Path: "path", view.Query: "query", view.Header: "header", view.Cookie: "cookie", view.Body: "body"} {
		if string(in) != s {
			t.Errorf("%q != %q", in, s)
		}
	}
}
