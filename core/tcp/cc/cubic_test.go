package cc

import (
	"math"
	"testing"
	"time"
)

const cmss = 1000

// cubicAfterLoss returns CUBIC that reached wmax segments in slow start,
// lost a packet there and left recovery, so cwnd = 0.7*wmax.
func cubicAfterLoss(t *testing.T, wmax int) *CUBIC {
	t.Helper()
	c := NewCUBIC().(*CUBIC)
	c.SetMSS(cmss)
	for c.Cwnd() < wmax*cmss {
		c.OnAck(t0, 2*cmss, 0, c.Cwnd())
	}
	if c.Cwnd() != wmax*cmss {
		t.Fatalf("setup: cwnd %d, want %d", c.Cwnd(), wmax*cmss)
	}
	c.OnCongestion(t0, c.Cwnd())
	c.OnRecoveryExit(t0)
	return c
}

// ackClock ACKs one SMSS at a time, cwnd/SMSS ACKs per rtt, from start until
// end, and returns the time of the last ACK.
func ackClock(c Algorithm, start, end time.Time, rtt time.Duration) time.Time {
	now := start
	for {
		n := max(c.Cwnd()/cmss, 1)
		step := rtt / time.Duration(n)
		for range n {
			if now = now.Add(step); now.After(end) {
				return now.Add(-step)
			}
			c.OnAck(now, cmss, rtt, c.Cwnd())
		}
	}
}

func segs(bytes int) float64 { return float64(bytes) / cmss }

func TestCUBICLossMultipliesBy07(t *testing.T) {
	c := cubicAfterLoss(t, 100)
	// RFC 9438 §4.6: ssthresh = cwnd = FlightSize*β_cubic; W_max = 100.
	if c.Ssthresh() != 70*cmss || c.Cwnd() != 70*cmss || c.wMax != 100*cmss {
		t.Fatalf("ssthresh %d cwnd %d W_max %v, want 70000 70000 100000", c.Ssthresh(), c.Cwnd(), c.wMax)
	}
	c.OnCongestion(t0, 2*cmss) // tiny FlightSize: floor at 2 SMSS
	if c.Ssthresh() != 2*cmss || c.Cwnd() != 2*cmss {
		t.Fatalf("floor: ssthresh %d cwnd %d, want 2000 2000", c.Ssthresh(), c.Cwnd())
	}
}

// TestCUBICFollowsWcubic checks cwnd against RFC 9438 eq. 1 with K from eq. 2
// at a 200 ms RTT, where the Reno-friendly estimate stays far below.
func TestCUBICFollowsWcubic(t *testing.T) {
	const wmax, rtt = 100.0, 200 * time.Millisecond
	c := cubicAfterLoss(t, wmax)
	k := math.Cbrt((wmax - 0.7*wmax) / 0.4) // RFC 9438 eq. 2, ~4.22 s
	wcubic := func(t float64) float64 { return 0.4*math.Pow(t-k, 3) + wmax }

	// The epoch starts with the first ACK, one step after start.
	start := t0
	epoch := start.Add(rtt / 70)
	prev, prevGrowth := segs(c.Cwnd()), math.Inf(1)
	for sec := 1; sec <= 8; sec++ {
		end := epoch.Add(time.Duration(sec) * time.Second)
		start = ackClock(c, start, end, rtt)
		got, want := segs(c.Cwnd()), wcubic(float64(sec))
		// cwnd chases W_cubic(t+RTT) with a lag of about one RTT, so it
		// sits between W_cubic(t) and W_cubic(t+RTT), give or take 1 SMSS.
		lo := min(want, wcubic(float64(sec)+rtt.Seconds())) - 1
		hi := max(want, wcubic(float64(sec)+rtt.Seconds())) + 1
		if got < lo || got > hi {
			t.Errorf("t=%ds: cwnd %.2f segments, want W_cubic %.2f (range %.2f..%.2f)", sec, got, want, lo, hi)
		}
		growth := got - prev
		// Concave before K: growth slows; convex after K: it speeds up.
		if float64(sec) < k && growth > prevGrowth {
			t.Errorf("t=%ds: concave region growth %.2f > previous %.2f", sec, growth, prevGrowth)
		}
		if float64(sec-1) > k && growth < prevGrowth {
			t.Errorf("t=%ds: convex region growth %.2f < previous %.2f", sec, growth, prevGrowth)
		}
		if (float64(sec) < k) != (got < wmax) && math.Abs(float64(sec)-k) > 0.5 {
			t.Errorf("t=%ds: cwnd %.2f on the wrong side of W_max (K %.2f)", sec, got, k)
		}
		prev, prevGrowth = got, growth
	}
}

