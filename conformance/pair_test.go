package conformance

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/microtcp/microtcp"
	"github.com/microtcp/microtcp/link"
)

// opts shapes a pair of hosts.
type opts struct {
	LinkType microtcp.LinkType
	// Faults, when set, impairs both directions; the seed of B's side is
	// Faults.Seed+1 so the two directions differ.
	Faults *link.FaultConfig
	// Capture, when set, records A's link.
	Capture io.Writer
	// InBubble marks a pair built inside synctest.Test: the bubble itself
	// checks that every goroutine exits, so the baseline check is skipped.
	InBubble bool
	// UDPReceiveBuffer for both hosts; 0 = default.
	UDPReceiveBuffer int
}

// pair is two hosts, A = 10.0.0.1/24 and B = 10.0.0.2/24, on one link.
type pair struct {
	A, B     *microtcp.Stack
	PipeA    *link.PipeEnd // A's end of the pipe (Dropped counts A→B)
	PipeB    *link.PipeEnd
	FaultA   *link.Faulty // impairs A→B, nil without Faults
	FaultB   *link.Faulty // impairs B→A
	CaptureA *link.Capture
}

var (
	addrA = netip.MustParseAddr("10.0.0.1")
	addrB = netip.MustParseAddr("10.0.0.2")
)

// newPair builds the two stacks and registers a cleanup that closes both
// and checks that the goroutines they started are gone.
func newPair(t *testing.T, o opts) *pair {
	t.Helper()
	baseline := runtime.NumGoroutine()
	p := &pair{}
	p.PipeA, p.PipeB = link.Pipe()
	var la, lb microtcp.Link = p.PipeA, p.PipeB
	if o.Faults != nil {
		fb := *o.Faults
		fb.Seed++
		t.Logf("fault seeds: A→B %d, B→A %d", o.Faults.Seed, fb.Seed)
		p.FaultA = link.NewFaulty(la, *o.Faults)
		p.FaultB = link.NewFaulty(lb, fb)
		la, lb = p.FaultA, p.FaultB
	}
	if o.Capture != nil {
		lt := link.LinkTypeEthernet
		if o.LinkType == microtcp.LinkIP {
			lt = link.LinkTypeRaw
		}
		c, err := link.NewCapture(la, o.Capture, link.CaptureConfig{LinkType: lt})
		if err != nil {
			t.Fatalf("NewCapture: %v", err)
		}
		p.CaptureA = c
		la = c
	}
	var err error
	p.A, err = microtcp.NewStack(la, microtcp.Config{
		Addr: netip.PrefixFrom(addrA, 24), LinkType: o.LinkType, UDPReceiveBuffer: o.UDPReceiveBuffer,
	})
	if err != nil {
		t.Fatalf("NewStack A: %v", err)
	}
	p.B, err = microtcp.NewStack(lb, microtcp.Config{
		Addr: netip.PrefixFrom(addrB, 24), LinkType: o.LinkType, UDPReceiveBuffer: o.UDPReceiveBuffer,
	})
	if err != nil {
		p.A.Close()
		t.Fatalf("NewStack B: %v", err)
	}
	t.Cleanup(func() {
		if err := p.A.Close(); err != nil {
			t.Errorf("closing A: %v", err)
		}
		if err := p.B.Close(); err != nil {
			t.Errorf("closing B: %v", err)
		}
		if !o.InBubble {
			checkGoroutines(t, baseline)
		}
	})
	return p
}

// checkGoroutines waits, boundedly, for the goroutine count to fall back to
// baseline. Polling is fine here: it observes, it does not synchronise the
// code under test.
func checkGoroutines(t *testing.T, baseline int) {
	t.Helper()
	var n int
	for range 200 {
		if n = runtime.NumGoroutine(); n <= baseline {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	t.Errorf("%d goroutines after Close, baseline %d:\n%s", n, baseline, buf)
}

// payload fills a datagram of the given size for sequence number seq:
// 4 bytes of seq (big endian) when it fits, then bytes from a generator
// seeded by (seed, seq), so every byte is checked.
func payload(seed uint64, seq uint32, size int) []byte {
	b := make([]byte, size)
	x := seed ^ uint64(seq)*0x9e3779b97f4a7c15 ^ uint64(size)
	var word [8]byte
	for i := 0; i < size; i += 8 {
		// xorshift64: cheap, deterministic, good enough to catch a
		// misplaced or flipped byte. Eight bytes per step keeps the
		// race detector's per-store cost down.
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(word[:], x)
		copy(b[i:], word[:])
	}
	if size >= 4 {
		b[0], b[1], b[2], b[3] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
	}
	return b
}

func seqOf(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func describe(s *microtcp.Stack) string {
	st := s.Stats()
	return fmt.Sprintf("%v: link %+v ipv4 %+v udp %+v", s.Addr(), st.Link, st.IPv4, st.UDP)
}
