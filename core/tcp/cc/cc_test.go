package cc

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// both returns fresh instances of every algorithm, for shared behaviour.
func both() []Algorithm { return []Algorithm{NewNewReno(), NewCUBIC()} }

func TestNew(t *testing.T) {
	tests := []struct {
		name, want string
		err        error
	}{
		{"", "cubic", nil},
		{"cubic", "cubic", nil},
		{"newreno", "newreno", nil},
		{"reno", "newreno", nil},
		{"bbr", "", ErrUnknownAlgorithm},
		{"CUBIC", "", ErrUnknownAlgorithm},
	}
	for _, tt := range tests {
		a, err := New(tt.name)
		if !errors.Is(err, tt.err) {
			t.Errorf("New(%q) error %v, want %v", tt.name, err, tt.err)
			continue
		}
		if err == nil && a.Name() != tt.want {
			t.Errorf("New(%q).Name() = %q, want %q", tt.name, a.Name(), tt.want)
		}
	}
}

func TestInitialWindow(t *testing.T) {
	// RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)).
	tests := []struct{ mss, iw int }{
		{536, 5360},
		{1000, 10000},
		{1460, 14600},
		{4000, 14600},
		{9000, 18000},
	}
	for _, tt := range tests {
		for _, a := range both() {
			a.SetMSS(tt.mss)
			if a.Cwnd() != tt.iw || a.Ssthresh() != InfiniteSsthresh {
				t.Errorf("%s mss %d: cwnd %d ssthresh %d, want %d %d",
					a.Name(), tt.mss, a.Cwnd(), a.Ssthresh(), tt.iw, InfiniteSsthresh)
			}
		}
	}
}

func TestSetMSSAfterStartKeepsCwnd(t *testing.T) {
	for _, a := range both() {
		a.SetMSS(1000)
		a.OnAck(t0, 1000, 0, 0)
		cwnd := a.Cwnd()
		a.SetMSS(500)
		if a.Cwnd() != cwnd {
			t.Errorf("%s: SetMSS after ACK changed cwnd %d -> %d", a.Name(), cwnd, a.Cwnd())
		}
		a.SetMSS(0) // misuse is ignored
		if a.Cwnd() != cwnd {
			t.Errorf("%s: SetMSS(0) changed cwnd", a.Name())
		}
	}
}

// ackRound ACKs one window's worth of data in pieces of per bytes, spread
// over rtt, the way an ACK clock would, and returns the time after it.
func ackRound(a Algorithm, now time.Time, rtt time.Duration, per int) time.Time {
	w := a.Cwnd()
	n := max(w/per, 1)
	for i := range n {
		a.OnAck(now.Add(rtt*time.Duration(i+1)/time.Duration(n)), per, rtt, w)
	}
	return now.Add(rtt)
}

func TestSlowStartDoublesPerRTT(t *testing.T) {
	const mss = 1000
	for _, per := range []int{mss, 2 * mss} { // ACK every segment, delayed ACKs
		for _, a := range both() {
			a.SetMSS(mss)
			now := t0
			for round := range 5 {
				before := a.Cwnd()
				now = ackRound(a, now, 50*time.Millisecond, per)
				if a.Cwnd() != 2*before {
					t.Fatalf("%s per %d round %d: cwnd %d -> %d, want doubling",
						a.Name(), per, round, before, a.Cwnd())
				}
			}
		}
	}
}

func TestSlowStartStretchAck(t *testing.T) {
	// A stretch ACK of 4 segments (a coalescing receiver) grows cwnd by
	// all 4, not by RFC 3465's L=2, or slow start would crawl.
	for _, a := range both() {
		a.SetMSS(1000)
		a.OnAck(t0, 4000, 0, 10000)
		if got, want := a.Cwnd(), 14000; got != want {
			t.Errorf("%s: cwnd %d, want %d", a.Name(), got, want)
		}
	}
}

func TestSlowStartStopsAtSsthresh(t *testing.T) {
	r := NewNewReno().(*NewReno)
	r.SetMSS(1000)
	r.ssthresh = 11500
	r.OnAck(t0, 2000, 0, 10000)
	// 1500 bytes take cwnd to ssthresh, the other 500 count for CA.
	if r.Cwnd() != 11500 || r.bytesAcked != 500 {
		t.Fatalf("cwnd %d bytesAcked %d, want 11500 500", r.Cwnd(), r.bytesAcked)
	}
}

