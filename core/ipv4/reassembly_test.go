package ipv4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// feed adds frags in the given order and returns the datagram(s) that came
// back complete (copied) and the last error.
func feed(t *testing.T, r *Reassembler, frags []wire.IPv4, order []int) (done []wire.IPv4, err error) {
	t.Helper()
	for _, i := range order {
		got, e := r.Add(t0, frags[i])
		if e != nil {
			err = e
		}
		if got != nil {
			done = append(done, append(wire.IPv4(nil), got...))
		}
	}
	return done, err
}

func checkDatagram(t *testing.T, got wire.IPv4, payload []byte) {
	t.Helper()
	ip, err := wire.ParseIPv4(got)
	if err != nil {
		t.Fatalf("reassembled datagram does not parse: %v", err)
	}
	if !ip.ChecksumValid() {
		t.Error("header checksum invalid")
	}
	if ip.IsFragment() {
		t.Error("reassembled datagram still marked as a fragment")
	}
	if ip.TotalLen() != wire.IPv4HeaderLen+len(payload) || ip.ID() != 0x1234 || ip.Protocol() != wire.ProtoUDP {
		t.Errorf("header: len %d id %#x proto %d", ip.TotalLen(), ip.ID(), ip.Protocol())
	}
	if !bytes.Equal(ip.Payload(), payload) {
		t.Error("payload differs")
	}
}

