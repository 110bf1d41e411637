package gen

import (
	"errors"
	"fmt"
	"go/types"
	"strings"
	"time"
	"unicode"

	"github.com/gofutures/futures/runtime/cron"
	"github.com/gofutures/futures/runtime/taskloop"
)

// The task options that map River's controls: unique=, priority=, cron=,
// limit=. Their values have a grammar of their own, checked here with
// the column of each problem inside the value.

// uniqueOpt is a checked unique= option: River's UniqueOpts.
type uniqueOpt struct {
	byArgs, byQueue bool
	period          time.Duration
	states          []string
}

// optionNamed returns d's option key, or nil.
func optionNamed(d *decl, key string) *option {
	for i := range d.dir.options {
		if d.dir.options[i].key == key {
			return &d.dir.options[i]
		}
	}
	return nil
}

// valueOffset is the offset in the directive line of byte i of o's value:
// inside a quoted value, past the quote, when the quotes hold the value
// as it is (no escapes); at the value's start otherwise.
func valueOffset(d *decl, o *option, i int) int {
	raw := d.line.Text[o.valueOff:]
	switch {
	case !strings.HasPrefix(raw, `"`) && !strings.HasPrefix(raw, "`"):
		return o.valueOff + i
	case strings.HasPrefix(raw[1:], o.value+raw[:1]):
		return o.valueOff + 1 + i
	}
	return o.valueOff
}

// parseUnique reads unique=ITEM,ITEM…: args, queue, period=DURATION and
// states=S1|S2…, each at most once.
func parseUnique(d *decl, o *option, e *errs) (*uniqueOpt, bool) {
	u := &uniqueOpt{}
	ok := true
	seen := map[string]bool{}
	off := 0
	for item := range strings.SplitSeq(o.value, ",") {
		at := d.at(valueOffset(d, o, off))
		off += len(item) + 1
		key, val, hasVal := strings.Cut(item, "=")
		bad := func(format string, args ...any) {
			e.add(at, "unique=%s: "+format, append([]any{o.value}, args...)...)
			ok = false
		}
		if seen[key] && key != "" {
			bad("%s is there twice", key)
			continue
		}
		seen[key] = true
		switch {
		case key == "args" && !hasVal:
			u.byArgs = true
		case key == "queue" && !hasVal:
			u.byQueue = true
		case key == "period" && hasVal:
			p, err := time.ParseDuration(val)
			if err != nil || p <= 0 {
				bad("period wants a positive duration such as 1h or 30m, not %q", val)
				continue
			}
			u.period = p
		case key == "states" && hasVal:
			u.states = strings.Split(val, "|")
			if err := taskloop.CheckStates(u.states); err != nil {
				bad("%v", err)
			}
		default:
			msg := fmt.Sprintf("unknown item %q", item)
			if item == "" {
				msg = "an empty item"
			}
			bad("%s; unique= takes args, queue, period=DURATION and states=STATE|STATE…, separated by commas (River's UniqueOpts)", msg)
		}
	}
	return u, ok
}

// cronFields names the five fields of a cron expression.
var cronFields = []string{"minute", "hour", "day of month", "month", "day of week"}

// checkCron checks a cron= expression with runtime/cron, which generated
// code gives it to, and reports a problem at the column of the field that
// causes it.
func checkCron(d *decl, o *option, e *errs) bool {
	expr := o.value
	_, err := cron.Parse(expr)
	if err == nil {
		if cron.Expr(expr).Next(time.Now()).IsZero() {
			e.add(d.at(valueOffset(d, o, 0)), "cron=%q never fires: no date matches it", expr)
			return false
		}
		return true
	}
	cause := err.Error()
	if u := errors.Unwrap(err); u != nil {
		cause = u.Error()
	}
	type field struct {
		text string
		off  int
	}
	var fields []field
	start := -1
	for i, r := range expr + " " {
		switch {
		case unicode.IsSpace(r) && start >= 0:
			fields = append(fields, field{expr[start:i], start})
			start = -1
		case !unicode.IsSpace(r) && start < 0:
			start = i
		}
	}
	tz := len(fields) > 0 && (strings.HasPrefix(fields[0].text, "CRON_TZ=") || strings.HasPrefix(fields[0].text, "TZ="))
	rest := fields
	if tz {
		rest = fields[1:]
	}
	at := func(i int) *Error { return e.add(d.at(valueOffset(d, o, i)), "%s", "") }
	switch {
	case len(rest) > 0 && strings.HasPrefix(rest[0].text, "@"):
		at(rest[0].off).Msg = fmt.Sprintf("cron=%q: %s; descriptors are @yearly, @monthly, @weekly, @daily, @hourly and @every DURATION", expr, cause)
		return false
	case len(rest) != len(cronFields):
		at(0).Msg = fmt.Sprintf("cron=%q has %d fields; want 5 (minute hour day-of-month month day-of-week) or a descriptor such as @hourly", expr, len(rest))
		return false
	}
	// The field at fault is the one whose replacement by * makes the
	// expression parse; the parser's own message says why.
	for i := range fields {
		alt := make([]string, len(fields))
		for j, f := range fields {
			alt[j] = f.text
		}
		name := "time zone"
		if tz && i == 0 {
			alt[i] = "CRON_TZ=UTC"
		} else {
			alt[i] = "*"
			name = cronFields[i-len(fields)+len(cronFields)]
		}
		if _, err := cron.Parse(strings.Join(alt, " ")); err == nil {
			at(fields[i].off).Msg = fmt.Sprintf("cron=%q: bad %s %q: %s", expr, name, fields[i].text, cause)
			return false
		}
	}
	at(0).Msg = fmt.Sprintf("cron=%q: %s", expr, cause)
	return false
}

