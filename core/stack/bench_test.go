package stack

import (
	"net/netip"
	"testing"
)

func BenchmarkInputUDP(b *testing.B) {
	b.ReportAllocs()
	s, u := newTarget(b)
	frame := ethFrame(macB, macA, 0x0800, udpPacket(netip.AddrPortFrom(addrB, 4000), netip.AddrPortFrom(addrA, 9000), pattern(1024, 0)))
	buf := make([]byte, 2048)
	b.SetBytes(1024)
	for b.Loop() {
		s.Input(epoch, frame)
		if n, _, ok := u.ReadFrom(buf); !ok || n != 1024 {
			b.Fatalf("ReadFrom = %d, %v", n, ok)
		}
	}
	if st := s.Stats(); st.UDP.InDatagrams != uint64(b.N) {
		b.Fatalf("delivered %d of %d", st.UDP.InDatagrams, b.N)
	}
}

func TestInputUDPDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counting")
	}
	s, u := newTarget(t)
	frame := ethFrame(macB, macA, 0x0800, udpPacket(netip.AddrPortFrom(addrB, 4000), netip.AddrPortFrom(addrA, 9000), pattern(1024, 0)))
	buf := make([]byte, 2048)
	s.Input(epoch, frame) // the first datagram allocates the receive ring
	u.ReadFrom(buf)
	if a := testing.AllocsPerRun(100, func() {
		s.Input(epoch, frame)
		u.ReadFrom(buf)
	}); a != 0 {
		t.Fatalf("%v allocations per Input+ReadFrom, want 0", a)
	}
}

// BenchmarkSendUDP gives every frame back with RecycleFrames, as the netconn
// driver does, and so allocates nothing.
func BenchmarkSendUDP(b *testing.B) {
	b.ReportAllocs()
	w := resolved(b, nil)
	u, err := w.a.OpenUDP(netip.AddrPort{})
	if err != nil {
		b.Fatal(err)
	}
	dst := netip.AddrPortFrom(addrB, 9000)
	payload := pattern(1024, 0)
	frames := make([][]byte, 0, 4)
	b.SetBytes(1024)
	for b.Loop() {
		if err := u.SendTo(w.now, payload, dst); err != nil {
			b.Fatal(err)
		}
		frames = w.a.TakeFrames(frames[:0])
		w.a.RecycleFrames(frames)
	}
}
