package tcp

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// Resource limits (issue #7): the connection limit, the accept queue and
// the path-MTU floor.

// handshake sends a SYN from port to l's Endpoints and returns the peer
// with what the SYN,ACK said, without completing the handshake.
func handshake(t *testing.T, e *Endpoints, port uint16, now time.Time) (*peer, sent) {
	t.Helper()
	p := &peer{t: t, e: e, out: &recorder{}, now: now, addr: netip.AddrPortFrom(hostB, port), us: srvAddr, seq: peerISS, wnd: 65535}
	synack := one(t, p.send(seg{flags: wire.FlagSYN, opts: &wire.TCPOptions{MSS: 1460}}))
	wantFlags(t, synack, wire.FlagSYN|wire.FlagACK)
	p.seq, p.ack = peerISS+1, synack.f.Seq+1
	return p, synack
}

// passive completes a handshake from port and accepts the connection.
func passive(t *testing.T, e *Endpoints, l *Listener, port uint16, now time.Time) (*peer, *Conn) {
	t.Helper()
	p, _ := handshake(t, e, port, now)
	none(t, p.send(seg{}))
	c, ok := l.Accept()
	if !ok {
		t.Fatalf("port %d: nothing to accept after the handshake", port)
	}
	return p, c
}

// toTimeWait closes c first (active close, RFC 9293 Figure 12) and has the
// peer acknowledge and send its own FIN: c ends in TIME-WAIT.
func toTimeWait(t *testing.T, p *peer, c *Conn) {
	t.Helper()
	if err := c.Close(p.now, p.out); err != nil {
		t.Fatal(err)
	}
	fin := one(t, p.out.take())
	wantFlags(t, fin, wire.FlagFIN|wire.FlagACK)
	p.ack = fin.f.Seq + 1
	wantFlags(t, one(t, p.send(seg{flags: wire.FlagFIN | wire.FlagACK})), wire.FlagACK)
	p.seq++
	if c.State() != StateTimeWait {
		t.Fatalf("state %v, want TIME-WAIT", c.State())
	}
}

func TestConnLimitDefault(t *testing.T) {
	e := newEndpoints(t, Config{})
	if e.cfg.MaxConnections != DefaultMaxConnections || DefaultMaxConnections != 65536 {
		t.Fatalf("MaxConnections %d, default %d", e.cfg.MaxConnections, DefaultMaxConnections)
	}
}

// TestConnLimitConnect: at the limit Connect fails with ENOBUFS and no
// segment leaves; a connection that ends makes room again.
func TestConnLimitConnect(t *testing.T) {
	const limit = 3
	e := newEndpoints(t, Config{MaxConnections: limit})
	out := &recorder{}
	local := netip.AddrPortFrom(hostA, 0)
	var conns []*Conn
	for i := range limit {
		c, err := e.Connect(t0, local, netip.AddrPortFrom(hostB, uint16(80+i)), out)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	out.take()
	_, err := e.Connect(t0, local, netip.AddrPortFrom(hostB, 99), out)
	if !errors.Is(err, syscall.ENOBUFS) {
		t.Fatalf("Connect beyond the limit: %v, want ENOBUFS", err)
	}
	none(t, out.take())
	st := e.Stats()
	if st.Connections != limit || st.ConnLimitRefused != 1 {
		t.Fatalf("Connections %d, ConnLimitRefused %d; want %d, 1", st.Connections, st.ConnLimitRefused, limit)
	}
	conns[0].Abort(t0, out)
	if _, err := e.Connect(t0, local, netip.AddrPortFrom(hostB, 99), out); err != nil {
		t.Fatalf("Connect after one connection ended: %v", err)
	}
	if got := e.Stats().Connections; got != limit {
		t.Fatalf("Connections %d, want %d", got, limit)
	}
}

// TestConnLimitSYN: at the limit, with no TIME-WAIT connection to give
// way, a SYN is dropped without an answer and counted, whether it would
// have been kept in the SYN queue or answered with a cookie.
func TestConnLimitSYN(t *testing.T) {
	for _, cookies := range []bool{false, true} {
		e := newEndpoints(t, Config{MaxConnections: 2})
		l, err := e.Listen(srvAddr, 8)
		if err != nil {
			t.Fatal(err)
		}
		handshake(t, e, 40000, t0)
		handshake(t, e, 40001, t0)
		l.alwaysCookies = cookies
		p := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: netip.AddrPortFrom(hostB, 40002), us: srvAddr, seq: 5, wnd: 65535}
		none(t, p.send(seg{flags: wire.FlagSYN}))
		st := e.Stats()
		if st.ConnLimitDrops != 1 || st.Connections != 2 || st.SynCookiesSent != 0 {
			t.Fatalf("cookies %v: ConnLimitDrops %d, Connections %d, cookies sent %d; want 1, 2, 0",
				cookies, st.ConnLimitDrops, st.Connections, st.SynCookiesSent)
		}
	}
}

