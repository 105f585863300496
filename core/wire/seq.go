package wire

// Seq is a TCP sequence number. Comparisons are modulo 2^32 (RFC 9293 §3.4):
// a is "less than" b when b lies in the half of the number space after a.
// Always compare through these methods, never with < on the raw values.
type Seq uint32

// Add returns s advanced by n.
func (s Seq) Add(n uint32) Seq { return s + Seq(n) }

// Sub returns the distance from b to s, s-b, as a signed value.
func (s Seq) Sub(b Seq) int32 { return int32(s - b) }

// LessThan reports s < b in sequence space.
func (s Seq) LessThan(b Seq) bool { return int32(s-b) < 0 }

// LessThanEq reports s <= b in sequence space.
func (s Seq) LessThanEq(b Seq) bool { return int32(s-b) <= 0 }

// GreaterThan reports s > b in sequence space.
func (s Seq) GreaterThan(b Seq) bool { return int32(s-b) > 0 }

// GreaterThanEq reports s >= b in sequence space.
func (s Seq) GreaterThanEq(b Seq) bool { return int32(s-b) >= 0 }

// InWindow reports whether start <= s < start+size (RFC 9293 §3.10.7.4).
// A zero-size window contains nothing.
func (s Seq) InWindow(start Seq, size uint32) bool {
	return uint32(s-start) < size
}

// InRange reports whether a <= s < b.
func (s Seq) InRange(a, b Seq) bool {
	return uint32(s-a) < uint32(b-a)
}

// Max returns the later of s and b.
func (s Seq) Max(b Seq) Seq {
	if s.LessThan(b) {
		return b
	}
	return s
}

// Min returns the earlier of s and b.
func (s Seq) Min(b Seq) Seq {
	if s.LessThan(b) {
		return s
	}
	return b
}