// checkControls checks unique=, priority=, cron= and limit= on t, whose
// other options are set, and fills them in.
func checkControls(d *decl, t *task, opts optionSet, q types.Qualifier, e *errs) bool {
	ok := true
	fnName := d.fn.Name.Name
	if o := optionNamed(d, "priority"); o != nil && opts["priority"].set {
		switch n := opts["priority"].n; {
		case n < 1 || n > 4:
			e.add(d.at(o.valueOff), "priority wants 1 (first) to 4 (last), River's priorities, not %s", o.value)
			ok = false
		case !t.durable:
			uselessOption(d, "priority", e, "the in-process loop runs tasks in the order they become ready; priorities order a durable backend's jobs: mark the task durable, or remove priority")
			ok = false
		default:
			t.priority = int(n)
		}
	}
	if o := optionNamed(d, "limit"); o != nil && opts["limit"].set {
		switch n := opts["limit"].n; {
		case n < 1:
			e.add(d.at(o.valueOff), "limit wants an integer ≥ 1, how many may run at once, not %s", o.value)
			ok = false
		default:
			t.limit = int(n)
		}
	}
	if o := optionNamed(d, "cron"); o != nil && opts["cron"].set {
		switch {
		case opts["every"].set:
			e.add(d.at(o.off), "%s has both cron and every: choose one schedule", fnName)
			ok = false
		case opts["delay"].set:
			uselessOption(d, "delay", e, "the cron schedule says when it runs: remove delay")
			ok = false
		case !checkCron(d, o, e):
			ok = false
		default:
			t.cron = o.value
		}
		if len(t.params) > 0 {
			e.add(t.params[0].Pos(), "%s runs on a cron schedule, so nothing can pass it arguments: a periodic task takes at most a context.Context", fnName)
			ok = false
		}
	}
	periodic := t.every > 0 || t.cron != ""
	if periodic && !t.durable && t.limit > 0 {
		uselessOption(d, "limit", e, "the runs of a periodic task never overlap on the loop: remove limit, or mark the task durable to limit its runs on each worker")
		ok = false
	}
	if o := optionNamed(d, "unique"); o != nil && opts["unique"].set {
		u, good := parseUnique(d, o, e)
		ok = ok && good
		switch {
		case !good:
		case periodic && !t.durable:
			uselessOption(d, "unique", e, "the runs of a periodic task never overlap on the loop: remove unique, or mark the task durable to keep River from storing a run while one waits")
			ok = false
		case u.byArgs && len(t.params) == 0:
			e.add(d.at(valueOffset(d, o, strings.Index(o.value, "args"))), "unique=%s: %s takes no arguments, so args tells no two tasks apart: remove args", o.value, fnName)
			ok = false
		default:
			t.unique = u
		}
		if good && u.byArgs && !t.durable {
			// The key of a task is its arguments as JSON.
			for _, p := range t.params {
				if msg := jsonCheck(p.Type(), map[types.Type]bool{}, paramLabel(p, q), q, false); msg != "" {
					e.add(p.Pos(), "unique task %s: %s (unique=args tells tasks apart by their arguments as JSON)", fnName, msg)
					ok = false
				}
			}
		}
	}
	return ok
}

// String is the unique= value, normalized.
func (u *uniqueOpt) String() string {
	var parts []string
	if u.byArgs {
		parts = append(parts, "args")
	}
	if u.byQueue {
		parts = append(parts, "queue")
	}
	if u.period > 0 {
		parts = append(parts, "period="+u.period.String())
	}
	if u.states != nil {
		parts = append(parts, "states="+strings.Join(u.states, "|"))
	}
	return strings.Join(parts, ",")
}
