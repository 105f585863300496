package sack

import (
	"slices"
	"testing"

	"github.com/microtcp/microtcp/core/wire"
)

func rangesOf(s *Scoreboard) []blk { return slices.Clone(s.ranges[:s.n]) }

func TestScoreboardUpdate(t *testing.T) {
	tests := []struct {
		name     string
		una, nxt wire.Seq
		updates  [][]blk
		newly    []int // per update
		want     []blk
	}{
		{"one block", 1000, 5000, [][]blk{{{Left: 2000, Right: 3000}}}, []int{1000}, []blk{{Left: 2000, Right: 3000}}},
		{"sorted and merged", 1000, 5000, [][]blk{{{Left: 3000, Right: 3500}, {Left: 2000, Right: 2500}}, {{Left: 2500, Right: 3000}}},
			[]int{1000, 500}, []blk{{Left: 2000, Right: 3500}}},
		{"repeat counts once", 1000, 5000, [][]blk{{{Left: 2000, Right: 3000}}, {{Left: 2000, Right: 3000}, {Left: 2500, Right: 2600}}},
			[]int{1000, 0}, []blk{{Left: 2000, Right: 3000}}},
		{"overlap counts new bytes", 1000, 5000, [][]blk{{{Left: 2000, Right: 3000}}, {{Left: 2500, Right: 3500}}},
			[]int{1000, 500}, []blk{{Left: 2000, Right: 3500}}},
		// RFC 2883 §4: a first block at or below snd.una is a D-SACK.
		{"D-SACK ignored", 1000, 5000, [][]blk{{{Left: 500, Right: 1000}, {Left: 2000, Right: 2100}}}, []int{100}, []blk{{Left: 2000, Right: 2100}}},
		{"beyond snd.nxt ignored", 1000, 5000, [][]blk{{{Left: 4000, Right: 5001}, {Left: 6000, Right: 7000}}}, []int{0}, nil},
		{"up to snd.nxt accepted", 1000, 5000, [][]blk{{{Left: 4000, Right: 5000}}}, []int{1000}, []blk{{Left: 4000, Right: 5000}}},
		{"straddling snd.una trimmed", 1000, 5000, [][]blk{{{Left: 900, Right: 1100}}}, []int{100}, []blk{{Left: 1000, Right: 1100}}},
		{"empty and inverted ignored", 1000, 5000, [][]blk{{{Left: 2000, Right: 2000}, {Left: 3000, Right: 2000}}}, []int{0}, nil},
		{"across 2^32", 0xFFFFF000, 0x1000, [][]blk{{{Left: 0xFFFFFF00, Right: 0x100}, {Left: 0x200, Right: 0x300}}, {{Left: 0x100, Right: 0x200}}},
			[]int{0x200 + 0x100, 0x100}, []blk{{Left: 0xFFFFFF00, Right: 0x300}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Scoreboard
			for i, u := range tt.updates {
				if got := s.Update(tt.una, tt.nxt, u); got != tt.newly[i] {
					t.Fatalf("update %d: newly %d, want %d", i, got, tt.newly[i])
				}
			}
			got := rangesOf(&s)
			if len(got) == 0 {
				got = nil
			}
			sum := 0
			for _, b := range tt.want {
				sum += size(b)
			}
			if !slices.Equal(got, tt.want) || s.SackedBytes() != sum {
				t.Fatalf("ranges %v sacked %d, want %v %d", got, s.SackedBytes(), tt.want, sum)
			}
		})
	}
}

