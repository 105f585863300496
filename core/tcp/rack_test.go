package tcp

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestSimSweepRACK is the simulation sweep with RACK loss detection on:
// bytes intact, both ends closed, every invariant kept.
func TestSimSweepRACK(t *testing.T) {
	first, seeds := sweepSeeds(t, 1000, 200)
	for seed := first; seed < first+uint64(seeds); seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		im := randomImpairments(rng)
		cfg := simConfig(rng)
		cfg.RACK = true
		a := seeded(rng, rng.IntN(48<<10))
		b := seeded(rng, rng.IntN(48<<10))
		s := newSim(t, seed, im, cfg)
		s.transfer(a, b, time.Hour, [2]time.Duration{})
		if t.Failed() {
			t.Fatalf("replay: TCP_SIM_SEEDS=%d:1 go test -run TestSimSweepRACK", seed)
		}
	}
}

// TestSimRACKCompare runs the same transfers with and without RACK and
// logs time, RTOs and retransmissions: a lossy path (as
// TestSimLossyMegabyte) and a reordering one without loss, where every
// retransmission is spurious.
func TestSimRACKCompare(t *testing.T) {
	seeds := 10
	if testing.Short() {
		seeds = 3
	}
	scenarios := []struct {
		name string
		im   impairments
	}{
		{"loss 5%", impairments{loss: 0.05, delay: 10 * time.Millisecond, rate: 100 * 125_000}},
		{"reorder 20% by up to 4ms", impairments{reorder: 0.2, jitter: 4 * time.Millisecond, delay: 10 * time.Millisecond, rate: 100 * 125_000}},
		{"loss 2% + reorder 10%", impairments{loss: 0.02, reorder: 0.1, jitter: 5 * time.Millisecond, delay: 10 * time.Millisecond, rate: 100 * 125_000}},
	}
	for _, sc := range scenarios {
		for _, rack := range []bool{false, true} {
			var total time.Duration
			var rtos, rxts, frs, tlps uint64
			for seed := uint64(1); seed <= uint64(seeds); seed++ {
				rng := rand.New(rand.NewPCG(seed, 0))
				s := newSim(t, seed, sc.im, Config{RACK: rack})
				res := s.transfer(seeded(rng, 1<<20), nil, time.Hour, [2]time.Duration{})
				if t.Failed() {
					t.Fatalf("%s rack=%v seed %d", sc.name, rack, seed)
				}
				total += res.elapsed
				rtos += res.stats[0].RTOs
				rxts += res.stats[0].Retransmits
				frs += res.stats[0].FastRetransmits
				tlps += res.stats[0].TailLossProbes
			}
			n := uint64(seeds)
			t.Logf("%-26s RACK=%-5v 1 MiB in %8v  RTOs %5.1f  recoveries %5.1f  TLPs %5.1f  retransmits %6.1f  (mean of %d seeds)",
				sc.name, rack, (total / time.Duration(seeds)).Round(time.Millisecond), float64(rtos)/float64(n),
				float64(frs)/float64(n), float64(tlps)/float64(n), float64(rxts)/float64(n), seeds)
		}
	}
}

// TestRFC8985_ReorderingWindow: a segment overtaken by a later one is
// marked lost only when the later one's delivery is older than RACK.rtt
// plus the reordering window (RFC 8985 §6.2 step 5). Delivered within the
// window, nothing is resent; not delivered, the reordering timer resends it.
func TestRFC8985_ReorderingWindow(t *testing.T) {
	for _, lost := range []bool{false, true} {
		t.Run(fmt.Sprintf("lost=%v", lost), func(t *testing.T) {
			p, c := established(t, Config{RACK: true, NoTLP: true}, synOpts)
			p.wnd = 65535
			// One round trip of 10 ms to give RACK its min_RTT and RACK.rtt.
			if _, err := c.Write(p.now, make([]byte, 100), p.out); err != nil {
				t.Fatal(err)
			}
			first := one(t, p.out.take())
			p.now = p.now.Add(10 * time.Millisecond)
			p.ack = first.f.Seq.Add(uint32(len(first.payload)))
			p.send(seg{})

			// Two segments sent together; the peer SACKs the second 10 ms later.
			sentAt := p.now
			c.Write(p.now, make([]byte, 2*c.mss), p.out)
			segs := p.out.take()
			if len(segs) != 2 {
				t.Fatalf("sent %d segments, want 2", len(segs))
			}
			s1, s2 := segs[0], segs[1]
			p.now = p.now.Add(10 * time.Millisecond)
			opts := p.opts
			opts.NumSACK = 1
			opts.SACK[0].Left, opts.SACK[0].Right = s2.f.Seq, s2.f.Seq.Add(uint32(len(s2.payload)))
			none(t, p.send(seg{opts: &opts}))
			// RACK.rtt 10 ms + reo_wnd = min(min_RTT/4, SRTT) after sending
			// (SRTT is small: the harness's handshake took no time).
			due := sentAt.Add(10*time.Millisecond + min(2500*time.Microsecond, c.rtt.SRTT()))
			if c.rtt.SRTT() <= 0 {
				t.Fatal("no RTT sample")
			}
			if want := due; !c.rack.timer.Equal(want) {
				t.Fatalf("reordering timer at %v, want %v", c.rack.timer.Sub(t0), want.Sub(t0))
			}
			if !lost {
				// The first segment was only late: its ACK stops the timer.
				p.now = p.now.Add(time.Millisecond)
				p.ack = opts.SACK[0].Right
				p.send(seg{})
				if !c.rack.timer.IsZero() || p.e.Stats().Retransmits != 0 {
					t.Fatalf("timer %v, %d retransmissions after a reordering", c.rack.timer, p.e.Stats().Retransmits)
				}
				return
			}
			rxt := one(t, p.fireNext())
			if rxt.f.Seq != s1.f.Seq || len(rxt.payload) != len(s1.payload) || !p.now.Equal(due) {
				t.Fatalf("at %v resent %v, want %v at %v", p.now.Sub(sentAt), rxt, s1, due.Sub(sentAt))
			}
			if st := p.e.Stats(); st.FastRetransmits != 1 || st.RTOs != 0 {
				t.Fatalf("%d recoveries, %d RTOs; want 1, 0", st.FastRetransmits, st.RTOs)
			}
		})
	}
}
