package tcp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

// bulkResult is what simBulk measured.
type bulkResult struct {
	took     time.Duration // until the last byte was read
	lastHalf time.Duration // reading the second half of the data
	sender   *Conn
	stats    [2]Stats
}

// simBulk sends size bytes from host 1 to host 0 over s, the receiver
// reading everything as soon as it arrives, and checks the bytes.
func simBulk(t *testing.T, s *sim, size int) bulkResult {
	t.Helper()
	srv := netip.AddrPortFrom(s.addr[1], 80)
	l, err := s.ep[1].Listen(srv, 4)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := s.ep[0].Connect(s.now, netip.AddrPortFrom(s.addr[0], 0), srv, s.outs[0])
	if err != nil {
		t.Fatal(err)
	}
	data := seeded(newRng(s.seed, 7), size)
	var sc *Conn
	got := make([]byte, 0, size)
	buf := make([]byte, 64<<10)
	written := 0
	var half time.Time
	for s.failed == "" && len(got) < size && s.now.Before(t0.Add(time.Minute)) {
		if sc == nil {
			if sc, _ = l.Accept(); sc != nil {
				sc.SetWakers(nil, s.kick)
				sc.SetNoDelay(true) // as netconn does: no Nagle wait for the tail
			}
		}
		for sc != nil && written < size {
			n, _ := sc.Write(s.now, data[written:], s.outs[1])
			if n == 0 {
				break
			}
			written += n
		}
		for {
			n, _ := cc.Read(s.now, buf, s.outs[0])
			if n == 0 {
				break
			}
			got = append(got, buf[:n]...)
		}
		if half.IsZero() && len(got) >= size/2 {
			half = s.now
		}
		if len(got) == size {
			break
		}
		if !s.step() {
			break
		}
	}
	switch {
	case s.failed != "":
		t.Fatalf("seed %d: invariant: %s", s.seed, s.failed)
	case !bytes.Equal(got, data):
		t.Fatalf("seed %d: got %d bytes, want %d intact", s.seed, len(got), size)
	}
	return bulkResult{took: s.now.Sub(t0), lastHalf: s.now.Sub(half), sender: sc, stats: [2]Stats{s.ep[0].Stats(), s.ep[1].Stats()}}
}

// TestSendBufferAutoTuning: over a lossless 10 ms RTT path whose
// bandwidth-delay product (500 kB) is twice the initial send buffer, the
// default configuration reaches at least 80% of the bottleneck rate once
// past slow start, because the send buffer grows with cwnd (and the
// receive buffer with what the reader consumes).
func TestSendBufferAutoTuning(t *testing.T) {
	const rate = 50 << 20 // bytes per second
	size := 16 << 20
	if testing.Short() {
		size = 8 << 20
	}
	s := newSim(t, 1, impairments{delay: 5 * time.Millisecond, rate: rate}, Config{})
	r := simBulk(t, s, size)
	// What the link can carry: the sim charges the TCP header (32 bytes
	// with timestamps) and 40 bytes of framing per segment.
	mss := r.sender.mss
	goodput := float64(rate) * float64(mss) / float64(mss+32+40)
	got := float64(size/2) / r.lastHalf.Seconds()
	t.Logf("%d bytes in %v, second half at %.1f MB/s of %.1f possible; send buffer %d, receive window %d; stats %+v",
		size, r.took, got/1e6, goodput/1e6, r.sender.sndBuf.size, r.sender.sndWnd, r.stats[1])
	if got < 0.8*goodput {
		t.Fatalf("second half at %.1f MB/s, want >= 80%% of %.1f MB/s (send buffer %d, peer window %d)",
			got/1e6, goodput/1e6, r.sender.sndBuf.size, r.sender.sndWnd)
	}
	if r.sender.sndBuf.size > s.ep[1].cfg.MaxSendBuffer {
		t.Fatalf("send buffer %d beyond MaxSendBuffer %d", r.sender.sndBuf.size, s.ep[1].cfg.MaxSendBuffer)
	}
}

// TestSendBufferBudgetCap: the memory budget bounds send-buffer growth:
// the buffer never grows into what the budget keeps for receive buffers,
// and the transfer still completes intact.
func TestSendBufferBudgetCap(t *testing.T) {
	const budget = 1 << 20
	s := newSim(t, 2, impairments{delay: 5 * time.Millisecond, rate: 50 << 20}, Config{MemoryBudget: budget})
	r := simBulk(t, s, 4<<20)
	if limit := budget - sendKeep(budget); r.sender.sndBuf.size > limit {
		t.Fatalf("send buffer grew to %d, more than the %d the budget lets send buffers have", r.sender.sndBuf.size, limit)
	}
	if peak := s.ep[1].budget.peak; peak > budget {
		t.Fatalf("sender's buffers peaked at %d, budget %d", peak, budget)
	}
	t.Logf("send buffer %d, budget peak %d/%d", r.sender.sndBuf.size, s.ep[1].budget.peak, budget)
}

// TestSendBufferMax: growth stops at MaxSendBuffer, and a MaxSendBuffer
// no larger than SendBuffer keeps the buffer fixed.
func TestSendBufferMax(t *testing.T) {
	for _, max := range []int{64 << 10, 512 << 10} {
		s := newSim(t, 3, impairments{delay: 5 * time.Millisecond, rate: 50 << 20}, Config{SendBuffer: 64 << 10, MaxSendBuffer: max})
		r := simBulk(t, s, 4<<20)
		if r.sender.sndBuf.size > max {
			t.Fatalf("MaxSendBuffer %d: send buffer grew to %d", max, r.sender.sndBuf.size)
		}
		if max > 64<<10 && r.sender.sndBuf.size <= 64<<10 {
			t.Fatalf("MaxSendBuffer %d: send buffer stayed at %d", max, r.sender.sndBuf.size)
		}
	}
}
