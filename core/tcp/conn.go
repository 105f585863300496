package tcp

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/microtcp/microtcp/core/tcp/cc"
	"github.com/microtcp/microtcp/core/tcp/rtt"
	"github.com/microtcp/microtcp/core/tcp/sack"
	"github.com/microtcp/microtcp/core/wire"
)

// Conn is one TCP connection (a TCB, RFC 9293 §3.3.1). Its methods are the
// user calls of RFC 9293 §3.10 and never block.
type Conn struct {
	e             *Endpoints
	local, remote netip.AddrPort
	listener      *Listener // while in the listener's SYN or accept queue

	// Send sequence variables (RFC 9293 §3.3.1). snd.max is the highest
	// sequence number sent, which snd.nxt falls back from after a timeout.
	iss, sndUna, sndNxt, sndMax wire.Seq
	sndWnd, maxSndWnd           uint32
	sndWl1, sndWl2              wire.Seq
	sndBufSeq                   wire.Seq // sequence number of sndBuf's first byte
	tsOffset                    uint32   // added to our TSval clock (RFC 7323 §5.4)
	sndBuf                      ring

	// Receive sequence variables. rcv.adv is the right edge of the window
	// we advertised, which must never move left (RFC 9293 §3.8.6.2.2).
	irs, rcvNxt, rcvAdv wire.Seq
	oooFinSeq           wire.Seq // where the FIN that arrived out of order goes (oooFin)
	lastAckSent         wire.Seq // Last.ACK.sent (RFC 7323 §4.3)
	tsRecent            uint32   // TS.Recent (RFC 7323 §4.3)
	rcvBuf              ring
	ooo                 oooRanges
	sackRecv            *sack.RecvBlocks // nil while no out-of-order data is held
	unackedBytes        int              // received but not yet acknowledged (delayed ACK)
	tuneStart           instant
	tuneCopied          int // bytes the application read since tuneStart

	// Negotiated options.
	mss    int // effective send MSS: payload bytes per segment
	rcvMSS int // the peer's largest segment, for delayed ACK

	rtt        rtt.Estimator
	cc         cc.Algorithm
	rttStart   instant
	rtoAt      instant // retransmission timer (RFC 6298 §5)
	persistAt  instant // persist timer (RFC 9293 §3.8.6.1)
	delackAt   instant // delayed ACK timer (RFC 1122 4.2.3.2)
	closeAt    instant // TIME-WAIT or FIN-WAIT-2 timeout
	retries    int
	persistExp int32
	probesOut  int32 // zero-window probes sent since the peer last answered
	lastSend   instant
	lastOOWAck instant // last ACK answering an out-of-window segment (oow.go)

	// Loss recovery (RFC 6582, RFC 6675).
	rttSeq     wire.Seq // the segment timed for Karn (rttTiming)
	recover    wire.Seq
	highRxt    wire.Seq
	rxtUna     wire.Seq // SND.UNA when its segment was last resent...
	rxtUnaMark wire.Seq // ...and SND.MAX then (lost-retransmission check)
	tlpEnd     wire.Seq // SND.MAX when the probe went out
	dupAcks    int
	inflate    int
	sb         *sack.Scoreboard // nil while nothing is SACKed
	tlpAt      instant          // probe timeout (RFC 8985 §7)
	rack       *rackState       // nil until RACK records a segment

	ka *keepAlive // nil until SetKeepAlive

	err      error
	softErr  error // ICMP soft error, reported on timeout (RFC 1122 4.2.3.9)
	readable func()
	writable func()

	deadline  instant // in Endpoints.timers
	emitted   uint32  // segments sent, to tell whether an ACK already went out
	heapIndex int32

	// The small fields last, packed together: an idle connection's size
	// is mostly this struct (issue #6).
	state              State
	passive            bool
	finQueued          bool // FIN follows the last byte in sndBuf
	oooFin             bool // a FIN arrived out of order at oooFinSeq
	finReceived        bool
	sndShift, rcvShift uint8
	tsOK, sackOK, wsOK bool
	rttTiming          bool // Karn: timing one segment when timestamps are off
	inRecovery         bool
	tlpOut             bool // a probe is outstanding (TLPRxtOut)
	tlpRxt             bool // ... and it was a retransmission
	noDelay            bool
	budgetWait         bool // the writer waits for the memory budget
	userClosed         bool // Close was called: nothing more will be read
	ackHeld            bool // filed in Endpoints.heldAcks until EndBatch
	throttled          bool // filed in Endpoints.throttledQ: data waits for link room (throttle.go)
}

