package tcp

import (
	"time"

	"github.com/microtcp/microtcp/core/tcp/sack"
	"github.com/microtcp/microtcp/core/wire"
)

// dupThresh is DupThresh (RFC 5681 §3.2, RFC 6675 §2).
const dupThresh = 3

// processAck is the fifth check of RFC 9293 §3.10.7.4 for synchronized
// states, after RFC 5961 §5.2 has validated SEG.ACK: advance SND.UNA,
// update the send window, sample the RTT, drive congestion control and
// loss recovery.
func (c *Conn) processAck(now time.Time, s *segment, out Output) {
	ack := s.ack
	wnd := uint32(s.wnd) << c.sndShift
	if c.sackOK && (s.opts.NumSACK > 0 || c.sb != nil) {
		if c.sb == nil {
			c.sb = new(sack.Scoreboard)
		}
		c.sb.Update(ack, c.sndMax, s.opts.SACK[:s.opts.NumSACK])
		if c.sb.Len() == 0 {
			c.sb = nil // nil is empty: nothing held while nothing is SACKed
		}
	}
	// RFC 5681 §2 DUPLICATE ACKNOWLEDGMENT: outstanding data, no text,
	// no SYN/FIN, same ACK number and same window.
	dup := ack == c.sndUna && c.sndMax != c.sndUna && len(s.payload) == 0 &&
		!s.flags.Has(wire.FlagSYN) && !s.flags.Has(wire.FlagFIN) && wnd == c.sndWnd &&
		!onlyDSACK(s)
	// Update the window if SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and
	// SND.WL2 =< SEG.ACK) (RFC 9293 §3.10.7.4), or, as Linux does, if the
	// segment acknowledges new data: a retransmission from the peer has an
	// old SEG.SEQ but a fresh window.
	if c.sndWl1.LessThan(s.seq) || (c.sndWl1 == s.seq && c.sndWl2.LessThanEq(ack)) || c.sndWl2.LessThan(ack) {
		if wnd > c.sndWnd {
			c.persistExp = 0
		}
		c.sndWnd = wnd
		c.sndWl1, c.sndWl2 = s.seq, ack
		c.maxSndWnd = max(c.maxSndWnd, wnd)
	}

	if c.rackOn() {
		// RFC 8985: time, not DupThresh, decides what is lost.
		lost := c.rackAck(now, s)
		if ack.GreaterThan(c.sndUna) {
			c.newAck(now, s, out)
		} else if dup {
			c.dupAcks++
		}
		if lost {
			c.rackLoss(now, out)
		}
		return
	}
	if ack.GreaterThan(c.sndUna) {
		c.newAck(now, s, out)
		if c.sackOK && !c.inRecovery && c.sndUna != c.sndMax && c.sb.IsLost(c.sndUna, c.mss) {
			// RFC 6675 §5 (4): the SACK scoreboard alone shows the next
			// hole lost, whatever the duplicate ACK count.
			c.enterRecovery(now, out)
		}
		return
	}
	if c.inRecovery && c.sackOK && c.lostRetransmission() {
		// The resent first segment is lost again: without this, only the
		// RTO would notice (RFC 6675 has no rule for it; RACK, RFC 8985
		// §6.2, would mark it lost by time).
		c.e.stats.LostRetransmits++
		c.retransmitFirst(now, out)
		return
	}
	if !dup {
		if c.sackOK && !c.inRecovery && ack == c.sndUna && c.sndUna != c.sndMax && c.sb.IsLost(c.sndUna, c.mss) {
			// An ACK carrying data is no duplicate (RFC 5681 §2), but its
			// SACK blocks still count (RFC 6675 §5).
			c.enterRecovery(now, out)
		}
		c.probeLoss(now, ack, out)
		return
	}
	c.dupAcks++
	switch {
	case c.inRecovery && !c.sackOK:
		// RFC 6582 §3.2 step 4: inflate by one SMSS per further dup ACK.
		c.inflate += c.mss
	case c.inRecovery:
		// RFC 6675 §5 (C): pipe, not inflation, paces the sender.
	case c.dupAcks >= c.dupThreshold() || (c.sackOK && c.sb.IsLost(c.sndUna, c.mss)):
		c.enterRecovery(now, out)
	}
	c.probeLoss(now, ack, out)
}

// onlyDSACK reports an ACK whose SACK blocks all lie at or below SEG.ACK:
// D-SACK reports of segments received twice (RFC 2883 §4). It says that
// nothing is missing, so with SACK it is no duplicate ACK (RFC 6675 §2
// wants a block above SEG.ACK); counting it let one D-SACK, drawn by a
// probe that resent the tail, fast-retransmit a lone FIN (RFC 5827 lowers
// DupThresh to one then).
func onlyDSACK(s *segment) bool {
	if s.opts.NumSACK == 0 {
		return false
	}
	for _, b := range s.opts.SACK[:s.opts.NumSACK] {
		if b.Right.GreaterThan(s.ack) {
			return false
		}
	}
	return true
}

// dupThreshold is DupThresh, lowered by Early Retransmit (RFC 5827 §3.1)
// when fewer than four segments are outstanding and no new data can go
// out, so a small window can still trigger fast retransmit.
func (c *Conn) dupThreshold() int {
	if c.unsent() > 0 && int(c.sndEdge().Sub(c.sndNxt)) >= c.mss {
		return dupThresh
	}
	oseg := (c.flightSize() + c.mss - 1) / c.mss
	if oseg < dupThresh+1 {
		return max(oseg-1, 1)
	}
	return dupThresh
}

