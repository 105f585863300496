package sack

import "github.com/microtcp/microtcp/core/wire"

// MaxRecvBlocks bounds the ranges RecvBlocks remembers. When it is full the
// least recently touched range is forgotten: the data is still queued, the
// peer merely learns about it later (RFC 2018 §4 allows reporting a subset).
const MaxRecvBlocks = 32

// RecvBlocks tracks the out-of-order ranges a receiver holds, most recently
// changed first, ready to be reported in SACK options (RFC 2018 §4). The
// zero value is empty and ready to use; a nil *RecvBlocks is empty for
// every method but Add.
type RecvBlocks struct {
	blocks [MaxRecvBlocks]wire.SACKBlock // recency order, pairwise not touching
	n      int
}

// Add records that [b.Left, b.Right) arrived out of order. The range holding
// it (merged with any range it overlaps or abuts) becomes the most recent.
// An empty or inverted block is ignored.
func (r *RecvBlocks) Add(b wire.SACKBlock) {
	if !valid(b) {
		return
	}
	// Stored ranges never touch each other, so b's union with one of them
	// can only touch others that b touches itself: one pass merges all.
	kept := 0
	for i := 0; i < r.n; i++ {
		if touches(b, r.blocks[i]) {
			b = union(b, r.blocks[i])
			continue
		}
		r.blocks[kept] = r.blocks[i]
		kept++
	}
	r.n = kept
	if r.n == MaxRecvBlocks {
		r.n-- // forget the least recent range
	}
	// RFC 2018 §4: the first block reported must contain the segment that
	// triggered the ACK, so the merged range goes in front.
	copy(r.blocks[1:r.n+1], r.blocks[:r.n])
	r.blocks[0] = b
	r.n++
}

// Advance forgets everything below rcvNxt: those bytes are now covered by
// the cumulative ACK (RFC 2018 §4 reports only data above it).
func (r *RecvBlocks) Advance(rcvNxt wire.Seq) {
	if r == nil {
		return
	}
	kept := 0
	for i := 0; i < r.n; i++ {
		b := r.blocks[i]
		if b.Right.LessThanEq(rcvNxt) {
			continue
		}
		b.Left = b.Left.Max(rcvNxt)
		r.blocks[kept] = b
		kept++
	}
	r.n = kept
}

// Blocks fills dst with up to len(dst) blocks, the most recent first and the
// others in order of recency (RFC 2018 §4), and returns how many it wrote.
func (r *RecvBlocks) Blocks(dst []wire.SACKBlock) int {
	if r == nil {
		return 0
	}
	return copy(dst, r.blocks[:r.n])
}

// Len returns how many disjoint ranges are held.
func (r *RecvBlocks) Len() int {
	if r == nil {
		return 0
	}
	return r.n
}

// Reset forgets every range.
func (r *RecvBlocks) Reset() {
	if r != nil {
		r.n = 0
	}
}
