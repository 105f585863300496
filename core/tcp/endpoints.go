package tcp

import (
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"github.com/microtcp/microtcp/core/tcp/rtt"
	"github.com/microtcp/microtcp/core/wire"
)

// Output is how the engine sends. The stack builds the IP packet from it;
// f and payload are borrowed for the call. The engine never builds IP
// headers.
type Output interface {
	SendTCP(local, remote netip.AddrPort, f *wire.TCPFields, payload []byte)
}

type fourTuple struct {
	local, remote netip.AddrPort
}

// Stats are the engine's counters: segments in and out, drops, resets,
// challenge ACKs, retransmissions and the events behind them.
type Stats struct {
	SegmentsIn, SegmentsOut             uint64
	Dropped                             uint64 // unacceptable, malformed or unexpected segments
	ResetsSent                          uint64
	ChallengeACKs                       uint64
	ChallengeACKsSuppressed             uint64 // over the RFC 5961 §7 limit
	OutOfWindowACKsSkipped              uint64 // answers to out-of-window segments held back (oow.go)
	Retransmits, RTOs                   uint64
	FastRetransmits                     uint64
	PAWSRejected                        uint64
	ListenOverflows                     uint64 // SYNs and handshake-completing ACKs dropped: accept queue full
	AcceptQueuePeak                     uint64 // the longest any listener's accept queue has been
	SynCookiesSent, SynCookiesValidated uint64
	TailLossProbes                      uint64
	LinkHolds                           uint64 // times a connection held data for lack of link room (throttle.go)
	LostRetransmits                     uint64 // resends found lost in SACK recovery
	ConnectionsOpened                   uint64

	// The memory budget (Config.MemoryBudget): bytes of buffer storage
	// held now and at most, and allocations or connections refused for
	// lack of it.
	BudgetInUse, BudgetPeak uint64
	BudgetDenied            uint64

	// The connection limit (Config.MaxConnections): connections held now
	// in any state but CLOSED (TIME-WAIT included), incoming SYNs and
	// cookie ACKs dropped and Connect calls refused (ENOBUFS) at the limit,
	// and TIME-WAIT connections ended early to make room.
	Connections      uint64
	ConnLimitDrops   uint64
	ConnLimitRefused uint64
	TimeWaitRecycled uint64
}

// Endpoints is the whole TCP layer of one host: the demultiplexing table,
// listeners, TIME-WAIT connections, ports and timers. It is not safe for
// concurrent use.
type Endpoints struct {
	cfg       Config
	conns     map[fourTuple]*Conn
	listeners map[netip.AddrPort]*Listener
	timers    deadlineHeap

	fields  wire.TCPFields // scratch header handed to Output
	scratch []byte         // scratch payload handed to Output

	challengeStart time.Time
	challengeCount int
	nextPort       uint32

	stats  Stats
	budget *budget
	idle   map[*Conn]struct{} // connections with an empty ring that holds storage
	sweep  time.Time          // when to release the storage of rings still idle

	timeWait []*Conn // connections in the order they entered TIME-WAIT (limits.go)

	issHook func() wire.Seq // tests: choose the ISS (e.g. near 2^32)

	inBatch  bool    // between BeginBatch and EndBatch
	heldAcks []*Conn // connections whose ACK waits for EndBatch

	// Connections holding data for lack of link room, oldest first from
	// throttleHead, and the one ResumeOutput is running (throttle.go).
	throttledQ   []*Conn
	throttleHead int
	resuming     *Conn

	epoch  time.Time  // instant zero (instant.go)
	rttCfg rtt.Config // shared by every connection's estimator
}

// New returns an empty TCP layer; cfg zero fields take their defaults.
func New(cfg Config) (*Endpoints, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Endpoints{
		cfg:       cfg,
		conns:     make(map[fourTuple]*Conn),
		listeners: make(map[netip.AddrPort]*Listener),
		scratch:   make([]byte, cfg.MSS),
		budget:    &budget{limit: cfg.MemoryBudget},
		idle:      make(map[*Conn]struct{}),
		rttCfg:    rtt.Config{InitialRTO: cfg.InitialRTO, MinRTO: cfg.MinRTO, MaxRTO: cfg.MaxRTO},
	}, nil
}

// Stats returns the counters.
func (e *Endpoints) Stats() Stats {
	s := e.stats
	s.BudgetInUse, s.BudgetPeak = uint64(e.budget.inUse), uint64(e.budget.peak)
	s.BudgetDenied = e.budget.denied
	s.Connections = uint64(len(e.conns))
	return s
}

// NextDeadline is when Poll must next run; zero means no timer is pending.
func (e *Endpoints) NextDeadline() time.Time {
	d := e.timers.min()
	if !e.sweep.IsZero() && (d.IsZero() || e.sweep.Before(d)) {
		d = e.sweep
	}
	return d
}

