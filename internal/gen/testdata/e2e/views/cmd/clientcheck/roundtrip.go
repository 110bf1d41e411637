package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"github.com/gofutures/futures/runtime/httpclient"

	"example.com/e2e/views"
	"example.com/e2e/views/client"
)

// The round trip: random values of every kind, in every place a view
// binds from, go through the generated client's encoding and the
// generated handler's binding, and the views answer what they bound. Each
// call either gives back exactly what was sent, or fails before sending
// (a *httpclient.ParamError, or httpclient.ErrOutsideBase for a path that
// the client's base URL confinement refuses); and a value that HTTP can
// carry, by the rules of HTTP and ServeMux rather than the client's code
// (sendable), always makes the trip.

// rounds is how many random requests each echo view gets.
const rounds = 400

func checkRoundTrip(ctx context.Context, c *client.Client) {
	rng := rand.New(rand.NewPCG(16, 3))
	g := &gen{rng: rng}
	sent, refused := 0, 0
	for i := range rounds {
		p := g.params()
		ok, err := echo(ctx, c, p)
		if err != nil {
			fail("round trip %d: %v", i, err)
			continue
		}
		if ok {
			sent++
		} else {
			refused++
		}
	}
	for i := range rounds / 4 {
		b := g.bindRequest()
		ok, err := echoBind(ctx, c, b)
		if err != nil {
			fail("bind round trip %d: %v", i, err)
			continue
		}
		if ok {
			sent++
		} else {
			refused++
		}
	}
	// The generator makes values that HTTP can carry most of the time:
	// a round trip that refused most would prove little.
	if sent < 2*refused {
		fail("round trip: %d requests made the trip, %d were refused before sending; want most to make it", sent, refused)
	}
}

// echo sends p to EchoParams: true when it came back equal, false when
// it was refused as it may be, an error otherwise.
func echo(ctx context.Context, c *client.Client, p views.Params) (bool, error) {
	before := attempts.Load()
	got, err := c.EchoParams(ctx, p).Await(ctx)
	if err != nil {
		return false, refusal(err, attempts.Load()-before, sendableParams(p), p)
	}
	if a, b := normalize(p), normalize(got); !reflect.DeepEqual(a, b) {
		return false, fmt.Errorf("sent\n  %+v\nthe view bound\n  %+v\n(%s)", a, b, firstDifference(a, b))
	}
	return true, nil
}

func echoBind(ctx context.Context, c *client.Client, b views.BindRequest) (bool, error) {
	before := attempts.Load()
	got, err := c.EchoBind(ctx, b).Await(ctx)
	if err != nil {
		return false, refusal(err, attempts.Load()-before, sendableBind(b), b)
	}
	if x, y := normalize(b), normalize(got); !reflect.DeepEqual(x, y) {
		return false, fmt.Errorf("sent\n  %+v\nthe view bound\n  %+v\n(%s)", x, y, firstDifference(x, y))
	}
	return true, nil
}

// refusal judges the error of a call: nil for a refusal before sending of
// values that HTTP cannot carry unchanged.
func refusal(err error, sentRequests int64, sendable bool, v any) error {
	var pe *httpclient.ParamError
	switch {
	case !errors.As(err, &pe) && !errors.Is(err, httpclient.ErrOutsideBase):
		return fmt.Errorf("%+v: %w; want it back, or a refusal before sending", v, err)
	case sentRequests != 0:
		return fmt.Errorf("%+v: refused (%v), but %d request(s) were sent", v, err, sentRequests)
	case sendable:
		return fmt.Errorf("%+v: refused (%v), though HTTP can carry its values", v, err)
	}
	return nil
}

// normalize makes the forms that mean the same value equal: nil and empty
// slices (an empty list is not sent), and times in UTC (a time comes back
// in the offset it was written in, or UTC).
func normalize[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	normalizeValue(rv)
	return v
}

var timeType = reflect.TypeFor[time.Time]()

func normalizeValue(v reflect.Value) {
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
	case v.Kind() == reflect.Pointer:
		if !v.IsNil() {
			normalizeValue(v.Elem())
		}
	case v.Kind() == reflect.Slice:
		if v.Len() == 0 {
			v.SetZero()
			return
		}
		for i := range v.Len() {
			normalizeValue(v.Index(i))
		}
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				normalizeValue(v.Field(i))
			}
		}
	}
}

// firstDifference names the first field that differs.
func firstDifference(a, b any) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return fmt.Sprintf("%s: %#v != %#v", va.Type().Field(i).Name, va.Field(i).Interface(), vb.Field(i).Interface())
		}
	}
	return "no field differs"
}

// The rules of HTTP and ServeMux, written from their specifications, not
// from the client's code.

// segOK: a path segment that ServeMux reads back as it is: not empty,
// not a dot segment, not a lone slash (a trailing slash to ServeMux), and,
// to stay clear of the base URL confinement's refusal of encoded dot
// segments, no percent sign.
func segOK(s string) bool {
	return s != "" && s != "." && s != ".." && s != "/" && !strings.ContainsAny(s, "%\\")
}

