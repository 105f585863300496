package wire

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestChecksumRFC1071Example is the worked example of RFC 1071 §3: the
// bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0x2ddf0, which folds to 0xddf2, so
// the checksum is its complement 0x220d.
func TestChecksumRFC1071Example(t *testing.T) {
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	// Sum's unfolded value is an implementation detail (it adds 32-bit
	// words); only the folded sum is defined.
	if s := ^Fold(Sum(b, 0)); s != 0xddf2 {
		t.Errorf("folded sum = %#x, want 0xddf2", s)
	}
	if c := Checksum(b); c != 0x220d {
		t.Errorf("Checksum = %#04x, want 0x220d", c)
	}
	// Appending the checksum makes the whole verify to zero.
	if c := Checksum(append(b, 0x22, 0x0d)); c != 0 {
		t.Errorf("verify = %#04x, want 0", c)
	}
}

func TestChecksumEdges(t *testing.T) {
	tests := []struct {
		b    []byte
		want uint16
	}{
		{nil, 0xffff},
		{[]byte{0}, 0xffff},
		{[]byte{0xff}, 0x00ff}, // odd byte is the high half of a zero-padded word
		{[]byte{0x12, 0x34, 0x56}, ^uint16(0x1234 + 0x5600)},
		{[]byte{0xff, 0xff}, 0x0000},
		{[]byte{0xff, 0xff, 0xff, 0xff}, 0x0000},
		{[]byte{0x80, 0x00, 0x80, 0x00}, 0xfffe}, // carry wraps around
	}
	for _, tt := range tests {
		if got := Checksum(tt.b); got != tt.want {
			t.Errorf("Checksum(% x) = %#04x, want %#04x", tt.b, got, tt.want)
		}
	}
}

