package sack

import (
	"testing"

	"github.com/microtcp/microtcp/core/wire"
)

// span is the offset range the fuzz models track, from a base sequence
// number that may sit anywhere, including just below 2^32.
const span = 1 << 14

// runs counts the maximal runs of set bits in m.
func runs(m []bool) int {
	n := 0
	for i, v := range m {
		if v && (i == 0 || !m[i-1]) {
			n++
		}
	}
	return n
}

func FuzzRecvBlocks(f *testing.F) {
	f.Add(uint32(5000), []byte{0, 0, 10, 50, 0, 0, 30, 50, 0, 0, 20, 10, 1, 0, 25, 0})
	f.Add(uint32(0xFFFFFF00), []byte{0, 0, 200, 255, 0, 1, 0, 100, 1, 0, 250, 0})
	f.Add(uint32(0), []byte{})
	f.Fuzz(func(t *testing.T, base uint32, ops []byte) {
		var r RecvBlocks
		model := make([]bool, span)
		rcvNxt, evicted := 0, false
		seq := func(off int) wire.Seq { return wire.Seq(base).Add(uint32(off)) }
		for len(ops) >= 4 {
			op, off, n := ops[0], (int(ops[1])<<8|int(ops[2]))%(span/2), int(ops[3])*4
			ops = ops[4:]
			if op%4 == 1 {
				rcvNxt = max(rcvNxt, off)
				r.Advance(seq(rcvNxt))
				clear(model[:rcvNxt])
			} else {
				off = max(off, rcvNxt) // receivers only hold data above rcv.nxt
				b := blk{Left: seq(off), Right: seq(off + n)}
				r.Add(b)
				for i := off; i < off+n; i++ {
					model[i] = true
				}
				evicted = evicted || runs(model) > MaxRecvBlocks
				if n > 0 {
					if first := blocksOf(&r)[0]; !b.Left.InRange(first.Left, first.Right) || b.Right.GreaterThan(first.Right) {
						t.Fatalf("first block %v does not hold the new %v", first, b)
					}
				}
			}
			got := blocksOf(&r)
			if len(got) != r.Len() || r.Len() > MaxRecvBlocks {
				t.Fatalf("Len %d, Blocks %d", r.Len(), len(got))
			}
			covered := make([]bool, span)
			for i, b := range got {
				if !valid(b) || b.Left.LessThan(seq(rcvNxt)) {
					t.Fatalf("block %v invalid or below rcv.nxt %v", b, seq(rcvNxt))
				}
				for _, c := range got[i+1:] {
					if touches(b, c) {
						t.Fatalf("blocks %v and %v touch", b, c)
					}
				}
				for o := int(b.Left.Sub(seq(0))); o < int(b.Right.Sub(seq(0))); o++ {
					if !model[o] {
						t.Fatalf("block %v reports byte %d never received", b, o)
					}
					covered[o] = true
				}
			}
			if !evicted {
				for o := range model {
					if model[o] != covered[o] {
						t.Fatalf("byte %d: received %v, reported %v (blocks %v)", o, model[o], covered[o], got)
					}
				}
			}
		}
	})
}