func restOK(s string) bool {
	parts := strings.Split(s, "/")
	for i, part := range parts {
		if !(i == len(parts)-1 && part == "") && !segOK(part) {
			return false
		}
	}
	return true
}

// headerOK: RFC 9110 field values have no control characters but tabs,
// and the server trims white space around them.
func headerOK(s string) bool {
	for _, r := range s {
		if r < ' ' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return strings.Trim(s, " \t") == s
}

// listOK: the elements of a list header, which the binder splits at
// commas, dropping empty ones.
func listOK(list []string) bool {
	for _, s := range list {
		if s == "" || strings.Contains(s, ",") || !headerOK(s) {
			return false
		}
	}
	return true
}

// cookieOK: RFC 6265 cookie octets, with spaces and commas in quotes.
func cookieOK(s string) bool {
	for _, b := range []byte(s) {
		if b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}

// timeOK: RFC 3339 writes years 0 to 9999 (in UTC, a year away from the
// ends, whatever the offset).
func timeOK(t time.Time) bool { y := t.UTC().Year(); return y >= 1 && y <= 9998 }

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func sendableParams(p views.Params) bool {
	// A pointer to an empty value: view's binders take an empty value for
	// an absent one, and would leave the field nil.
	ok := (p.PS == nil || *p.PS != "") &&
		segOK(p.Seg) && restOK(p.Rest) && finite(float64(p.F32)) && finite(p.F64) &&
		timeOK(p.T) && (p.PT == nil || timeOK(*p.PT)) &&
		headerOK(p.HS) && headerOK(string(p.HLvl)) && timeOK(p.HT) && listOK(p.HL) &&
		cookieOK(p.CS) && cookieOK(string(p.CL)) && timeOK(p.CT) && headerOK(p.HA.String())
	for _, t := range p.Times {
		ok = ok && timeOK(t)
	}
	for _, f := range p.HF {
		ok = ok && finite(f)
	}
	return ok
}

func sendableBind(b views.BindRequest) bool {
	return segOK(b.Name) && restOK(b.Rest) && finite(b.F) && timeOK(b.T) &&
		headerOK(b.Token) && listOK(b.Multi) && cookieOK(b.Sess) && cookieOK(b.Theme)
}

// gen makes random values, with the edge cases of each kind often. A
// wild gen makes values that HTTP may not carry too, in the path, headers
// and cookies; a tame one only values that it carries.
type gen struct {
	rng  *rand.Rand
	wild bool
}

func (g *gen) chance(n int) bool { return g.rng.IntN(n) == 0 }

// alphabet: letters, digits, the characters that URLs, headers and
// cookies treat specially, white space, controls and non-ASCII.
var alphabet = []rune("aZ09 -_.~/%?#&=+;,:@!$'()*[]{}\"\\\té日€\n\r\x01\x7f")

func (g *gen) str() string {
	if g.chance(6) {
		return ""
	}
	n := 1 + g.rng.IntN(8)
	var b strings.Builder
	for range n {
		if g.chance(2) {
			b.WriteByte("abcxyzABC019"[g.rng.IntN(12)])
		} else {
			b.WriteRune(alphabet[g.rng.IntN(len(alphabet))])
		}
	}
	return b.String()
}

// tame is a string of characters that every place carries.
func (g *gen) tame() string {
	if g.chance(5) {
		return ""
	}
	n := 1 + g.rng.IntN(8)
	var b strings.Builder
	for range n {
		b.WriteByte("abcxyzABC019-_.~:@!$'()*+=&"[g.rng.IntN(27)])
	}
	return b.String()
}

// maybeWild is tame, or for a wild gen sometimes anything.
func (g *gen) maybeWild() string {
	if g.wild && g.chance(4) {
		return g.str()
	}
	return g.tame()
}

// elem is an element of a header list: not empty when tame.
func (g *gen) elem() string {
	if s := g.maybeWild(); s != "" || g.wild {
		return s
	}
	return "e"
}

func (g *gen) seg() string {
	switch g.rng.IntN(12) {
	case 0:
		if g.wild {
			return []string{".", "..", "/", "", "a/b", "%2e"}[g.rng.IntN(6)]
		}
	case 1, 2:
		if g.wild {
			return g.str()
		}
	}
	s := g.tame()
	if s == "" || s == "." || s == ".." {
		s = "s" + s
	}
	return s
}

func (g *gen) rest() string {
	n := g.rng.IntN(4)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = g.seg()
	}
	s := strings.Join(parts, "/")
	if g.chance(5) {
		s += "/"
	}
	return s
}

func (g *gen) i64() int64 {
	switch g.rng.IntN(5) {
	case 0:
		return 0
	case 1:
		return []int64{math.MaxInt64, math.MinInt64, -1, 1}[g.rng.IntN(4)]
	case 2:
		return g.rng.Int64N(1000) - 500
	}
	return int64(g.rng.Uint64())
}

func (g *gen) u64() uint64 {
	if g.chance(4) {
		return []uint64{0, 1, math.MaxUint64}[g.rng.IntN(3)]
	}
	return g.rng.Uint64()
}

func (g *gen) f64() float64 {
	switch g.rng.IntN(10) {
	case 0:
		special := []float64{0, math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64, 0.1, math.NaN(), math.Inf(-1)}
		if !g.wild {
			special = special[:5]
		}
		return special[g.rng.IntN(len(special))]
	case 1, 2, 3:
		return float64(g.rng.IntN(2000)-1000) / 8
	}
	f := math.Float64frombits(g.rng.Uint64())
	if !finite(f) {
		return 1.5
	}
	return f
}

func (g *gen) f32() float32 {
	if g.chance(3) {
		return float32(g.rng.IntN(2000)-1000) / 4
	}
	f := math.Float32frombits(g.rng.Uint32())
	if !finite(float64(f)) {
		return 2.5
	}
	return f
}

func (g *gen) time() time.Time {
	if g.chance(6) {
		return time.Time{}
	}
	// From before year 1 to after 9999 now and then; mostly inside.
	// Unix seconds of years 1 and 10000 are -62135596800 and 253402300800;
	// a year off each end, whatever the offset.
	sec := g.rng.Int64N(253402300800+62135596800-2*31622400) - 62135596800 + 31622400
	if g.wild && g.chance(20) {
		sec = g.rng.Int64N(2*253402300800) - 253402300800
	}
	offset := (g.rng.IntN(36*60) - 18*60) * 60
	if g.chance(8) {
		offset += g.rng.IntN(60) // an offset with seconds, as old local times have
	}
	return time.Unix(sec, g.rng.Int64N(1e9)).In(time.FixedZone("", offset))
}

func (g *gen) dur() time.Duration { return time.Duration(g.i64()) }

func (g *gen) addr() netip.Addr {
	switch g.rng.IntN(5) {
	case 0:
		return netip.Addr{}
	case 1:
		var b [16]byte
		for i := range b {
			b[i] = byte(g.rng.IntN(256))
		}
		a := netip.AddrFrom16(b)
		if g.chance(2) {
			a = a.WithZone("eth0")
		}
		return a
	}
	return netip.AddrFrom4([4]byte{byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(g.rng.IntN(256))})
}

func list[T any](g *gen, f func() T) []T {
	n := g.rng.IntN(4)
	if n == 0 {
		return nil
	}
	out := make([]T, n)
	for i := range out {
		out[i] = f()
	}
	return out
}

func ptr[T any](g *gen, f func() T) *T {
	if g.chance(2) {
		return nil
	}
	v := f()
	return &v
}

func (g *gen) params() views.Params {
	g.wild = g.chance(3)
	p := views.Params{
		Seg: g.seg(), Num: int16(g.i64()), Rest: g.rest(),
		S: g.str(), I: g.i64(), I8: int8(g.i64()), U: g.u64(), U16: uint16(g.u64()),
		F32: g.f32(), F64: g.f64(), B: g.chance(2), T: g.time(), D: g.dur(), Addr: g.addr(),
		Level: views.Level(g.str()),
		PI:    ptr(g, func() int { return int(g.i64()) }), PS: ptr(g, g.str), PT: ptr(g, g.time),
		Strs: list(g, g.str), Ints: list(g, func() int32 { return int32(g.i64()) }),
		Times: list(g, g.time), Addrs: list(g, g.addr), Durs: list(g, g.dur),
		HS: g.maybeWild(), HI: int(g.i64()), HT: g.time(), HB: g.chance(2),
		HP: ptr(g, func() uint { return uint(g.u64()) }), HL: list(g, g.elem),
		HF: list(g, g.f64), HA: g.addr(), HLvl: views.Level(g.maybeWild()),
		CS: g.maybeWild(), CI: int(g.i64()), CT: g.time(), CP: ptr(g, func() bool { return g.chance(2) }),
		CL: views.Level(g.maybeWild()),
	}
	if g.chance(2) {
		p.Body = &views.Item{Name: g.str(), Count: int(g.i64()), Tags: list(g, g.str)}
	}
	return p
}

func (g *gen) bindRequest() views.BindRequest {
	g.wild = g.chance(3)
	return views.BindRequest{
		ID: g.i64(), Name: g.seg(), Rest: g.rest(), Q: g.str(), N: int(g.i64()), Small: int8(g.i64()),
		U: uint32(g.u64()), F: g.f64(), B: g.chance(2), T: g.time(), D: g.dur(), Addr: g.addr(),
		Level: views.Level(g.str()), Tags: list(g, g.str), Nums: list(g, func() int { return int(g.i64()) }),
		IPs: list(g, g.addr), Token: g.maybeWild(), Multi: list(g, g.elem), Count: uint(g.u64()),
		Sess: g.maybeWild(), Theme: g.maybeWild(), Absent: g.str(),
	}
}
