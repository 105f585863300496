package sack

import (
	"slices"
	"testing"

	"github.com/microtcp/microtcp/core/wire"
)

type blk = wire.SACKBlock

func blocksOf(r *RecvBlocks) []blk {
	dst := make([]blk, MaxRecvBlocks+1)
	return dst[:r.Blocks(dst)]
}

// receiver is the smallest reassembly model: in-order data moves rcv.nxt
// past any held range it reaches, out-of-order data goes to RecvBlocks.
type receiver struct {
	rcvNxt wire.Seq
	held   RecvBlocks
}

func (rc *receiver) segment(left, right wire.Seq) {
	if left.GreaterThan(rc.rcvNxt) {
		rc.held.Add(blk{Left: left, Right: right})
		return
	}
	rc.rcvNxt = rc.rcvNxt.Max(right)
	for moved := true; moved; {
		moved = false
		for _, b := range blocksOf(&rc.held) {
			if b.Left.LessThanEq(rc.rcvNxt) && b.Right.GreaterThan(rc.rcvNxt) {
				rc.rcvNxt, moved = b.Right, true
			}
		}
	}
	rc.held.Advance(rc.rcvNxt)
}

// TestRFC2018Section5 replays the examples of RFC 2018 §5: eight 500-byte
// segments starting at 5000, with the ACK and SACK blocks after each one
// (at most 4 blocks, as without timestamps).
func TestRFC2018Section5(t *testing.T) {
	type step struct {
		seg  wire.Seq // first byte of the 500-byte segment that arrives
		ack  wire.Seq
		sack []blk
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"case 1: last four dropped", []step{
			{5000, 5500, nil}, {5500, 6000, nil}, {6000, 6500, nil}, {6500, 7000, nil},
		}},
		{"case 2: first dropped, rest arrive", []step{
			{5500, 5000, []blk{{Left: 5500, Right: 6000}}},
			{6000, 5000, []blk{{Left: 5500, Right: 6500}}},
			{6500, 5000, []blk{{Left: 5500, Right: 7000}}},
			{7000, 5000, []blk{{Left: 5500, Right: 7500}}},
			{7500, 5000, []blk{{Left: 5500, Right: 8000}}},
			{8000, 5000, []blk{{Left: 5500, Right: 8500}}},
			{8500, 5000, []blk{{Left: 5500, Right: 9000}}},
		}},
		{"case 3: 2nd, 4th, 6th, 8th dropped, then 4th and 2nd arrive", []step{
			{5000, 5500, nil},
			{6000, 5500, []blk{{Left: 6000, Right: 6500}}},
			{7000, 5500, []blk{{Left: 7000, Right: 7500}, {Left: 6000, Right: 6500}}},
			{8000, 5500, []blk{{Left: 8000, Right: 8500}, {Left: 7000, Right: 7500}, {Left: 6000, Right: 6500}}},
			{6500, 5500, []blk{{Left: 6000, Right: 7500}, {Left: 8000, Right: 8500}}},
			{5500, 7500, []blk{{Left: 8000, Right: 8500}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := receiver{rcvNxt: 5000}
			for i, s := range tt.steps {
				rc.segment(s.seg, s.seg.Add(500))
				var opt [wire.MaxSACKBlocks]blk
				got := opt[:rc.held.Blocks(opt[:])]
				if rc.rcvNxt != s.ack || !slices.Equal(got, s.sack) {
					t.Fatalf("step %d (segment %d): ack %d sack %v, want %d %v", i, s.seg, rc.rcvNxt, got, s.ack, s.sack)
				}
			}
		})
	}
}

func TestRecvBlocksMerge(t *testing.T) {
	tests := []struct {
		name string
		add  []blk
		want []blk // most recent first
	}{
		{"single", []blk{{Left: 100, Right: 200}}, []blk{{Left: 100, Right: 200}}},
		{"disjoint keeps recency", []blk{{Left: 100, Right: 200}, {Left: 300, Right: 400}, {Left: 500, Right: 600}}, []blk{{Left: 500, Right: 600}, {Left: 300, Right: 400}, {Left: 100, Right: 200}}},
		{"adjacent right", []blk{{Left: 100, Right: 200}, {Left: 200, Right: 300}}, []blk{{Left: 100, Right: 300}}},
		{"adjacent left", []blk{{Left: 200, Right: 300}, {Left: 100, Right: 200}}, []blk{{Left: 100, Right: 300}}},
		{"overlap", []blk{{Left: 100, Right: 250}, {Left: 200, Right: 300}}, []blk{{Left: 100, Right: 300}}},
		{"duplicate moves to front", []blk{{Left: 100, Right: 200}, {Left: 300, Right: 400}, {Left: 100, Right: 200}}, []blk{{Left: 100, Right: 200}, {Left: 300, Right: 400}}},
		{"subset moves to front", []blk{{Left: 100, Right: 400}, {Left: 500, Right: 600}, {Left: 200, Right: 300}}, []blk{{Left: 100, Right: 400}, {Left: 500, Right: 600}}},
		{"bridge two", []blk{{Left: 100, Right: 200}, {Left: 300, Right: 400}, {Left: 500, Right: 600}, {Left: 200, Right: 300}}, []blk{{Left: 100, Right: 400}, {Left: 500, Right: 600}}},
		{"cover many", []blk{{Left: 100, Right: 200}, {Left: 300, Right: 400}, {Left: 500, Right: 600}, {Left: 700, Right: 800}, {Left: 150, Right: 650}}, []blk{{Left: 100, Right: 650}, {Left: 700, Right: 800}}},
		{"empty ignored", []blk{{Left: 100, Right: 200}, {Left: 300, Right: 300}}, []blk{{Left: 100, Right: 200}}},
		{"inverted ignored", []blk{{Left: 100, Right: 200}, {Left: 400, Right: 300}}, []blk{{Left: 100, Right: 200}}},
		{"across 2^32", []blk{{Left: 0xFFFFFF00, Right: 0xFFFFFFFF}, {Left: 0xFFFFFFFF, Right: 0x10}, {Left: 0x20, Right: 0x30}},
			[]blk{{Left: 0x20, Right: 0x30}, {Left: 0xFFFFFF00, Right: 0x10}}},
		{"merge across 2^32", []blk{{Left: 0x20, Right: 0x30}, {Left: 0xFFFFFF00, Right: 0x20}}, []blk{{Left: 0xFFFFFF00, Right: 0x30}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r RecvBlocks
			for _, b := range tt.add {
				r.Add(b)
			}
			if got := blocksOf(&r); !slices.Equal(got, tt.want) || r.Len() != len(tt.want) {
				t.Fatalf("blocks %v (len %d), want %v", got, r.Len(), tt.want)
			}
		})
	}
}

func TestRecvBlocksAdvance(t *testing.T) {
	tests := []struct {
		name   string
		add    []blk
		rcvNxt wire.Seq
		want   []blk
	}{
		{"nothing below", []blk{{Left: 100, Right: 200}, {Left: 300, Right: 400}}, 50, []blk{{Left: 300, Right: 400}, {Left: 100, Right: 200}}},
		{"drop covered", []blk{{Left: 100, Right: 200}, {Left: 300, Right: 400}}, 200, []blk{{Left: 300, Right: 400}}},
		{"trim straddling", []blk{{Left: 300, Right: 400}, {Left: 100, Right: 200}}, 150, []blk{{Left: 150, Right: 200}, {Left: 300, Right: 400}}},
		{"drop all", []blk{{Left: 100, Right: 200}, {Left: 300, Right: 400}}, 400, nil},
		{"across 2^32", []blk{{Left: 0xFFFFFFF0, Right: 0x10}, {Left: 0x20, Right: 0x30}}, 0x8, []blk{{Left: 0x20, Right: 0x30}, {Left: 0x8, Right: 0x10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r RecvBlocks
			for _, b := range tt.add {
				r.Add(b)
			}
			r.Advance(tt.rcvNxt)
			if got := blocksOf(&r); !slices.Equal(got, tt.want) {
				t.Fatalf("blocks %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRecvBlocksBound(t *testing.T) {
	var r RecvBlocks
	const n = MaxRecvBlocks + 8
	for i := range n {
		left := wire.Seq(1000 + 100*i)
		r.Add(blk{Left: left, Right: left.Add(50)})
	}
	if r.Len() != MaxRecvBlocks {
		t.Fatalf("Len %d, want %d", r.Len(), MaxRecvBlocks)
	}
	got := blocksOf(&r)
	for i, b := range got { // the most recent MaxRecvBlocks, newest first
		left := wire.Seq(1000 + 100*(n-1-i))
		if b != (blk{Left: left, Right: left.Add(50)}) {
			t.Fatalf("block %d = %v, want left %d", i, b, left)
		}
	}
	short := make([]blk, 3)
	if k := r.Blocks(short); k != 3 || short[0] != got[0] || short[2] != got[2] {
		t.Fatalf("Blocks into 3: %d %v", k, short)
	}
	r.Reset()
	if r.Len() != 0 || r.Blocks(short) != 0 {
		t.Fatal("Reset left blocks behind")
	}
}

func BenchmarkRecvBlocksAdd(b *testing.B) {
	b.ReportAllocs()
	var r RecvBlocks
	for i := 0; b.Loop(); i++ {
		// A steady out-of-order stream: gaps every 4 segments, 16 ranges live.
		left := wire.Seq(uint32(i) * 1460)
		if i%4 != 0 {
			r.Add(blk{Left: left, Right: left.Add(1460)})
		}
		if i%64 == 0 {
			r.Advance(wire.Seq(uint32(i-64) * 1460))
		}
	}
}