// TestConnLimitCookieACK: SYN cookies do not bypass the limit. A cookie
// issued while there was room is refused when its ACK arrives at the
// limit (dropped, no RST, nothing created), and accepted when the peer
// retransmits it after a connection ended.
func TestConnLimitCookieACK(t *testing.T) {
	e := newEndpoints(t, Config{MaxConnections: 2})
	l, err := e.Listen(srvAddr, 8)
	if err != nil {
		t.Fatal(err)
	}
	l.alwaysCookies = true
	p, _ := handshake(t, e, 40000, t0)
	if e.Stats().Connections != 0 {
		t.Fatal("a cookie SYN,ACK kept state")
	}
	out := &recorder{}
	a, err := e.Connect(t0, netip.AddrPortFrom(hostA, 0), netip.AddrPortFrom(hostB, 1), out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Connect(t0, netip.AddrPortFrom(hostA, 0), netip.AddrPortFrom(hostB, 2), out); err != nil {
		t.Fatal(err)
	}
	none(t, p.send(seg{data: []byte("hi")}))
	st := e.Stats()
	if st.ConnLimitDrops != 1 || st.Connections != 2 || l.Pending() != 0 {
		t.Fatalf("cookie ACK at the limit: ConnLimitDrops %d, Connections %d, pending %d; want 1, 2, 0",
			st.ConnLimitDrops, st.Connections, l.Pending())
	}
	a.Abort(t0, out)
	p.now = t0.Add(time.Second)
	none(t, p.send(seg{data: []byte("hi")})) // no RST; the ACK is delayed
	c, ok := l.Accept()
	if !ok || c.State() != StateEstablished {
		t.Fatalf("accept after room was made: %v", ok)
	}
	buf := make([]byte, 4)
	if n, err := c.Read(p.now, buf, out); string(buf[:n]) != "hi" || err != nil {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if e.Stats().SynCookiesValidated != 1 {
		t.Fatalf("SynCookiesValidated %d", e.Stats().SynCookiesValidated)
	}
}

// TestConnLimitTimeWaitGivesWay: TIME-WAIT connections count, but at the
// limit the oldest one is ended early instead of a new connection being
// refused: Connect takes its slot at once; a SYN gets a cookie, and the
// slot is taken only when the cookie returns, so spoofed SYNs cannot
// flush TIME-WAIT; with every slot live, refusal comes back.
func TestConnLimitTimeWaitGivesWay(t *testing.T) {
	e := newEndpoints(t, Config{MaxConnections: 3})
	l, err := e.Listen(srvAddr, 8)
	if err != nil {
		t.Fatal(err)
	}
	p1, c1 := passive(t, e, l, 40001, t0)
	toTimeWait(t, p1, c1)
	p2, c2 := passive(t, e, l, 40002, t0.Add(time.Second))
	toTimeWait(t, p2, c2)
	passive(t, e, l, 40003, t0)
	if got := e.Stats().Connections; got != 3 {
		t.Fatalf("Connections %d, want 3 (two in TIME-WAIT)", got)
	}

	out := &recorder{}
	if _, err := e.Connect(t0, netip.AddrPortFrom(hostA, 0), netip.AddrPortFrom(hostB, 1), out); err != nil {
		t.Fatalf("Connect with a TIME-WAIT slot to reclaim: %v", err)
	}
	if c1.State() != StateClosed || c2.State() != StateTimeWait || e.Stats().TimeWaitRecycled != 1 {
		t.Fatalf("after Connect: oldest %v, newer %v, recycled %d; want the oldest ended", c1.State(), c2.State(), e.Stats().TimeWaitRecycled)
	}

	// A SYN at the limit is answered with a cookie and ends nothing...
	p, _ := handshake(t, e, 40004, t0)
	if e.Stats().SynCookiesSent != 1 || c2.State() != StateTimeWait {
		t.Fatalf("SYN at the limit: cookies %d, TIME-WAIT %v", e.Stats().SynCookiesSent, c2.State())
	}
	// ...until the cookie comes back.
	none(t, p.send(seg{}))
	if c2.State() != StateClosed || l.Pending() != 1 || e.Stats().TimeWaitRecycled != 2 {
		t.Fatalf("cookie ACK: TIME-WAIT %v, pending %d, recycled %d", c2.State(), l.Pending(), e.Stats().TimeWaitRecycled)
	}

	// Every slot is live now: refusal.
	if _, err := e.Connect(t0, netip.AddrPortFrom(hostA, 0), netip.AddrPortFrom(hostB, 2), out); !errors.Is(err, syscall.ENOBUFS) {
		t.Fatalf("Connect with every slot live: %v, want ENOBUFS", err)
	}
	if got := e.Stats().Connections; got != 3 {
		t.Fatalf("Connections %d, want 3", got)
	}
}

// TestConnLimitTimeWaitNoCookies: with SYN cookies off, a SYN at the
// limit ends the oldest TIME-WAIT itself (as RFC 6191 lets a SYN for the
// same four-tuple do) and is answered from the SYN queue.
func TestConnLimitTimeWaitNoCookies(t *testing.T) {
	e := newEndpoints(t, Config{MaxConnections: 1, NoSynCookies: true})
	l, err := e.Listen(srvAddr, 8)
	if err != nil {
		t.Fatal(err)
	}
	p1, c1 := passive(t, e, l, 40001, t0)
	toTimeWait(t, p1, c1)
	handshake(t, e, 40002, t0)
	st := e.Stats()
	if c1.State() != StateClosed || st.TimeWaitRecycled != 1 || st.SynCookiesSent != 0 || l.synQ != 1 {
		t.Fatalf("TIME-WAIT %v, recycled %d, cookies %d, SYN queue %d; want CLOSED, 1, 0, 1",
			c1.State(), st.TimeWaitRecycled, st.SynCookiesSent, l.synQ)
	}
	other := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: netip.AddrPortFrom(hostB, 40003), us: srvAddr, seq: 5, wnd: 65535}
	none(t, other.send(seg{flags: wire.FlagSYN}))
	if got := e.Stats().ConnLimitDrops; got != 1 {
		t.Fatalf("ConnLimitDrops %d with every slot live, want 1", got)
	}
}

// TestConnLimitTimeWaitExpires: the TIME-WAIT list holds no connection
// once 2 MSL passed, and the count returns to zero.
func TestConnLimitTimeWaitExpires(t *testing.T) {
	e := newEndpoints(t, Config{MSL: time.Second})
	l, err := e.Listen(srvAddr, 64)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		p, c := passive(t, e, l, uint16(40000+i), t0)
		toTimeWait(t, p, c)
	}
	if st := e.Stats(); st.Connections != 50 {
		t.Fatalf("Connections %d in TIME-WAIT, want 50", st.Connections)
	}
	e.Poll(t0.Add(2*time.Second), &recorder{})
	if st := e.Stats(); st.Connections != 0 || len(e.timeWait) != 0 || len(e.conns) != 0 {
		t.Fatalf("after 2 MSL: Connections %d, TIME-WAIT list %d", st.Connections, len(e.timeWait))
	}
}

