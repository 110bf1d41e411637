// Package pgtest gives tests and benchmarks of runtime/durable a PostgreSQL
// schema of their own, with River's tables in it, dropped when they end.
//
// The database comes from FUTURES_TEST_DATABASE_URL. When it is unset, the
// test is skipped with a message saying how to run it, unless
// FUTURES_REQUIRE_DATABASE=1 (as in CI), where the skip is a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gofutures/futures/runtime/durable"
)

// URLVar and RequireVar are the environment variables that name the test
// database and make its absence a failure.
const (
	URLVar     = "FUTURES_TEST_DATABASE_URL"
	RequireVar = "FUTURES_REQUIRE_DATABASE"
)

// skipMessage says how to run what was skipped.
const skipMessage = URLVar + " is not set: to run the PostgreSQL tests, start PostgreSQL " +
	"(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) and run " +
	URLVar + "='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test ./runtime/durable/..." +
	" (" + RequireVar + "=1 turns this skip into a failure)"

// URL returns the test database's URL, or skips tb (fails it under
// FUTURES_REQUIRE_DATABASE=1) when there is none.
func URL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(URLVar)
	if url == "" {
		if os.Getenv(RequireVar) == "1" {
			tb.Fatal(skipMessage)
		}
		tb.Skip(skipMessage)
	}
	return url
}

// DB is a schema of the test database that holds River's tables, for one
// test.
type DB struct {
	URL    string        // the database's URL
	Schema string        // the test's schema, t_ and random hex
	Pool   *pgxpool.Pool // a pool on the database, closed when the test ends
	tb     testing.TB
}

// New connects to the test database, creates a schema named t_<random> with
// River's migrations applied (durable.Migrate), and registers its removal
// (DROP SCHEMA … CASCADE) and the pool's closing for the end of tb.
// Cleanups run last in, first out: whatever a test starts after New (River
// clients, loops, worker processes) is stopped before the pool closes and
// the schema goes.
func New(tb testing.TB) *DB {
	tb.Helper()
	db := &DB{URL: URL(tb), Schema: NewSchemaName(), tb: tb}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		tb.Fatalf("pgtest: connecting to %s=%s: %v", URLVar, db.URL, err)
	}
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+db.Schema)
	conn.Close(ctx)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() { dropSchema(tb, db.URL, db.Schema) })
	db.Pool = db.NewPool(10)
	if err := durable.Migrate(ctx, db.Pool, db.Schema); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return db
}

// NewSchemaName returns a fresh schema name: t_ and 12 random hex digits.
func NewSchemaName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t_" + hex.EncodeToString(b[:])
}

// NewPool returns another pool on the test database, of at most maxConns
// connections, closed when the test ends (before the schema is dropped).
// Separate pools stand for separate processes.
func (db *DB) NewPool(maxConns int32) *pgxpool.Pool {
	db.tb.Helper()
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		db.tb.Fatalf("pgtest: %v", err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		db.tb.Fatalf("pgtest: %v", err)
	}
	db.tb.Cleanup(pool.Close)
	return pool
}

// Table returns name qualified with the test's schema.
func (db *DB) Table(name string) string { return db.Schema + "." + name }

// Exec runs sql on the pool and fails the test on an error.
func (db *DB) Exec(sql string, args ...any) {
	db.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
		db.tb.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// Int runs a query that returns one integer and fails the test on an error.
func (db *DB) Int(sql string, args ...any) int64 {
	db.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int64
	if err := db.Pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		db.tb.Fatalf("pgtest: %s: %v", sql, err)
	}
	return n
}

func dropSchema(tb testing.TB, url, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Errorf("pgtest: dropping schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("DROP SCHEMA %s CASCADE", schema)); err != nil {
		tb.Errorf("pgtest: dropping schema %s: %v", schema, err)
	}
}
