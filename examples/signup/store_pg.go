package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PGStore keeps signups in PostgreSQL, where every process of the service
// (web servers and workers) sees the same ones.
type PGStore struct {
	pool  *pgxpool.Pool
	table string // schema-qualified and quoted
}

var _ Signups = (*PGStore)(nil)

// NewPGStore returns a store in the signups table of schema (or of the
// search_path's when ""), creating the table when it is missing.
func NewPGStore(ctx context.Context, pool *pgxpool.Pool, schema string) (*PGStore, error) {
	table := pgx.Identifier{"signups"}
	if schema != "" {
		table = pgx.Identifier{schema, "signups"}
	}
	s := &PGStore{pool: pool, table: table.Sanitize()}
	_, err := pool.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
		id           text PRIMARY KEY,
		email        text NOT NULL,
		name         text NOT NULL,
		state        text NOT NULL,
		created_at   timestamptz NOT NULL,
		confirmed_at timestamptz
	)`, s.table))
	if err != nil {
		return nil, fmt.Errorf("creating the signups table: %w", err)
	}
	_, err = pool.Exec(ctx, fmt.Sprintf(`CREATE UNIQUE INDEX IF NOT EXISTS signups_email ON %s (lower(email))`, s.table))
	if err != nil {
		return nil, fmt.Errorf("creating the signups index: %w", err)
	}
	return s, nil
}

// Add stores sg unless its email is taken.
func (s *PGStore) Add(ctx context.Context, sg Signup) (bool, error) {
	_, err := s.pool.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (id, email, name, state, created_at) VALUES ($1, $2, $3, $4, $5)`, s.table),
		sg.ID, sg.Email, sg.Name, sg.State, sg.CreatedAt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
		return false, nil
	}
	return err == nil, err
}

func (s *PGStore) columns() string {
	return "id, email, name, state, created_at, confirmed_at"
}

func scanSignup(row pgx.Row) (Signup, error) {
	var sg Signup
	err := row.Scan(&sg.ID, &sg.Email, &sg.Name, &sg.State, &sg.CreatedAt, &sg.ConfirmedAt)
	sg.URL = "/signups/" + sg.ID
	return sg, err
}

// Get returns the signup with id.
func (s *PGStore) Get(ctx context.Context, id string) (Signup, bool, error) {
	sg, err := scanSignup(s.pool.QueryRow(ctx, fmt.Sprintf(`SELECT %s FROM %s WHERE id = $1`, s.columns(), s.table), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Signup{}, false, nil
	}
	return sg, err == nil, err
}

// Confirm marks the signup with id as confirmed at t.
func (s *PGStore) Confirm(ctx context.Context, id string, t time.Time) error {
	_, err := s.pool.Exec(ctx, fmt.Sprintf(`UPDATE %s SET state = $2, confirmed_at = $3 WHERE id = $1`, s.table), id, Confirmed, t)
	return err
}

// DeleteBefore forgets the signups created before t.
func (s *PGStore) DeleteBefore(ctx context.Context, t time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, fmt.Sprintf(`DELETE FROM %s WHERE created_at < $1`, s.table), t)
	return int(tag.RowsAffected()), err
}

// List returns every signup, newest first (at most 1000).
func (s *PGStore) List(ctx context.Context) ([]Signup, error) {
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM %s ORDER BY created_at DESC LIMIT 1000`, s.columns(), s.table))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []Signup
	for rows.Next() {
		sg, err := scanSignup(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, sg)
	}
	return list, rows.Err()
}