func (e *Endpoints) newConn(now time.Time, local, remote netip.AddrPort) *Conn {
	algo, _ := cc.New(e.cfg.CongestionControl) // validated by New
	c := &Conn{
		e:         e,
		local:     local,
		remote:    remote,
		sndBuf:    newBudgetRing(e.cfg.SendBuffer, e.budget, true),
		rcvBuf:    newBudgetRing(e.cfg.ReceiveBuffer, e.budget, false),
		mss:       536, // RFC 9293 §3.7.1 default until the peer says
		rcvMSS:    536,
		rtt:       rtt.NewShared(&e.rttCfg),
		cc:        algo,
		heapIndex: -1,
		tsOffset:  tupleHash(&e.cfg.Secret, 't', local, remote), // RFC 7323 §5.4 per-connection offset
	}
	c.iss = isn(&e.cfg.Secret, now, local, remote)
	if e.issHook != nil {
		c.iss = e.issHook()
	}
	c.sndUna, c.sndNxt, c.sndMax = c.iss, c.iss, c.iss
	c.sndBufSeq = c.iss.Add(1)
	c.recover = c.iss // RFC 6582 §3.2 step 1
	c.cc.SetMSS(c.mss)
	return c
}

// State is the connection's RFC 9293 state.
func (c *Conn) State() State { return c.state }

// Established reports whether the opening handshake has completed.
func (c *Conn) Established() bool { return c.state.synchronized() }

// Err is why the connection failed (wrapping ECONNREFUSED, ECONNRESET,
// ETIMEDOUT or EHOSTUNREACH), or nil.
func (c *Conn) Err() error { return c.err }

func (c *Conn) LocalAddr() netip.AddrPort  { return c.local }
func (c *Conn) RemoteAddr() netip.AddrPort { return c.remote }

// SetWakers registers callbacks, called without blocking when the
// connection may have become readable or writable.
func (c *Conn) SetWakers(readable, writable func()) { c.readable, c.writable = readable, writable }

// SetNoDelay switches Nagle's algorithm (RFC 896) off when on is true.
func (c *Conn) SetNoDelay(on bool) { c.noDelay = on }

// Readable reports whether Read would return data or an error now.
func (c *Conn) Readable() bool {
	return c.rcvBuf.Len() > 0 || c.finReceived || c.err != nil || c.userClosed || c.state == StateClosed
}

// Writable reports whether Write would accept bytes or fail now.
func (c *Conn) Writable() bool {
	switch {
	case c.err != nil || c.finQueued || c.state == StateClosed:
		return true
	case c.state == StateSynSent || c.state == StateSynReceived:
		return false
	}
	if c.sndBuf.Free() == 0 {
		return false
	}
	if c.sndBuf.canAppend() {
		return true
	}
	c.e.budget.starve(c) // not writable until storage is given back
	return false
}

// Read copies received bytes into p (RFC 9293 §3.10.3 RECEIVE). It returns
// (0, nil) when nothing is ready yet and io.EOF after the peer's FIN once
// every byte has been read.
func (c *Conn) Read(now time.Time, p []byte, out Output) (int, error) {
	if c.userClosed {
		return 0, net.ErrClosed
	}
	if c.rcvBuf.Len() > 0 {
		n := c.rcvBuf.Read(p)
		c.autoTune(now, n)
		c.windowUpdate(now, out)
		c.releaseRcvBuf()
		c.e.ringEmptied(now, c)
		c.e.schedule(c)
		return n, nil
	}
	switch {
	case c.err != nil:
		return 0, c.err
	case c.finReceived:
		return 0, io.EOF
	case c.state == StateClosed:
		return 0, net.ErrClosed
	}
	return 0, nil
}

// Write queues bytes from p for sending (RFC 9293 §3.10.2 SEND). It copies
// what fits and returns (0, nil) when the send buffer is full. Bytes may be
// queued before the handshake completes.
func (c *Conn) Write(now time.Time, p []byte, out Output) (int, error) {
	switch {
	case c.err != nil:
		return 0, c.err
	case c.finQueued:
		return 0, fmt.Errorf("tcp: write after close: %w", net.ErrClosed)
	case c.state == StateClosed:
		return 0, fmt.Errorf("tcp: write on closed connection: %w", net.ErrClosed)
	}
	n := c.sndBuf.Append(p)
	if n < min(len(p), c.sndBuf.Free()+n) {
		// The buffer has room but the memory budget does not: the writer
		// waits until storage is given back, as for a full buffer.
		c.e.budget.starve(c)
	}
	if c.state.synchronized() {
		c.output(now, out)
	}
	c.e.schedule(c)
	return n, nil
}

// CloseWrite queues a FIN after the buffered bytes: the half-close of RFC
// 9293 §3.10.4 CLOSE, reading continues.
func (c *Conn) CloseWrite(now time.Time, out Output) error {
	switch c.state {
	case StateClosed:
		if c.err != nil {
			return c.err
		}
		return fmt.Errorf("tcp: close write: %w", net.ErrClosed)
	case StateSynSent:
		// Nothing was sent but the SYN: delete the TCB (RFC 9293 §3.10.4).
		c.terminate(nil)
		return nil
	}
	if c.finQueued {
		return nil
	}
	c.finQueued = true
	switch c.state {
	case StateEstablished:
		c.state = StateFinWait1
	case StateCloseWait:
		c.state = StateLastAck
	}
	// In SYN-RECEIVED the FIN waits for ESTABLISHED (RFC 9293 §3.10.4);
	// the state moves to FIN-WAIT-1 there.
	if c.state.synchronized() {
		c.output(now, out)
	}
	c.e.schedule(c)
	return nil
}

