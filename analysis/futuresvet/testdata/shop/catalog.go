// Package shop has the views that freshclient and staleclient call. // want package:"2 view"
package shop

import (
	"context"

	"github.com/gofutures/futures/runtime/socket"
)

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

// Live sends the shop's news to a client that says hello.
//
//futures:socket GET /live
func Live(ctx context.Context, conn *socket.Conn[string, Item]) error {
	return nil
}
