// Package e2eapp is a service as a user writes one, for the tests of
// package telemetry: a view that schedules an after-response task, which
// stores a durable job, which a worker process runs. Nothing here knows of
// OpenTelemetry.
package e2eapp

import (
	"context"
	"errors"
	"log/slog"
)

// PlaceRequest is PlaceOrder's request.
type PlaceRequest struct {
	ID string `path:"id"`
}

// Placed is PlaceOrder's answer: the order, and that its confirmation
// is on its way.
type Placed struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// PlaceOrder accepts an order at once; it is confirmed after the response.
//
//futures:view POST /orders/{id} status=202
func PlaceOrder(ctx context.Context, req PlaceRequest) (Placed, error) {
	slog.InfoContext(ctx, "placing an order", "order", req.ID)
	ConfirmLater(ctx, req.ID)
	return Placed{ID: req.ID, Status: "confirming"}, nil
}

// Confirm confirms an order after its response: it stores the shipment as
// a durable job, for whichever process works them.
//
//futures:task
func Confirm(ctx context.Context, id string) error {
	if id == "fail" {
		slog.WarnContext(ctx, "cannot confirm", "order", id)
		return errors.New("order cannot be confirmed")
	}
	_, err := ShipAsync(ctx, Shipment{Order: id}).Await(ctx)
	return err
}

// Shipment is a durable job's arguments.
type Shipment struct {
	Order string `json:"order"`
}

// OnShip, when set, is told of each shipment that Ship handles.
var OnShip func(ctx context.Context, s Shipment)

// Ship ships an order, in whichever process works its job.
//
//futures:task durable
func Ship(ctx context.Context, s Shipment) error {
	slog.InfoContext(ctx, "shipping", "order", s.Order)
	if OnShip != nil {
		OnShip(ctx, s)
	}
	return nil
}

// The tasks' names, as futuresgen names them.
const (
	ConfirmName = "github.com/gofutures/futures/runtime/telemetry/internal/e2eapp.Confirm"
	ShipName    = "github.com/gofutures/futures/runtime/telemetry/internal/e2eapp.Ship"
)
