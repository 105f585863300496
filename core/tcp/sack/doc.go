// Package sack keeps TCP selective acknowledgment state: the receiver's
// out-of-order ranges to report in SACK options (RFC 2018) and the sender's
// scoreboard for SACK-based loss recovery (RFC 6675).
//
// Both types are bounded plain values: they never allocate after creation
// and are not safe for concurrent use. All sequence arithmetic goes through
// wire.Seq, so ranges may straddle the 2^32 wrap.
package sack