// enterRecovery is fast retransmit (RFC 5681 §3.2, RFC 6582 §3.2 step 2).
func (c *Conn) enterRecovery(now time.Time, out Output) {
	// RFC 6582 §3.2 step 2: only if the ACK covers more than "recover",
	// so one window of losses triggers one reduction. The RFC's recover
	// is the highest octet sent; ours is one past it (SND.MAX), hence >=.
	if c.sndUna.LessThan(c.recover) {
		return
	}
	c.inRecovery = true
	c.tlpAt = 0
	c.recover = c.sndMax
	c.highRxt = c.sndUna
	c.cc.OnCongestion(now, c.flightSize())
	c.e.stats.FastRetransmits++
	if seg, ok := c.rackNextLost(); ok && c.rackOn() {
		// RFC 8985 §6.2: the first segment RACK marked lost goes first.
		c.rackResend(now, out, seg)
		return
	}
	if c.sackOK {
		// RFC 6675 §5 step (4.3): retransmit the first segment presumed
		// lost; pipe then governs what follows.
		if seg, ok := c.sb.NextSeg(c.sndUna, c.sndMax, c.highRxt, c.mss); ok {
			c.retransmitRange(now, out, seg)
			return
		}
		c.retransmitFirst(now, out)
		c.highRxt = c.sndUna.Add(uint32(c.mss)).Min(c.sndMax)
		return
	}
	// RFC 6582 §3.2 step 3: cwnd = ssthresh + 3*SMSS.
	c.inflate = dupThresh * c.mss
	c.retransmitFirst(now, out)
}

// newAck handles an ACK that acknowledges new data.
func (c *Conn) newAck(now time.Time, s *segment, out Output) {
	ack := s.ack
	acked := int(ack.Sub(c.sndUna))
	c.sampleRTT(now, s)
	c.sndUna = ack
	if c.sndNxt.LessThan(ack) {
		c.sndNxt = ack
	}
	if d := int(ack.Sub(c.sndBufSeq)); d > 0 {
		d = min(d, c.sndBuf.Len())
		c.sndBuf.Discard(d)
		c.sndBufSeq = c.sndBufSeq.Add(uint32(d))
		if c.sndBuf.Len() == 0 {
			c.e.ringEmptied(now, c) // all acknowledged: an idle sender holds no memory
		}
		c.wake(false, true)
	}
	c.retries = 0
	c.rtt.ResetBackoff()
	c.dupAcks = 0
	if c.inRecovery {
		if ack.GreaterThanEq(c.recover) {
			// Full acknowledgment: leave recovery with cwnd = ssthresh
			// (RFC 6582 §3.2 step 3, option 1 of RFC 5681).
			c.inRecovery = false
			c.inflate = 0
			c.cc.OnRecoveryExit(now)
		} else if c.sackOK {
			// RFC 6675 §5 (C): NextSeg picks what to resend.
			c.highRxt = c.highRxt.Max(c.sndUna)
		} else {
			// Partial acknowledgment (RFC 6582 §3.2 step 5): retransmit
			// the first unacknowledged segment, deflate by the amount
			// acknowledged, add back one SMSS.
			c.inflate = max(c.inflate-acked+c.mss, 0)
			c.retransmitFirst(now, out)
		}
	} else {
		c.cc.OnAck(now, acked, c.rtt.SRTT(), c.flightSize())
		c.tuneSndBuf(acked)
		if c.sndUna.GreaterThan(c.recover) {
			// Keep "recover" up with SND.UNA so the RFC 6582 test above
			// survives sequence number wrap-around.
			c.recover = c.sndUna
		}
	}
	// RFC 6298 §5.2/5.3: stop the timer when everything is acknowledged,
	// otherwise restart it.
	if c.sndUna == c.sndMax {
		c.rtoAt = 0
	} else {
		c.rtoAt = c.e.at(now.Add(c.rtt.RTO()))
	}
	c.tlpAcked(now)
	c.armTLP(now)
}

// sampleRTT feeds the estimator: from the timestamp echo when timestamps
// are on (RFC 7323 §4.1), else from the one timed segment, never from a
// retransmitted one (Karn's algorithm, RFC 6298 §3). The timed segment,
// one per round trip, also gives the fine-grained path RTT that send
// buffer tuning uses (sndbuf.go), timestamps or not.
func (c *Conn) sampleRTT(now time.Time, s *segment) {
	timed := c.rttTiming && s.ack.GreaterThanEq(c.rttSeq)
	var r time.Duration
	if timed {
		c.rttTiming = false
		r = now.Sub(c.e.time(c.rttStart))
		c.rtt.Observe(r)
	}
	if c.tsOK && s.opts.HasTimestamps && s.opts.TSEcr != 0 {
		ms := c.tsNow(now) - s.opts.TSEcr
		if ms < 1<<31 {
			c.rtt.Sample(time.Duration(ms) * time.Millisecond)
		}
		return
	}
	if timed {
		c.rtt.Sample(r)
	}
}

// tsNow is our TSval clock: milliseconds plus a per-connection offset
// (RFC 7323 §5.4).
func (c *Conn) tsNow(now time.Time) uint32 {
	return uint32(now.UnixMilli()) + c.tsOffset
}

// flightSize is FlightSize (RFC 5681 §2): sent but not yet acknowledged.
func (c *Conn) flightSize() int { return int(c.sndNxt.Sub(c.sndUna)) }

// lostRetransmission reports that segments sent after our last resend of
// the segment at SND.UNA have been SACKed, DupThresh segments' worth, while
// SND.UNA has not moved: that resend was lost too.
func (c *Conn) lostRetransmission() bool {
	if c.rxtUna != c.sndUna || !c.sndUna.LessThan(c.rxtUnaMark) {
		return false
	}
	hs, ok := c.sb.HighestSacked()
	return ok && hs.GreaterThan(c.rxtUnaMark.Add(uint32(dupThresh*c.mss)))
}
