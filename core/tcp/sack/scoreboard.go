package sack

import "github.com/microtcp/microtcp/core/wire"

// MaxScoreboardBlocks bounds the SACKed ranges a Scoreboard remembers. When
// a new, separate range does not fit, the highest range is forgotten:
// treating SACKed data as un-SACKed only costs a needless retransmission,
// and the ranges near snd.una are the ones loss recovery acts on.
const MaxScoreboardBlocks = 64

// DupThresh is the number of duplicate ACKs (or SACKed segments) that
// signal a loss (RFC 6675 §2, RFC 5681 §3.2).
const DupThresh = 3

// Scoreboard is the RFC 6675 sender scoreboard: which bytes in
// [snd.una, snd.nxt) the receiver has SACKed. The zero value is empty,
// and so is a nil *Scoreboard for every method but Update: a connection
// can hold one only while something is SACKed.
//
// HighACK in RFC 6675 is snd.una, HighData is snd.nxt. highRxt arguments
// are exclusive: the bytes below highRxt were retransmitted in the current
// recovery; pass snd.una when nothing was.
type Scoreboard struct {
	ranges [MaxScoreboardBlocks]wire.SACKBlock // ascending, pairwise not touching
	n      int
	sacked int // sum of the ranges' sizes
}

// Update drops what una now covers and records blocks, returning how many
// bytes became SACKed for the first time. Blocks not inside [una, nxt) are
// ignored: at or below una they are D-SACKs (RFC 2883 §4) and beyond nxt
// they are bogus (RFC 6675 §5: only data actually sent can be SACKed).
func (s *Scoreboard) Update(una, nxt wire.Seq, blocks []wire.SACKBlock) (newlySacked int) {
	if nxt.LessThan(una) {
		s.Reset() // API misuse: no window to hold anything
		return 0
	}
	s.trim(una, nxt)
	for _, b := range blocks {
		if !valid(b) || b.Right.LessThanEq(una) || b.Right.GreaterThan(nxt) {
			continue
		}
		// The part below una is already cumulatively ACKed.
		b.Left = b.Left.Max(una)
		newlySacked += s.insert(b)
	}
	return newlySacked
}

// trim keeps the ranges within [una, nxt).
func (s *Scoreboard) trim(una, nxt wire.Seq) {
	kept, sacked := 0, 0
	for i := 0; i < s.n; i++ {
		b := s.ranges[i]
		b.Left = b.Left.Max(una)
		b.Right = b.Right.Min(nxt)
		if !valid(b) {
			continue
		}
		s.ranges[kept] = b
		kept++
		sacked += size(b)
	}
	s.n, s.sacked = kept, sacked
}

// insert merges b into the ranges and returns the bytes it added.
func (s *Scoreboard) insert(b wire.SACKBlock) int {
	// Ranges [i, j) overlap or abut b.
	i := 0
	for i < s.n && s.ranges[i].Right.LessThan(b.Left) {
		i++
	}
	j := i
	merged := 0
	for j < s.n && s.ranges[j].Left.LessThanEq(b.Right) {
		b = union(b, s.ranges[j])
		merged += size(s.ranges[j])
		j++
	}
	if i == j && s.n == MaxScoreboardBlocks {
		if i == s.n {
			return 0 // b would be the highest range: it is the one dropped
		}
		s.n--
		s.sacked -= size(s.ranges[s.n])
	}
	// Replace ranges [i, j) with b.
	if i == j {
		copy(s.ranges[i+1:s.n+1], s.ranges[i:s.n])
		s.n++
	} else {
		copy(s.ranges[i+1:], s.ranges[j:s.n])
		s.n -= j - i - 1
	}
	s.ranges[i] = b
	added := size(b) - merged
	s.sacked += added
	return added
}

// Reset forgets every SACKed range, for instance after a retransmission
// timeout when the receiver may have reneged (RFC 2018 §8, RFC 6675 §5.1).
func (s *Scoreboard) Reset() {
	if s != nil {
		s.n, s.sacked = 0, 0
	}
}

// IsSacked reports whether the byte seq has been SACKed.
func (s *Scoreboard) IsSacked(seq wire.Seq) bool {
	for i := 0; i < s.Len(); i++ {
		if seq.InRange(s.ranges[i].Left, s.ranges[i].Right) {
			return true
		}
	}
	return false
}