func TestNewRenoCongestionAvoidance(t *testing.T) {
	const mss = 1000
	for _, per := range []int{mss, mss / 2, mss / 4} { // remainders carry over otherwise
		r := NewNewReno()
		r.SetMSS(mss)
		r.OnCongestion(t0, 40*mss) // ssthresh = cwnd = 20 MSS
		r.OnRecoveryExit(t0)
		now := t0
		for round := range 10 {
			before := r.Cwnd()
			// RFC 5681 §3.1: +1 SMSS once a full cwnd of bytes is ACKed.
			for acked := 0; acked < before; acked += per {
				if r.Cwnd() != before {
					t.Fatalf("per %d round %d: grew after %d of %d bytes", per, round, acked, before)
				}
				r.OnAck(now, per, 0, before)
			}
			if r.Cwnd() != before+mss {
				t.Fatalf("per %d round %d: cwnd %d -> %d, want +%d", per, round, before, r.Cwnd(), mss)
			}
		}
	}
}

func TestNewRenoLossHalves(t *testing.T) {
	const mss = 1000
	tests := []struct {
		name           string
		inFlight       int
		ssthresh, cwnd int
	}{
		{"halves FlightSize", 64 * mss, 32 * mss, 32 * mss},
		{"odd FlightSize", 6001, 3000, 3000},
		{"floor 2 SMSS", 3 * mss, 2 * mss, 2 * mss}, // RFC 5681 eq. 4
		{"zero FlightSize", 0, 2 * mss, 2 * mss},
	}
	for _, tt := range tests {
		r := NewNewReno()
		r.SetMSS(mss)
		r.OnCongestion(t0, tt.inFlight)
		if r.Ssthresh() != tt.ssthresh || r.Cwnd() != tt.cwnd {
			t.Errorf("%s: ssthresh %d cwnd %d, want %d %d", tt.name, r.Ssthresh(), r.Cwnd(), tt.ssthresh, tt.cwnd)
		}
		r.OnRecoveryExit(t0)
		if r.Cwnd() != tt.ssthresh {
			t.Errorf("%s: cwnd after recovery %d, want ssthresh %d", tt.name, r.Cwnd(), tt.ssthresh)
		}
	}
}

func TestRTO(t *testing.T) {
	const mss = 1000
	tests := []struct {
		algo      Algorithm
		ssthresh  int // for FlightSize 40 MSS
		ssthresh4 int // for FlightSize 4 MSS
	}{
		{NewNewReno(), 20 * mss, 2 * mss}, // RFC 5681 eq. 4
		{NewCUBIC(), 28 * mss, 2800},      // RFC 9438 §4.8: β_cubic
	}
	for _, tt := range tests {
		a := tt.algo
		a.SetMSS(mss)
		a.OnRTO(t0, 40*mss)
		if a.Cwnd() != mss || a.Ssthresh() != tt.ssthresh {
			t.Errorf("%s: cwnd %d ssthresh %d, want %d %d", a.Name(), a.Cwnd(), a.Ssthresh(), mss, tt.ssthresh)
		}
		// RFC 5681 §3.1: a second timeout of the retransmission keeps
		// ssthresh (FlightSize is now tiny).
		a.OnRTO(t0.Add(time.Second), mss)
		if a.Cwnd() != mss || a.Ssthresh() != tt.ssthresh {
			t.Errorf("%s repeated RTO: cwnd %d ssthresh %d, want %d %d", a.Name(), a.Cwnd(), a.Ssthresh(), mss, tt.ssthresh)
		}
		// New data ACKed: the next timeout is a new loss event.
		a.OnAck(t0.Add(2*time.Second), mss, 0, mss)
		a.OnRTO(t0.Add(3*time.Second), 4*mss)
		if a.Ssthresh() != tt.ssthresh4 {
			t.Errorf("%s RTO after ACK: ssthresh %d, want %d", a.Name(), a.Ssthresh(), tt.ssthresh4)
		}
	}
}

func TestIdleRestart(t *testing.T) {
	const mss = 1000
	for _, a := range both() {
		a.SetMSS(mss)
		for range 4 {
			ackRound(a, t0, 10*time.Millisecond, mss)
		}
		big := a.Cwnd()
		if big <= 10*mss {
			t.Fatalf("%s: setup cwnd %d not above IW", a.Name(), big)
		}
		a.OnIdle(t0, time.Second, time.Second) // idle == RTO: not "more than"
		if a.Cwnd() != big {
			t.Errorf("%s: idle == RTO changed cwnd %d -> %d", a.Name(), big, a.Cwnd())
		}
		// RFC 5681 §4.1: RW = min(IW, cwnd).
		a.OnIdle(t0, 2*time.Second, time.Second)
		if a.Cwnd() != 10*mss {
			t.Errorf("%s: after long idle cwnd %d, want IW %d", a.Name(), a.Cwnd(), 10*mss)
		}
		a.OnRTO(t0, 10*mss) // cwnd 1 MSS < IW: restart must not raise it
		a.OnIdle(t0, 2*time.Second, time.Second)
		if a.Cwnd() != mss {
			t.Errorf("%s: restart raised cwnd to %d", a.Name(), a.Cwnd())
		}
	}
}