func TestScoreboardUnaAdvanceTrims(t *testing.T) {
	var s Scoreboard
	s.Update(1000, 5000, []blk{{Left: 2000, Right: 2500}, {Left: 3000, Right: 3500}})
	s.Update(2200, 5000, nil)
	if got := rangesOf(&s); !slices.Equal(got, []blk{{Left: 2200, Right: 2500}, {Left: 3000, Right: 3500}}) || s.SackedBytes() != 800 {
		t.Fatalf("ranges %v sacked %d", got, s.SackedBytes())
	}
	s.Update(3500, 5000, nil)
	if s.Len() != 0 || s.SackedBytes() != 0 {
		t.Fatalf("ranges %v sacked %d after full ACK", rangesOf(&s), s.SackedBytes())
	}
	if _, ok := s.HighestSacked(); ok {
		t.Fatal("HighestSacked on an empty scoreboard")
	}
	s.Update(3500, 5000, []blk{{Left: 4000, Right: 4100}})
	s.Update(5000, 4000, nil) // snd.nxt before snd.una: misuse empties it
	if s.Len() != 0 {
		t.Fatal("inverted window kept ranges")
	}
}

func TestScoreboardBound(t *testing.T) {
	const n = MaxScoreboardBlocks + 6
	// Ascending: the blocks past the bound are the highest and are dropped.
	var s Scoreboard
	total := 0
	for i := range n {
		left := wire.Seq(1000 + 100*i)
		total += s.Update(0, 100000, []blk{{Left: left, Right: left.Add(50)}})
	}
	if s.Len() != MaxScoreboardBlocks || total != 50*MaxScoreboardBlocks || s.SackedBytes() != total {
		t.Fatalf("ascending: len %d newly %d sacked %d", s.Len(), total, s.SackedBytes())
	}
	if hi, _ := s.HighestSacked(); hi != wire.Seq(1000+100*(MaxScoreboardBlocks-1)+50) {
		t.Fatalf("ascending: highest %d", hi)
	}
	// Descending: each new lower block evicts the highest.
	s.Reset()
	for i := n - 1; i >= 0; i-- {
		left := wire.Seq(1000 + 100*i)
		s.Update(0, 100000, []blk{{Left: left, Right: left.Add(50)}})
	}
	if s.Len() != MaxScoreboardBlocks || s.SackedBytes() != 50*MaxScoreboardBlocks {
		t.Fatalf("descending: len %d sacked %d", s.Len(), s.SackedBytes())
	}
	if lo := s.ranges[0].Left; lo != 1000 {
		t.Fatalf("descending: lowest %d, want 1000", lo)
	}
	// A block that merges still fits when full.
	if got := s.Update(0, 100000, []blk{{Left: 1050, Right: 1100}}); got != 50 || s.Len() != MaxScoreboardBlocks-1 {
		t.Fatalf("merge when full: newly %d len %d", got, s.Len())
	}
}

// Hand-built RFC 6675 example: SMSS 100, snd.una 0, snd.nxt 1000 (ten
// segments), segments 2, 4 and 6 SACKed:
//
//	seq   0   100  200  300  400  500  600  700  800  900
//	      [ ] [ ]  [S]  [ ]  [S]  [ ]  [S]  [ ]  [ ]  [ ]
//
// Below 200 three discontiguous SACKed ranges lie above: lost. At 300 only
// two ranges (200 bytes, not more than 2*SMSS): not lost.
func example(t *testing.T) *Scoreboard {
	t.Helper()
	var s Scoreboard
	if got := s.Update(0, 1000, []blk{{Left: 600, Right: 700}, {Left: 400, Right: 500}, {Left: 200, Right: 300}}); got != 300 {
		t.Fatalf("setup newly %d", got)
	}
	return &s
}

func TestIsLost(t *testing.T) {
	s := example(t)
	tests := []struct {
		seq  wire.Seq
		lost bool
	}{
		{0, true}, {99, true}, {100, true}, {199, true},
		{200, false}, // SACKed itself
		{300, false}, {500, false}, {700, false}, {999, false},
	}
	for _, tt := range tests {
		if got := s.IsLost(tt.seq, 100); got != tt.lost {
			t.Errorf("IsLost(%d) = %v, want %v", tt.seq, got, tt.lost)
		}
	}
	// The byte rule: one range of more than 2*SMSS above makes it lost.
	byteRule := []struct {
		sack blk
		lost bool
	}{
		{blk{Left: 100, Right: 300}, false}, // exactly 2*SMSS: not "more than"
		{blk{Left: 100, Right: 301}, true},
		{blk{Left: 100, Right: 400}, true},
	}
	for _, tt := range byteRule {
		var s Scoreboard
		s.Update(0, 1000, []blk{tt.sack})
		if got := s.IsLost(0, 100); got != tt.lost {
			t.Errorf("SACK %v: IsLost(0) = %v, want %v", tt.sack, got, tt.lost)
		}
	}
}