// IsLost is RFC 6675 §4 IsLost(SeqNum): an un-SACKed seq is lost when
// DupThresh discontiguous SACKed ranges, or more than (DupThresh-1)*SMSS
// SACKed bytes, lie above it.
func (s *Scoreboard) IsLost(seq wire.Seq, mss int) bool {
	count, bytes := 0, 0
	for i := s.Len() - 1; i >= 0; i-- {
		b := s.ranges[i]
		if b.Right.LessThanEq(seq) {
			break
		}
		if seq.GreaterThanEq(b.Left) {
			return false // seq itself was SACKed
		}
		count++
		bytes += size(b)
	}
	return count >= DupThresh || bytes > (DupThresh-1)*mss
}

// hole is an un-SACKed range and whether RFC 6675 IsLost holds for its
// bytes: no SACKed byte lies inside a hole, so IsLost is the same for all.
type hole struct {
	wire.SACKBlock
	lost bool
}

// holes calls fn for every un-SACKed range of [lo, hi) from the lowest up,
// until fn returns false. IsLost only gets weaker going up, so it is
// computed once per hole from the ranges above it. Queries never change
// the scoreboard, so ranges outside [lo, hi) are only clipped away here.
func (s *Scoreboard) holes(lo, hi wire.Seq, mss int, fn func(hole) bool) {
	n := s.Len()
	var bytesAbove [MaxScoreboardBlocks + 1]int // SACKed bytes in ranges i..n-1
	for i := n - 1; i >= 0; i-- {
		bytesAbove[i] = bytesAbove[i+1] + size(s.ranges[i])
	}
	left := lo
	for i := 0; i <= n; i++ {
		right := hi
		if i < n {
			right = s.ranges[i].Left.Min(hi)
		}
		h := wire.SACKBlock{Left: left.Max(lo), Right: right}
		if valid(h) {
			count := n - i
			lost := count >= DupThresh || bytesAbove[i] > (DupThresh-1)*mss
			if !fn(hole{h, lost}) {
				return
			}
		}
		if i < n {
			left = s.ranges[i].Right
		}
	}
}

// Pipe is RFC 6675 §4 SetPipe: the bytes estimated in flight. Each
// un-SACKed byte in [una, nxt) counts once unless IsLost, and once more if
// it was retransmitted (below highRxt).
func (s *Scoreboard) Pipe(una, nxt, highRxt wire.Seq, mss int) int {
	if nxt.LessThan(una) {
		return 0
	}
	pipe := 0
	s.holes(una, nxt, mss, func(h hole) bool {
		if !h.lost {
			pipe += size(h.SACKBlock) // RFC 6675 §4 SetPipe (a)
		}
		if r := h.Right.Min(highRxt); h.Left.LessThan(r) {
			pipe += int(uint32(r.Sub(h.Left))) // RFC 6675 §4 SetPipe (b)
		}
		return true
	})
	return pipe
}

// NextSeg is RFC 6675 §4 NextSeg without rule (2), which needs the send
// buffer and window only the caller knows. It returns up to mss bytes
// starting at the lowest un-SACKed byte S2 with S2 >= highRxt (1.a) below
// the highest SACKed byte (1.b). If IsLost(S2) (1.c) that is rule (1) and
// the segment MUST be retransmitted; otherwise it is rule (3)'s candidate,
// which the caller SHOULD send only when it has no new data for rule (2):
// IsLost(seg.Left, mss) tells the two apart. The segment never covers
// SACKed bytes.
func (s *Scoreboard) NextSeg(una, nxt, highRxt wire.Seq, mss int) (wire.SACKBlock, bool) {
	if nxt.LessThan(una) || mss <= 0 {
		return wire.SACKBlock{}, false
	}
	if s.Len() == 0 {
		return wire.SACKBlock{}, false
	}
	top := s.ranges[s.n-1].Right.Min(nxt) // RFC 6675 §4 NextSeg (1.b) bound
	var seg wire.SACKBlock
	found := false
	s.holes(una, top, mss, func(h hole) bool {
		start := h.Left.Max(highRxt) // (1.a)
		if !start.LessThan(h.Right) {
			return true
		}
		// Holes get less lost going up, so the lowest eligible hole is
		// rule (1)'s when any is, and rule (3)'s otherwise.
		seg = wire.SACKBlock{Left: start, Right: h.Right}
		if size(seg) > mss {
			seg.Right = start.Add(uint32(mss))
		}
		found = true
		return false
	})
	return seg, found
}

// SackedBytes returns the number of SACKed bytes held.
func (s *Scoreboard) SackedBytes() int {
	if s == nil {
		return 0
	}
	return s.sacked
}

// Len returns the number of disjoint SACKed ranges held.
func (s *Scoreboard) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// HighestSacked returns the end (exclusive) of the highest SACKed range,
// and false when nothing is SACKed.
func (s *Scoreboard) HighestSacked() (wire.Seq, bool) {
	if s.Len() == 0 {
		return 0, false
	}
	return s.ranges[s.n-1].Right, true
}
