package tcp

import "github.com/microtcp/microtcp/core/wire"

// oooRanges records which sequence ranges beyond rcv.nxt we hold, sorted and
// disjoint. It is bounded: a range that does not fit is refused, and the
// sender retransmits it (which is always safe). The bound is passed in
// (Config.MaxOutOfOrder) rather than kept in every connection.
type oooRanges struct {
	r []wire.SACKBlock
}

// add records [left, right), keeping at most max ranges, and reports
// whether it was kept.
func (o *oooRanges) add(left, right wire.Seq, max int) bool {
	// Find the first range whose right edge reaches left.
	i := 0
	for i < len(o.r) && o.r[i].Right.LessThan(left) {
		i++
	}
	j := i
	for j < len(o.r) && o.r[j].Left.LessThanEq(right) {
		left = left.Min(o.r[j].Left)
		right = right.Max(o.r[j].Right)
		j++
	}
	if i == j { // no overlap: insert
		if len(o.r) >= max {
			return false
		}
		if o.r == nil {
			o.r = make([]wire.SACKBlock, 0, max)
		}
		o.r = append(o.r, wire.SACKBlock{})
		copy(o.r[i+1:], o.r[i:])
		o.r[i] = wire.SACKBlock{Left: left, Right: right}
		return true
	}
	o.r[i] = wire.SACKBlock{Left: left, Right: right}
	o.r = append(o.r[:i+1], o.r[j:]...)
	return true
}

// take removes and returns the range starting at or before nxt, if any, so
// rcv.nxt can advance to its right edge.
func (o *oooRanges) take(nxt wire.Seq) (wire.Seq, bool) {
	if len(o.r) == 0 || o.r[0].Left.GreaterThan(nxt) {
		return 0, false
	}
	right := o.r[0].Right
	o.r = append(o.r[:0], o.r[1:]...)
	return right, true
}

func (o *oooRanges) empty() bool { return len(o.r) == 0 }

func (o *oooRanges) reset() { o.r = o.r[:0] }