func TestIsSacked(t *testing.T) {
	s := example(t)
	for seq := wire.Seq(0); seq < 1000; seq += 50 {
		want := seq >= 200 && seq < 300 || seq >= 400 && seq < 500 || seq >= 600 && seq < 700
		if got := s.IsSacked(seq); got != want {
			t.Errorf("IsSacked(%d) = %v, want %v", seq, got, want)
		}
	}
}

func TestPipe(t *testing.T) {
	s := example(t)
	tests := []struct {
		name    string
		highRxt wire.Seq
		want    int
	}{
		// Un-SACKed 700 bytes; [0,200) is lost: 500 in flight.
		{"nothing retransmitted", 0, 500},
		// SetPipe (b): the retransmitted [0,100) is in flight again.
		{"first retransmitted", 100, 600},
		{"both lost retransmitted", 200, 700},
		// Retransmitted [300,400) counts twice: once not lost, once (b).
		{"rule 3 retransmitted", 400, 800},
	}
	for _, tt := range tests {
		if got := s.Pipe(0, 1000, tt.highRxt, 100); got != tt.want {
			t.Errorf("%s: Pipe = %d, want %d", tt.name, got, tt.want)
		}
	}
	var empty Scoreboard
	if got := empty.Pipe(0, 1000, 0, 100); got != 1000 {
		t.Errorf("no SACK: Pipe = %d, want FlightSize 1000", got)
	}
	// snd.una moved without an Update: only [una, nxt) counts.
	if got := s.Pipe(600, 1000, 600, 100); got != 300 {
		t.Errorf("after ACK: Pipe = %d, want 300", got)
	}
}

func TestNextSeg(t *testing.T) {
	s := example(t)
	tests := []struct {
		name    string
		highRxt wire.Seq
		mss     int
		want    blk
		ok      bool
		rule1   bool
	}{
		{"rule 1 first hole", 0, 100, blk{Left: 0, Right: 100}, true, true},
		{"rule 1 after HighRxt", 100, 100, blk{Left: 100, Right: 200}, true, true},
		{"capped at the SACKed range", 150, 100, blk{Left: 150, Right: 200}, true, true},
		{"capped at SMSS", 0, 60, blk{Left: 0, Right: 60}, true, true},
		{"rule 3 candidate", 200, 100, blk{Left: 300, Right: 400}, true, false},
		{"rule 3 next hole", 400, 100, blk{Left: 500, Right: 600}, true, false},
		// (1.b): nothing above the highest SACKed byte.
		{"nothing below highest SACK", 600, 100, blk{}, false, false},
	}
	for _, tt := range tests {
		got, ok := s.NextSeg(0, 1000, tt.highRxt, tt.mss)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: NextSeg = %v %v, want %v %v", tt.name, got, ok, tt.want, tt.ok)
			continue
		}
		if ok && s.IsLost(got.Left, tt.mss) != tt.rule1 {
			t.Errorf("%s: IsLost(%d) = %v, want %v", tt.name, got.Left, !tt.rule1, tt.rule1)
		}
	}
	var empty Scoreboard
	if _, ok := empty.NextSeg(0, 1000, 0, 100); ok {
		t.Error("NextSeg without SACK information returned a segment")
	}
}

