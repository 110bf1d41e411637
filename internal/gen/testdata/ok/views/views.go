// Package views has a view of every accepted shape and binding.
package views

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/gofutures/futures/runtime/future"
)

type UserID int64

type Level string

// ShowRequest binds every kind of value.
type ShowRequest struct {
	ID      UserID          `path:"id"`
	Q       string          `query:"q"`
	Limit   int8            `query:"limit"`
	Ratio   float32         `query:"ratio"`
	Tags    []string        `query:"tag"`
	Nums    []uint16        `query:"n"`
	Since   time.Time       `query:"since"`
	Wait    time.Duration   `query:"wait"`
	Verbose bool            `query:"verbose"`
	Level   Level           `query:"level"`
	Addr    netip.Addr      `query:"addr"`
	Addrs   []netip.Addr    `query:"addrs"`
	Token   string          `header:"x-token"`
	Accept  []string        `header:"Accept"`
	Session string          `cookie:"session"`
	Page    *int            `query:"page"`
	Before  *time.Time      `query:"before"`
	Times   []time.Time     `query:"times"`
	Waits   []time.Duration `header:"X-Wait"`
	Origin  *netip.Addr     `header:"X-Origin"`
}

type Page struct {
	ID    UserID   `json:"id"`
	Title string   `json:"title"`
	Tags  []string `json:"tags,omitempty"`
}

//futures:view GET /users/{id} timeout=2s template=user.html
func Show(ctx context.Context, req ShowRequest) (Page, error) { return Page{}, nil }

type SignupForm struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

//futures:view POST /signup status=201 maxbody=64KiB
func Signup(ctx context.Context, req struct {
	Ref  string `query:"ref"`
	Body SignupForm
}) (Page, error) {
	return Page{}, nil
}

//futures:view PUT /notes/{path...}
func PutNote(req struct {
	Path string          `path:"path"`
	Data *map[string]any `body:"json,allowunknown"`
}) error {
	return nil
}

//futures:view GET /{$}
func Home() (string, error) { return "home", nil }

//futures:view DELETE /raw
func Raw(ctx context.Context, r *http.Request) error { return nil }

// RawItem reads its wildcard itself: a view of the raw request has full
// control.
//
//futures:view GET /raw/{id}
func RawItem(r *http.Request) (Page, error) { return Page{Title: r.PathValue("id")}, nil }

// RawUpload reads its body itself, which maxbody limits.
//
//futures:view POST /raw/{name...} maxbody=1KiB
func RawUpload(ctx context.Context, r *http.Request) error { return nil }

//futures:view GET /slow
func Slow(ctx context.Context) *future.Future[[]Page] { return future.Resolved([]Page(nil)) }

type Shop struct{ Name string }

//futures:view GET /shop/items/{sku} name=shop.item
func (s *Shop) Item(ctx context.Context, req struct {
	SKU string `path:"sku"`
}) (map[string]string, error) {
	return map[string]string{"sku": req.SKU}, nil
}

//futures:view POST /shop/orders
func (s Shop) Order(ctx context.Context) error { return nil }

//futures:task
func Notify(ctx context.Context, to string) error { return nil }
