package taskloop

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Definition describes one task to a Registrar. Generated Register…Tasks
// functions pass one for every task of a package.
type Definition struct {
	// Spec is the task's name and how to run it.
	Spec Spec
	// Run runs the task once with no arguments. It is set for periodic
	// tasks (Spec.Every > 0 or Spec.Cron set), whose schedules the
	// registrar starts, and nil
	// for tasks that only callers start.
	Run func(ctx context.Context) error
	// RunJSON runs the task once with its arguments encoded as JSON (as
	// AsyncDurable encodes them). It is set for durable tasks, which a
	// durable backend runs in whichever process takes the job.
	RunJSON func(ctx context.Context, args []byte) error
}

// Registrar accepts task definitions. *Loop is one: it knows every task by
// name and runs the periodic ones. Durable backends are others.
type Registrar interface {
	// Register adds defs; it fails for a name registered before.
	Register(defs ...Definition) error
}

var _ Registrar = (*Loop)(nil)

// Register adds task definitions to the loop. The schedules of periodic
// definitions (Spec.Every > 0 or Spec.Cron, and Run set) start now if the loop runs, else
// at Start, and end at Shutdown. With a backend, durable definitions go to
// the backend too, and their schedules run there (once across all
// processes) instead of here. Register fails, adding none of defs, when a
// name is empty or already registered, or when Shutdown has begun.
func (l *Loop) Register(defs ...Definition) error {
	l.mu.Lock()
	if l.state == closing {
		l.mu.Unlock()
		return ErrClosed
	}
	var problems []error
	names := map[string]bool{}
	for _, d := range defs {
		switch {
		case d.Spec.Name == "":
			problems = append(problems, errors.New("taskloop: Register: a definition has no name"))
		case names[d.Spec.Name] || l.defs[d.Spec.Name] != nil:
			problems = append(problems, fmt.Errorf("taskloop: Register: task %s is already registered", d.Spec.Name))
		case d.Spec.periodic() && d.Run == nil:
			problems = append(problems, fmt.Errorf("taskloop: Register: periodic task %s has no Run function", d.Spec.Name))
		case d.Spec.Every <= 0 && d.Spec.Cron != nil && d.Spec.Cron.Next(time.Now()).IsZero():
			problems = append(problems, fmt.Errorf("taskloop: Register: the cron schedule of task %s never fires (or does not parse)", d.Spec.Name))
		case d.Spec.Durable && d.RunJSON == nil:
			problems = append(problems, fmt.Errorf("taskloop: Register: durable task %s has no RunJSON function", d.Spec.Name))
		}
		names[d.Spec.Name] = true
	}
	if len(problems) > 0 {
		l.mu.Unlock()
		return errors.Join(problems...)
	}
	backend := l.opts.Backend
	var durable []Definition
	for _, d := range defs {
		if d.Spec.Durable {
			durable = append(durable, d)
		}
	}
	if backend != nil && len(durable) > 0 {
		if err := backend.Register(durable...); err != nil {
			l.mu.Unlock()
			return err
		}
	}
	if backend == nil && len(durable) > 0 && !l.opts.DurableJSON {
		l.warnNotDurable.Do(func() {
			l.opts.Logger.Info("durable tasks run in this process: a job is lost if the process stops before it ends; give the loop a backend (runtime/durable) to make them durable",
				"task", durable[0].Spec.Name)
		})
	}
	if l.defs == nil {
		l.defs = map[string]*Definition{}
	}
	var start []*Definition
	for _, d := range defs {
		d := d
		l.defs[d.Spec.Name] = &d
		if d.Spec.periodic() && !(d.Spec.Durable && backend != nil) {
			if l.state == started || l.manual {
				start = append(start, &d)
			} else {
				l.unstarted = append(l.unstarted, &d)
			}
		}
	}
	ctx := l.baseCtx
	l.mu.Unlock()
	for _, d := range start {
		l.startSchedule(ctx, d)
	}
	return nil
}

// startSchedule starts a periodic definition's schedule. A schedule is
// part of the program, not of its load: it takes its place in the queue
// even past the bound, never refused for room.
func (l *Loop) startSchedule(ctx context.Context, d *Definition) {
	f := submitUntracked(ctx, l, d.Spec, true, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, d.Run(ctx)
	})
	notifySubmitted(ctx, l, d.Spec, any(nil), false, false, f)
}

// Definitions returns the registered definitions, sorted by name.
func (l *Loop) Definitions() []Definition {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Definition, 0, len(l.defs))
	for _, d := range l.defs {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b Definition) int { return cmp.Compare(a.Spec.Name, b.Spec.Name) })
	return out
}

// RegisterOn registers with r the method tasks that defs make for recv.
// Generated Register<Type>Tasks functions call it.
func RegisterOn[R any](r Registrar, recv R, defs []func(R) Definition) error {
	out := make([]Definition, len(defs))
	for i, def := range defs {
		out[i] = def(recv)
	}
	return r.Register(out...)
}
