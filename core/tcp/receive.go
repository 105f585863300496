package tcp

import (
	"time"

	"github.com/microtcp/microtcp/core/tcp/sack"
	"github.com/microtcp/microtcp/core/wire"
)

// receive takes the text and FIN of an acceptable segment (RFC 9293
// §3.10.7.4 seventh and eighth) and reports whether an ACK must go out at
// once rather than be delayed.
func (c *Conn) receive(now time.Time, s *segment) (ackNow bool) {
	seq := s.seq
	p := s.payload
	fin := s.flags.Has(wire.FlagFIN)
	// Trim what we already have from the front...
	if d := c.rcvNxt.Sub(seq); d > 0 {
		if int(d) >= len(p) {
			if fin && int(d) == len(p) {
				seq, p = c.rcvNxt, nil // only the FIN is new
			} else {
				return len(p) > 0 || fin // a pure duplicate: tell the sender
			}
		} else {
			seq, p = c.rcvNxt, p[d:]
		}
	}
	// ...and what does not fit in the window from the back.
	wnd := int(c.rcvWnd())
	off := int(seq.Sub(c.rcvNxt))
	if off+len(p) > wnd {
		p = p[:max(wnd-off, 0)]
		fin = false
	}
	if len(p) > 0 {
		c.rcvMSS = max(c.rcvMSS, len(p))
		if k := c.rcvBuf.writeAt(c.rcvBuf.Len()+off, p); k < len(p) {
			// The memory budget gave less storage than the window offered:
			// keep what fits, the sender retransmits the rest, as after a
			// loss (the window never shrinks, RFC 9293 §3.8.6.2.2).
			p, fin, ackNow = p[:k], false, true
		}
	}
	if len(p) > 0 {
		end := seq.Add(uint32(len(p)))
		if off == 0 {
			c.rcvBuf.extend(len(p))
			c.rcvNxt = end
			c.unackedBytes += len(p)
			if !c.ooo.empty() {
				// RFC 1122 4.2.3.2 / RFC 5681 §4.2: a segment that fills a
				// hole is acknowledged immediately.
				ackNow = true
				for {
					right, ok := c.ooo.take(c.rcvNxt)
					if !ok {
						break
					}
					if right.GreaterThan(c.rcvNxt) {
						c.rcvBuf.extend(int(right.Sub(c.rcvNxt)))
						c.rcvNxt = right
					}
				}
			}
			c.advanceSACK()
			// RFC 1122 4.2.3.2: ACK at least every second full-sized
			// segment; inside an input batch, once at its end (a stretch
			// ACK, as with GRO: the sender's byte counting makes up for it).
			if c.unackedBytes >= 2*c.rcvMSS && !c.holdAck() {
				ackNow = true
			}
			c.wake(true, false)
		} else {
			// Out of order: keep it if the bounded range list has room, and
			// acknowledge at once so the sender sees duplicate ACKs (RFC
			// 5681 §4.2) with a SACK block (RFC 2018 §4).
			if c.ooo.add(seq, end, c.e.cfg.MaxOutOfOrder) {
				if c.sackRecv == nil {
					c.sackRecv = new(sack.RecvBlocks)
				}
				c.sackRecv.Add(wire.SACKBlock{Left: seq, Right: end})
			}
			ackNow = true
		}
	}
	if fin {
		c.oooFin, c.oooFinSeq = true, seq.Add(uint32(len(p)))
		ackNow = true
	}
	if c.oooFin && c.oooFinSeq == c.rcvNxt {
		c.oooFin = false
		c.receiveFIN(now)
		ackNow = true
	}
	return ackNow
}

// receiveFIN processes the peer's FIN once every byte before it arrived
// (RFC 9293 §3.10.7.4 eighth).
func (c *Conn) receiveFIN(now time.Time) {
	c.rcvNxt = c.rcvNxt.Add(1)
	c.finReceived = true
	c.advanceSACK()
	switch c.state {
	case StateSynReceived, StateEstablished:
		c.state = StateCloseWait
	case StateFinWait1:
		// Our FIN is not yet acknowledged, or the ACK check above would
		// have moved us to FIN-WAIT-2: simultaneous close (Figure 13).
		c.state = StateClosing
	case StateFinWait2:
		c.enterTimeWait(now)
	}
	c.wake(true, false)
}