func TestChecksumRandom(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	for i := 0; i < 2000; i++ {
		b := make([]byte, r.IntN(200))
		for k := range b {
			b[k] = byte(r.Uint32())
			if i%4 == 0 {
				b[k] = 0xff // long runs of carries
			}
		}
		want := refChecksum(b)
		if got := Checksum(b); got != want {
			t.Fatalf("len %d: Checksum %#04x, reference %#04x", len(b), got, want)
		}
		// Summing pieces split at any even offset equals the whole.
		k := r.IntN(len(b)/2+1) * 2
		if got := Fold(Sum(b[k:], Sum(b[:k], 0))); got != want {
			t.Fatalf("len %d split %d: %#04x, want %#04x", len(b), k, got, want)
		}
		// Three pieces, the middle one possibly empty.
		k2 := k + r.IntN((len(b)-k)/2+1)*2
		if got := Fold(Sum(b[k2:], Sum(b[k:k2], Sum(b[:k], 0)))); got != want {
			t.Fatalf("len %d split %d,%d: %#04x, want %#04x", len(b), k, k2, got, want)
		}
	}
	// A large initial value must carry, not overflow.
	if got, want := Fold(Sum([]byte{0xff, 0xff}, 0xffffffff)), refChecksum([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); got != want {
		t.Errorf("initial 0xffffffff: %#04x want %#04x", got, want)
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	tests := []struct {
		proto    IPProtocol
		src, dst string
		length   int
	}{
		{ProtoTCP, "10.0.0.1", "10.0.0.2", 40},
		{ProtoUDP, "255.255.255.255", "255.255.255.255", 65535},
		{ProtoTCP, "0.0.0.0", "0.0.0.0", 0},
		{ProtoUDP, "192.168.0.1", "192.168.0.199", 0x5f},
	}
	for _, tt := range tests {
		src, dst := netip.MustParseAddr(tt.src), netip.MustParseAddr(tt.dst)
		got := Fold(PseudoHeaderSum(tt.proto, src, dst, tt.length))
		if want := refChecksum(refPseudo(src, dst, tt.proto, tt.length)); got != want {
			t.Errorf("%+v: %#04x want %#04x", tt, got, want)
		}
	}
}

// TestUpdateChecksumRandom: the RFC 1624 incremental update gives the same
// checksum as summing the header again, for random headers and changes.
func TestUpdateChecksumRandom(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	for i := 0; i < 20000; i++ {
		h := make([]byte, 20+4*r.IntN(11))
		for k := range h {
			h[k] = byte(r.Uint32())
		}
		h[0] = 0x45 // as in every IPv4 header: never all zero
		h[10], h[11] = 0, 0
		binary.BigEndian.PutUint16(h[10:], refChecksum(h))
		w := 2 * r.IntN(len(h)/2)
		if w == 10 {
			continue // the checksum field itself
		}
		old := binary.BigEndian.Uint16(h[w:])
		nw := uint16(r.Uint32())
		switch i % 8 {
		case 0:
			nw = 0
		case 1:
			nw = 0xffff
		case 2:
			nw = old
		}
		binary.BigEndian.PutUint16(h[w:], nw)
		got := UpdateChecksum(binary.BigEndian.Uint16(h[10:]), old, nw)
		h[10], h[11] = 0, 0
		if want := refChecksum(h); got != want {
			t.Fatalf("word %d %#04x->%#04x: update %#04x, recomputed %#04x", w, old, nw, got, want)
		}
	}
}

// TestUpdateChecksumRFC1624Corner walks the example of RFC 1624 §4 and the
// one case where eqn. 3 and recomputation differ.
func TestUpdateChecksumRFC1624Corner(t *testing.T) {
	// RFC 1624 §4: the other header words sum to 0xcd7a and a field changes
	// from 0x5555 to 0x3285. HC = ~(0xcd7a+0x5555) = 0xdd2f. Recomputing
	// gives ~(0xcd7a+0x3285) = ~0xffff = 0x0000; eqn. 2 of RFC 1624 gives
	// the wrong 0xffff, eqn. 3 (UpdateChecksum) gives 0x0000.
	hc := refChecksum([]byte{0xcd, 0x7a, 0x55, 0x55})
	if hc != 0xdd2f {
		t.Fatalf("setup: HC %#04x", hc)
	}
	if got, want := UpdateChecksum(hc, 0x5555, 0x3285), refChecksum([]byte{0xcd, 0x7a, 0x32, 0x85}); got != 0 || want != 0 {
		t.Errorf("eqn. 3 %#04x, recomputed %#04x, want 0x0000 for both", got, want)
	}
	// The one disagreement: when every summed word becomes zero, full
	// recomputation gives 0xffff (+0 complemented) but eqn. 3 gives 0x0000,
	// the other ones' complement zero, which does not verify. It cannot
	// happen for IPv4 (version/IHL byte is 0x45) nor for TCP/UDP (the
	// pseudo-header carries a nonzero protocol), so UpdateChecksum keeps
	// eqn. 3 as written.
	hc = refChecksum([]byte{0, 0, 0x12, 0x34})
	if got := UpdateChecksum(hc, 0x1234, 0); got != 0x0000 {
		t.Errorf("all-zero corner: eqn. 3 gives %#04x, documented 0x0000", got)
	}
	if want := refChecksum([]byte{0, 0, 0, 0}); want != 0xffff {
		t.Errorf("all-zero corner: recomputed %#04x", want)
	}
	if Checksum([]byte{0, 0, 0, 0, 0, 0}) == 0 {
		t.Error("an all-zero header with checksum 0x0000 must not verify")
	}
}

// refSum16 is the plain RFC 1071 loop: 16-bit big-endian words, a lone last
// byte as the high half of a zero-padded word, end-around carry folded at
// the end. It is the reference for Sum and returns the folded 16-bit sum.
func refSum16(b []byte, initial uint32) uint16 {
	sum := uint64(initial)
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint64(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// TestSumMatchesReference compares Sum with refSum16 over random lengths up
// to 70000 bytes, random alignments in the backing array, random initial
// sums and random even split points, including runs of 0xff that carry
// on every add and all-zero data whose sum must stay zero.
func TestSumMatchesReference(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 4))
	backing := make([]byte, 70000+8)
	iters := 3000
	if testing.Short() {
		iters = 300
	}
	for i := 0; i < iters; i++ {
		n := r.IntN(70001)
		if i%2 == 0 {
			n = r.IntN(200) // short lengths exercise the tail paths
		}
		off := r.IntN(8)
		b := backing[off : off+n]
		for k := range b {
			switch i % 5 {
			case 0:
				b[k] = 0xff
			case 1:
				b[k] = 0
			default:
				b[k] = byte(r.Uint32())
			}
		}
		var initial uint32
		switch i % 4 {
		case 1:
			initial = r.Uint32()
		case 2:
			initial = 0xffffffff
		case 3:
			initial = uint32(r.IntN(0x10000)) | 1 // odd, 16-bit
		}
		want := refSum16(b, initial)
		if got := foldRaw(Sum(b, initial)); got != want {
			t.Fatalf("len %d off %d initial %#x: Sum folds to %#04x, reference %#04x", n, off, initial, got, want)
		}
		// Chained pieces split at even offsets sum to the same.
		k := r.IntN(n/2+1) * 2
		k2 := k + r.IntN((n-k)/2+1)*2
		if got := foldRaw(Sum(b[k2:], Sum(b[k:k2], Sum(b[:k], initial)))); got != want {
			t.Fatalf("len %d off %d initial %#x split %d,%d: %#04x, reference %#04x", n, off, initial, k, k2, got, want)
		}
	}
}

// foldRaw folds a running sum to 16 bits without complementing it, so that
// zero (nothing but zeros summed) and 0xffff stay apart.
func foldRaw(s uint32) uint16 { return ^Fold(s) }

func FuzzSum(f *testing.F) {
	f.Add([]byte{}, uint32(0), 0)
	f.Add([]byte{0xff}, uint32(0xffffffff), 0)
	f.Add([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, uint32(0), 4)
	f.Add(bytesOf(0xff, 131), uint32(0x1234), 64)
	f.Add(bytesOf(0x80, 1500), uint32(1), 700)
	f.Fuzz(func(t *testing.T, b []byte, initial uint32, split int) {
		want := refSum16(b, initial)
		if got := foldRaw(Sum(b, initial)); got != want {
			t.Fatalf("len %d initial %#x: %#04x, reference %#04x", len(b), initial, got, want)
		}
		if split < 0 {
			split = -split
		}
		if split < 0 {
			split = 0 // the most negative int
		}
		k := (split % (len(b) + 1)) &^ 1
		if got := foldRaw(Sum(b[k:], Sum(b[:k], initial))); got != want {
			t.Fatalf("len %d initial %#x split %d: %#04x, reference %#04x", len(b), initial, k, got, want)
		}
	})
}

func bytesOf(v byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = v
	}
	return b
}
