// Package cron gives periodic tasks their cron schedules: generated code
// of a task with //futures:task cron="…" sets taskloop.Spec.Cron to an
// Expr, which the task loop and runtime/durable (as a River periodic job)
// run on.
//
// Expressions are standard cron's five fields (minute, hour, day of month,
// month, day of week), or a descriptor (@yearly, @monthly, @weekly, @daily,
// @hourly, @every 1h30m), parsed by github.com/robfig/cron/v3, the parser
// River's documentation uses for periodic jobs. Times are in UTC, so that
// every process of a cluster reads an expression alike, unless it starts
// with CRON_TZ=Zone (an IANA zone name: CRON_TZ=Europe/Paris 0 9 * * *).
//
// Unlike the five core runtime packages, which import only the standard
// library, this one imports robfig/cron (which itself imports nothing
// outside it); only generated files of cron tasks import it.
package cron

import (
	"fmt"
	"strings"
	"sync"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// Expr is a cron expression, which is a taskloop.Schedule (and a River
// PeriodicSchedule). futuresgen checks the expressions it writes; Parse
// checks one by hand.
type Expr string

// Parse checks expr and returns it as an Expr, or an error saying what
// is wrong.
func Parse(expr string) (Expr, error) {
	if _, err := schedule(expr); err != nil {
		return "", err
	}
	return Expr(expr), nil
}

// Next returns the first time after t that e gives, or the zero time if
// e never fires again or does not parse. It is safe for concurrent use;
// each expression is parsed once.
func (e Expr) Next(t time.Time) time.Time {
	s, err := schedule(string(e))
	if err != nil {
		return time.Time{}
	}
	return s.Next(t)
}

// String returns the expression.
func (e Expr) String() string { return string(e) }

var parsed sync.Map // expression → robfig.Schedule

func schedule(expr string) (robfig.Schedule, error) {
	if s, ok := parsed.Load(expr); ok {
		return s.(robfig.Schedule), nil
	}
	text := strings.TrimSpace(expr)
	if text == "" {
		return nil, fmt.Errorf("cron: empty expression")
	}
	if !strings.HasPrefix(text, "CRON_TZ=") && !strings.HasPrefix(text, "TZ=") {
		// robfig/cron reads an expression in the process's local time zone;
		// a cluster's processes need one reading.
		text = "CRON_TZ=UTC " + text
	}
	s, err := robfig.ParseStandard(text)
	if err != nil {
		return nil, fmt.Errorf("cron: %q: %w", expr, err)
	}
	parsed.Store(expr, s)
	return s, nil
}