// advanceSACK drops the SACK blocks RCV.NXT now covers, and the block
// list with them once it is empty.
func (c *Conn) advanceSACK() {
	c.sackRecv.Advance(c.rcvNxt)
	if c.sackRecv.Len() == 0 {
		c.sackRecv = nil
	}
}

// windowUpdate sends an ACK after the application read, when the window
// has opened by enough to be worth announcing (RFC 1122 4.2.3.3) and the
// window the peer holds has fallen to half the buffer or less, and at
// least doubles (as Linux's tcp_cleanup_rbuf does). While the peer still
// holds a wide window the ACKs that data draws carry the new edge anyway;
// an update per read would double the ACKs of a bulk transfer.
func (c *Conn) windowUpdate(now time.Time, out Output) {
	switch c.state {
	case StateEstablished, StateFinWait1, StateFinWait2:
	default:
		return
	}
	adv := c.rcvAdv.Max(c.rcvNxt)
	held := int(adv.Sub(c.rcvNxt))
	edge := c.maxEdge()
	if int(edge.Sub(adv)) < c.swsThreshold() || 2*held > c.rcvBuf.size || int(edge.Sub(c.rcvNxt)) < 2*held {
		return
	}
	c.sendAck(now, out)
}

// swsThreshold is how far the right edge must be able to move before we
// move it: min(RCV.BUFF/2, Eff.snd.MSS) (RFC 1122 4.2.3.3).
func (c *Conn) swsThreshold() int {
	return min(c.rcvBuf.size/2, c.rcvMSS)
}

// advertise computes the window field for an outgoing segment. rcv.adv is
// the right edge we mean to offer: it never moves left (RFC 9293
// §3.8.6.2.2), moves right only in steps of the SWS threshold, and never
// passes the free buffer space.
func (c *Conn) advertise(syn bool) uint16 {
	free := uint32(c.rcvSpace())
	if syn {
		// The window of a SYN is never scaled (RFC 7323 §2.2).
		wnd := min(free, 0xffff)
		if c.state == StateSynReceived {
			c.rcvAdv = c.rcvNxt.Add(wnd)
		}
		return uint16(wnd)
	}
	edge := c.maxEdge()
	cur := c.rcvAdv.Max(c.rcvNxt)
	if int(edge.Sub(cur)) < c.swsThreshold() {
		edge = cur
	}
	// The scaled field rounds down, so the edge the peer sees may sit up to
	// 1<<rcv.shift-1 bytes left of rcv.adv, which RFC 7323 §2.4 allows.
	// Rounding up instead would let rcv.adv creep past the buffer by that
	// much on every ACK while the application does not read.
	c.rcvAdv = edge
	return uint16(min(uint32(edge.Sub(c.rcvNxt))>>c.rcvShift, 0xffff))
}

// maxEdge is the right edge the buffer space would let us advertise, as
// far as the 16-bit window field scaled by our shift can express.
func (c *Conn) maxEdge() wire.Seq {
	free := uint32(c.rcvSpace())
	return c.rcvNxt.Add(min(free, 0xffff<<c.rcvShift))
}

// rcvSpace is the free receive buffer we may advertise: no more than the
// storage we hold or the memory budget could still give.
func (c *Conn) rcvSpace() int {
	return max(min(c.rcvBuf.Free(), c.rcvBuf.stored()-c.rcvBuf.Len()+c.e.budget.avail()), 0)
}

// autoTune grows the receive buffer, up to MaxReceiveBuffer, when the
// application reads about as much per round trip as the buffer holds, so
// the window never limits a fast path (the dynamic right-sizing Linux
// does; RFC 7323 §2 lets the window grow that far).
func (c *Conn) autoTune(now time.Time, n int) {
	srtt := c.rtt.SRTT()
	limit := c.e.cfg.MaxReceiveBuffer
	if srtt <= 0 || c.rcvBuf.size >= limit {
		return
	}
	c.tuneCopied += n
	if c.tuneStart.IsZero() {
		c.tuneStart = c.e.at(now)
		return
	}
	if now.Sub(c.e.time(c.tuneStart)) < srtt {
		return
	}
	// Room for two round trips of what the application consumed, so the
	// sender can keep growing its window during slow start.
	// Only while the memory budget could fill the larger window: under
	// memory pressure the window stays where it is.
	if want := min(4*c.tuneCopied, limit); want > c.rcvBuf.size && c.e.budget.avail() >= want-c.rcvBuf.stored() {
		c.rcvBuf.grow(want)
	}
	c.tuneStart, c.tuneCopied = c.e.at(now), 0
}
