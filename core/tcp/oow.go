package tcp

import (
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// oowInterval is the least time between two ACKs one connection sends in
// answer to out-of-window segments: unacceptable ones, PAWS rejects and
// challenges. Two ends that disagree about a connection (one forgot it,
// a spoofed SYN revived it as SYN-RECEIVED) would otherwise ACK each
// other's ACKs at line rate for as long as the half-open side lives,
// set off by a single packet. Linux has the same guard
// (tcp_oow_rate_limited, net.ipv4.tcp_invalid_ratelimit = 500 ms).
const oowInterval = 500 * time.Millisecond

// oowAck answers the out-of-window segment s with an ACK unless the
// connection answered one too recently.
func (c *Conn) oowAck(now time.Time, s *segment, out Output) {
	if c.oowAllowed(now, s) {
		c.sendAck(now, out)
	}
}

// oowAllowed applies oowInterval to the answer to s. A segment
// that carries data and no SYN is never held back: it is not part of an
// ACK loop, and its duplicate ACK is how the sender learns what we have
// (a retransmission of data we already hold).
func (c *Conn) oowAllowed(now time.Time, s *segment) bool {
	if s != nil && s.len() > 0 && !s.flags.Has(wire.FlagSYN) && !s.flags.Has(wire.FlagFIN) {
		return true
	}
	if last := c.e.time(c.lastOOWAck); !last.IsZero() && now.Sub(last) < oowInterval && !now.Before(last) {
		c.e.stats.OutOfWindowACKsSkipped++
		return false
	}
	c.lastOOWAck = c.e.at(now)
	return true
}
