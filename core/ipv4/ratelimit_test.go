package ipv4

import (
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	r := NewRateLimiter(10, 3) // one token per 100 ms, burst 3
	count := func(now time.Time, tries int) int {
		n := 0
		for range tries {
			if r.Allow(now) {
				n++
			}
		}
		return n
	}
	steps := []struct {
		at   time.Duration
		want int
	}{
		{0, 3},                      // full burst
		{50 * time.Millisecond, 0},  // half a token
		{100 * time.Millisecond, 1}, // one token accrued
		{450 * time.Millisecond, 3}, // 3.5 tokens accrued, capped at the burst
		{10 * time.Second, 3},       // long idle: still only the burst
		{9 * time.Second, 0},        // clock going backwards gives nothing
		{10*time.Second + 100*time.Millisecond, 1},
	}
	for _, s := range steps {
		if got := count(t0.Add(s.at), 10); got != s.want {
			t.Errorf("at %v: %d allowed, want %d", s.at, got, s.want)
		}
	}
}

func TestRateLimiterSustainedRate(t *testing.T) {
	r := NewRateLimiter(1000, 50)
	allowed := 0
	// 10 s of one attempt per 100 µs: the burst plus 1000 per second.
	for i := range 100000 {
		if r.Allow(t0.Add(time.Duration(i) * 100 * time.Microsecond)) {
			allowed++
		}
	}
	if want := 50 + 9999; allowed < want-1 || allowed > want+1 {
		t.Errorf("allowed %d, want about %d", allowed, want)
	}
}

func TestRateLimiterDisabled(t *testing.T) {
	var nilLimiter *RateLimiter
	for _, r := range []*RateLimiter{NewRateLimiter(0, 5), nilLimiter} {
		for range 100 {
			if !r.Allow(t0) {
				t.Fatal("disabled limiter refused")
			}
		}
	}
}
