package tcp

import "github.com/microtcp/microtcp/core/wire"

// Resource limits (issue #7): how many connections one Endpoints holds,
// and what happens at the limit.
//
// DefaultMaxConnections is Config.MaxConnections' default. Linux has no
// such knob: its limits are file descriptors (RLIMIT_NOFILE, commonly 1024
// soft and 524288 hard per process), memory, and tcp_max_orphans and
// tcp_max_tw_buckets (sized from memory, tens to hundreds of thousands). A
// userspace stack is one process, so this limit plays the part of
// RLIMIT_NOFILE. 65536, the port space of one address, is more than a
// normal user of one virtual host opens (active opens to one peer are
// bounded by the 28,232 ephemeral ports anyway), yet it stops a leak or a
// flood of completed handshakes at about 60 MiB of TCBs (an idle
// connection measured 900 bytes; buffers are allocated on demand and
// bounded by MemoryBudget) instead of at the end of the heap.
const DefaultMaxConnections = 1 << 16

// Every connection the Endpoints holds counts, whatever its state: SYN-
// RECEIVED, established, closing and TIME-WAIT. A TIME-WAIT entry holds no
// buffers but is still a TCB in the table, and 2 MSL is long enough for a
// stream of short connections to fill any table.
//
// TIME-WAIT must still never cost a live connection its place. Linux skips
// TIME-WAIT for a closing socket once tcp_max_tw_buckets are in use; here
// the entries are kept as long as there is room and the oldest one is
// ended early when a new connection needs the slot (counted in
// TimeWaitRecycled). The oldest is the one closest to its natural end, so
// the shortening is the least, and RFC 6191 already lets a new SYN end a
// TIME-WAIT early. Only an unverified SYN never ends one: at the limit a
// SYN is answered with a SYN cookie (RFC 4987 §3.6), and the slot is taken
// when the cookie comes back, so an off-path flood of spoofed SYNs cannot
// flush the TIME-WAIT table.

// atConnLimit reports whether the table is full.
func (e *Endpoints) atConnLimit() bool { return len(e.conns) >= e.cfg.MaxConnections }

// connSlot reports whether one more connection fits, ending the oldest
// TIME-WAIT connection if that is what makes room.
func (e *Endpoints) connSlot() bool {
	if !e.atConnLimit() {
		return true
	}
	c := e.oldestTimeWait()
	if c == nil {
		return false
	}
	e.stats.TimeWaitRecycled++
	c.terminate(nil)
	return !e.atConnLimit()
}

// timeWaitStarted records that c entered TIME-WAIT, in order.
func (e *Endpoints) timeWaitStarted(c *Conn) { e.timeWait = append(e.timeWait, c) }

// oldestTimeWait is the connection longest in TIME-WAIT, or nil. Entries
// of connections that left TIME-WAIT since (expired, reset, reopened) are
// dropped on the way.
func (e *Endpoints) oldestTimeWait() *Conn {
	for len(e.timeWait) > 0 {
		c := e.timeWait[0]
		if c.state == StateTimeWait {
			return c
		}
		e.timeWait[0] = nil
		e.timeWait = e.timeWait[1:]
	}
	return nil
}

// compactTimeWait forgets the entries of connections no longer in
// TIME-WAIT once they outnumber the connections held, so the list stays
// within twice the table and holds no closed connection for long
// (amortised constant time per connection removed).
func (e *Endpoints) compactTimeWait() {
	if len(e.timeWait) <= 2*len(e.conns) {
		return
	}
	kept := e.timeWait[:0]
	for _, c := range e.timeWait {
		if c.state == StateTimeWait {
			kept = append(kept, c)
		}
	}
	clear(e.timeWait[len(kept):])
	e.timeWait = kept
	if len(kept) == 0 {
		e.timeWait = nil // give the backing array back
	}
}

// acceptQueueFull reports whether l's accept queue holds backlog
// connections: nothing more may join it until the user accepts.
func (l *Listener) acceptQueueFull() bool { return len(l.acceptQ) >= l.backlog }

// enqueue adds an established c to the accept queue and wakes the
// acceptor.
func (l *Listener) enqueue(c *Conn) {
	l.acceptQ = append(l.acceptQ, c)
	l.e.stats.AcceptQueuePeak = max(l.e.stats.AcceptQueuePeak, uint64(len(l.acceptQ)))
	if l.waker != nil {
		l.waker()
	}
}

// holdsHandshake reports whether s, arriving for c, is the ACK that would
// complete a passive open into a full accept queue. Linux then drops the
// ACK (and counts ListenOverflows): the connection stays in SYN-RECEIVED,
// the SYN,ACK retransmission makes the peer repeat its ACK, and one of
// those completes the handshake once the user has accepted.
func (c *Conn) holdsHandshake(s *segment) bool {
	l := c.listener
	return c.state == StateSynReceived && c.passive && l != nil && !l.closed && l.acceptQueueFull() &&
		s.flags&(wire.FlagSYN|wire.FlagRST|wire.FlagACK) == wire.FlagACK
}
