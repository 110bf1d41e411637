// Package api has views whose OpenAPI document covers what futuresgen
// describes: encoding/json's rules, validation rules, every binding and
// every kind of response.
//
//futures:api title="Golden API" version=2.1.0 servers=https://api.example.com,/v2
package api

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/netip"
	"time"

	"github.com/gofutures/futures/runtime/future"
)

// Level is a named string.
type Level string

// Money is written as a string, by MarshalText.
type Money struct{ cents int64 }

func (m Money) MarshalText() ([]byte, error)  { return []byte("0.00"), nil }
func (m *Money) UnmarshalText(b []byte) error { return nil }

// Color writes itself as "#rrggbb": futuresgen cannot know that, and
// describes it as any value, with a warning.
type Color struct{ R, G, B uint8 }

func (c Color) MarshalJSON() ([]byte, error) { return []byte(`"#000000"`), nil }

// Base is embedded: its fields are promoted.
type Base struct {
	// ID names the thing.
	ID      string    `json:"id" validate:"required,uuid"`
	Created time.Time `json:"created"`
}

// Extra is embedded through a pointer: its fields may be absent.
type Extra struct {
	Note string `json:"note"`
}

// Address is nested in Account.
type Address struct {
	Street  string `json:"street" validate:"required,max=80"`
	Country string `json:"country" validate:"len=2,alpha"`
}

// Account is read from bodies and written in responses.
type Account struct {
	Base
	*Extra
	Email    string            `json:"email" validate:"required,email"`
	Name     string            `json:"name,omitempty" validate:"omitempty,min=2,max=40"`
	Age      uint8             `json:"age" validate:"gte=18"`
	Score    float64           `json:"score" validate:"gt=0,lt=10.5"`
	Website  string            `json:"website,omitempty" validate:"omitempty,url"`
	Host     string            `json:"host,omitempty" validate:"omitempty,hostname"`
	IP       string            `json:"ip,omitempty" validate:"omitempty,ip"`
	Code     string            `json:"code,omitempty" validate:"omitempty,alphanum,len=6"`
	Amount   string            `json:"amount,omitempty" validate:"omitempty,numeric"`
	Born     string            `json:"born,omitempty" validate:"omitempty,datetime=2006-01-02"`
	At       string            `json:"at,omitempty" validate:"omitempty,datetime=15:04"`
	Level    Level             `json:"level" validate:"oneof=low high 'very high'"`
	Tags     []string          `json:"tags" validate:"max=5,dive,min=1,max=20"`
	Labels   map[string]string `json:"labels,omitempty" validate:"dive,alphanum"`
	Home     *Address          `json:"home,omitempty"`
	Work     Address           `json:"work"`
	Previous []Address         `json:"previous,omitempty" validate:"dive"`
	Limit    time.Duration     `json:"limit" validate:"min=1s,max=1h"`
	Balance  Money             `json:"balance"`
	Addr     netip.Addr        `json:"addr"`
	Avatar   []byte            `json:"avatar,omitempty"`
	Counts   map[int]int       `json:"counts,omitempty"`
	Big      int64             `json:"big,string"`
	Raw      json.RawMessage   `json:"raw,omitempty"`
	Any      any               `json:"any,omitempty"`
	Agreed   bool              `json:"agreed" validate:"required"`
	Ignored  string            `json:"-"`
	secret   string
	Fixed    [2]int     `json:"fixed"`
	Later    *time.Time `json:"later,omitzero"`
	Kinds    []Level    `json:"kinds" validate:"dive,oneof=low high"`
	Color    Color      `json:"color"`
}

// Page is a generic page of items.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// Node contains itself.
type Node struct {
	Name     string  `json:"name" validate:"required"`
	Children []*Node `json:"children,omitempty" validate:"dive"`
}

// ListRequest binds parameters of every place, with rules.
type ListRequest struct {
	Org    string        `path:"org" validate:"alphanum,max=20"`
	Limit  int           `query:"limit" validate:"omitempty,min=1,max=100"`
	Page   *int          `query:"page" validate:"omitempty,gte=1"`
	Sort   string        `query:"sort" validate:"omitempty,oneof=name created"`
	Tags   []string      `query:"tag" validate:"max=3,dive,alpha"`
	Since  time.Time     `query:"since"`
	Wait   time.Duration `query:"wait" validate:"omitempty,max=30s"`
	Level  Level         `query:"level"`
	Addr   netip.Addr    `query:"addr"`
	Token  string        `header:"X-Token" validate:"required"`
	Trace  []string      `header:"X-Trace"`
	Lang   string        `cookie:"lang" validate:"omitempty,len=2"`
	Cursor uint32        `query:"cursor"`
}

// ListAccounts lists the accounts of an organization. It pages through
// them, newest first.
//
// A second paragraph goes to the description, with the sentence above.
//
//futures:view GET /orgs/{org}/accounts timeout=2s errors=404
func ListAccounts(ctx context.Context, req ListRequest) (Page[Account], error) {
	return Page[Account]{}, nil
}

// CreateAccount stores an account.
//
//futures:view POST /orgs/{org}/accounts status=201 errors=409,422
func CreateAccount(ctx context.Context, req struct {
	Org  string `path:"org"`
	Body Account
}) (*Account, error) {
	return nil, nil
}

// PatchAccount takes a body that may be absent and may have fields it
// does not know.
//
//futures:view PATCH /orgs/{org}/accounts/{id}
func PatchAccount(req struct {
	Org  string          `path:"org"`
	ID   string          `path:"id" validate:"uuid"`
	Body *map[string]any `body:"json,allowunknown"`
}) error {
	return nil
}

// PutTree takes a tree, which must be there.
//
//futures:view PUT /trees/{name...}
func PutTree(req struct {
	Name string `path:"name"`
	Tree *Node  `body:"json" validate:"required"`
}) (Node, error) {
	return Node{}, nil
}

// Home renders a page for browsers.
//
//futures:view GET /{$} template=home.html
func Home(ctx context.Context) (map[string]string, error) { return nil, nil }

// Ping answers HEAD only.
//
//futures:view HEAD /ping
func Ping() error { return nil }

// Stats answers with a future.
//
// Deprecated: use ListAccounts.
//
//futures:view GET /stats
func Stats(ctx context.Context) *future.Future[[]int] { return future.Resolved([]int(nil)) }

// Raw takes the request itself: it has no parameters the document knows.
//
//futures:view DELETE /raw
func Raw(r *http.Request) error { return nil }

// Shop holds its views' dependencies.
type Shop struct{}

// Cart is in a shop.
type Cart struct {
	Items []Item `json:"items" validate:"min=1,dive"`
}

// Item is in a cart.
type Item struct {
	SKU      string `json:"sku" validate:"required"`
	Quantity int    `json:"quantity" validate:"gte=1,lte=99"`
}

// Checkout checks a cart out.
//
//futures:view POST /checkout maxbody=64KiB
func (s *Shop) Checkout(ctx context.Context, req struct {
	Cart Cart `body:"json"`
}) (Cart, error) {
	return req.Cart, nil
}

// AccountEvent is one change to an organization's accounts.
type AccountEvent struct {
	// Kind says what happened.
	Kind string `json:"kind" validate:"oneof=created deleted"`
	ID   int64  `json:"id"`
}

// WatchAccounts streams the changes to an organization's accounts as
// server-sent events.
//
//futures:view GET /orgs/{org}/events errors=404
func WatchAccounts(ctx context.Context, req struct {
	Org string `path:"org"`
}) (iter.Seq2[AccountEvent, error], error) {
	return nil, nil
}
