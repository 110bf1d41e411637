// Package apidoc has a good //futures:api directive, but views that its
// document cannot describe, and names that clash with what it generates.
//
//futures:api version=1.0.0
package apidoc

import "context"

// OpenAPI is declared by the package, so the generated one would clash.
func OpenAPI() {}

type Item struct{}

// One and Two are the same path to OpenAPI.
//
//futures:view GET /items/{id}
func One(ctx context.Context, req struct {
	ID string `path:"id"`
}) (Item, error) {
	return Item{}, nil
}

//futures:view DELETE /items/{key}
func Two(ctx context.Context, req struct {
	Key string `path:"key"`
}) error {
	return nil
}

type Shop struct{}

// Shop_Show's operationId is that of Shop.List.
//
//futures:view GET /shop/show
func Shop_List2() error { return nil }

//futures:view GET /shop/list2
func (s *Shop) List2() error { return nil }