// Close is the full close: no more reads or writes. It sends a FIN after
// the queued bytes, or a RST if received data was never read (RFC 1122
// 4.2.2.13).
func (c *Conn) Close(now time.Time, out Output) error {
	if c.userClosed {
		return nil
	}
	if c.rcvBuf.Len() > 0 || (!c.ooo.empty() && c.state.synchronized()) {
		c.Abort(now, out)
		c.userClosed = true
		c.rcvBuf.release() // unread, and now unreadable
		return nil
	}
	if c.state == StateClosed {
		// Already reset, refused or timed out: Err says why; closing is
		// then only bookkeeping.
		c.userClosed = true
		c.rcvBuf.release()
		return nil
	}
	err := c.CloseWrite(now, out)
	c.userClosed = true
	if c.state == StateFinWait2 && c.closeAt.IsZero() {
		c.closeAt = c.e.at(now.Add(c.e.cfg.FinWait2Timeout))
		c.e.schedule(c)
	}
	return err
}

// Abort resets the connection (RFC 9293 §3.10.5 ABORT).
func (c *Conn) Abort(now time.Time, out Output) {
	switch c.state {
	case StateClosed:
		return
	case StateSynReceived, StateEstablished, StateFinWait1, StateFinWait2, StateCloseWait:
		// Send <SEQ=SND.NXT><CTL=RST>.
		c.sendRST(c.sndMax, out)
	}
	c.terminate(fmt.Errorf("tcp: connection aborted: %w", syscall.ECONNABORTED))
	c.e.schedule(c)
}

// terminate moves c to CLOSED, records err for the user and wakes both
// directions.
func (c *Conn) terminate(err error) {
	if c.state == StateClosed {
		return
	}
	if c.listener != nil {
		c.listener.forget(c)
	}
	if c.err == nil {
		c.err = err
	}
	c.state = StateClosed
	c.sndBuf.release()
	c.ooo.reset()
	c.releaseRcvBuf()
	c.e.forgetIdle(c)
	c.e.unthrottle(c)
	c.rtoAt, c.persistAt, c.delackAt, c.closeAt, c.tlpAt = 0, 0, 0, 0, 0
	c.ka, c.rack, c.sb, c.sackRecv = nil, nil, nil, nil
	c.e.remove(c)
	c.wake(true, true)
}

func (c *Conn) wake(readable, writable bool) {
	if readable && c.readable != nil {
		c.readable()
	}
	if writable && c.writable != nil {
		c.writable()
	}
}

// connError wraps errno with what happened, for Err, Read and Write.
func connError(what string, errno syscall.Errno) error {
	return fmt.Errorf("tcp: %s: %w", what, errno)
}

// SetKeepAlive turns keepalive probes on or off (RFC 1122 4.2.3.6: off by
// default). Zero durations or count keep the configured values.
func (c *Conn) SetKeepAlive(now time.Time, on bool, idle, interval time.Duration, count int) {
	if c.state == StateClosed {
		return
	}
	ka := c.ka
	if ka == nil {
		cfg := &c.e.cfg
		ka = &keepAlive{idle: cfg.KeepAliveIdle, interval: cfg.KeepAliveInterval, count: cfg.KeepAliveCount}
		c.ka = ka
	}
	ka.on = on
	if idle > 0 {
		ka.idle = idle
	}
	if interval > 0 {
		ka.interval = interval
	}
	if count > 0 {
		ka.count = count
	}
	ka.probes = 0
	ka.at = time.Time{}
	if on {
		ka.at = now.Add(ka.idle)
	}
	c.e.schedule(c)
}

// keepAlive is the keepalive state (RFC 1122 4.2.3.6), apart from the
// TCB because few connections ever use it.
type keepAlive struct {
	on             bool
	idle, interval time.Duration
	count, probes  int
	at             time.Time // the keepalive timer
}

// releaseRcvBuf gives the receive ring's storage back once nothing more
// can arrive and everything was read, so closed and TIME-WAIT connections
// hold no buffers (idle ones give it back through ringEmptied). Unread
// bytes stay readable.
func (c *Conn) releaseRcvBuf() {
	if c.rcvBuf.Len() == 0 && (c.finReceived || c.state == StateClosed) {
		c.rcvBuf.release()
	}
}

// emptyRings reports which rings hold storage but no bytes.
func (c *Conn) emptyRings() (snd, rcv bool) {
	return c.sndBuf.Len() == 0 && c.sndBuf.stored() > 0,
		c.rcvBuf.Len() == 0 && c.ooo.empty() && c.rcvBuf.stored() > 0
}
