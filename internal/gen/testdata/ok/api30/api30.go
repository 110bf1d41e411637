// Package api30 asks for the OpenAPI 3.0.3 form of its document, for tools
// that read only 3.0: nullable instead of a "null" type, references
// wrapped in allOf to take keywords, boolean exclusive bounds, and base64
// strings as format byte.
//
//futures:api title=Notes version=0.3.0 openapi=3.0 out=notes.json description="Notes, in OpenAPI 3.0."
package api30

import (
	"context"
	"time"
)

// Kind is the kind of a note.
type Kind string

// Note is a note.
type Note struct {
	ID      int64      `json:"id"`
	Kind    Kind       `json:"kind" validate:"required,oneof=text list"`
	Text    *string    `json:"text" validate:"omitempty,max=500"`
	Rating  float32    `json:"rating" validate:"gt=0,lt=5"`
	Parent  *Note      `json:"parent,omitempty"`
	Next    *Note      `json:"next"`
	Data    []byte     `json:"data"`
	Items   []*Item    `json:"items" validate:"dive,required"`
	Seen    *time.Time `json:"seen"`
	Created time.Time  `json:"created"`
}

// Item is an item of a list note.
type Item struct {
	// Label is what the item says.
	Label string `json:"label" validate:"required"`
	Done  bool   `json:"done"`
}

// GetNote returns a note.
//
//futures:view GET /notes/{id} errors=404
func GetNote(ctx context.Context, req struct {
	ID int64 `path:"id" validate:"gte=1"`
}) (Note, error) {
	return Note{}, nil
}

// PutNote replaces a note.
//
//futures:view PUT /notes/{id}
func PutNote(ctx context.Context, req struct {
	ID   int64 `path:"id"`
	Body Note
}) error {
	return nil
}
