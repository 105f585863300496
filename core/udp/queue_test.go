package udp

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestQueueFIFOAndWrap(t *testing.T) {
	seed := uint64(20261122)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	q := queue{capacity: 1000}
	var want [][]byte
	var wantFrom []netip.AddrPort
	for i := range 5000 {
		if rng.IntN(2) == 0 || len(want) == 0 {
			p := make([]byte, rng.IntN(300))
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
			from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i), byte(i >> 8)}), uint16(i))
			ok := q.push(from, p)
			fits := q.used+recordHeaderLen+len(p) <= q.capacity
			if ok {
				want = append(want, p)
				wantFrom = append(wantFrom, from)
			} else if fits {
				t.Fatalf("step %d: push of %d bytes refused with %d/%d used", i, len(p), q.used, q.capacity)
			}
			continue
		}
		buf := make([]byte, 400)
		n, from, ok := q.pop(buf)
		if !ok {
			t.Fatalf("step %d: pop empty with %d expected", i, len(want))
		}
		if !bytes.Equal(buf[:n], want[0]) || from != wantFrom[0] {
			t.Fatalf("step %d: got %d bytes from %v, want %d from %v", i, n, from, len(want[0]), wantFrom[0])
		}
		want, wantFrom = want[1:], wantFrom[1:]
	}
	if q.count != len(want) {
		t.Fatalf("count %d, want %d", q.count, len(want))
	}
}

func TestQueueTruncatesAndDiscards(t *testing.T) {
	q := queue{capacity: 100}
	from := netip.MustParseAddrPort("192.0.2.1:53")
	if !q.push(from, []byte("hello world")) || !q.push(from, []byte("second")) {
		t.Fatal("push refused")
	}
	b := make([]byte, 5)
	n, _, ok := q.pop(b)
	if !ok || string(b[:n]) != "hello" {
		t.Fatalf("got %q ok=%v, want %q", b[:n], ok, "hello")
	}
	b = make([]byte, 64)
	n, got, ok := q.pop(b)
	if !ok || string(b[:n]) != "second" || got != from {
		t.Fatalf("got %q from %v ok=%v, want rest discarded and %q next", b[:n], got, ok, "second")
	}
	if _, _, ok := q.pop(b); ok {
		t.Fatal("pop from empty queue succeeded")
	}
}

func TestQueueFullAndEmptyDatagram(t *testing.T) {
	q := queue{capacity: 3 * recordHeaderLen}
	from := netip.MustParseAddrPort("192.0.2.1:53")
	for i := range 3 {
		if !q.push(from, nil) {
			t.Fatalf("empty datagram %d refused", i)
		}
	}
	if q.push(from, nil) {
		t.Fatal("push into a full queue succeeded")
	}
	n, _, ok := q.pop(make([]byte, 10))
	if !ok || n != 0 {
		t.Fatalf("got n=%d ok=%v, want an empty datagram", n, ok)
	}
	if q.push(from, []byte{1}) {
		t.Fatal("9-byte record fitted in 8 free bytes")
	}
}

func TestQueueLazyAllocation(t *testing.T) {
	q := queue{capacity: DefaultReceiveBuffer}
	if q.buf != nil {
		t.Fatal("buffer allocated before the first datagram")
	}
	q.push(netip.MustParseAddrPort("192.0.2.1:53"), []byte("x"))
	if len(q.buf) != DefaultReceiveBuffer {
		t.Fatalf("buffer %d bytes, want %d", len(q.buf), DefaultReceiveBuffer)
	}
}
