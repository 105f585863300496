package sack

import "github.com/microtcp/microtcp/core/wire"

// size returns the bytes in b, which must be non-empty.
func size(b wire.SACKBlock) int { return int(uint32(b.Right.Sub(b.Left))) }

// valid reports whether b is a non-empty range shorter than half the
// sequence space, the only kind sequence comparisons can order.
func valid(b wire.SACKBlock) bool { return b.Left.LessThan(b.Right) }

// touches reports whether a and b overlap or are adjacent, so that their
// union is one contiguous range.
func touches(a, b wire.SACKBlock) bool {
	return a.Left.LessThanEq(b.Right) && b.Left.LessThanEq(a.Right)
}

// union returns the smallest range covering a and b.
func union(a, b wire.SACKBlock) wire.SACKBlock {
	return wire.SACKBlock{Left: a.Left.Min(b.Left), Right: a.Right.Max(b.Right)}
}
