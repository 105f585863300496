package wire

import (
	"bytes"
	"fmt"
	"testing"
)

func TestTCPOptionsEncodeGolden(t *testing.T) {
	tests := []struct {
		name string
		o    TCPOptions
		want []byte
	}{
		{"none", TCPOptions{}, nil},
		{"linux syn", TCPOptions{MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 123456789, HasWindowScale: true, WindowScale: 7},
			frame(t, "0204 05b4 0402 080a 075b cd15 0000 0000 0103 0307")},
		{"mss only", TCPOptions{MSS: 536}, []byte{2, 4, 2, 0x18}},
		{"sackOK only", TCPOptions{SACKPermitted: true}, []byte{1, 1, 4, 2}},
		{"wscale only", TCPOptions{HasWindowScale: true, WindowScale: 14}, []byte{1, 3, 3, 14}},
		{"timestamps", TCPOptions{HasTimestamps: true, TSVal: 1, TSEcr: 2}, []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
		{"ts + 3 sack = 40 bytes", TCPOptions{HasTimestamps: true, TSVal: 1, TSEcr: 2, NumSACK: 3,
			SACK: [4]SACKBlock{{10, 20}, {30, 40}, {50, 60}}},
			frame(t, "0101 080a 0000 0001 0000 0002 0101 051a"+
				"0000 000a 0000 0014 0000 001e 0000 0028 0000 0032 0000 003c")},
		{"4 sack = 36 bytes", TCPOptions{NumSACK: 4, SACK: [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}},
			frame(t, "0101 0522 0000 0001 0000 0002 0000 0003 0000 0004 0000 0005 0000 0006 0000 0007 0000 0008")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := bytes.Repeat([]byte{0xaa}, 48)
			n := tt.o.Encode(buf)
			if n != len(tt.want) || tt.o.Len() != n || !bytes.Equal(buf[:n], tt.want) {
				t.Errorf("Encode wrote %d (Len %d): % x\nwant % x", n, tt.o.Len(), buf[:n], tt.want)
			}
			if buf[n] != 0xaa {
				t.Error("Encode wrote past its length")
			}
		})
	}
}

// TestTCPOptionsRoundTrip encodes every combination of options with 0–4
// SACK blocks: Len equals the bytes written, is a multiple of 4 and at most
// 40, and parsing gives the options back. Where the blocks do not all fit,
// the most recent (first) ones are kept (RFC 2018 §4) and one more block
// would indeed have overflowed the 40-byte option space.
func TestTCPOptionsRoundTrip(t *testing.T) {
	blocks := [4]SACKBlock{{0xfffffff0, 0x10}, {100, 200}, {300, 400}, {500, 600}}
	for mask := 0; mask < 16; mask++ {
		for nsack := 0; nsack <= MaxSACKBlocks; nsack++ {
			o := TCPOptions{NumSACK: nsack, SACK: blocks}
			if mask&1 != 0 {
				o.MSS = 1460
			}
			if mask&2 != 0 {
				o.HasWindowScale, o.WindowScale = true, 9
			}
			if mask&4 != 0 {
				o.SACKPermitted = true
			}
			if mask&8 != 0 {
				o.HasTimestamps, o.TSVal, o.TSEcr = true, 0xdeadbeef, 7
			}
			// Parse yields only the blocks in use.
			for k := nsack; k < MaxSACKBlocks; k++ {
				o.SACK[k] = SACKBlock{}
			}
			t.Run(fmt.Sprintf("mask%d/sack%d", mask, nsack), func(t *testing.T) {
				buf := bytes.Repeat([]byte{0xaa}, 64)
				n := o.Encode(buf)
				if n != o.Len() || n%4 != 0 || n > MaxOptionsLen {
					t.Fatalf("wrote %d, Len %d", n, o.Len())
				}
				if buf[n] != 0xaa {
					t.Error("Encode wrote past its length")
				}
				seg, err := ParseTCP(tcpWithOptions(buf[:n]...))
				if err != nil {
					t.Fatalf("ParseTCP: %v", err)
				}
				got, err := seg.ParsedOptions()
				if err != nil {
					t.Fatalf("ParsedOptions: %v", err)
				}
				want := o
				if got.NumSACK < nsack {
					// Blocks were dropped: check one more would not have fit.
					extra := 8
					if got.NumSACK == 0 {
						extra = 12 // NOP NOP kind len + one block
					}
					if n+extra <= MaxOptionsLen {
						t.Errorf("dropped SACK blocks although %d+%d bytes fit", n, extra)
					}
					want.NumSACK = got.NumSACK
					for k := got.NumSACK; k < MaxSACKBlocks; k++ {
						want.SACK[k] = SACKBlock{}
					}
				}
				if got != want {
					t.Errorf("round trip\n got %+v\nwant %+v", got, want)
				}
				f := TCPFields{SrcPort: 1, DstPort: 2, Options: o}
				if f.HeaderLen() != 20+n {
					t.Errorf("TCPFields.HeaderLen %d want %d", f.HeaderLen(), 20+n)
				}
			})
		}
	}
}

// TestTCPOptionsNumSACKOutOfRange: a NumSACK outside 0..4 must not make
// Encode panic or disagree with Len.
func TestTCPOptionsNumSACKOutOfRange(t *testing.T) {
	for _, n := range []int{-1, 5, 1000} {
		o := TCPOptions{NumSACK: n}
		var buf [64]byte
		if w := o.Encode(buf[:]); w != o.Len() || w > MaxOptionsLen {
			t.Errorf("NumSACK %d: wrote %d, Len %d", n, w, o.Len())
		}
	}
}
