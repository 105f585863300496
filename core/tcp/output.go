package tcp

import (
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// sndEdge is the right edge of the send window: the window is relative to
// the ACK that carried it (SND.WL2), which may be below SND.UNA when a later
// ACK's window was not taken.
func (c *Conn) sndEdge() wire.Seq { return c.sndWl2.Add(c.sndWnd) }

// finSeq is the sequence number our FIN takes once queued.
func (c *Conn) finSeq() wire.Seq { return c.sndBufSeq.Add(uint32(c.sndBuf.Len())) }

// unsent is how many buffered bytes lie at or after SND.NXT.
func (c *Conn) unsent() int {
	d := int(c.sndNxt.Sub(c.sndBufSeq))
	return max(c.sndBuf.Len()-max(d, 0), 0)
}

// finPending reports whether the FIN is queued and not sent from SND.NXT.
func (c *Conn) finPending() bool {
	return c.finQueued && c.sndNxt.LessThanEq(c.finSeq())
}

// output sends what the windows allow: new data after SND.NXT and the FIN,
// then arms the retransmission or persist timer.
func (c *Conn) output(now time.Time, out Output) {
	switch c.state {
	case StateEstablished, StateFinWait1, StateCloseWait, StateClosing, StateLastAck:
	default:
		return
	}
	if c.flightSize() == 0 && c.unsent() > 0 && !c.lastSend.IsZero() {
		// RFC 5681 §4.1: restart from a smaller window after an idle
		// period longer than the RTO.
		if idle := now.Sub(c.e.time(c.lastSend)); idle > c.rtt.RTO() {
			c.cc.OnIdle(now, idle, c.rtt.RTO())
		}
	}
	sent := false
	if c.inRecovery && c.sackOK {
		sent = c.sackRecovery(now, out)
	} else {
		for c.sendNext(now, out, c.cwndBudget(), false) {
			sent = true
		}
	}
	switch {
	case c.sndNxt != c.sndUna:
		c.persistAt = 0
		if c.rtoAt.IsZero() {
			c.rtoAt = c.e.at(now.Add(c.rtt.RTO()))
		}
	case !sent && !c.throttled && (c.unsent() > 0 || c.finPending()) && c.persistAt.IsZero():
		// Nothing in flight and we may not send: only the persist timer
		// can learn about the window opening (RFC 9293 §3.8.6.1), and it
		// doubles as the SWS override timer (RFC 1122 4.2.3.4).
		c.persistAt = c.e.at(now.Add(c.persistInterval()))
	}
}

// cwndBudget is how many more bytes congestion control lets into the
// network outside SACK recovery.
func (c *Conn) cwndBudget() int {
	b := c.cc.Cwnd() + c.inflate - c.flightSize()
	if !c.inRecovery && c.dupAcks > 0 && c.dupAcks < dupThresh {
		// Limited Transmit (RFC 3042 §2): each of the first two duplicate
		// ACKs lets one new segment out, cwnd unchanged, so a small window
		// still produces enough duplicate ACKs.
		b += c.dupAcks * c.mss
	}
	return b
}

func (c *Conn) persistInterval() time.Duration {
	d := c.rtt.RTO() << min(c.persistExp, 16)
	return min(d, c.e.cfg.MaxRTO)
}

// sendNext sends one segment from SND.NXT if the send window, the
// congestion window, sender SWS avoidance (RFC 1122 4.2.3.4) and Nagle
// (RFC 896) allow it. budget is what congestion control lets us add to the
// network; force is the SWS override: send what the window takes.
func (c *Conn) sendNext(now time.Time, out Output, budget int, force bool) bool {
	unsent := c.unsent()
	fin := c.finPending()
	if unsent == 0 && !fin {
		return false
	}
	inFlight := c.flightSize()
	wndLeft := int(c.sndEdge().Sub(c.sndNxt))
	n := min(unsent, c.mss, wndLeft, budget)
	if force {
		n = min(unsent, c.mss, wndLeft)
	}
	n = max(n, 0)
	if n < unsent {
		fin = false
	}
	if fin && n+1 > wndLeft {
		// The FIN takes one sequence number, which must be in the window.
		fin = false
	}
	if n == 0 && !fin {
		return false
	}
	if n > 0 && n < c.mss && !force {
		nagleOK := c.noDelay || inFlight == 0 || c.finQueued
		switch {
		case n == unsent && nagleOK:
			// All queued data goes out: pushed, and Nagle allows it.
		case c.maxSndWnd > 0 && n >= int(c.maxSndWnd/2) && nagleOK:
			// At least half the largest window the peer offered.
		default:
			return false
		}
	}
	if c.holdOutput(out) {
		return false // the link is full (throttle.go)
	}
	c.sendData(now, out, c.sndNxt, n, fin)
	return true
}

// sendData sends n bytes from seq (plus the FIN), as new data or as a
// retransmission, and advances SND.NXT and SND.MAX past it.
func (c *Conn) sendData(now time.Time, out Output, seq wire.Seq, n int, fin bool) {
	off := int(seq.Sub(c.sndBufSeq))
	if avail := c.sndBuf.Len() - off; n > avail || off < 0 {
		// Never send bytes that are not in the buffer; the callers keep n
		// within it, so this only guards against a bookkeeping bug.
		n, fin = max(min(n, avail), 0), false
		if off < 0 {
			n = 0
		}
	}
	flags := wire.FlagACK
	if fin {
		flags |= wire.FlagFIN
	}
	if n > 0 && seq.Add(uint32(n)) == c.finSeq() {
		flags |= wire.FlagPSH
	}
	end := seq.Add(uint32(n))
	if fin {
		end = end.Add(1)
	}
	if seq.LessThan(c.sndMax) {
		c.e.stats.Retransmits++
		c.rttTiming = false // Karn: never time a retransmitted segment
	} else if !c.rttTiming && n > 0 {
		c.rttTiming, c.rttSeq, c.rttStart = true, end, c.e.at(now)
	}
	if seq == c.sndNxt {
		c.sndNxt = end
	}
	c.rackSent(now, seq, end) // before SND.MAX moves: it tells new from resent
	newData := end.GreaterThan(c.sndMax)
	c.sndMax = c.sndMax.Max(end)
	if seq == c.sndUna && seq != end {
		c.rxtUna, c.rxtUnaMark = seq, c.sndMax
	}
	c.lastSend = c.e.at(now)
	f := c.header(now, seq, flags)
	if so, ok := out.(SourceOutput); ok {
		// The stack copies the payload straight from the send buffer
		// into the frame.
		so.SendTCPFrom(c.local, c.remote, f, &c.sndBuf, off, n)
	} else {
		p := c.e.scratch[:n]
		c.sndBuf.Peek(off, p)
		out.SendTCP(c.local, c.remote, f, p)
	}
	if c.rtoAt.IsZero() {
		c.rtoAt = c.e.at(now.Add(c.rtt.RTO()))
	}
	if newData && !c.tlpOut {
		c.armTLP(now)
	}
}

// retransmitFirst resends the segment at SND.UNA (fast retransmit, partial
// ACK, timeout).
func (c *Conn) retransmitFirst(now time.Time, out Output) {
	if c.state == StateSynSent || c.state == StateSynReceived {
		c.sendSYN(now, out)
		return
	}
	avail := max(c.sndBuf.Len()-int(c.sndUna.Sub(c.sndBufSeq)), 0)
	// Only bytes sent before: they were inside a window the peer offered.
	n := min(avail, c.mss, int(c.sndMax.Sub(c.sndUna)))
	fin := c.finQueued && n == avail && c.finSeq().LessThan(c.sndMax)
	if n == 0 && !fin {
		return
	}
	c.sendData(now, out, c.sndUna, n, fin)
}

// emit hands one segment to out, with the ACK, window and options every
// synchronized segment carries.
func (c *Conn) emit(now time.Time, out Output, seq wire.Seq, flags wire.TCPFlags, payload []byte) {
	out.SendTCP(c.local, c.remote, c.header(now, seq, flags), payload)
}

// header fills the Endpoints' scratch header for a segment about to be
// sent: the ACK, window and options every synchronized segment carries.
// It counts the segment as sent.
func (c *Conn) header(now time.Time, seq wire.Seq, flags wire.TCPFlags) *wire.TCPFields {
	f := &c.e.fields
	*f = wire.TCPFields{SrcPort: c.local.Port(), DstPort: c.remote.Port(), Seq: seq, Flags: flags}
	syn := flags.Has(wire.FlagSYN)
	if flags.Has(wire.FlagACK) {
		f.Ack = c.rcvNxt
		c.lastAckSent = c.rcvNxt
		c.unackedBytes = 0
		c.delackAt = 0
	}
	f.Window = c.advertise(syn)
	if syn {
		c.synOptions(now, &f.Options)
	} else if c.tsOK {
		f.Options.HasTimestamps = true
		f.Options.TSVal = c.tsNow(now)
		f.Options.TSEcr = c.tsRecent
	}
	if c.sackOK && !syn && c.sackRecv.Len() > 0 {
		// RFC 2018 §3: at most 3 blocks beside timestamps, else 4.
		k := wire.MaxSACKBlocks
		if c.tsOK {
			k = 3
		}
		f.Options.NumSACK = c.sackRecv.Blocks(f.Options.SACK[:k])
	}
	c.e.stats.SegmentsOut++
	c.emitted++
	return f
}

// synOptions fills the options of our SYN or SYN,ACK: everything enabled
// on a SYN, only what the peer offered on a SYN,ACK.
func (c *Conn) synOptions(now time.Time, o *wire.TCPOptions) {
	cfg := &c.e.cfg
	o.MSS = uint16(cfg.MSS)
	active := c.state == StateSynSent
	if active || c.tsOK {
		o.HasTimestamps = !cfg.NoTimestamps
		o.TSVal = c.tsNow(now)
		o.TSEcr = c.tsRecent
	}
	if active || c.sackOK {
		o.SACKPermitted = !cfg.NoSACK
	}
	if !cfg.NoWindowScale && (active || c.wsOK) {
		o.HasWindowScale = true
		o.WindowScale = cfg.windowShift()
	}
}

// sendSYN sends (or resends) our SYN, or SYN,ACK in SYN-RECEIVED.
func (c *Conn) sendSYN(now time.Time, out Output) {
	flags := wire.FlagSYN
	if c.state == StateSynReceived {
		flags |= wire.FlagACK
	}
	if c.sndMax == c.iss && !c.tsOK {
		c.rttTiming, c.rttSeq, c.rttStart = true, c.iss.Add(1), c.e.at(now)
	} else {
		c.rttTiming = false // Karn: a retransmitted SYN is not timed
	}
	c.sndNxt = c.iss.Add(1)
	c.sndMax = c.sndNxt
	c.emit(now, out, c.iss, flags, nil)
	if c.rtoAt.IsZero() {
		c.rtoAt = c.e.at(now.Add(c.rtt.RTO()))
	}
}

// sendAck sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. It uses the highest
// sequence number sent, which after a timeout is ahead of SND.NXT and is
// where the peer expects us.
func (c *Conn) sendAck(now time.Time, out Output) {
	switch c.state {
	case StateClosed, StateListen, StateSynSent:
		return
	case StateSynReceived:
		c.sendSYN(now, out)
		return
	}
	c.emit(now, out, c.sndMax, wire.FlagACK, nil)
}

// sendRST sends <SEQ=seq><CTL=RST>.
func (c *Conn) sendRST(seq wire.Seq, out Output) {
	f := &c.e.fields
	*f = wire.TCPFields{SrcPort: c.local.Port(), DstPort: c.remote.Port(), Seq: seq, Flags: wire.FlagRST}
	c.e.stats.ResetsSent++
	c.e.stats.SegmentsOut++
	out.SendTCP(c.local, c.remote, f, nil)
}

// sackRecovery sends during SACK-based loss recovery while pipe leaves a
// segment's room in cwnd, choosing what to send with NextSeg (RFC 6675
// §5 step (C)).
func (c *Conn) sackRecovery(now time.Time, out Output) bool {
	sent := false
	for range 1024 {
		room := c.cc.Cwnd() - c.sb.Pipe(c.sndUna, c.sndMax, c.highRxt, c.mss) + c.rackLostBytes()
		if room < c.mss || c.holdOutput(out) {
			break
		}
		if seg, ok := c.rackNextLost(); ok && c.rackOn() {
			// RACK's marks replace IsLost in NextSeg rule (1) (RFC 8985 §6).
			c.rackResend(now, out, seg)
			sent = true
			continue
		}
		seg, ok := c.sb.NextSeg(c.sndUna, c.sndMax, c.highRxt, c.mss)
		if c.rackOn() {
			// No rule (1) or (3) by DupThresh: new data, if any.
			ok = false
		}
		switch {
		case ok && c.sb.IsLost(seg.Left, c.mss):
			// NextSeg rule (1): a lost segment is retransmitted first.
			c.retransmitRange(now, out, seg)
		case c.sendNext(now, out, room, false):
			// Rule (2): new data.
		case ok:
			// Rule (3): an un-SACKed segment not yet deemed lost.
			c.retransmitRange(now, out, seg)
		default:
			return sent
		}
		sent = true
	}
	return sent
}

// retransmitRange resends [seg.Left, seg.Right), with the FIN if it lies
// in the range, and records HighRxt (RFC 6675 §5 (C.3)).
func (c *Conn) retransmitRange(now time.Time, out Output, seg wire.SACKBlock) {
	n := int(seg.Right.Sub(seg.Left))
	fin := false
	if f := c.finSeq(); c.finQueued && f.LessThan(c.sndMax) && seg.Right.GreaterThan(f) {
		fin = true
		n = int(f.Sub(seg.Left))
	}
	c.sendData(now, out, seg.Left, max(n, 0), fin)
	c.highRxt = c.highRxt.Max(seg.Right)
}
