package tcp

import (
	"syscall"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// nextDeadline is the earliest of the connection's timers, zero if none.
func (c *Conn) nextDeadline() time.Time {
	var m instant
	for _, t := range [...]instant{c.rtoAt, c.persistAt, c.delackAt, c.closeAt, c.tlpAt} {
		if t != 0 && (m == 0 || t < m) {
			m = t
		}
	}
	d := c.e.time(m)
	if c.ka != nil && !c.ka.at.IsZero() && (d.IsZero() || c.ka.at.Before(d)) {
		d = c.ka.at
	}
	if c.rack != nil && !c.rack.timer.IsZero() && (d.IsZero() || c.rack.timer.Before(d)) {
		d = c.rack.timer
	}
	return d
}

func due(t, now time.Time) bool { return !t.IsZero() && !t.After(now) }

// onTimer runs every timer of c that is due.
func (c *Conn) onTimer(now time.Time, out Output) {
	if c.e.dueAt(c.closeAt, now) {
		// TIME-WAIT's 2 MSL (RFC 9293 §3.10.8) or the FIN-WAIT-2 timeout
		// of a connection nobody will read from any more.
		c.closeAt = 0
		c.terminate(nil)
		return
	}
	if c.rack != nil && due(c.rack.timer, now) {
		c.rack.timer = time.Time{}
		c.onRACKTimer(now, out)
	}
	if c.e.dueAt(c.tlpAt, now) {
		c.tlpAt = 0
		c.onTLP(now, out)
	}
	if c.e.dueAt(c.rtoAt, now) {
		c.rtoAt = 0
		c.onRTO(now, out)
		if c.state == StateClosed {
			return
		}
	}
	if c.e.dueAt(c.persistAt, now) {
		c.persistAt = 0
		c.onPersist(now, out)
	}
	if c.e.dueAt(c.delackAt, now) {
		c.delackAt = 0
		c.sendAck(now, out)
	}
	if c.ka != nil && due(c.ka.at, now) {
		c.ka.at = time.Time{}
		c.onKeepAlive(now, out)
	}
}

// onKeepAlive probes an idle connection (RFC 1122 4.2.3.6) and gives up
// with ETIMEDOUT after ka.count unanswered probes.
func (c *Conn) onKeepAlive(now time.Time, out Output) {
	ka := c.ka
	if ka == nil || !ka.on || (c.state != StateEstablished && c.state != StateCloseWait) {
		return
	}
	if c.sndUna != c.sndMax || c.unsent() > 0 {
		// Data in flight: the retransmission timer watches the peer.
		ka.at = now.Add(ka.idle)
		return
	}
	if ka.probes >= ka.count {
		c.terminate(connError("keepalive timed out", syscall.ETIMEDOUT))
		return
	}
	// A probe is a segment with SEG.SEQ = SND.NXT-1 and no data, which
	// the peer must acknowledge.
	c.emit(now, out, c.sndMax.Add(^uint32(0)), wire.FlagACK, nil)
	ka.probes++
	ka.at = now.Add(ka.interval)
}

// onRTO is the retransmission timer's expiry (RFC 6298 §5.4–5.7).
func (c *Conn) onRTO(now time.Time, out Output) {
	switch c.state {
	case StateSynSent, StateSynReceived:
		c.retries++
		if c.retries > c.e.cfg.SynRetries {
			if c.softErr != nil {
				c.terminate(c.softErr)
				return
			}
			c.terminate(connError("connection timed out", syscall.ETIMEDOUT))
			return
		}
		c.e.stats.RTOs++
		c.rtt.Backoff()
		c.sendSYN(now, out)
		return
	case StateEstablished, StateFinWait1, StateCloseWait, StateClosing, StateLastAck:
	default:
		return
	}
	if c.sndUna == c.sndMax {
		return
	}
	c.retries++
	if c.retries > c.e.cfg.Retries {
		c.terminate(connError("connection timed out", syscall.ETIMEDOUT))
		return
	}
	c.e.stats.RTOs++
	// RFC 6298 §5.5: back off the timer; §5.4: retransmit the earliest
	// segment, and go back to SND.UNA for the rest.
	c.rtt.Backoff()
	c.goBackN(now, out)
	if c.throttled && c.sndNxt == c.sndUna {
		// The link is full: the resend waits for room like new data
		// (throttle.go), and with nothing in flight no timer runs until
		// ResumeOutput sends it.
		c.rtoAt = 0
		return
	}
	if c.sndNxt == c.sndUna {
		// The window is closed: retransmit anyway so the peer answers.
		c.retransmitFirst(now, out)
	}
	c.rtoAt = c.e.at(now.Add(c.rtt.RTO()))
}

// goBackN is the loss response of a retransmission timeout: cwnd falls
// to the loss window and sending starts again from SND.UNA.
func (c *Conn) goBackN(now time.Time, out Output) {
	// RFC 5681 §3.1: ssthresh from FlightSize and a loss window of one
	// SMSS; counted to the highest byte sent, as snd.nxt is about to move.
	c.sndNxt = c.sndMax
	c.cc.OnRTO(now, c.flightSize())
	// RFC 6582 §3.2 step 1 after a timeout: no fast retransmit until the
	// data outstanding now is acknowledged.
	c.recover = c.sndMax
	c.inRecovery, c.inflate, c.dupAcks = false, 0, 0
	c.tlpOut, c.tlpRxt, c.tlpAt = false, false, 0
	// RFC 2018 §8: after a timeout the SACK information is not trusted.
	c.sb = nil
	c.rackReset()
	c.rttTiming = false
	c.sndNxt = c.sndUna
	c.output(now, out)
}

// onPersist probes a closed window, or overrides sender SWS avoidance when
// the window stays too small (RFC 9293 §3.8.6.1, RFC 1122 4.2.2.17,
// 4.2.3.4).
func (c *Conn) onPersist(now time.Time, out Output) {
	switch c.state {
	case StateEstablished, StateFinWait1, StateCloseWait, StateClosing, StateLastAck:
	default:
		return
	}
	if c.sndNxt != c.sndUna || (c.unsent() == 0 && !c.finPending()) {
		return
	}
	if !c.sendNext(now, out, c.mss, true) {
		if c.throttled {
			return // not the window but the link: ResumeOutput sends it
		}
		// Never give up while the peer answers (RFC 1122 4.2.2.17), but
		// a peer that stops answering is gone: give it up after as many
		// unanswered probes as unanswered retransmissions (as Linux does
		// with tcp_retries2), or a closed window pins the connection.
		if int(c.probesOut) >= c.e.cfg.Retries {
			c.terminate(connError("connection timed out", syscall.ETIMEDOUT))
			return
		}
		c.probesOut++
		// Zero window: a probe one byte below SND.UNA, which the peer
		// must answer with its current window (what Linux sends).
		c.emit(now, out, c.sndUna.Add(^uint32(0)), wire.FlagACK, nil)
		c.persistExp++
		c.persistAt = c.e.at(now.Add(c.persistInterval()))
		return
	}
	c.persistExp = 0
	if c.rtoAt.IsZero() {
		c.rtoAt = c.e.at(now.Add(c.rtt.RTO()))
	}
}