func TestScoreboardWrapAround(t *testing.T) {
	// The example shifted so that 2^32 falls inside the second segment.
	const base = wire.Seq(0xFFFFFF9C) // 2^32 - 100
	sh := func(b blk) blk { return blk{Left: base.Add(uint32(b.Left)), Right: base.Add(uint32(b.Right))} }
	var s Scoreboard
	s.Update(base, base.Add(1000), []blk{sh(blk{Left: 600, Right: 700}), sh(blk{Left: 400, Right: 500}), sh(blk{Left: 200, Right: 300})})
	if got := s.Pipe(base, base.Add(1000), base, 100); got != 500 {
		t.Errorf("Pipe = %d, want 500", got)
	}
	if got, ok := s.NextSeg(base, base.Add(1000), base.Add(100), 100); !ok || got != sh(blk{Left: 100, Right: 200}) {
		t.Errorf("NextSeg = %v %v, want %v", got, ok, sh(blk{Left: 100, Right: 200}))
	}
	if !s.IsLost(base.Add(150), 100) || s.IsLost(base.Add(300), 100) || !s.IsSacked(base.Add(250)) {
		t.Error("IsLost/IsSacked wrong across 2^32")
	}
	if hi, ok := s.HighestSacked(); !ok || hi != base.Add(700) {
		t.Errorf("HighestSacked = %d %v", hi, ok)
	}
}

func TestScoreboardZeroAllocs(t *testing.T) {
	var s Scoreboard
	blocks := []blk{{Left: 2000, Right: 3000}, {Left: 4000, Right: 5000}, {Left: 6000, Right: 7000}}
	allocs := testing.AllocsPerRun(100, func() {
		s.Update(1000, 10000, blocks)
		s.Pipe(1000, 10000, 1000, 1000)
		s.NextSeg(1000, 10000, 1000, 1000)
		s.Reset()
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per run", allocs)
	}
}

func BenchmarkScoreboardUpdate(b *testing.B) {
	b.ReportAllocs()
	var s Scoreboard
	var blocks [3]blk
	for i := 0; b.Loop(); i++ {
		// Every ACK carries 3 blocks over a window with 8 holes.
		una := wire.Seq(uint32(i) * 1460)
		for k := range blocks {
			left := una.Add(uint32(1460 * (2 + 3*k)))
			blocks[k] = blk{Left: left, Right: left.Add(1460)}
		}
		s.Update(una, una.Add(64*1460), blocks[:])
	}
}

func BenchmarkScoreboardPipeNextSeg(b *testing.B) {
	b.ReportAllocs()
	var s Scoreboard
	for k := range MaxScoreboardBlocks {
		left := wire.Seq(1460 * (2*k + 1))
		s.Update(0, 1<<20, []blk{{Left: left, Right: left.Add(1460)}})
	}
	for b.Loop() {
		s.Pipe(0, 1<<20, 1460, 1460)
		s.NextSeg(0, 1<<20, 1460, 1460)
	}
}

// TestNilScoreboardIsEmpty: every query on a nil *Scoreboard answers as
// an empty one does, so a connection can drop its scoreboard when idle.
func TestNilScoreboardIsEmpty(t *testing.T) {
	var nilSB *Scoreboard
	empty := &Scoreboard{}
	const mss = 1000
	una, nxt, rxt := wire.Seq(1000), wire.Seq(9000), wire.Seq(3000)
	if a, b := nilSB.Pipe(una, nxt, rxt, mss), empty.Pipe(una, nxt, rxt, mss); a != b {
		t.Errorf("Pipe: nil %d, empty %d", a, b)
	}
	if s1, ok1 := nilSB.NextSeg(una, nxt, rxt, mss); ok1 {
		t.Errorf("NextSeg on nil: %v", s1)
	}
	if nilSB.IsLost(una, mss) || nilSB.IsSacked(una) || nilSB.Len() != 0 || nilSB.SackedBytes() != 0 {
		t.Error("nil scoreboard reports SACKed data")
	}
	if _, ok := nilSB.HighestSacked(); ok {
		t.Error("HighestSacked on nil")
	}
	nilSB.Reset()
	var nilRecv *RecvBlocks
	nilRecv.Advance(5)
	nilRecv.Reset()
	if nilRecv.Len() != 0 || nilRecv.Blocks(make([]wire.SACKBlock, 4)) != 0 {
		t.Error("nil RecvBlocks reports blocks")
	}
}
