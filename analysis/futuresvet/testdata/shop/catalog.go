// Package shop has the views that freshclient and staleclient call. // want package:"1 view"
package shop

import "context"

// Item is an item of the shop.
type Item struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// GetItem answers one item.
//
//futures:view GET /items/{id}
func GetItem(ctx context.Context, req struct {
	ID int64 `path:"id"`
}) (Item, error) {
	return Item{ID: req.ID}, nil
}
