package tcp

import (
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// Listener is a passive open: it answers SYNs, keeps a bounded SYN queue of
// half-open connections and a bounded queue of connections ready to accept.
type Listener struct {
	e       *Endpoints
	addr    netip.AddrPort
	backlog int
	synQ    int     // connections in SYN-RECEIVED
	acceptQ []*Conn // established, not yet accepted
	closed  bool
	waker   func()

	cookieUntil   time.Time // cookies were sent recently: ACKs may carry one
	alwaysCookies bool      // tests: answer every SYN with a cookie
}

// Addr is the address the listener was opened on.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// SetWaker registers f, called (without blocking) when a connection becomes
// ready to accept.
func (l *Listener) SetWaker(f func()) { l.waker = f }

// Accept returns the next established connection, or false if none is
// ready.
func (l *Listener) Accept() (*Conn, bool) {
	for len(l.acceptQ) > 0 {
		c := l.acceptQ[0]
		l.acceptQ[0] = nil
		l.acceptQ = l.acceptQ[1:]
		c.listener = nil
		if c.state != StateClosed {
			return c, true
		}
	}
	return nil, false
}

// Pending is the number of connections waiting in the accept queue.
func (l *Listener) Pending() int { return len(l.acceptQ) }

// Close stops listening and resets every connection not yet accepted.
func (l *Listener) Close(now time.Time, out Output) {
	if l.closed {
		return
	}
	l.closed = true
	if l.e.listeners[l.addr] == l {
		delete(l.e.listeners, l.addr)
	}
	for _, c := range l.e.conns {
		if c.listener == l {
			c.Abort(now, out)
		}
	}
	for i := range l.acceptQ {
		l.acceptQ[i] = nil
	}
	l.acceptQ = nil
	l.synQ = 0
}

// input handles a segment for a listening socket (RFC 9293 §3.10.7.2).
func (l *Listener) input(now time.Time, local, remote netip.AddrPort, s *segment, out Output) {
	e := l.e
	switch {
	case s.flags.Has(wire.FlagRST):
		// An incoming RST in LISTEN is ignored.
		return
	case s.flags.Has(wire.FlagACK) && !s.flags.Has(wire.FlagSYN):
		if l.cookieValid(now, local, remote, s) {
			// The cookie proves a peer that completed the handshake; the
			// connection joins the accept queue only if the limits allow,
			// else the ACK is dropped and the peer's retransmission of it
			// (or of its first data) tries again.
			switch {
			case l.acceptQueueFull():
				e.stats.ListenOverflows++
			case !e.connSlot():
				e.stats.ConnLimitDrops++
			case e.admit():
				c := l.cookieConn(now, local, remote, s)
				e.conns[fourTuple{local, remote}] = c
				e.stats.ConnectionsOpened++
				l.enqueue(c)
				// The ACK may carry data or a FIN: process it as any segment.
				c.input(now, s, out)
				e.schedule(c)
				return
			}
		}
		e.stats.Dropped++
		if now.Before(l.cookieUntil) {
			// While cookies are out, a segment that fails validation may be
			// one sent after a lost first segment (its SEG.SEQ-1 is not the
			// peer's ISS): drop it, the peer retransmits from the start.
			return
		}
		// Any other acknowledgment is bad while in LISTEN:
		// <SEQ=SEG.ACK><CTL=RST>.
		e.resetFor(local, remote, s, out)
		return
	case s.flags.Has(wire.FlagACK):
		e.stats.Dropped++
		e.resetFor(local, remote, s, out)
		return
	case !s.flags.Has(wire.FlagSYN):
		e.stats.Dropped++
		return
	}
	if l.acceptQueueFull() {
		// Nobody accepts: drop the SYN, the peer retransmits it.
		e.stats.ListenOverflows++
		return
	}
	cookie := l.synQ >= e.cfg.MaxSynBacklog || l.alwaysCookies
	if e.atConnLimit() {
		// Only a TIME-WAIT connection can make room, and only for a peer
		// that proves itself by returning a cookie (limits.go).
		switch {
		case e.oldestTimeWait() == nil:
			e.stats.ConnLimitDrops++
			return
		case !e.cfg.NoSynCookies:
			cookie = true
		case !cookie:
			// Without cookies the SYN itself may end a TIME-WAIT, as
			// RFC 6191 lets a SYN for the same four-tuple do.
			e.connSlot()
		}
	}
	if cookie {
		if e.cfg.NoSynCookies {
			e.stats.ListenOverflows++
			return
		}
		// RFC 4987 §3.6: answer without keeping state.
		l.sendCookie(now, local, remote, s, out)
		return
	}
	if !e.admit() {
		// No memory for its buffers: drop the SYN, the peer retries.
		e.stats.Dropped++
		return
	}
	c := e.newConn(now, local, remote)
	c.listener = l
	c.passive = true
	l.synQ++
	e.conns[fourTuple{local, remote}] = c
	e.stats.ConnectionsOpened++
	// Set RCV.NXT to SEG.SEQ+1, IRS to SEG.SEQ, and send
	// <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> (RFC 9293 §3.10.7.2).
	c.irs = s.seq
	c.rcvNxt = s.seq.Add(1)
	c.negotiate(s)
	c.state = StateSynReceived
	c.sndWnd = uint32(s.wnd) // window in a SYN is never scaled (RFC 7323 §2.2)
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = s.seq, c.iss
	c.sendSYN(now, out)
	e.schedule(c)
}

// established moves c from the SYN queue to the accept queue.
func (l *Listener) established(c *Conn) {
	l.synQ--
	if l.closed {
		return
	}
	l.enqueue(c)
}

// forget drops a half-open c from the SYN queue.
func (l *Listener) forget(c *Conn) {
	if c.state == StateSynReceived {
		l.synQ--
	}
	c.listener = nil
}
