package tcp

import "time"

// instant is a point in time kept in 8 bytes where a time.Time takes 24:
// the nanoseconds since the Endpoints' epoch, zero meaning "not set". The
// timers of every connection are instants, which keeps an idle
// connection small (issue #6). Converting through the epoch keeps the
// monotonic clock reading of the times the caller passes in, so a step
// of the wall clock moves no timer.
type instant int64

func (i instant) IsZero() bool { return i == 0 }

// epochLead places the epoch this far before the first time seen, so that
// times a little earlier than it still map to positive instants.
const epochLead = time.Hour

// at converts t; the first time seen sets the epoch.
func (e *Endpoints) at(t time.Time) instant {
	if t.IsZero() {
		return 0
	}
	if e.epoch.IsZero() {
		e.epoch = t.Add(-epochLead)
	}
	return instant(max(t.Sub(e.epoch), 1))
}

// time converts i back; the zero instant is the zero time.
func (e *Endpoints) time(i instant) time.Time {
	if i == 0 {
		return time.Time{}
	}
	return e.epoch.Add(time.Duration(i))
}

// dueAt reports whether the timer i is set and has expired at now.
func (e *Endpoints) dueAt(i instant, now time.Time) bool {
	return i != 0 && !e.time(i).After(now)
}
