package taskloop

import (
	"fmt"
	"time"
)

// after puts t, counted in the backlog, on the timer heap, due in d.
func (l *Loop) after(t *task, d time.Duration) {
	l.mu.Lock()
	switch {
	case l.stoppedFlag.Load():
		l.mu.Unlock()
		l.leaveBacklog()
		l.stopTask(t)
		return
	case l.state == closing && t.endsAtShutdown():
		l.mu.Unlock()
		l.leaveBacklog()
		l.endAtShutdown(t)
		return
	case t.cancelled.Load():
		// Future.Cancel came after the worker decided to wait but before t
		// was on the heap, where cancel would have found it; cancel sets
		// the flag before it takes l.mu, so one of the two sees the other.
		l.mu.Unlock()
		l.leaveBacklog()
		l.endCancelled(t)
		return
	}
	t.state.Store(taskIdle)
	l.timers.push(timerEntry{at: int64(time.Since(l.epoch) + d), seq: l.timerSeq, t: t})
	l.timerSeq++
	l.stats.waiting.Add(1)
	if t.hi == 1 {
		l.armLocked(d)
	}
	l.mu.Unlock()
}

// armLocked sets the loop's one timer to fire in d.
func (l *Loop) armLocked(d time.Duration) {
	if l.timer == nil {
		l.timer = time.AfterFunc(d, l.fire)
		return
	}
	l.timer.Reset(d)
}

// fire moves every due task from the timer heap to the queue, in the order
// they fell due, and sets the timer for the next one. It runs in the
// timer's goroutine; push never waits, so that goroutine is the only one,
// whatever falls due at once (firing holds fireMu, so that a second fire,
// of a timer reset meanwhile, queues its tasks after the first's).
func (l *Loop) fire() {
	l.fireMu.Lock()
	defer l.fireMu.Unlock()
	l.mu.Lock()
	now := int64(time.Since(l.epoch))
	var due []*task
	for len(l.timers) > 0 && l.timers[0].at <= now {
		t := l.timers[0].t
		l.timers.remove(t)
		due = append(due, t)
	}
	if len(l.timers) > 0 {
		l.armLocked(time.Duration(l.timers[0].at - now))
	}
	l.stats.waiting.Add(-int64(len(due)))
	l.mu.Unlock()
	for _, t := range due {
		l.push(t)
	}
}

func (l *Loop) endAtShutdown(t *task) {
	if t.periodic() {
		l.settle(t, nil)
		return
	}
	err := fmt.Errorf("did not start: %w", ErrStopped)
	if l.settleCounting(t, err, &l.notStarted) {
		l.stats.stopped.Add(1)
		l.dropped(t, t, "task not run", err)
	}
}

// unwait takes t off the timer heap, or out of the tasks waiting for a
// slot of its limit, reporting whether it was there.
func (l *Loop) unwait(t *task) bool {
	l.mu.Lock()
	if t.hi == 0 {
		// Or in the waiting list of its Spec.Limit.
		parked := t.spec.Limit > 0 && l.unlimitLocked(t)
		l.mu.Unlock()
		if parked {
			l.leaveBacklog()
		}
		return parked
	}
	l.timers.remove(t)
	l.stats.waiting.Add(-1)
	l.mu.Unlock()
	l.leaveBacklog()
	return true
}

// timerHeap holds the tasks that wait for a time (a delay, a periodic
// task's next run, a retry), earliest first, under the loop's mutex. One
// time.Timer serves them all, so that a waiting task costs its entry here
// and no goroutine or timer of its own. Each task knows its entry's index
// (task.hi), so that Cancel can take it out.
type timerHeap []timerEntry

type timerEntry struct {
	at  int64  // due, in nanoseconds since loop.epoch
	seq uint64 // orders entries due at the same time
	t   *task
}

func (h timerHeap) less(i, j int) bool {
	a, b := &h[i], &h[j]
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].t.hi, h[j].t.hi = int32(i+1), int32(j+1)
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h timerHeap) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && h.less(c+1, c) {
			c++
		}
		if !h.less(c, i) {
			return
		}
		h.swap(i, c)
		i = c
	}
}

// push adds e; e.t.hi becomes its 1-based index.
func (h *timerHeap) push(e timerEntry) {
	*h = append(*h, e)
	e.t.hi = int32(len(*h))
	h.up(len(*h) - 1)
}

// remove takes out t, which must be in h.
func (h *timerHeap) remove(t *task) {
	i, last := int(t.hi)-1, len(*h)-1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = timerEntry{}
	*h = (*h)[:last]
	t.hi = 0
	if i != last {
		h.down(i)
		h.up(i)
	}
}

// removeIf takes out every task for which drop reports true and returns
// them.
func (h *timerHeap) removeIf(drop func(*task) bool) []*task {
	var out []*task
	kept := (*h)[:0]
	for _, e := range *h {
		if drop(e.t) {
			e.t.hi = 0
			out = append(out, e.t)
		} else {
			kept = append(kept, e)
			e.t.hi = int32(len(kept))
		}
	}
	clear((*h)[len(kept):])
	*h = kept
	for i := len(kept)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
	return out
}
