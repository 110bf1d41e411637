package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gofutures/futures/internal/testkit"
)

// databaseURL returns the test database, or skips (fails under
// FUTURES_REQUIRE_DATABASE=1) when there is none.
func databaseURL(t *testing.T) string {
	url := os.Getenv("FUTURES_TEST_DATABASE_URL")
	if url == "" {
		msg := "set FUTURES_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL test of the signup example"
		if os.Getenv("FUTURES_REQUIRE_DATABASE") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return url
}

// TestDurable runs the example as two processes would, in one test: a web
// server that only stores jobs (-insert-only) and a worker (-worker), on
// PostgreSQL in a schema of the test's own. A signup made on the web
// server is confirmed by the worker.
func TestDurable(t *testing.T) {
	url := databaseURL(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var b [4]byte
	rand.Read(b[:])
	schema := "signup_" + hex.EncodeToString(b[:])
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })

	start := func(name string, extra ...string) (stop func()) {
		runCtx, cancel := context.WithCancel(ctx)
		ready := make(chan string, 1)
		done := make(chan error, 1)
		var logs testkit.SyncBuffer
		args := append([]string{"-addr", "127.0.0.1:0", "-mail-delay", "10ms", "-database-url", url, "-schema", schema}, extra...)
		go func() { done <- run(runCtx, args, io.Discard, &logs, func(_ *Service, u string) { ready <- u }) }()
		select {
		case u := <-ready:
			if name == "web" {
				webURL = u
			}
		case err := <-done:
			t.Fatalf("%s: %v\n%s", name, err, logs.String())
		case <-time.After(20 * time.Second):
			t.Fatalf("%s did not start within 20s\n%s", name, logs.String())
		}
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s returned %v\n%s", name, err, logs.String())
			}
		}
	}
	stopWeb := start("web", "-insert-only")
	defer stopWeb()

	resp, body := do(t, "POST", webURL+"signups", `{"email":"grace@example.com","name":"Grace"}`, "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /signups: %s %s", resp.Status, body)
	}
	sg := decode(t, body)
	// With no worker yet, the job waits in PostgreSQL: still pending.
	time.Sleep(200 * time.Millisecond)
	if got, _, err := (&PGStore{pool: pool, table: pgx.Identifier{schema, "signups"}.Sanitize()}).Get(ctx, sg.ID); err != nil || got.State != Pending {
		t.Fatalf("before any worker: %+v, %v; want pending", got, err)
	}

	stopWorker := start("worker", "-worker")
	defer stopWorker()
	waitConfirmed(t, webURL+strings.TrimPrefix(sg.URL, "/"))
}

var webURL string
