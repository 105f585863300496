package stack

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/ipv4"
	"github.com/microtcp/microtcp/core/wire"
)

// Hostile-peer tests (issue #7) that need real frames: spoofed ICMP errors
// and IP fragment floods.

// tcpDataSizes returns the largest IP packet carrying TCP data that A
// sent since log entry start, and the smallest TCP payload.
func tcpDataSizes(w *world, start int) (largest, smallest int) {
	smallest = 1 << 30
	for _, l := range w.log[start:] {
		ip, seg := tcpOf(l.frame)
		if !l.fromA || seg == nil || len(seg.Payload()) == 0 {
			continue
		}
		largest = max(largest, len(ip))
		smallest = min(smallest, len(seg.Payload()))
	}
	return largest, smallest
}

// lastDataFrames returns the log index from which A sent its last k TCP
// data segments, not before start.
func lastDataFrames(w *world, start, k int) int {
	for i := len(w.log) - 1; i >= start; i-- {
		if _, seg := tcpOf(w.log[i].frame); w.log[i].fromA && seg != nil && len(seg.Payload()) > 0 {
			if k--; k == 0 {
				return i
			}
		}
	}
	return start
}

// icmpQuoting builds the frame of an ICMP destination unreachable from a
// router to A quoting the IP packet orig.
func icmpQuoting(code uint8, mtu uint32, orig []byte) []byte {
	body := make([]byte, ipv4.ErrorLen(wire.IPv4(orig)))
	n := ipv4.EncodeError(body, wire.ICMPDestUnreachable, code, mtu, wire.IPv4(orig))
	gw := netip.MustParseAddr("192.0.2.254")
	return ethFrame(macB, macA, wire.EtherTypeIPv4, ipPacket(wire.ProtoICMP, gw, addrA, body[:n]))
}

// TestAttackSpoofedICMP: ICMP errors quoting a segment whose sequence
// number is outside the send window are ignored (RFC 5927 §4.1): the
// connection stays up and keeps its full segment size.
func TestAttackSpoofedICMP(t *testing.T) {
	for _, tc := range []struct {
		name string
		code uint8
		mtu  uint32
	}{
		{"fragmentation needed, MTU 576", wire.ICMPCodeFragmentationNeeded, 576},
		{"fragmentation needed, MTU 68", wire.ICMPCodeFragmentationNeeded, 68},
		{"port unreachable", wire.ICMPCodePortUnreachable, 0},
		{"protocol unreachable", wire.ICMPCodeProtoUnreachable, 0},
		{"host unreachable", wire.ICMPCodeHostUnreachable, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := resolved(t, nil)
			ca, cb := connected(t, w)
			var quoted []byte
			w.filter = func(fromA bool, frame []byte) bool {
				if ip, seg := tcpOf(frame); fromA && seg != nil && len(seg.Payload()) > 0 && quoted == nil {
					quoted = append([]byte(nil), ip...)
				}
				return true
			}
			first := pattern(3000, 1)
			if got := transfer(t, w, ca, cb, first); !bytes.Equal(got, first) {
				t.Fatal("bytes differ before the attack")
			}
			// The attacker guesses the four-tuple but not the sequence:
			// flip its top bit, as far from the window as it gets.
			wire.TCP(quoted[wire.IPv4HeaderLen:])[4] ^= 0x80
			before := w.a.Stats().TCP.Dropped
			w.a.Input(w.now, icmpQuoting(tc.code, tc.mtu, quoted))
			if ca.Err() != nil || !ca.Established() {
				t.Fatalf("after the spoofed ICMP: err %v, state %v", ca.Err(), ca.State())
			}
			if w.a.Stats().TCP.Dropped != before+1 {
				t.Fatalf("the spoofed ICMP was not counted as dropped: %+v", w.a.Stats().TCP.Stats)
			}
			start := len(w.log)
			data := pattern(20000, 2)
			if got := transfer(t, w, ca, cb, data); !bytes.Equal(got, data) {
				t.Fatal("bytes differ after the attack")
			}
			if big, _ := tcpDataSizes(w, start); big != DefaultMTU {
				t.Fatalf("largest segment after the attack is a %d-byte packet, want the full %d", big, DefaultMTU)
			}
		})
	}
}

// TestAttackAbsurdFragmentationNeeded: a fragmentation-needed quoting a
// segment really in flight but announcing an MTU below 68 is clamped to
// 68, the floor RFC 1191 §3 sets for any path MTU estimate, so segments
// never shrink below what a 68-byte packet carries; a zero MTU (RFC 1191
// §5) takes the next plateau below the packet sent (1492); data keeps
// flowing intact in every case.
func TestAttackAbsurdFragmentationNeeded(t *testing.T) {
	// 576 is the control: the same message with a sane MTU does lower
	// the segment size.
	for _, mtu := range []uint32{0, 1, 40, 67, 576} {
		w := resolved(t, nil)
		ca, cb := connected(t, w)
		var inFlight []byte
		w.filter = func(fromA bool, frame []byte) bool {
			if ip, seg := tcpOf(frame); fromA && seg != nil && len(seg.Payload()) > 0 && inFlight == nil {
				// Lost on a link that then complains: the ICMP quotes
				// data still unacknowledged.
				inFlight = append([]byte(nil), ip...)
				w.a.Input(w.now, icmpQuoting(wire.ICMPCodeFragmentationNeeded, mtu, inFlight))
				return false
			}
			return true
		}
		start := len(w.log)
		data := pattern(23000, 4)
		if got := transfer(t, w, ca, cb, data); !bytes.Equal(got, data) {
			t.Fatalf("MTU %d: bytes differ", mtu)
		}
		if inFlight == nil {
			t.Fatal("no data segment sent")
		}
		// The initial window (10 segments) left before the ICMP came
		// back; the last segments were all sent after it.
		big, small := tcpDataSizes(w, lastDataFrames(w, start, 3))
		t.Logf("MTU %d: the last 3 data packets: %d bytes at most, payloads of %d at least", mtu, big, small)
		want := 68
		switch mtu {
		case 0:
			want = 1492
		case 576:
			want = 576
		}
		if big != want {
			t.Fatalf("MTU %d: largest packet %d, want %d", mtu, big, want)
		}
	}
}