// TestInvariantsRandomEvents drives every algorithm through a seeded random
// event sequence: cwnd never drops below one SMSS nor passes maxWindow, and
// a reduced ssthresh is never below 2 SMSS. Failures print their seed.
func TestInvariantsRandomEvents(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		for _, a := range both() {
			mss := 100 + rng.IntN(9000)
			a.SetMSS(mss)
			now := t0
			for i := range 20000 {
				now = now.Add(time.Duration(rng.IntN(50)) * time.Millisecond)
				rtt := time.Duration(rng.IntN(300)) * time.Millisecond
				switch rng.IntN(10) {
				case 0:
					a.OnCongestion(now, rng.IntN(2*a.Cwnd()+1))
				case 1:
					a.OnRecoveryExit(now)
				case 2:
					a.OnRTO(now, rng.IntN(2*a.Cwnd()+1))
				case 3:
					a.OnIdle(now, time.Duration(rng.IntN(3000))*time.Millisecond, time.Second)
				default:
					a.OnAck(now, rng.IntN(4*mss+1)-mss/2, rtt, a.Cwnd())
				}
				if a.Cwnd() < mss || a.Cwnd() > maxWindow || a.Ssthresh() < 2*mss {
					t.Fatalf("%s seed %d step %d: cwnd %d ssthresh %d mss %d", a.Name(), seed, i, a.Cwnd(), a.Ssthresh(), mss)
				}
			}
		}
	}
}

func TestHugeAcksCapped(t *testing.T) {
	for _, a := range both() {
		a.SetMSS(65535)
		now := t0
		for i := range 100000 {
			now = now.Add(time.Millisecond)
			a.OnAck(now, math.MaxInt32, time.Millisecond, a.Cwnd())
			if a.Cwnd() > maxWindow {
				t.Fatalf("%s step %d: cwnd %d above cap", a.Name(), i, a.Cwnd())
			}
		}
		if a.Cwnd() != maxWindow {
			t.Errorf("%s: cwnd %d did not reach the cap %d", a.Name(), a.Cwnd(), maxWindow)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, a := range both() {
		a.SetMSS(1460)
		now := t0
		allocs := testing.AllocsPerRun(100, func() {
			now = now.Add(time.Millisecond)
			a.OnAck(now, 1460, 20*time.Millisecond, a.Cwnd())
			a.OnCongestion(now, a.Cwnd())
			a.OnRecoveryExit(now)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocs per run", a.Name(), allocs)
		}
	}
}

func BenchmarkOnAck(b *testing.B) {
	for _, a := range both() {
		b.Run(a.Name(), func(b *testing.B) {
			b.ReportAllocs()
			a.SetMSS(1460)
			a.OnCongestion(t0, 100*1460)
			a.OnRecoveryExit(t0)
			now := t0
			for i := 0; b.Loop(); i++ {
				now = now.Add(10 * time.Microsecond)
				a.OnAck(now, 1460, 20*time.Millisecond, a.Cwnd())
				if i%100000 == 0 {
					a.OnCongestion(now, a.Cwnd())
					a.OnRecoveryExit(now)
				}
			}
		})
	}
}

func TestAppLimitedNoGrowth(t *testing.T) {
	const mss = 1000
	for _, a := range both() {
		a.SetMSS(mss)
		// A request/response flow: one segment out, its ACK leaves nothing
		// in flight, far below half of IW.
		for i := range 100 {
			a.OnAck(t0.Add(time.Duration(i)*time.Millisecond), mss, time.Millisecond, 0)
		}
		if a.Cwnd() != 10*mss {
			t.Errorf("%s: application-limited cwnd grew to %d", a.Name(), a.Cwnd())
		}
		a.OnAck(t0.Add(time.Second), mss, time.Millisecond, 4*mss) // half of cwnd used
		if a.Cwnd() != 11*mss {
			t.Errorf("%s: cwnd-limited ACK: cwnd %d, want %d", a.Name(), a.Cwnd(), 11*mss)
		}
	}
}

func TestRecoveryExitNeverRaisesCwnd(t *testing.T) {
	const mss = 1000
	for _, a := range both() {
		a.SetMSS(mss)
		a.OnRecoveryExit(t0) // no congestion event: ssthresh still infinite
		if a.Cwnd() != 10*mss {
			t.Errorf("%s: stray recovery exit moved cwnd to %d", a.Name(), a.Cwnd())
		}
		a.OnCongestion(t0, 40*mss)
		a.OnRTO(t0, 40*mss) // timeout inside recovery
		a.OnRecoveryExit(t0)
		if a.Cwnd() != mss {
			t.Errorf("%s: recovery exit after RTO raised cwnd to %d", a.Name(), a.Cwnd())
		}
	}
}