// Poll runs every timer that is due at now.
func (e *Endpoints) Poll(now time.Time, out Output) {
	if due(e.sweep, now) {
		e.sweepIdle(now)
	}
	for len(e.timers) > 0 && !e.timers.min().After(now) {
		c := e.timers[0]
		c.onTimer(now, out)
		e.schedule(c)
	}
}

// schedule re-files c in the timer heap after its timers changed.
func (e *Endpoints) schedule(c *Conn) {
	if c.state == StateClosed {
		e.timers.set(c, time.Time{})
		return
	}
	e.timers.set(c, c.nextDeadline())
}

// remove forgets c: it no longer receives segments or timers.
func (e *Endpoints) remove(c *Conn) {
	id := fourTuple{c.local, c.remote}
	if e.conns[id] == c {
		delete(e.conns, id)
	}
	e.timers.set(c, time.Time{})
	e.compactTimeWait()
}

// Listen opens a passive endpoint (RFC 9293 §3.10.1 OPEN, passive). An
// unspecified address listens on every local address.
func (e *Endpoints) Listen(local netip.AddrPort, backlog int) (*Listener, error) {
	if local.Port() == 0 || !local.Addr().IsValid() {
		return nil, fmt.Errorf("tcp: listen on %v: need an address and a port: %w", local, syscall.EINVAL)
	}
	if backlog <= 0 {
		backlog = 128
	}
	if _, ok := e.listeners[local]; ok {
		return nil, fmt.Errorf("tcp: listen on %v: %w", local, syscall.EADDRINUSE)
	}
	for ap := range e.listeners {
		if ap.Port() == local.Port() && (ap.Addr().IsUnspecified() || local.Addr().IsUnspecified()) {
			return nil, fmt.Errorf("tcp: listen on %v: %v already listening: %w", local, ap, syscall.EADDRINUSE)
		}
	}
	l := &Listener{e: e, addr: local, backlog: backlog}
	e.listeners[local] = l
	return l, nil
}

func (e *Endpoints) listenerFor(local netip.AddrPort) *Listener {
	if l, ok := e.listeners[local]; ok {
		return l
	}
	var any netip.Addr
	if local.Addr().Is4() {
		any = netip.IPv4Unspecified()
	} else {
		any = netip.IPv6Unspecified()
	}
	return e.listeners[netip.AddrPortFrom(any, local.Port())]
}

// portInUse reports whether a new connection local→remote would collide
// with an existing connection (in any state, TIME-WAIT included).
func (e *Endpoints) portInUse(local, remote netip.AddrPort) bool {
	_, ok := e.conns[fourTuple{local, remote}]
	return ok
}

// ephemeralPort picks a local port for local.Addr()→remote whose 4-tuple is
// unused, starting from a keyed hash of the remote (RFC 6056 §3.3.3
// "Algorithm 3") so consecutive connections to one peer walk the range.
func (e *Endpoints) ephemeralPort(local, remote netip.AddrPort) (uint16, error) {
	lo, hi := uint32(e.cfg.EphemeralLow), uint32(e.cfg.EphemeralHigh)
	n := hi - lo + 1
	off := tupleHash(&e.cfg.Secret, 'p', netip.AddrPortFrom(local.Addr(), 0), remote)
	for i := uint32(0); i < n; i++ {
		p := uint16(lo + (off+e.nextPort+i)%n)
		ap := netip.AddrPortFrom(local.Addr(), p)
		if e.portInUse(ap, remote) || e.listenerFor(ap) != nil {
			continue
		}
		e.nextPort += i + 1
		return p, nil
	}
	return 0, fmt.Errorf("tcp: no free ephemeral port to %v: %w", remote, syscall.EADDRNOTAVAIL)
}

// Connect starts an active open (RFC 9293 §3.10.1 OPEN, active) and sends
// the SYN. A zero local port picks an ephemeral port whose 4-tuple is not in
// use, TIME-WAIT included.
func (e *Endpoints) Connect(now time.Time, local, remote netip.AddrPort, out Output) (*Conn, error) {
	if !local.Addr().IsValid() || local.Addr().IsUnspecified() {
		return nil, fmt.Errorf("tcp: connect to %v: local address %v must be a concrete address: %w", remote, local.Addr(), syscall.EINVAL)
	}
	if !remote.Addr().IsValid() || remote.Addr().IsUnspecified() || remote.Port() == 0 {
		return nil, fmt.Errorf("tcp: connect to %v: bad remote address: %w", remote, syscall.EINVAL)
	}
	if local.Port() == 0 {
		p, err := e.ephemeralPort(local, remote)
		if err != nil {
			return nil, err
		}
		local = netip.AddrPortFrom(local.Addr(), p)
	} else if e.portInUse(local, remote) {
		return nil, fmt.Errorf("tcp: connect %v to %v: %w", local, remote, syscall.EADDRINUSE)
	}
	if !e.connSlot() {
		e.stats.ConnLimitRefused++
		return nil, fmt.Errorf("tcp: connect to %v: %d connections open, the limit (MaxConnections): %w",
			remote, len(e.conns), syscall.ENOBUFS)
	}
	if !e.admit() {
		return nil, fmt.Errorf("tcp: connect to %v: memory budget exhausted (%d of %d bytes in use): %w",
			remote, e.budget.inUse, e.budget.limit, syscall.ENOBUFS)
	}
	c := e.newConn(now, local, remote)
	c.state = StateSynSent
	e.conns[fourTuple{local, remote}] = c
	e.stats.ConnectionsOpened++
	c.sendSYN(now, out)
	e.schedule(c)
	return c, nil
}

