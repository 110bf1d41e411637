package taskloop

import "context"

// limiter counts the running attempts of one task with Spec.Limit, and
// holds those that wait for one of them to end, in the order they came.
// Guarded by the loop's mutex.
type limiter struct {
	running int
	waiting []*task
}

// The slot a task of a limited name holds while its attempt runs
// (task.slot).
const (
	noSlot   int8 = iota
	ownSlot       // counted in its limiter: released when the attempt ends
	borrowed      // run inline by a task of the same name, in its slot
)

// acquire reports whether t may start an attempt now, under its
// Spec.Limit. If not, t waits in its limiter, counted in the backlog,
// until an attempt of the same task ends and hands it its slot (see
// release); a task that a parent of the same name runs inline, while
// awaiting it or for want of room, takes its parent's slot, since the
// parent is blocked meanwhile, and waiting for a slot that the parent
// holds would never end. acquire reports false, having ended t, when t
// was cancelled or the loop stopped.
func (l *Loop) acquire(t, parent *task) bool {
	if t.spec.Limit <= 0 || t.slot == ownSlot {
		return true
	}
	if parent != nil && parent.slot != noSlot && parent.spec.Name == t.spec.Name {
		t.slot = borrowed
		return true
	}
	l.mu.Lock()
	lim := l.limits[t.spec.Name]
	if lim == nil {
		if l.limits == nil {
			l.limits = map[string]*limiter{}
		}
		lim = &limiter{}
		l.limits[t.spec.Name] = lim
	}
	switch {
	case lim.running < t.spec.Limit:
		lim.running++
		t.slot = ownSlot
		l.mu.Unlock()
		return true
	case l.stoppedFlag.Load():
		l.mu.Unlock()
		l.stopTask(t)
		return false
	case t.cancelled.Load():
		l.mu.Unlock()
		l.settle(t, context.Canceled)
		return false
	}
	lim.waiting = append(lim.waiting, t)
	l.backlog.Add(1)
	l.stats.queued.Add(1)
	l.mu.Unlock()
	// A task of the same name that awaits t may run it in its own slot
	// (see unparkFor): wake it to look again.
	t.signal()
	return false
}

// release ends t's hold on a slot after an attempt (or instead of one): an
// owned slot goes to the first task waiting for it, which is queued
// again, or back to the limiter.
func (l *Loop) release(t *task) {
	switch t.slot {
	case noSlot:
		return
	case borrowed:
		t.slot = noSlot
		return
	}
	t.slot = noSlot
	l.mu.Lock()
	lim := l.limits[t.spec.Name]
	if len(lim.waiting) == 0 {
		lim.running--
		l.mu.Unlock()
		return
	}
	next := lim.waiting[0]
	lim.waiting[0] = nil
	lim.waiting = lim.waiting[1:]
	next.slot = ownSlot
	l.mu.Unlock()
	// It stays in the backlog, where it took its place when it began to
	// wait, until a worker takes it from the queue.
	l.stats.queued.Add(-1)
	l.push(next)
}

// unparkFor takes t out of the tasks waiting for a slot of its limit, for
// parent to run it in its own slot, reporting whether it did: a parent
// that holds a slot of the same task and awaits t would otherwise wait for
// a slot that it holds itself.
func (l *Loop) unparkFor(t, parent *task) bool {
	if t.spec.Limit <= 0 || parent == nil || parent.slot == noSlot || parent.spec.Name != t.spec.Name {
		return false
	}
	l.mu.Lock()
	parked := l.unlimitLocked(t)
	l.mu.Unlock()
	if parked {
		l.leaveBacklog()
	}
	return parked
}

// unlimitLocked takes t out of its limiter's waiting list, reporting whether it
// was there. l.mu is held.
func (l *Loop) unlimitLocked(t *task) bool {
	lim := l.limits[t.spec.Name]
	if lim == nil {
		return false
	}
	for i, w := range lim.waiting {
		if w == t {
			lim.waiting = append(lim.waiting[:i], lim.waiting[i+1:]...)
			l.stats.queued.Add(-1)
			return true
		}
	}
	return false
}

// takeLimitedLocked empties every limiter's waiting list, for a hard
// stop. l.mu is held.
func (l *Loop) takeLimitedLocked() []*task {
	var out []*task
	for _, lim := range l.limits {
		out = append(out, lim.waiting...)
		l.stats.queued.Add(-int64(len(lim.waiting)))
		lim.waiting = nil
	}
	return out
}
