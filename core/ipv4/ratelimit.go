package ipv4

import "time"

// RateLimiter is a token bucket for ICMP error messages, like Linux's
// icmp_msgs_per_sec and icmp_msgs_burst (RFC 1812 §4.3.2.8 asks routers
// to limit the rate; RFC 1122 §3.2.2 allows hosts to). The bucket is
// kept in nanoseconds of credit so that refills are exact integers.
type RateLimiter struct {
	cost     time.Duration // credit one message takes: 1s / perSecond
	capacity time.Duration // burst * cost
	credit   time.Duration
	last     time.Time
}

// NewRateLimiter returns a full bucket allowing burst messages at once
// and perSecond on average. perSecond <= 0 disables limiting; burst <= 0
// means 1. A nil *RateLimiter allows everything.
func NewRateLimiter(perSecond, burst int) *RateLimiter {
	if perSecond <= 0 {
		return nil
	}
	burst = max(burst, 1)
	cost := time.Second / time.Duration(perSecond)
	if cost <= 0 {
		cost = 1
	}
	capacity := cost * time.Duration(burst)
	return &RateLimiter{cost: cost, capacity: capacity, credit: capacity}
}

// Allow takes one message's credit if there is enough, after adding what
// accrued since the previous call. A now earlier than the previous call
// adds nothing.
func (r *RateLimiter) Allow(now time.Time) bool {
	if r == nil {
		return true
	}
	if !r.last.IsZero() {
		// Sub saturates, and the comparison avoids overflow in the sum.
		if elapsed := now.Sub(r.last); elapsed > 0 {
			if elapsed >= r.capacity-r.credit {
				r.credit = r.capacity
			} else {
				r.credit += elapsed
			}
		}
	}
	if r.last.IsZero() || now.After(r.last) {
		r.last = now
	}
	if r.credit < r.cost {
		return false
	}
	r.credit -= r.cost
	return true
}
