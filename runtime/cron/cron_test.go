package cron_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/cron"
)

func ExampleExpr() {
	every5 := cron.Expr("*/5 * * * *")
	from := time.Date(2026, 3, 1, 10, 2, 30, 0, time.UTC)
	fmt.Println(every5.Next(from))
	fmt.Println(cron.Expr("@hourly").Next(from))
	fmt.Println(cron.Expr("CRON_TZ=Europe/Paris 0 9 * * *").Next(from).UTC())
	// Output:
	// 2026-03-01 10:05:00 +0000 UTC
	// 2026-03-01 11:00:00 +0000 UTC
	// 2026-03-02 08:00:00 +0000 UTC
}

func TestParse(t *testing.T) {
	for _, bad := range []string{"", "* * * *", "61 * * * *", "* * * * * *", "@fortnightly", "CRON_TZ=Nowhere/Else * * * * *"} {
		if _, err := cron.Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded; want an error", bad)
		}
		if next := cron.Expr(bad).Next(time.Now()); !next.IsZero() {
			t.Errorf("Expr(%q).Next = %v; want the zero time", bad, next)
		}
	}
	for _, good := range []string{"*/5 * * * *", "0 9 * * MON-FRI", "@daily", "@every 1h30m", "TZ=America/New_York 30 8 1 * *"} {
		if _, err := cron.Parse(good); err != nil {
			t.Errorf("Parse(%q): %v", good, err)
		}
	}
}

// TestUTC: an expression without a zone reads in UTC whatever the
// process's local zone, so that a cluster's processes agree.
func TestUTC(t *testing.T) {
	local := time.Local
	t.Cleanup(func() { time.Local = local })
	time.Local = time.FixedZone("UTC+5", 5*3600)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if got, want := cron.Expr("0 9 * * *").Next(from).UTC(), time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Next = %v; want %v", got, want)
	}
}