// TestAttackFragmentFlood: partial datagrams that never complete are held
// within MaxReassemblies datagrams and the reassembler's 4 MiB, dropped
// after the reassembly timeout, and a genuine fragmented datagram then
// gets through.
func TestAttackFragmentFlood(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	const seed = 7_2026
	t.Logf("seed %d, %d fragments", seed, n)
	rng := rand.New(rand.NewPCG(seed, 1))
	w := resolved(t, nil)
	ub := mustUDP(t, w.b, "0.0.0.0:9000")
	heapBefore := heapInUse()

	frame := make([]byte, wire.EthernetHeaderLen+wire.IPv4HeaderLen+1480)
	eh := wire.EthernetFields{Dst: macB, Src: macA, EtherType: wire.EtherTypeIPv4}
	eh.Encode(frame)
	send := func(src netip.Addr, id uint16, off, size int) {
		ip := frame[wire.EthernetHeaderLen : wire.EthernetHeaderLen+wire.IPv4HeaderLen+size]
		for i := range ip[wire.IPv4HeaderLen:] {
			ip[wire.IPv4HeaderLen+i] = byte(rng.Uint32())
		}
		h := wire.IPv4Fields{TotalLen: len(ip), ID: id, MoreFragments: true, FragmentOffset: off, TTL: 64, Protocol: wire.ProtoUDP, Src: src, Dst: addrB}
		h.Encode(ip)
		w.b.Input(w.now, frame[:wire.EthernetHeaderLen+len(ip)])
	}
	randomSrc := func() netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.IntN(254) + 1)})
	}

	// Count: every fragment starts a new datagram.
	peak := 0
	for range n {
		send(randomSrc(), uint16(rng.Uint32()), 8*rng.IntN(1000), 8*(1+rng.IntN(100)))
		peak = max(peak, w.b.reasm.Len())
	}
	st := w.b.Stats().IPv4
	t.Logf("count flood: peak %d datagrams held, %d fragments refused", peak, st.Reassembly.TooMany)
	if peak != 64 || st.Reassembly.TooMany < uint64(n-64) {
		t.Fatalf("peak %d datagrams, %d refused: want MaxReassemblies (64) held, the rest refused", peak, st.Reassembly.TooMany)
	}

	// Time: the reassembly timeout frees them all.
	w.now = w.now.Add(31 * time.Second)
	w.b.Poll(w.now)
	w.b.TakeFrames(nil)
	if w.b.reasm.Len() != 0 || w.b.Stats().IPv4.Reassembly.Timeouts != 64 {
		t.Fatalf("after the timeout: %d datagrams held, %d timeouts", w.b.reasm.Len(), w.b.Stats().IPv4.Reassembly.Timeouts)
	}

	// Bytes: 64 datagrams of 44 full fragments each would be 4.2 MB.
	refused := w.b.Stats().IPv4.Reassembly.TooMany
	srcs := make([]netip.Addr, 64)
	for i := range srcs {
		srcs[i] = randomSrc()
	}
	for k := range 44 {
		for i, src := range srcs {
			send(src, uint16(i), k*1480, 1480)
		}
	}
	heapAfter := heapInUse()
	st = w.b.Stats().IPv4
	t.Logf("byte flood: %d datagrams held, %d fragments refused; heap %d → %d (delta %+d)",
		w.b.reasm.Len(), st.Reassembly.TooMany-refused, heapBefore, heapAfter, int64(heapAfter)-int64(heapBefore))
	if st.Reassembly.TooMany == refused {
		t.Fatal("4.2 MB of fragments all held: no byte bound")
	}
	if d := int64(heapAfter) - int64(heapBefore); d > 8<<20 {
		t.Fatalf("heap grew %d bytes: the 4 MiB bound did not hold", d)
	}

	// A genuine fragmented datagram gets through once the flood expires.
	w.now = w.now.Add(31 * time.Second)
	w.b.Poll(w.now)
	w.b.TakeFrames(nil)
	ua := mustUDP(t, w.a, "0.0.0.0:0")
	payload := pattern(8000, 9)
	if err := ua.SendTo(w.now, payload, netip.AddrPortFrom(addrB, 9000)); err != nil {
		t.Fatal(err)
	}
	w.settle()
	buf := make([]byte, 9000)
	k, _, ok := ub.ReadFrom(buf)
	if !ok || !bytes.Equal(buf[:k], payload) {
		t.Fatalf("received %d bytes ok=%v, want the 8000 sent intact", k, ok)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
