package tcp

import (
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// Tail Loss Probe (RFC 8985 §7): when the last segments of a flight are
// lost there are no duplicate ACKs to trigger fast retransmit, and only the
// RTO, hundreds of milliseconds later, would notice. Instead, about two
// round trips after the last transmission, one probe goes out: new data if
// any may be sent, else the last segment again. Its ACK, with SACK,
// exposes the holes to the normal loss recovery.

// wcDelAckT is WCDelAckT, the worst-case delayed-ACK time a lone segment
// may wait for its ACK (RFC 8985 §7.2).
const wcDelAckT = 200 * time.Millisecond

// armTLP (re)schedules the probe timeout after new data went out or an ACK
// moved SND.UNA (RFC 8985 §7.2).
func (c *Conn) armTLP(now time.Time) {
	c.tlpAt = 0
	if c.e.cfg.NoTLP || !c.sackOK || c.inRecovery || c.tlpOut || c.retries > 0 ||
		c.sndUna == c.sndMax || !c.rtt.HasSample() {
		return
	}
	pto := 2 * c.rtt.SRTT()
	if c.flightSize() <= c.mss {
		pto += wcDelAckT // a lone segment may wait for a delayed ACK
	}
	pto = max(pto, 10*time.Millisecond)
	at := now.Add(pto)
	if !c.rtoAt.IsZero() && !at.Before(c.e.time(c.rtoAt)) {
		return // the RTO comes first anyway
	}
	c.tlpAt = c.e.at(at)
}

// onTLP sends the probe (RFC 8985 §7.3).
func (c *Conn) onTLP(now time.Time, out Output) {
	switch c.state {
	case StateEstablished, StateFinWait1, StateCloseWait, StateClosing, StateLastAck:
	default:
		return
	}
	if c.inRecovery || c.sndUna == c.sndMax || c.sndNxt != c.sndMax {
		return
	}
	if c.holdOutput(out) {
		// The link is full: a probe would only wait behind the queue. The
		// RTO still guards the tail, and resumed new data re-arms the probe.
		return
	}
	c.e.stats.TailLossProbes++
	c.tlpOut = true
	if !c.sendNext(now, out, c.mss, true) {
		// No new data may go: resend the last segment.
		start := c.sndMax.Add(-uint32(c.mss)).Max(c.sndUna)
		c.tlpRxt = true
		c.retransmitRange(now, out, wire.SACKBlock{Left: start, Right: c.sndMax})
	}
	c.tlpEnd = c.sndMax
	c.rtoAt = c.e.at(now.Add(c.rtt.RTO()))
}

// tlpAcked ends a probe episode when an ACK covers everything sent up to
// the probe (RFC 8985 §7.4). Without D-SACK the sender cannot tell whether
// a retransmitted probe repaired a loss, so it assumes so and reduces
// cwnd once, as a recovery would have.
func (c *Conn) tlpAcked(now time.Time) {
	if !c.tlpOut || c.sndUna.LessThan(c.tlpEnd) {
		return
	}
	if c.tlpRxt && !c.inRecovery {
		c.cc.OnCongestion(now, c.flightSize())
		c.cc.OnRecoveryExit(now)
	}
	c.tlpOut, c.tlpRxt = false, false
}

// probeLoss acts on an ACK showing that the tail loss probe arrived while
// nothing before it did: SND.UNA stays and is not SACKed, the probe is,
// and too little is SACKed for RFC 6675 to call anything lost. Everything
// sent before the probe, at least a PTO earlier, is then lost: RACK (RFC
// 8985 §6.2) would mark it so, the RTO would find it a few hundred
// milliseconds later. With the ACK clock gone, recovery cannot pace the
// resends (the lost flight still counts in the pipe), so this does now
// what that RTO would do: a loss window of one segment, and go back to
// SND.UNA (RFC 5681 §3.1), without backing off the timer.
func (c *Conn) probeLoss(now time.Time, ack wire.Seq, out Output) {
	if !c.tlpOut || c.inRecovery || !c.sackOK || ack != c.sndUna || c.sndUna == c.sndMax {
		return
	}
	hs, ok := c.sb.HighestSacked()
	if !ok || hs.LessThan(c.tlpEnd) || c.sb.IsSacked(c.sndUna) {
		return
	}
	c.goBackN(now, out)
	c.rtoAt = c.e.at(now.Add(c.rtt.RTO()))
}
