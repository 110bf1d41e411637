// Package loadviews holds the views and the after-response task that the
// reliability tests of runtime/server serve: the load-with-shutdown test
// (runtime/server/load_test.go, through cmd loadserver) and the hostile
// input tests (runtime/server/hostile_test.go). futuresgen generates
// futures_gen.go; it is committed.
package loadviews

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gofutures/futures/runtime/view"
)

//go:generate go run ../../../../cmd/futuresgen

// Shop serves orders. Its fields are its dependencies.
type Shop struct {
	// Sink is called by the after-response task of each order with the
	// order's id. Nil records nothing.
	Sink func(ctx context.Context, id string) error
}

// Order is the JSON body of PlaceOrder.
type Order struct {
	Item  string         `json:"item"`
	Qty   int            `json:"qty"`
	Price float64        `json:"price"`
	Notes []string       `json:"notes,omitempty"`
	Meta  map[string]any `json:"meta,omitempty"`
}

// OrderRequest binds an order.
type OrderRequest struct {
	ID     string `path:"id"`
	Pad    int    `query:"pad"`
	Client string `header:"X-Client"`
	// Work is how long the order's after-response task works before it
	// records the order (a mail server's round trip, say): at most 1s.
	Work time.Duration `query:"work"`
	Body Order
}

// Receipt answers an order. Pad is Pad bytes of filler, so that responses
// come in many sizes and a truncated one shows.
type Receipt struct {
	ID     string  `json:"id"`
	Item   string  `json:"item"`
	Qty    int     `json:"qty"`
	Total  float64 `json:"total"`
	Client string  `json:"client"`
	Notes  int     `json:"notes"`
	Pad    string  `json:"pad"`
}

// MaxPad bounds the filler a request may ask for.
const MaxPad = 8192

// PlaceOrder accepts an order and records it after the response.
//
//futures:view POST /orders/{id} maxbody=16KiB timeout=10s
func (s *Shop) PlaceOrder(ctx context.Context, req OrderRequest) (Receipt, error) {
	if req.Pad < 0 || req.Pad > MaxPad {
		return Receipt{}, view.Error(400, "pad must be between 0 and 8192")
	}
	if req.Work < 0 || req.Work > time.Second {
		return Receipt{}, view.Error(400, "work must be between 0 and 1s")
	}
	if req.Body.Qty <= 0 {
		return Receipt{}, view.Error(422, "qty must be positive")
	}
	if req.Body.Item == "boom" {
		// A plain error: its text must never reach the client.
		return Receipt{}, errors.New("inventory database at /var/lib/shop/db.sqlite is on fire")
	}
	s.RecordLater(ctx, req.ID, req.Work)
	return Receipt{
		ID:     req.ID,
		Item:   req.Body.Item,
		Qty:    req.Body.Qty,
		Total:  float64(req.Body.Qty) * req.Body.Price,
		Client: req.Client,
		Notes:  len(req.Body.Notes),
		Pad:    strings.Repeat("p", req.Pad),
	}, nil
}

// Record is the after-response task of an order: it works for work, then
// gives the order's id to the Sink.
//
//futures:task timeout=30s
func (s *Shop) Record(ctx context.Context, id string, work time.Duration) error {
	if work > 0 {
		t := time.NewTimer(work)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.Sink == nil {
		return nil
	}
	return s.Sink(ctx, id)
}

// LookupRequest binds a value of every scalar kind from the path, the query
// and the headers.
type LookupRequest struct {
	Name  string        `path:"name"`
	N     int64         `query:"n"`
	U     uint16        `query:"u"`
	F     float64       `query:"f"`
	B     bool          `query:"b"`
	T     time.Time     `query:"t"`
	D     time.Duration `query:"d"`
	Q     string        `query:"q"`
	Nums  []int         `query:"num"`
	Count uint          `header:"X-Count"`
	Token string        `header:"X-Token"`
	Sess  string        `cookie:"session"`
}

// Lookup is what LookupItem answers.
type Lookup struct {
	Name  string  `json:"name"`
	N     int64   `json:"n"`
	U     uint16  `json:"u"`
	F     float64 `json:"f"`
	B     bool    `json:"b"`
	Q     string  `json:"q"`
	Nums  []int   `json:"nums"`
	Count uint    `json:"count"`
	Token string  `json:"token"`
	Sess  string  `json:"session"`
}

// LookupItem echoes what it bound.
//
//futures:view GET /items/{name}
func LookupItem(ctx context.Context, req LookupRequest) (Lookup, error) {
	return Lookup{
		Name: req.Name, N: req.N, U: req.U, F: req.F, B: req.B, Q: req.Q,
		Nums: req.Nums, Count: req.Count, Token: req.Token, Sess: req.Sess,
	}, nil
}

// Doc is a JSON document of any shape, for the hostile input tests: deep
// nesting, huge numbers and duplicate keys reach encoding/json through it.
type Doc struct {
	Title string `json:"title"`
	Data  any    `json:"data"`
}

// DocStats is what StoreDoc answers: the shape of the document's data.
type DocStats struct {
	Title  string `json:"title"`
	Depth  int    `json:"depth"`
	Values int    `json:"values"`
}

// StoreDoc measures a document of up to 1 MiB.
//
//futures:view POST /docs maxbody=1MiB
func StoreDoc(ctx context.Context, req struct {
	Body Doc
}) (DocStats, error) {
	depth, values := measure(req.Body.Data)
	return DocStats{Title: req.Body.Title, Depth: depth, Values: values}, nil
}

// measure returns the nesting depth of v and how many scalars it holds.
func measure(v any) (depth, values int) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			d, n := measure(e)
			depth, values = max(depth, d), values+n
		}
		return depth + 1, values
	case map[string]any:
		for _, e := range v {
			d, n := measure(e)
			depth, values = max(depth, d), values+n
		}
		return depth + 1, values
	}
	return 0, 1
}