// TestAcceptQueueBound: the backlog bounds the accept queue itself. Once
// it is full the ACK completing a handshake is dropped (Linux's listen
// overflow): the connection stays in SYN-RECEIVED, sends no RST, and its
// SYN,ACK retransmission lets the peer's repeated ACK complete it after
// Accept made room. New SYNs are dropped meanwhile.
func TestAcceptQueueBound(t *testing.T) {
	const backlog = 2
	e := newEndpoints(t, Config{})
	l, err := e.Listen(srvAddr, backlog)
	if err != nil {
		t.Fatal(err)
	}
	var peers []*peer
	for i := range 5 {
		p, _ := handshake(t, e, uint16(40000+i), t0)
		peers = append(peers, p)
	}
	for _, p := range peers {
		none(t, p.send(seg{data: []byte("x")}))
	}
	st := e.Stats()
	if l.Pending() != backlog || st.AcceptQueuePeak != backlog || st.ListenOverflows != 3 || l.synQ != 3 {
		t.Fatalf("pending %d, peak %d, overflows %d, SYN queue %d; want %d, %d, 3, 3",
			l.Pending(), st.AcceptQueuePeak, st.ListenOverflows, l.synQ, backlog, backlog)
	}
	// Only the completing ACK is held back: a RST still returns a held
	// connection to LISTEN (RFC 9293 §3.10.7.4).
	none(t, peers[4].send(seg{flags: wire.FlagRST}))
	if l.synQ != 2 || e.Stats().ListenOverflows != 3 {
		t.Fatalf("after a RST: SYN queue %d, overflows %d; want 2, 3", l.synQ, e.Stats().ListenOverflows)
	}
	late := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: netip.AddrPortFrom(hostB, 41000), us: srvAddr, seq: 9, wnd: 65535}
	none(t, late.send(seg{flags: wire.FlagSYN}))
	if got := e.Stats().ListenOverflows; got != 4 {
		t.Fatalf("ListenOverflows %d after a SYN to a full queue, want 4", got)
	}

	for range backlog {
		if _, ok := l.Accept(); !ok {
			t.Fatal("nothing to accept")
		}
	}
	// The held connections retransmit their SYN,ACK; the peers answer
	// with their data again, which now completes the handshake.
	p := peers[2]
	synacks := 0
	for _, r := range p.advance(e.cfg.InitialRTO) {
		if r.f.Flags.Has(wire.FlagSYN) {
			synacks++
		}
	}
	if synacks != 2 {
		t.Fatalf("%d SYN,ACKs retransmitted after the initial RTO, want one per held connection", synacks)
	}
	for _, q := range peers[2:4] {
		q.now = p.now
		q.send(seg{data: []byte("x")})
	}
	for i := range 2 {
		c, ok := l.Accept()
		if !ok {
			t.Fatalf("held connection %d not accepted after room was made", i)
		}
		buf := make([]byte, 4)
		if n, err := c.Read(p.now, buf, p.out); n != 1 || err != nil {
			t.Fatalf("held connection %d read %d, %v", i, n, err)
		}
	}
	if got := e.Stats().AcceptQueuePeak; got != backlog {
		t.Fatalf("AcceptQueuePeak %d, want %d", got, backlog)
	}
}

