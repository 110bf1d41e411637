// Package notes is a small API whose OpenAPI document futuresgen writes in
// OpenAPI 3.0.3's form (openapi=3.0), for the tools that read only 3.0:
// package client is what oapi-codegen generates from it.
//
//futures:api title=Notes version=1.0.0 openapi=3.0 servers=http://localhost:8080
package notes

//go:generate go tool futuresgen

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gofutures/futures/runtime/view"
)

// Note is a stored note.
type Note struct {
	ID       int64     `json:"id"`
	Title    string    `json:"title"`
	Text     string    `json:"text,omitempty"`
	Tags     []string  `json:"tags"`
	Priority int       `json:"priority"`
	Author   string    `json:"author"`
	Created  time.Time `json:"created"`
	Due      *Date     `json:"due,omitempty"`
}

// Date is a day.
type Date struct {
	Year  int `json:"year" validate:"gte=1900,lte=2200"`
	Month int `json:"month" validate:"min=1,max=12"`
	Day   int `json:"day" validate:"min=1,max=31"`
}

// NoteInput is what a client sends to create or replace a note.
type NoteInput struct {
	// Title says what the note is about.
	Title    string   `json:"title" validate:"required,max=80"`
	Text     string   `json:"text,omitempty" validate:"max=2000"`
	Tags     []string `json:"tags,omitempty" validate:"max=5,dive,alphanum,max=20"`
	Priority int      `json:"priority,omitempty" validate:"omitempty,oneof=1 2 3"`
	Due      *Date    `json:"due,omitempty"`
}

// Store keeps notes in memory. It is safe for concurrent use.
type Store struct {
	mu    sync.Mutex
	next  int64
	notes map[int64]Note
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{notes: map[int64]Note{}} }

// CreateRequest creates a note.
type CreateRequest struct {
	Author string `header:"X-Author" validate:"required,max=40"`
	Body   NoteInput
}

// Create stores a new note.
//
//futures:view POST /notes status=201
func (s *Store) Create(ctx context.Context, req CreateRequest) (Note, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	n := note(s.next, req.Author, req.Body)
	s.notes[n.ID] = n
	return n, nil
}

func note(id int64, author string, in NoteInput) Note {
	tags := in.Tags
	if tags == nil {
		tags = []string{}
	}
	return Note{
		ID: id, Title: in.Title, Text: in.Text, Tags: tags, Priority: cmp.Or(in.Priority, 2),
		Author: author, Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Due: in.Due,
	}
}

// IDRequest names a note.
type IDRequest struct {
	ID int64 `path:"id" validate:"gte=1"`
}

// Get returns a note.
//
//futures:view GET /notes/{id} errors=404
func (s *Store) Get(ctx context.Context, req IDRequest) (Note, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.notes[req.ID]
	if !ok {
		return Note{}, view.Error(http.StatusNotFound, fmt.Sprintf("no note %d", req.ID))
	}
	return n, nil
}

// ListRequest filters and pages the notes.
type ListRequest struct {
	Tags  []string `query:"tag" validate:"max=3,dive,alphanum"`
	Limit int      `query:"limit" validate:"omitempty,min=1,max=100"`
}

// List returns the notes that have every tag asked for, oldest first.
//
//futures:view GET /notes
func (s *Store) List(ctx context.Context, req ListRequest) ([]Note, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Note{}
	for _, n := range s.notes {
		if !slices.ContainsFunc(req.Tags, func(t string) bool { return !slices.Contains(n.Tags, t) }) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b Note) int { return cmp.Compare(a.ID, b.ID) })
	if req.Limit > 0 && len(out) > req.Limit {
		out = out[:req.Limit]
	}
	return out, nil
}

// Delete forgets a note.
//
//futures:view DELETE /notes/{id} errors=404
func (s *Store) Delete(ctx context.Context, req IDRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.notes[req.ID]; !ok {
		return view.Error(http.StatusNotFound, fmt.Sprintf("no note %d", req.ID))
	}
	delete(s.notes, req.ID)
	return nil
}