// TestCUBICRenoFriendly: at a 1 ms RTT W_cubic barely moves in 50 RTTs, so
// cwnd follows W_est, growing α_cubic SMSS per RTT (RFC 9438 §4.3), then
// 1 SMSS per RTT once W_est passes cwnd_prior.
func TestCUBICRenoFriendly(t *testing.T) {
	const wmax, rtt = 100.0, time.Millisecond
	c := cubicAfterLoss(t, wmax)
	alpha := 3 * (1 - 0.7) / (1 + 0.7)
	k := math.Cbrt((wmax - 0.7*wmax) / 0.4)

	start := t0
	const rounds = 50
	start = ackClock(c, start, t0.Add(rounds*rtt), rtt)
	got := segs(c.Cwnd())
	want := 0.7*wmax + alpha*rounds
	if math.Abs(got-want) > 1 {
		t.Fatalf("after %d RTTs cwnd %.2f segments, want W_est %.2f", rounds, got, want)
	}
	if wc := 0.4*math.Pow(rounds*rtt.Seconds()-k, 3) + wmax; got < wc+10 {
		t.Fatalf("cwnd %.2f not in the Reno-friendly region (W_cubic %.2f)", got, wc)
	}

	for c.Cwnd() < int(wmax)*cmss+cmss {
		start = ackClock(c, start, start.Add(rtt), rtt)
	}
	before := segs(c.Cwnd())
	start = ackClock(c, start, start.Add(10*rtt), rtt)
	if growth := segs(c.Cwnd()) - before; math.Abs(growth-10) > 1 {
		t.Fatalf("above cwnd_prior: grew %.2f segments in 10 RTTs, want 10 (α = 1)", growth)
	}
}

func TestCUBICFastConvergence(t *testing.T) {
	c := cubicAfterLoss(t, 100)
	ackClock(c, t0, t0.Add(time.Second), 200*time.Millisecond)
	cw := c.Cwnd()
	if cw >= 100*cmss {
		t.Fatalf("setup: cwnd %d already at W_max", cw)
	}
	c.OnCongestion(t0.Add(time.Second), cw)
	// RFC 9438 §4.7: the peak was not reached, W_max = cwnd*(1+β)/2.
	if want := float64(cw) * (1 + 0.7) / 2; c.wMax != want {
		t.Fatalf("W_max %v, want %v (fast convergence)", c.wMax, want)
	}
	if want := int(float64(cw) * 0.7); c.Ssthresh() != want {
		t.Fatalf("ssthresh %d, want %d", c.Ssthresh(), want)
	}

	// Past the peak the loss records W_max = cwnd itself.
	c = cubicAfterLoss(t, 100)
	ackClock(c, t0, t0.Add(8*time.Second), 200*time.Millisecond)
	cw = c.Cwnd()
	if cw <= 100*cmss {
		t.Fatalf("setup: cwnd %d not past W_max", cw)
	}
	c.OnCongestion(t0.Add(8*time.Second), cw)
	if c.wMax != float64(cw) {
		t.Fatalf("W_max %v, want %d", c.wMax, cw)
	}
}

func TestCUBICAfterRTO(t *testing.T) {
	c := NewCUBIC().(*CUBIC)
	c.SetMSS(cmss)
	c.OnRTO(t0, 100*cmss)
	if c.Cwnd() != cmss || c.Ssthresh() != 70*cmss {
		t.Fatalf("cwnd %d ssthresh %d, want 1000 70000", c.Cwnd(), c.Ssthresh())
	}
	now := t0
	for c.Cwnd() < c.Ssthresh() {
		now = now.Add(time.Millisecond)
		c.OnAck(now, cmss, 10*time.Millisecond, c.Cwnd())
	}
	c.OnAck(now.Add(time.Millisecond), cmss, 10*time.Millisecond, c.Cwnd())
	// RFC 9438 §4.8: first stage after a timeout has K = 0 and
	// W_max = cwnd at its start.
	if !c.epochValid || c.k != 0 || c.wMax != 70*cmss {
		t.Fatalf("epoch %v K %v W_max %v, want true 0 70000", c.epochValid, c.k, c.wMax)
	}
}

// TestCUBICIdleShiftsEpoch: a short idle period (below RTO) must not count
// as time on the cubic curve (RFC 9438 §5.8).
func TestCUBICIdleShiftsEpoch(t *testing.T) {
	const rtt, idle = 100 * time.Millisecond, 500 * time.Millisecond
	a, b := cubicAfterLoss(t, 100), cubicAfterLoss(t, 100)
	end := t0.Add(time.Second)
	ackClock(a, t0, end, rtt)
	ackClock(b, t0, end, rtt)
	a.OnIdle(end.Add(idle), idle, time.Second)
	ackClock(a, end.Add(idle), end.Add(idle+2*time.Second), rtt)
	ackClock(b, end, end.Add(2*time.Second), rtt)
	if a.Cwnd() != b.Cwnd() {
		t.Fatalf("cwnd after idle %d, without idle %d: epoch not shifted", a.Cwnd(), b.Cwnd())
	}
}
