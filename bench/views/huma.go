package views

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// humaInput is UpdateRequest in huma's terms: the same tags and body.
type humaInput struct {
	Store  string `path:"store"`
	ID     int64  `path:"id"`
	DryRun bool   `query:"dry_run"`
	Limit  int    `query:"limit"`
	Token  string `header:"X-Token"`
	Body   Item
}

type humaOutput struct {
	Body Updated
}

// RegisterHuma registers the view with huma v2 on mux through its humago
// adapter (the standard library's ServeMux). With lean false it uses
// huma.DefaultConfig, as huma's documentation does, which adds a Link
// header and a "$schema" field to every JSON response; lean drops that
// transformer, so that both answers carry the same fields.
//
// Huma does more than the others in one respect: it validates the body
// against the JSON Schema it derives from Item (every field required,
// unknown fields refused) after unmarshalling it.
func RegisterHuma(mux *http.ServeMux, lean bool) huma.API {
	config := huma.DefaultConfig("bench", "1.0.0")
	if lean {
		config.CreateHooks = nil
	}
	api := humago.New(mux, config)
	huma.Register(api, huma.Operation{
		OperationID:  "update",
		Method:       http.MethodPut,
		Path:         "/stores/{store}/items/{id}",
		MaxBodyBytes: maxBody,
	}, func(ctx context.Context, in *humaInput) (*humaOutput, error) {
		req := UpdateRequest{Store: in.Store, ID: in.ID, DryRun: in.DryRun, Limit: in.Limit, Token: in.Token, Body: in.Body}
		out, err := update(&req)
		if err != nil {
			return nil, huma.Error401Unauthorized("no token")
		}
		return &humaOutput{Body: out}, nil
	})
	return api
}