// TestPathMTUClamp: a fragmentation-needed message lowers the MSS to what
// the path carries for every MTU down to RFC 1191's floor of 68, a report
// below it is clamped to 68, a zero report (RFC 1191 §5) takes the next
// plateau down, and a report that would raise the MSS is ignored.
func TestPathMTUClamp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ts      bool
		mtu     int
		wantMSS int
	}{
		{"1000 with timestamps", true, 1000, 1000 - 52},
		{"576", true, 576, 576 - 52},
		{"552 (Linux min_pmtu)", true, 552, 500},
		{"296", false, 296, 256},
		{"68 without options", false, 68, 28},
		{"68 with timestamps", true, 68, 16},
		{"67 is clamped", true, 67, 16},
		{"1 is clamped", false, 1, 28},
		{"zero: plateau below 1500", true, 0, 1492 - 52},
		{"9000 would raise it", true, 9000, 1460 - 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, opts := Config{NoTimestamps: !tc.ts}, wire.TCPOptions{MSS: 1460}
			if tc.ts {
				opts = synOpts
			}
			p, c := established(t, cfg, opts)
			c.SetNoDelay(true)
			c.Write(p.now, make([]byte, 3000), p.out)
			d := p.out.take()
			if len(d) == 0 {
				t.Fatal("nothing sent")
			}
			p.e.HandleICMP(p.now, srvAddr, peerAddr, d[0].f.Seq, ICMPFragmentationNeeded, tc.mtu, p.out)
			if c.mss != tc.wantMSS {
				t.Fatalf("MSS %d, want %d", c.mss, tc.wantMSS)
			}
			for _, r := range p.out.take() {
				if len(r.payload) > tc.wantMSS || r.f.Seq != d[0].f.Seq {
					t.Fatalf("resent %v, want the first segment cut to %d bytes", r, tc.wantMSS)
				}
			}
		})
	}
}
