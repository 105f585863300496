package ipv4

import (
	"bytes"
	"errors"
	"syscall"
	"testing"

	"github.com/microtcp/microtcp/core/wire"
)

func TestFragmentGolden(t *testing.T) {
	type frag struct {
		off, totalLen int
		mf            bool
	}
	tests := []struct {
		name    string
		payload int
		mtu     int
		want    []frag
	}{
		{"fits exactly", 1480, 1500, []frag{{0, 1500, false}}},
		{"small", 100, 1500, []frag{{0, 120, false}}},
		{"one byte over", 1481, 1500, []frag{{0, 1500, true}, {1480, 21, false}}},
		// An 8000-byte UDP payload is 8008 bytes of IP payload.
		{"8000-byte UDP at 1500", 8008, 1500, []frag{
			{0, 1500, true}, {1480, 1500, true}, {2960, 1500, true},
			{4440, 1500, true}, {5920, 1500, true}, {7400, 628, false},
		}},
		// MTU 576: (576-20)/8*8 = 552.
		{"mtu 576", 1200, 576, []frag{{0, 572, true}, {552, 572, true}, {1104, 116, false}}},
		// MTU 68: 48 bytes per fragment.
		{"minimum mtu", 100, 68, []frag{{0, 68, true}, {48, 68, true}, {96, 24, false}}},
		// MTU not 20 + multiple of 8: 1006-20 = 986 → 984.
		{"odd mtu", 2000, 1006, []frag{{0, 1004, true}, {984, 1004, true}, {1968, 52, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := udpFields()
			payload := pattern(tt.payload)
			var got []frag
			var joined []byte
			err := Fragment(&hdr, payload, tt.mtu, func(h *wire.IPv4Fields, chunk []byte) {
				if h.TotalLen > tt.mtu {
					t.Errorf("fragment of %d bytes exceeds mtu %d", h.TotalLen, tt.mtu)
				}
				if h.TotalLen != wire.IPv4HeaderLen+len(chunk) {
					t.Errorf("TotalLen %d for %d-byte chunk", h.TotalLen, len(chunk))
				}
				if h.ID != 0x1234 || h.Protocol != wire.ProtoUDP || h.Src != peer {
					t.Errorf("header fields lost: %+v", h)
				}
				got = append(got, frag{h.FragmentOffset, h.TotalLen, h.MoreFragments})
				joined = append(joined, chunk...)
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("fragment %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			if !bytes.Equal(joined, payload) {
				t.Error("chunks do not rebuild the payload")
			}
			if hdr != udpFields() {
				t.Errorf("hdr not restored: %+v", hdr)
			}
		})
	}
}

func TestFragmentOfFragment(t *testing.T) {
	// A non-last fragment at offset 1480 re-fragmented at MTU 576: every
	// piece keeps MF and the offsets continue from 1480.
	hdr := udpFields()
	hdr.FragmentOffset, hdr.MoreFragments = 1480, true
	var offs []int
	var mfs []bool
	err := Fragment(&hdr, pattern(1480), 576, func(h *wire.IPv4Fields, chunk []byte) {
		offs = append(offs, h.FragmentOffset)
		mfs = append(mfs, h.MoreFragments)
	})
	if err != nil {
		t.Fatal(err)
	}
	wantOffs := []int{1480, 2032, 2584}
	for i := range wantOffs {
		if i >= len(offs) || offs[i] != wantOffs[i] || !mfs[i] {
			t.Fatalf("offsets %v MF %v, want %v all MF", offs, mfs, wantOffs)
		}
	}
}

func TestFragmentErrors(t *testing.T) {
	df := udpFields()
	df.DontFragment = true
	badOff := udpFields()
	badOff.FragmentOffset = 12
	tests := []struct {
		name    string
		hdr     wire.IPv4Fields
		payload int
		mtu     int
		want    error
	}{
		{"DF needs fragmenting", df, 1481, 1500, syscall.EMSGSIZE},
		{"mtu below 68", udpFields(), 10, 67, syscall.EINVAL},
		{"payload too big", udpFields(), 65516, 1500, syscall.EMSGSIZE},
		{"offset not multiple of 8", badOff, 10, 1500, syscall.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := tt.hdr
			emitted := 0
			err := Fragment(&hdr, make([]byte, tt.payload), tt.mtu, func(*wire.IPv4Fields, []byte) { emitted++ })
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if emitted != 0 {
				t.Errorf("emitted %d packets on error", emitted)
			}
		})
	}
	// DF is fine when nothing needs splitting.
	hdr := df
	if err := Fragment(&hdr, make([]byte, 1480), 1500, func(*wire.IPv4Fields, []byte) {}); err != nil {
		t.Errorf("DF packet that fits: %v", err)
	}
}

func BenchmarkFragment(b *testing.B) {
	hdr := udpFields()
	payload := pattern(8008)
	buf := make([]byte, 1500)
	emit := func(h *wire.IPv4Fields, chunk []byte) {
		h.Encode(buf)
		copy(buf[wire.IPv4HeaderLen:], chunk)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if err := Fragment(&hdr, payload, 1500, emit); err != nil {
			b.Fatal(err)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = Fragment(&hdr, payload, 1500, emit) }); allocs != 0 {
		b.Errorf("Fragment allocates %v times per call", allocs)
	}
}

func TestFragmentDoesNotAllocate(t *testing.T) {
	hdr := udpFields()
	payload := pattern(8008)
	buf := make([]byte, 1500)
	emit := func(h *wire.IPv4Fields, chunk []byte) {
		h.Encode(buf)
		copy(buf[wire.IPv4HeaderLen:], chunk)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = Fragment(&hdr, payload, 1500, emit) }); allocs != 0 {
		t.Errorf("Fragment allocates %v times per call", allocs)
	}
}
