package views

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"time"

	"github.com/gofutures/futures/runtime/view"
)

// Account is what Register takes, and answers.
type Account struct {
	ID      string            `json:"id" validate:"required,uuid"`
	Email   string            `json:"email" validate:"required,email"`
	Name    string            `json:"name" validate:"required,min=2,max=20"`
	Age     int               `json:"age,omitempty" validate:"omitempty,gte=18,lte=130"`
	Site    string            `json:"site,omitempty" validate:"omitempty,url"`
	Plan    string            `json:"plan" validate:"oneof=free pro"`
	Tags    []string          `json:"tags,omitempty" validate:"max=3,dive,alpha"`
	Labels  map[string]string `json:"labels,omitempty" validate:"dive,max=8"`
	Address *Address          `json:"address,omitempty"`
	Host    string            `json:"host,omitempty" validate:"omitempty,hostname"`
	IP      string            `json:"ip,omitempty" validate:"omitempty,ip"`
	Code    string            `json:"code,omitempty" validate:"omitempty,alphanum,len=4"`
	Amount  string            `json:"amount,omitempty" validate:"omitempty,numeric"`
	Born    string            `json:"born,omitempty" validate:"omitempty,datetime=2006-01-02"`
	Agreed  bool              `json:"agreed" validate:"required"`
}

// Address is where an account lives.
type Address struct {
	Street  string `json:"street" validate:"required"`
	Country string `json:"country" validate:"len=2,alpha"`
}

// RegisterRequest has rules on every kind of parameter and in its body.
type RegisterRequest struct {
	Org    string   `path:"org" validate:"alphanum,max=10"`
	Invite string   `query:"invite" validate:"omitempty,len=8"`
	Limit  *int     `query:"limit" validate:"omitempty,min=1,max=10"`
	Token  string   `header:"X-Token" validate:"required"`
	Tags   []string `query:"tag" validate:"dive,alpha"`
	Body   Account
}

// Register creates an account in an organization; the rules of its
// request are checked before it runs.
//
//futures:view POST /orgs/{org}/accounts status=201 errors=409
func Register(ctx context.Context, req RegisterRequest) (Account, error) {
	if req.Body.Email == "taken@example.com" {
		return Account{}, view.Error(http.StatusConflict, "the email is taken")
	}
	return req.Body, nil
}

// Tree contains itself: its rules are checked at every depth.
type Tree struct {
	Name string  `json:"name" validate:"required"`
	Kids []*Tree `json:"kids,omitempty" validate:"max=3,dive"`
}

// PutTree takes a tree, which must be there.
//
//futures:view PUT /trees
func PutTree(req struct {
	Tree *Tree `body:"json" validate:"required"`
}) (Tree, error) {
	return *req.Tree, nil
}

// Shapes holds a value of every form encoding/json gives a type, so that
// the contract test holds real JSON of each to the document: GetShapes
// writes one, and PutShapes takes it back.
type Shapes struct {
	Embedded
	*Extra
	Count   int64             `json:"count,string"`
	Raw     json.RawMessage   `json:"raw"`
	Bytes   []byte            `json:"bytes"`
	Wait    time.Duration     `json:"wait"`
	Page    List[Item]        `json:"page"`
	ByID    map[int]string    `json:"by_id"`
	Addr    netip.Addr        `json:"addr"`
	When    time.Time         `json:"when"`
	Later   *time.Time        `json:"later,omitzero"`
	None    []string          `json:"none"`
	Empty   map[string]string `json:"empty,omitempty"`
	Any     any               `json:"any"`
	Fixed   [2]bool           `json:"fixed"`
	Skipped string            `json:"-"`
	hidden  string
}

// Embedded is embedded in Shapes: its fields are promoted.
type Embedded struct {
	Kind string `json:"kind" validate:"oneof=round square"`
}

// Extra is embedded through a pointer: nil, its fields are absent.
type Extra struct {
	Note string `json:"note"`
}

// List is a generic page of items.
type List[T any] struct {
	Items []T  `json:"items"`
	More  bool `json:"more"`
}

// GetShapes answers one value of Shapes.
//
//futures:view GET /shapes
func GetShapes() (Shapes, error) {
	return Shapes{
		Embedded: Embedded{Kind: "round"}, Count: 1 << 40, Raw: json.RawMessage(`{"any":["json"]}`),
		Bytes: []byte("bytes"), Wait: 1500 * time.Millisecond,
		Page: List[Item]{Items: []Item{{Name: "a", Count: 1}}},
		ByID: map[int]string{-1: "minus one", 2: "two"}, Addr: netip.MustParseAddr("2001:db8::1"),
		When: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), Any: 3.5, Fixed: [2]bool{true, false},
		Skipped: "never sent", hidden: "never sent",
	}, nil
}

// PutShapes takes a value of Shapes back and answers it.
//
//futures:view PUT /shapes
func PutShapes(req struct {
	Body Shapes
}) (Shapes, error) {
	return req.Body, nil
}