func FuzzScoreboard(f *testing.F) {
	f.Add(uint32(1000), []byte{0, 40, 2, 10, 5, 12, 5, 14, 5, 0, 0, 0, 1, 5})
	f.Add(uint32(0xFFFFFFF0), []byte{0, 200, 3, 1, 10, 3, 1, 1, 3, 0, 0, 0, 2, 3, 7, 4, 0, 0, 0})
	f.Add(uint32(0), []byte{})
	f.Fuzz(func(t *testing.T, base uint32, ops []byte) {
		const mss = 100
		var s Scoreboard
		model := make([]bool, span)
		una, nxt, evicted := 0, 0, false
		seq := func(off int) wire.Seq { return wire.Seq(base).Add(uint32(off)) }
		off := func(q wire.Seq) int { return int(q.Sub(seq(0))) }
		for len(ops) >= 2 {
			op, arg := ops[0], int(ops[1])
			ops = ops[2:]
			var blocks []blk
			switch op % 4 {
			case 0: // send more
				nxt = min(nxt+arg*16, span-1, una+span/4)
			case 1: // cumulative ACK
				una = min(una+arg*16, nxt)
			default: // SACK blocks, some below snd.una or beyond snd.nxt
				for k := 0; k < arg%5 && len(ops) >= 2; k++ {
					l := una - 64 + int(ops[0])*16
					blocks = append(blocks, blk{Left: seq(l), Right: seq(l + int(ops[1])*4)})
					ops = ops[2:]
				}
			}
			before := s.SackedBytes()
			newly := s.Update(seq(una), seq(nxt), blocks)
			clear(model[:una])
			clear(model[nxt:])
			for _, b := range blocks {
				l, r := off(b.Left), off(b.Right)
				if l >= r || r <= una || r > nxt {
					continue
				}
				for o := max(l, una); o < r; o++ {
					model[o] = true
				}
			}
			evicted = evicted || runs(model) > MaxScoreboardBlocks
			checkScoreboard(t, &s, una, nxt, seq, off, model, evicted)
			if newly < 0 || (!evicted && before+newly < s.SackedBytes()) {
				t.Fatalf("newly %d, sacked %d -> %d", newly, before, s.SackedBytes())
			}
			highRxt := una + (arg*7)%(nxt-una+1)
			checkPipeNextSeg(t, &s, una, nxt, highRxt, mss, seq, off)
		}
	})
}

func checkScoreboard(t *testing.T, s *Scoreboard, una, nxt int, seq func(int) wire.Seq, off func(wire.Seq) int, model []bool, evicted bool) {
	t.Helper()
	if s.Len() > MaxScoreboardBlocks {
		t.Fatalf("Len %d over the bound", s.Len())
	}
	sum := 0
	covered := make([]bool, span)
	for i, b := range s.ranges[:s.n] {
		if !valid(b) || b.Left.LessThan(seq(una)) || b.Right.GreaterThan(seq(nxt)) {
			t.Fatalf("range %v outside [%d, %d)", b, una, nxt)
		}
		if i > 0 && !s.ranges[i-1].Right.LessThan(b.Left) {
			t.Fatalf("ranges %v and %v not sorted and apart", s.ranges[i-1], b)
		}
		sum += size(b)
		for o := off(b.Left); o < off(b.Right); o++ {
			if !model[o] {
				t.Fatalf("range %v holds byte %d never SACKed", b, o)
			}
			covered[o] = true
		}
	}
	if sum != s.SackedBytes() {
		t.Fatalf("SackedBytes %d, ranges sum %d", s.SackedBytes(), sum)
	}
	if !evicted {
		for o := una; o < nxt; o++ {
			if model[o] != covered[o] {
				t.Fatalf("byte %d: SACKed %v, held %v", o, model[o], covered[o])
			}
		}
	}
}

// checkPipeNextSeg compares Pipe with RFC 6675 SetPipe run byte by byte and
// checks NextSeg's promises.
func checkPipeNextSeg(t *testing.T, s *Scoreboard, una, nxt, highRxt, mss int, seq func(int) wire.Seq, off func(wire.Seq) int) {
	t.Helper()
	want := 0
	for o := una; o < nxt; o++ {
		if s.IsSacked(seq(o)) {
			continue
		}
		if !s.IsLost(seq(o), mss) {
			want++
		}
		if o < highRxt {
			want++
		}
	}
	if got := s.Pipe(seq(una), seq(nxt), seq(highRxt), mss); got != want {
		t.Fatalf("Pipe %d, byte-by-byte SetPipe %d", got, want)
	}
	seg, ok := s.NextSeg(seq(una), seq(nxt), seq(highRxt), mss)
	if !ok {
		return
	}
	top, _ := s.HighestSacked()
	l, r := off(seg.Left), off(seg.Right)
	if l < max(una, highRxt) || r > off(top) || r-l <= 0 || r-l > mss {
		t.Fatalf("NextSeg %v (%d..%d) outside [max(una %d, highRxt %d), top %d) or size", seg, l, r, una, highRxt, off(top))
	}
	for o := l; o < r; o++ {
		if s.IsSacked(seq(o)) {
			t.Fatalf("NextSeg %v covers SACKed byte %d", seg, o)
		}
	}
	for o := max(una, highRxt); o < l; o++ {
		if !s.IsSacked(seq(o)) {
			t.Fatalf("NextSeg %v skipped un-SACKed byte %d", seg, o)
		}
	}
}