func TestReassembleOrders(t *testing.T) {
	payload := pattern(8008)
	frags := fragments(t, udpFields(), payload, 1500)
	n := len(frags)
	t.Logf("shuffle seed %d (rerun with -seed)", *seed)
	rng := rand.New(rand.NewPCG(*seed, 0))
	inOrder := make([]int, n)
	reversed := make([]int, n)
	for i := range n {
		inOrder[i], reversed[i] = i, n-1-i
	}
	tests := []struct {
		name  string
		order []int
	}{
		{"in order", inOrder},
		{"reversed", reversed},
		{"shuffled", rng.Perm(n)},
		{"with duplicates", []int{0, 0, 1, 3, 1, 2, 4, 3, 5}},
		{"last first", []int{5, 0, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReassembler(ReassemblerConfig{})
			done, err := feed(t, r, frags, tt.order)
			if err != nil {
				t.Fatalf("order %v: %v", tt.order, err)
			}
			if len(done) != 1 {
				t.Fatalf("order %v: %d datagrams completed", tt.order, len(done))
			}
			checkDatagram(t, done[0], payload)
			if r.Len() != 0 || r.bytes != 0 || !r.NextDeadline().IsZero() {
				t.Errorf("state left: Len %d bytes %d deadline %v", r.Len(), r.bytes, r.NextDeadline())
			}
			if st := r.Stats(); st.Reassembled != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestReassembleRandomMTUs(t *testing.T) {
	t.Logf("seed %d (rerun with -seed)", *seed)
	rng := rand.New(rand.NewPCG(*seed, 1))
	r := NewReassembler(ReassemblerConfig{})
	for i := range 200 {
		payload := pattern(1 + rng.IntN(65515))
		f := udpFields()
		f.ID = uint16(i)
		frags := fragments(t, f, payload, 68+rng.IntN(9000))
		var done []wire.IPv4
		for _, j := range rng.Perm(len(frags)) {
			got, err := r.Add(t0, frags[j])
			if err != nil {
				t.Fatalf("iteration %d: %v", i, err)
			}
			if got != nil {
				done = append(done, got)
			}
		}
		if len(done) != 1 || !bytes.Equal(done[0].Payload(), payload) {
			t.Fatalf("iteration %d (%d bytes, %d fragments): %d datagrams", i, len(payload), len(frags), len(done))
		}
	}
}

func TestReassembleUnfragmentedPassesThrough(t *testing.T) {
	r := NewReassembler(ReassemblerConfig{})
	p := packet(t, udpFields(), []byte("hello"))
	got, err := r.Add(t0, p)
	if err != nil || !bytes.Equal(got, p) || r.Len() != 0 {
		t.Fatalf("Add(unfragmented) = %v, %v", got, err)
	}
}

// rawFrag builds one fragment by hand.
func rawFrag(t testing.TB, id uint16, off int, mf bool, payload []byte) wire.IPv4 {
	f := udpFields()
	f.ID, f.FragmentOffset, f.MoreFragments = id, off, mf
	return packet(t, f, payload)
}

func TestReassembleErrors(t *testing.T) {
	type step struct {
		frag wire.IPv4
		want error // nil = stored
	}
	tests := []struct {
		name      string
		steps     []step
		wantLen   int
		wantStats ReassemblyStats
	}{
		{
			name: "overlap drops the datagram",
			steps: []step{
				{rawFrag(t, 1, 0, true, pattern(16)), nil},
				{rawFrag(t, 1, 8, true, pattern(16)), ErrOverlap},
				{rawFrag(t, 1, 24, false, pattern(4)), nil}, // starts afresh; not complete
			},
			wantLen:   1,
			wantStats: ReassemblyStats{Overlaps: 1},
		},
		{
			name: "overlap into the previous fragment",
			steps: []step{
				{rawFrag(t, 1, 16, true, pattern(16)), nil},
				{rawFrag(t, 1, 8, true, pattern(16)), ErrOverlap},
			},
			wantStats: ReassemblyStats{Overlaps: 1},
		},
		{
			name: "same offset different data overlaps",
			steps: []step{
				{rawFrag(t, 1, 8, true, pattern(16)), nil},
				{rawFrag(t, 1, 8, true, make([]byte, 16)), ErrOverlap},
			},
			wantStats: ReassemblyStats{Overlaps: 1},
		},
		{
			name: "beyond 65535",
			steps: []step{
				{rawFrag(t, 2, 0, true, pattern(8)), nil},
				{rawFrag(t, 2, 65528, false, pattern(8)), ErrTooBig},
			},
			wantStats: ReassemblyStats{TooBig: 1},
		},
		{
			name: "non-last fragment not a multiple of 8",
			steps: []step{
				{rawFrag(t, 3, 0, true, pattern(10)), ErrBadFragment},
			},
			wantStats: ReassemblyStats{BadFragments: 1},
		},
		{
			name: "empty non-last fragment",
			steps: []step{
				{rawFrag(t, 3, 8, true, nil), ErrBadFragment},
			},
			wantStats: ReassemblyStats{BadFragments: 1},
		},
		{
			name: "conflicting last fragments",
			steps: []step{
				{rawFrag(t, 4, 16, false, pattern(4)), nil},
				{rawFrag(t, 4, 24, false, pattern(4)), ErrBadFragment},
			},
			wantLen:   1,
			wantStats: ReassemblyStats{BadFragments: 1},
		},
		{
			name: "data beyond the last fragment",
			steps: []step{
				{rawFrag(t, 5, 16, false, pattern(4)), nil},
				{rawFrag(t, 5, 24, true, pattern(8)), ErrBadFragment},
			},
			wantLen:   1,
			wantStats: ReassemblyStats{BadFragments: 1},
		},
		{
			name: "last fragment before data already held",
			steps: []step{
				{rawFrag(t, 6, 32, true, pattern(8)), nil},
				{rawFrag(t, 6, 16, false, pattern(4)), ErrBadFragment},
			},
			wantLen:   1,
			wantStats: ReassemblyStats{BadFragments: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReassembler(ReassemblerConfig{})
			for i, s := range tt.steps {
				got, err := r.Add(t0, s.frag)
				if got != nil {
					t.Fatalf("step %d completed a datagram", i)
				}
				if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
					t.Fatalf("step %d: err %v, want %v", i, err, s.want)
				}
			}
			if r.Len() != tt.wantLen {
				t.Errorf("Len %d, want %d", r.Len(), tt.wantLen)
			}
			if st := r.Stats(); st != tt.wantStats {
				t.Errorf("stats %+v, want %+v", st, tt.wantStats)
			}
		})
	}
}

// optionsFrag is fragment zero of id 0x1234 with a header of hl bytes
// (options all NOP) and payload.
func optionsFrag(t *testing.T, hl int, payload []byte) wire.IPv4 {
	t.Helper()
	b := make([]byte, hl+len(payload))
	f := udpFields()
	f.MoreFragments = true
	f.TotalLen = len(b)
	f.Encode(b)
	b[0] = 4<<4 | byte(hl/4)
	for i := wire.IPv4HeaderLen; i < hl; i++ {
		b[i] = 1 // NOP
	}
	copy(b[hl:], payload)
	binary.BigEndian.PutUint16(b[10:], 0)
	binary.BigEndian.PutUint16(b[10:], wire.Checksum(b[:hl]))
	ip, err := wire.ParseIPv4(b)
	if err != nil || !ip.ChecksumValid() {
		t.Fatalf("optionsFrag: %v", err)
	}
	return ip
}

func TestReassembleDropsFirstHeaderOptions(t *testing.T) {
	r := NewReassembler(ReassemblerConfig{})
	if _, err := r.Add(t0, optionsFrag(t, 24, pattern(8))); err != nil {
		t.Fatal(err)
	}
	got, err := r.Add(t0, rawFrag(t, 0x1234, 8, false, pattern(11)[8:]))
	if err != nil || got == nil {
		t.Fatalf("Add = %v, %v", got, err)
	}
	checkDatagram(t, got, pattern(11))
	if got.HeaderLen() != wire.IPv4HeaderLen {
		t.Errorf("header length %d, want options dropped", got.HeaderLen())
	}
}

func TestReassembleLargestDatagram(t *testing.T) {
	// Fragment zero with 40 bytes of options, and a last fragment ending
	// at 65515: each fragment is legal, and so is the reassembled datagram
	// once the options are gone (20 + 65515 = 65535).
	r := NewReassembler(ReassemblerConfig{})
	payload := pattern(65515)
	if _, err := r.Add(t0, optionsFrag(t, 60, payload[:8])); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(t0, rawFrag(t, 0x1234, 8, true, payload[8:65504])); err != nil {
		t.Fatal(err)
	}
	got, err := r.Add(t0, rawFrag(t, 0x1234, 65504, false, payload[65504:]))
	if err != nil || got == nil {
		t.Fatalf("Add = %v, %v", got, err)
	}
	checkDatagram(t, got, payload)
	// One byte more is refused up front.
	if _, err := r.Add(t0, rawFrag(t, 0x1234, 65504, false, pattern(12))); !errors.Is(err, ErrTooBig) {
		t.Fatalf("65536-byte datagram: %v, want ErrTooBig", err)
	}
}

func TestReassemblyTimeout(t *testing.T) {
	r := NewReassembler(ReassemblerConfig{Timeout: 30 * time.Second})
	frags := fragments(t, udpFields(), pattern(3000), 1500)
	r.Add(t0, frags[0])
	other := udpFields()
	other.ID = 99
	r.Add(t0.Add(time.Second), fragments(t, other, pattern(3000), 1500)[1]) // no fragment zero
	if got := r.NextDeadline(); !got.Equal(t0.Add(30 * time.Second)) {
		t.Fatalf("NextDeadline %v", got)
	}
	var expired []wire.IPv4
	cb := func(first wire.IPv4) { expired = append(expired, append(wire.IPv4(nil), first...)) }
	r.Poll(t0.Add(30*time.Second-1), cb)
	if r.Len() != 2 || len(expired) != 0 {
		t.Fatalf("early Poll dropped something")
	}
	r.Poll(t0.Add(30*time.Second), cb)
	if r.Len() != 1 || len(expired) != 1 {
		t.Fatalf("Len %d, %d expired", r.Len(), len(expired))
	}
	if !bytes.Equal(expired[0], frags[0]) {
		t.Errorf("expired callback got % x…, want fragment zero", expired[0][:24])
	}
	if _, err := wire.ParseIPv4(expired[0]); err != nil {
		t.Errorf("expired view does not parse: %v", err)
	}
	// The second one had no fragment zero: dropped without a callback.
	r.Poll(t0.Add(31*time.Second), cb)
	if r.Len() != 0 || len(expired) != 1 || !r.NextDeadline().IsZero() {
		t.Errorf("Len %d expired %d deadline %v", r.Len(), len(expired), r.NextDeadline())
	}
	if st := r.Stats(); st.Timeouts != 2 {
		t.Errorf("Timeouts %d", st.Timeouts)
	}
	// A late fragment starts a new datagram rather than completing the old.
	if got, _ := r.Add(t0.Add(40*time.Second), frags[1]); got != nil {
		t.Error("late fragment completed an expired datagram")
	}
}

func TestReassemblyCaps(t *testing.T) {
	t.Run("MaxDatagrams", func(t *testing.T) {
		r := NewReassembler(ReassemblerConfig{MaxDatagrams: 2})
		for id := uint16(1); id <= 2; id++ {
			if _, err := r.Add(t0, rawFrag(t, id, 0, true, pattern(8))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.Add(t0, rawFrag(t, 3, 0, true, pattern(8))); !errors.Is(err, ErrTooMany) {
			t.Fatalf("third datagram: %v, want ErrTooMany", err)
		}
		// Existing datagrams still complete.
		got, err := r.Add(t0, rawFrag(t, 1, 8, false, pattern(1)))
		if err != nil || got == nil {
			t.Fatalf("completing an existing datagram: %v %v", got, err)
		}
		if st := r.Stats(); st.TooMany != 1 || st.Reassembled != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("MaxBytes", func(t *testing.T) {
		r := NewReassembler(ReassemblerConfig{MaxBytes: 3000})
		if _, err := r.Add(t0, rawFrag(t, 1, 0, true, pattern(1480))); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Add(t0, rawFrag(t, 1, 1480, true, pattern(1480))); !errors.Is(err, ErrTooMany) {
			t.Fatalf("over MaxBytes: %v, want ErrTooMany", err)
		}
		if r.Len() != 1 {
			t.Errorf("datagram lost on ErrTooMany")
		}
		// Space comes back when the datagram completes.
		if got, err := r.Add(t0, rawFrag(t, 1, 1480, false, pattern(100))); err != nil || got == nil {
			t.Fatalf("completion: %v %v", got, err)
		}
		if r.bytes != 0 {
			t.Errorf("bytes %d after completion", r.bytes)
		}
	})
}

// FuzzReassembler feeds fragments cut from fuzz bytes: each record is
// id(1) offset-blocks(2) flags(1) length(1); data follows from the pattern.
func FuzzReassembler(f *testing.F) {
	f.Add([]byte{1, 0, 0, 1, 16, 1, 0, 2, 0, 8})
	f.Add([]byte{1, 0, 2, 0, 8, 1, 0, 0, 1, 16})
	f.Add([]byte{1, 0, 0, 1, 16, 1, 0, 1, 1, 16})
	f.Add([]byte{2, 0x1f, 0xff, 0, 200, 2, 0, 0, 1, 8})
	f.Add([]byte{3, 0, 0, 1, 7, 3, 0, 0, 1, 8, 3, 0, 0, 1, 8, 3, 0, 1, 0, 0})
	const maxDatagrams, maxBytes = 4, 8192
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReassembler(ReassemblerConfig{MaxDatagrams: maxDatagrams, MaxBytes: maxBytes, Timeout: time.Second})
		now := t0
		payload := pattern(256)
		for len(data) >= 5 {
			id := uint16(data[0] & 3)
			off := int(binary.BigEndian.Uint16(data[1:])&0x1fff) * 8
			mf := data[3]&1 != 0
			n := int(data[4])
			data = data[5:]
			got, err := r.Add(now, rawFrag(t, id, off, mf, payload[:n]))
			if got != nil {
				ip, perr := wire.ParseIPv4(got)
				if perr != nil || !ip.ChecksumValid() || ip.IsFragment() {
					t.Fatalf("returned datagram invalid: %v", perr)
				}
				if err != nil {
					t.Fatalf("datagram and error %v", err)
				}
			}
			if r.Len() > maxDatagrams || r.bytes > maxBytes || r.bytes < 0 {
				t.Fatalf("bounds broken: %d datagrams, %d bytes", r.Len(), r.bytes)
			}
			now = now.Add(100 * time.Millisecond)
			r.Poll(now, func(first wire.IPv4) {
				if _, err := wire.ParseIPv4(first); err != nil || first.FragmentOffset() != 0 {
					t.Fatalf("expired view invalid: %v", err)
				}
			})
		}
		sum := 0
		for _, d := range r.dgs {
			sum += d.cost
		}
		if sum != r.bytes {
			t.Fatalf("byte accounting %d, entries hold %d", r.bytes, sum)
		}
	})
}

func BenchmarkReassemblerAddPair(b *testing.B) {
	r := NewReassembler(ReassemblerConfig{})
	f := udpFields()
	payload := pattern(1400)
	var frags []wire.IPv4
	err := Fragment(&f, payload, 748, func(h *wire.IPv4Fields, chunk []byte) {
		buf := make([]byte, h.TotalLen)
		h.Encode(buf)
		copy(buf[wire.IPv4HeaderLen:], chunk)
		frags = append(frags, buf)
	})
	if err != nil || len(frags) != 2 {
		b.Fatalf("setup: %v, %d fragments", err, len(frags))
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		r.Add(t0, frags[0])
		if got, err := r.Add(t0, frags[1]); err != nil || got == nil {
			b.Fatalf("Add: %v %v", got, err)
		}
	}
}
