package views

import (
	"context"
	"net/netip"
	"time"
)

// Params has a value of every kind in every place a view binds from: the
// generated client's round trip (cmd/clientcheck) sends random ones, and
// EchoParams answers what it bound.
type Params struct {
	Seg  string `path:"seg"`
	Num  int16  `path:"num"`
	Rest string `path:"rest"`

	S     string          `query:"s"`
	I     int64           `query:"i"`
	I8    int8            `query:"i8"`
	U     uint64          `query:"u"`
	U16   uint16          `query:"u16"`
	F32   float32         `query:"f32"`
	F64   float64         `query:"f64"`
	B     bool            `query:"b"`
	T     time.Time       `query:"t"`
	D     time.Duration   `query:"d"`
	Addr  netip.Addr      `query:"addr"`
	Level Level           `query:"level"`
	PI    *int            `query:"pi"`
	PS    *string         `query:"ps"`
	PT    *time.Time      `query:"pt"`
	Strs  []string        `query:"str"`
	Ints  []int32         `query:"int"`
	Times []time.Time     `query:"time"`
	Addrs []netip.Addr    `query:"ip"`
	Durs  []time.Duration `query:"dur"`

	HS   string     `header:"X-S"`
	HI   int        `header:"X-I"`
	HT   time.Time  `header:"X-T"`
	HB   bool       `header:"X-B"`
	HP   *uint      `header:"X-P"`
	HL   []string   `header:"X-L"`
	HF   []float64  `header:"X-F"`
	HA   netip.Addr `header:"X-Addr"`
	HLvl Level      `header:"X-Level"`

	CS string    `cookie:"cs"`
	CI int       `cookie:"ci"`
	CT time.Time `cookie:"ct"`
	CP *bool     `cookie:"cp"`
	CL Level     `cookie:"cl"`

	Body *Item `body:"json"`
}

// EchoParams answers the values it bound.
//
//futures:view POST /echo/{seg}/{num}/{rest...}
func EchoParams(ctx context.Context, req Params) (Params, error) { return req, nil }

// EchoBind answers the values of Bind's request as it bound them.
//
//futures:view GET /echo-bind/{id}/{name}/{rest...}
func EchoBind(req BindRequest) (BindRequest, error) { return req, nil }