// Input processes one segment addressed from src to dst. The stack has
// parsed it and verified its checksum (RFC 9293 §3.10.7 SEGMENT ARRIVES).
func (e *Endpoints) Input(now time.Time, src, dst netip.Addr, seg wire.TCP, out Output) {
	e.stats.SegmentsIn++
	opts, err := seg.ParsedOptions()
	if err != nil {
		e.stats.Dropped++
		return
	}
	s := segment{
		seq:     seg.Seq(),
		ack:     seg.Ack(),
		flags:   seg.Flags(),
		wnd:     seg.Window(),
		opts:    opts,
		payload: seg.Payload(),
	}
	local := netip.AddrPortFrom(dst, seg.DstPort())
	remote := netip.AddrPortFrom(src, seg.SrcPort())
	if c, ok := e.conns[fourTuple{local, remote}]; ok && c.reopensTimeWait(&s) {
		// RFC 9293 §3.10.7.4 / RFC 6191: a new SYN ahead of the old
		// incarnation ends TIME-WAIT and goes to the listener.
		c.terminate(nil)
	} else if ok {
		if c.holdsHandshake(&s) {
			e.stats.ListenOverflows++
			return
		}
		wasTimeWait := c.state == StateTimeWait
		c.input(now, &s, out)
		if !wasTimeWait && c.state == StateTimeWait {
			e.timeWaitStarted(c)
		}
		e.schedule(c)
		return
	}
	if l := e.listenerFor(local); l != nil && !l.closed {
		l.input(now, local, remote, &s, out)
		return
	}
	e.stats.Dropped++
	e.resetFor(local, remote, &s, out)
}

// resetFor answers a segment that has no connection (RFC 9293 §3.10.7.1,
// §3.5.2 rule 1): an incoming RST is dropped; otherwise, if the segment
// has an ACK the RST takes its sequence number from it, else it has
// sequence 0 and acknowledges the segment.
func (e *Endpoints) resetFor(local, remote netip.AddrPort, s *segment, out Output) {
	if s.flags.Has(wire.FlagRST) {
		return
	}
	f := &e.fields
	*f = wire.TCPFields{SrcPort: local.Port(), DstPort: remote.Port()}
	if s.flags.Has(wire.FlagACK) {
		f.Seq = s.ack
		f.Flags = wire.FlagRST
	} else {
		f.Ack = s.seq.Add(s.len())
		f.Flags = wire.FlagRST | wire.FlagACK
	}
	e.stats.ResetsSent++
	e.stats.SegmentsOut++
	out.SendTCP(local, remote, f, nil)
}

// challengeAllowed applies the RFC 5961 §7 rate limit to challenge ACKs.
func (e *Endpoints) challengeAllowed(now time.Time) bool {
	if now.Sub(e.challengeStart) >= time.Second || now.Before(e.challengeStart) {
		e.challengeStart, e.challengeCount = now, 0
	}
	if e.challengeCount >= e.cfg.ChallengeACKLimit {
		e.stats.ChallengeACKsSuppressed++
		return false
	}
	e.challengeCount++
	e.stats.ChallengeACKs++
	return true
}

// segment is an arriving segment, parsed once.
type segment struct {
	seq, ack wire.Seq
	flags    wire.TCPFlags
	wnd      uint16
	opts     wire.TCPOptions
	payload  []byte
}

// len is SEG.LEN: payload plus SYN and FIN (RFC 9293 §3.4).
func (s *segment) len() uint32 {
	n := uint32(len(s.payload))
	if s.flags.Has(wire.FlagSYN) {
		n++
	}
	if s.flags.Has(wire.FlagFIN) {
		n++
	}
	return n
}

// reopensTimeWait reports whether s is a SYN that may start a new
// incarnation of a connection in TIME-WAIT: its sequence number, or its
// timestamp when both incarnations use them, is beyond the old one's
// (RFC 6191 §2).
func (c *Conn) reopensTimeWait(s *segment) bool {
	if c.state != StateTimeWait || s.flags&(wire.FlagSYN|wire.FlagACK|wire.FlagRST) != wire.FlagSYN {
		return false
	}
	if c.tsOK && s.opts.HasTimestamps {
		return int32(s.opts.TSVal-c.tsRecent) > 0
	}
	return s.seq.GreaterThan(c.rcvNxt)
}
