// Command migrate applies River's migrations, which runtime/durable needs,
// to a PostgreSQL database:
//
//	go run github.com/gofutures/futures/runtime/durable/cmd/migrate -database-url postgres://…
//
// The URL defaults to $DATABASE_URL; -schema puts River's tables in a
// schema other than the search_path's. Running it again changes nothing.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gofutures/futures/runtime/durable"
)

func main() {
	url := flag.String("database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL (default $DATABASE_URL)")
	schema := flag.String("schema", "", "schema for River's tables (default: the search_path's)")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "migrate: give -database-url or set DATABASE_URL")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	pool, err := pgxpool.New(ctx, *url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
	defer pool.Close()
	if err := durable.Migrate(ctx, pool, *schema); err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
	fmt.Println("River's migrations are applied")
}
