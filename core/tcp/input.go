package tcp

import (
	"syscall"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// input is SEGMENT ARRIVES for a connection that exists (RFC 9293
// §3.10.7.3, §3.10.7.4).
func (c *Conn) input(now time.Time, s *segment, out Output) {
	switch c.state {
	case StateClosed:
		return
	case StateSynSent:
		c.inputSynSent(now, s, out)
		return
	case StateSynReceived:
		if s.flags.Has(wire.FlagSYN) && !s.flags.Has(wire.FlagRST) && s.seq == c.irs {
			if !s.flags.Has(wire.FlagACK) {
				// The peer retransmitted its SYN: our SYN,ACK was lost.
				c.sendSYN(now, out)
				return
			}
			// Simultaneous open (RFC 9293 Figure 7): the peer's SYN,ACK
			// acknowledges our SYN; its SYN is already counted in rcv.nxt,
			// so only the ACK is left to process.
			s.seq = s.seq.Add(1)
			s.flags &^= wire.FlagSYN
		}
	}
	rst := s.flags.Has(wire.FlagRST)

	// RFC 7323 §5.3 R1: PAWS rejects a segment whose timestamp is older
	// than TS.Recent, acknowledging it unless it is a RST.
	if c.tsOK && s.opts.HasTimestamps && !rst && int32(s.opts.TSVal-c.tsRecent) < 0 {
		c.e.stats.PAWSRejected++
		c.oowAck(now, s, out)
		return
	}

	// First: check the sequence number (RFC 9293 §3.10.7.4, the four
	// acceptability cases).
	if !c.acceptable(s) {
		c.e.stats.Dropped++
		if !rst {
			c.oowAck(now, s, out)
		}
		return
	}
	// Any acceptable segment answers our zero-window probes.
	c.probesOut = 0
	if ka := c.ka; ka != nil && ka.on {
		// Anything acceptable from the peer proves it alive.
		ka.probes = 0
		ka.at = now.Add(ka.idle)
	}
	// RFC 7323 §4.3 (2): remember the timestamp to echo.
	if c.tsOK && s.opts.HasTimestamps && int32(s.opts.TSVal-c.tsRecent) >= 0 && s.seq.LessThanEq(c.lastAckSent) {
		c.tsRecent = s.opts.TSVal
	}

	// Second: the RST bit, with RFC 5961 §3.2's exact-match rule.
	if rst {
		c.inputRST(now, s, out)
		return
	}

	// Fourth: a SYN in a synchronized state gets a challenge ACK (RFC
	// 5961 §4.2, RFC 9293 §3.10.7.4).
	if s.flags.Has(wire.FlagSYN) {
		if c.state == StateSynReceived && c.passive {
			// A different SYN on a passive half-open connection: return
			// to LISTEN, which here means forgetting it.
			c.terminate(nil)
			return
		}
		c.challengeACK(now, s, out)
		return
	}

	// Fifth: the ACK field.
	if !s.flags.Has(wire.FlagACK) {
		c.e.stats.Dropped++
		return
	}
	if c.state == StateSynReceived {
		// If SND.UNA < SEG.ACK =< SND.NXT, enter ESTABLISHED; otherwise
		// send <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.4).
		if !(c.sndUna.LessThan(s.ack) && s.ack.LessThanEq(c.sndMax)) {
			if l := c.listener; c.passive && l != nil && !l.closed && l.cookieValid(now, c.local, c.remote, s) {
				// RFC 4987 §3.6: the peer completed a cookie SYN,ACK sent
				// before this half-open connection existed (its SYN was
				// retransmitted after the SYN queue drained). The peer is
				// ESTABLISHED on the cookie's ISS, so the cookie wins.
				local, remote := c.local, c.remote
				c.terminate(nil)
				l.input(now, local, remote, s, out)
				return
			}
			c.e.resetFor(c.local, c.remote, s, out)
			return
		}
		c.establish(now, s)
	}
	// RFC 5961 §5.2: an ACK for data never sent, or older than the
	// largest window the peer ever offered, is answered with a challenge
	// ACK and dropped.
	if s.ack.GreaterThan(c.sndMax) || s.ack.LessThan(c.sndUna.Add(-c.maxSndWnd)) {
		c.challengeACK(now, s, out)
		return
	}
	c.processAck(now, s, out)
	finAcked := c.finQueued && c.sndBuf.Len() == 0 && c.sndUna == c.sndBufSeq.Add(1)
	switch c.state {
	case StateFinWait1:
		if finAcked {
			c.state = StateFinWait2
			if c.userClosed {
				c.closeAt = c.e.at(now.Add(c.e.cfg.FinWait2Timeout))
			}
		}
	case StateClosing:
		if finAcked {
			c.enterTimeWait(now)
		}
	case StateLastAck:
		if finAcked {
			c.terminate(nil)
			return
		}
	}

	// Seventh: the segment text, in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2.
	ackNow := false
	switch c.state {
	case StateEstablished, StateFinWait1, StateFinWait2:
		if c.userClosed && len(s.payload) > 0 && s.seq.Add(uint32(len(s.payload))).GreaterThan(c.rcvNxt) {
			// Nobody will read this: RFC 1122 4.2.2.13 (and Linux) reset.
			c.sendRST(c.sndMax, out)
			c.terminate(connError("data after close", syscall.ECONNRESET))
			return
		}
		ackNow = c.receive(now, s)
	default:
		// CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer's FIN was
		// already received, so text cannot be new. A FIN retransmitted into
		// TIME-WAIT is acknowledged and restarts the 2 MSL timeout.
		if c.state == StateTimeWait && s.flags.Has(wire.FlagFIN) {
			c.closeAt = c.e.at(now.Add(2 * c.e.cfg.MSL))
			ackNow = true
		}
	}

	sent := c.emitted
	c.output(now, out)
	if ackNow && c.state != StateClosed && c.emitted == sent {
		c.sendAck(now, out)
	} else if c.unackedBytes > 0 && c.delackAt.IsZero() {
		c.delackAt = c.e.at(now.Add(c.e.cfg.DelayedAckTimeout))
	}
}

// acceptable applies RFC 9293 §3.10.7.4's table:
//
//	Segment Length  Receive Window  Test
//	0               0               SEG.SEQ = RCV.NXT
//	0               >0              RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//	>0              0               not acceptable
//	>0              >0              RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//	                                or RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND
//
// With a zero window a segment starting at RCV.NXT is still let through so
// its ACK and RST are processed ("special allowance"); its text is trimmed.
func (c *Conn) acceptable(s *segment) bool {
	wnd := c.rcvWnd()
	n := s.len()
	switch {
	case wnd == 0:
		return s.seq == c.rcvNxt
	case n == 0:
		return s.seq.InWindow(c.rcvNxt, wnd)
	}
	return s.seq.InWindow(c.rcvNxt, wnd) || s.seq.Add(n-1).InWindow(c.rcvNxt, wnd)
}

// rcvWnd is RCV.WND for acceptance: all the buffer space we have, which
// is never less than what we advertised.
func (c *Conn) rcvWnd() uint32 {
	switch c.state {
	case StateCloseWait, StateClosing, StateLastAck, StateTimeWait:
		// After the peer's FIN nothing more can arrive but retransmissions;
		// keep a window so their ACKs are examined.
		return uint32(c.rcvBuf.size)
	}
	return uint32(c.rcvBuf.Free())
}

// inputSynSent handles a segment in SYN-SENT (RFC 9293 §3.10.7.3).
func (c *Conn) inputSynSent(now time.Time, s *segment, out Output) {
	hasACK := s.flags.Has(wire.FlagACK)
	// First: if SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless
	// the RST bit is set) and discard the segment.
	if hasACK && (s.ack.LessThanEq(c.iss) || s.ack.GreaterThan(c.sndMax)) {
		c.e.stats.Dropped++
		c.e.resetFor(c.local, c.remote, s, out)
		return
	}
	// Second: a RST is acceptable only if it acknowledges our SYN (RFC
	// 5961 §3.2 keeps this rule for SYN-SENT); it means "connection refused".
	if s.flags.Has(wire.FlagRST) {
		if hasACK {
			c.terminate(connError("connection refused", syscall.ECONNREFUSED))
		}
		return
	}
	// Fourth: the SYN bit.
	if !s.flags.Has(wire.FlagSYN) {
		c.e.stats.Dropped++
		return
	}
	c.irs = s.seq
	c.rcvNxt = s.seq.Add(1)
	c.negotiate(s)
	// Our SYN offered this much, unscaled (RFC 7323 §2.2).
	c.rcvAdv = c.rcvNxt.Add(uint32(min(c.rcvSpace(), 0xffff)))
	c.sndWnd = uint32(s.wnd) // a SYN's window is never scaled (RFC 7323 §2.2)
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = s.seq, s.ack
	if hasACK {
		// Our SYN is acknowledged: ESTABLISHED, send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
		c.ackSYN(now, s)
		c.state = StateEstablished
		sent := c.emitted
		c.output(now, out)
		if c.emitted == sent {
			c.sendAck(now, out) // no data went out to carry the ACK
		}
		c.wake(false, true)
		return
	}
	// Simultaneous open (RFC 9293 Figure 7): SYN-RECEIVED, send
	// <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
	c.state = StateSynReceived
	c.retries = 0
	c.sendSYN(now, out)
}

// ackSYN records the acknowledgment of our SYN.
func (c *Conn) ackSYN(now time.Time, s *segment) {
	c.sndUna = s.ack
	if c.sndNxt.LessThan(c.sndUna) {
		c.sndNxt = c.sndUna
	}
	c.sampleRTT(now, s)
	c.rtt.ResetBackoff()
	c.retries = 0
	c.rtoAt = 0
}

// establish completes a passive or simultaneous open from SYN-RECEIVED.
func (c *Conn) establish(now time.Time, s *segment) {
	c.ackSYN(now, s)
	c.state = StateEstablished
	c.sndWnd = uint32(s.wnd) << c.sndShift
	c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
	c.sndWl1, c.sndWl2 = s.seq, s.ack
	if c.finQueued {
		c.state = StateFinWait1
	}
	if l := c.listener; l != nil {
		l.established(c)
	}
	c.wake(false, true)
}

// inputRST handles an acceptable RST (RFC 9293 §3.10.7.4 second check,
// RFC 5961 §3.2).
func (c *Conn) inputRST(now time.Time, s *segment, out Output) {
	if s.seq != c.rcvNxt {
		// In the window but not exactly at RCV.NXT: challenge ACK.
		c.challengeACK(now, s, out)
		return
	}
	switch c.state {
	case StateSynReceived:
		if c.passive {
			// Return to LISTEN: the listener keeps listening, the
			// half-open connection is forgotten.
			c.terminate(nil)
			return
		}
		c.terminate(connError("connection refused", syscall.ECONNREFUSED))
	case StateEstablished, StateFinWait1, StateFinWait2, StateCloseWait:
		c.terminate(connError("connection reset by peer", syscall.ECONNRESET))
	default: // CLOSING, LAST-ACK, TIME-WAIT
		c.terminate(nil)
	}
}

func (c *Conn) challengeACK(now time.Time, s *segment, out Output) {
	if c.oowAllowed(now, s) && c.e.challengeAllowed(now) {
		c.sendAck(now, out)
	}
}

// negotiate records the options of the peer's SYN: each is used only if
// both ends offer it.
func (c *Conn) negotiate(s *segment) {
	cfg := &c.e.cfg
	peerMSS := int(s.opts.MSS)
	if peerMSS == 0 {
		peerMSS = 536 // RFC 9293 §3.7.1: the default send MSS
	}
	c.tsOK = !cfg.NoTimestamps && s.opts.HasTimestamps
	c.sackOK = !cfg.NoSACK && s.opts.SACKPermitted
	if !cfg.NoWindowScale && s.opts.HasWindowScale {
		// RFC 7323 §2.3: a shift above 14 is used as 14.
		c.wsOK = true
		c.sndShift = min(s.opts.WindowScale, 14)
		c.rcvShift = cfg.windowShift()
	}
	if c.tsOK {
		c.tsRecent = s.opts.TSVal
	}
	// RFC 9293 §3.7.1: send MSS = min(peer MSS, our MTU-40), less the
	// options every segment carries.
	c.mss = min(peerMSS, cfg.MSS)
	if c.tsOK {
		c.mss -= 12
	}
	c.mss = max(c.mss, 64)
	c.rcvMSS = c.mss
	c.cc.SetMSS(c.mss)
}

// enterTimeWait starts the 2 MSL wait (RFC 9293 §3.10.7.4) and frees the
// buffers: a TIME-WAIT connection holds only its sequence numbers.
func (c *Conn) enterTimeWait(now time.Time) {
	c.state = StateTimeWait
	c.closeAt = c.e.at(now.Add(2 * c.e.cfg.MSL))
	c.rtoAt, c.persistAt, c.tlpAt = 0, 0, 0
	c.ka, c.rack, c.sb, c.sackRecv = nil, nil, nil, nil
	c.sndBuf.release()
	c.ooo.reset()
	c.releaseRcvBuf()
	c.e.forgetIdle(c)
	c.wake(true, true)
}
