package tcp

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

var (
	clientAddr = netip.AddrPortFrom(hostA, 5000)
	serverAddr = netip.AddrPortFrom(hostB, 80)
)

// activeOpen starts a connection from clientAddr to serverAddr and returns
// the peer (playing the server) and the SYN that went out.
func activeOpen(t *testing.T, cfg Config) (*peer, *Conn, sent) {
	t.Helper()
	e := newEndpoints(t, cfg)
	p := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: serverAddr, us: clientAddr, seq: 300, wnd: 65535}
	c, err := e.Connect(p.now, clientAddr, serverAddr, p.out)
	if err != nil {
		t.Fatal(err)
	}
	syn := one(t, p.out.take())
	wantFlags(t, syn, wire.FlagSYN)
	return p, c, syn
}

// TestRFC9293_Figure6_ActiveOpen is the basic three-way handshake from the
// initiator's side:
//
//	    TCP Peer A                                           TCP Peer B
//	1.  CLOSED                                               LISTEN
//	2.  SYN-SENT    --> <SEQ=100><CTL=SYN>               --> SYN-RECEIVED
//	3.  ESTABLISHED <-- <SEQ=300><ACK=101><CTL=SYN,ACK>  <-- SYN-RECEIVED
//	4.  ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK>       --> ESTABLISHED
//	5.  ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK><DATA> --> ESTABLISHED
func TestRFC9293_Figure6_ActiveOpen(t *testing.T) {
	p, c, syn := activeOpen(t, Config{})
	if c.State() != StateSynSent {
		t.Fatalf("state %v, want SYN-SENT", c.State())
	}
	o := syn.f.Options
	if o.MSS != 1460 || !o.SACKPermitted || !o.HasTimestamps || !o.HasWindowScale || o.TSEcr != 0 {
		t.Fatalf("SYN options %+v, want MSS 1460, SACK-permitted, timestamps, window scale", o)
	}
	if syn.f.Window == 0 {
		t.Fatal("SYN advertises a zero window")
	}
	iss := syn.f.Seq
	if c.Writable() {
		t.Fatal("writable before the handshake completed")
	}
	// Line 3: the SYN,ACK without options.
	ack := one(t, p.send(seg{seq: sq(300), ack: sq(iss + 1), flags: wire.FlagSYN | wire.FlagACK}))
	// Line 4.
	wantFlags(t, ack, wire.FlagACK)
	if ack.f.Seq != iss+1 || ack.f.Ack != 301 {
		t.Fatalf("ACK %v, want seq %d ack 301", ack, iss+1)
	}
	if c.State() != StateEstablished || !c.Established() || !c.Writable() {
		t.Fatalf("state %v, want ESTABLISHED and writable", c.State())
	}
	// The peer offered no options: none are used, MSS defaults to 536.
	if ack.f.Options.HasTimestamps || c.mss != 536 || c.sackOK || c.tsOK || c.wsOK {
		t.Fatalf("options in use without the peer's offer: mss %d sack %v ts %v ws %v", c.mss, c.sackOK, c.tsOK, c.wsOK)
	}
	// Line 5.
	if n, err := c.Write(p.now, []byte("hello"), p.out); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	data := one(t, p.out.take())
	if data.f.Seq != iss+1 || data.f.Ack != 301 || string(data.payload) != "hello" {
		t.Fatalf("data segment %v %q", data, data.payload)
	}
}

// TestRFC9293_Figure6_PassiveOpen is the same handshake from the listener's
// side, with every option offered and echoed.
func TestRFC9293_Figure6_PassiveOpen(t *testing.T) {
	e := newEndpoints(t, Config{})
	l, err := e.Listen(srvAddr, 4)
	if err != nil {
		t.Fatal(err)
	}
	woken := 0
	l.SetWaker(func() { woken++ })
	p := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: peerAddr, us: srvAddr, seq: 100, wnd: 65535}
	synack := one(t, p.send(seg{flags: wire.FlagSYN, opts: &synOpts}))
	wantFlags(t, synack, wire.FlagSYN|wire.FlagACK)
	if synack.f.Ack != 101 {
		t.Fatalf("SYN,ACK acks %d, want 101", synack.f.Ack)
	}
	o := synack.f.Options
	if o.MSS != 1460 || !o.SACKPermitted || !o.HasTimestamps || o.TSEcr != synOpts.TSVal || !o.HasWindowScale {
		t.Fatalf("SYN,ACK options %+v", o)
	}
	if _, ok := l.Accept(); ok {
		t.Fatal("accepted a half-open connection")
	}
	p.seq, p.ack = 101, synack.f.Seq+1
	p.opts = wire.TCPOptions{HasTimestamps: true, TSVal: 101, TSEcr: o.TSVal}
	none(t, p.send(seg{}))
	c, ok := l.Accept()
	if !ok || woken != 1 {
		t.Fatalf("Accept = %v, woken %d times", ok, woken)
	}
	if c.State() != StateEstablished || c.RemoteAddr() != peerAddr || c.LocalAddr() != srvAddr {
		t.Fatalf("accepted %v %v→%v", c.State(), c.LocalAddr(), c.RemoteAddr())
	}
	if c.mss != 1460-12 || !c.sackOK || !c.tsOK || c.sndShift != 7 {
		t.Fatalf("negotiated mss %d sack %v ts %v shift %d", c.mss, c.sackOK, c.tsOK, c.sndShift)
	}
}

// TestRFC9293_Figure7_SimultaneousOpen connects two engines to each other
// with crossing SYNs:
//
//	    TCP Peer A                                       TCP Peer B
//	1.  CLOSED                                           CLOSED
//	2.  SYN-SENT     --> <SEQ=100><CTL=SYN>              ...
//	3.  SYN-RECEIVED <-- <SEQ=300><CTL=SYN>              <-- SYN-SENT
//	4.               ... <SEQ=100><CTL=SYN>              --> SYN-RECEIVED
//	5.  SYN-RECEIVED --> <SEQ=100><ACK=301><CTL=SYN,ACK> ...
//	6.  ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED
//	7.               ... <SEQ=100><ACK=301><CTL=SYN,ACK> --> ESTABLISHED
func TestRFC9293_Figure7_SimultaneousOpen(t *testing.T) {
	ea, eb := newEndpoints(t, Config{}), newEndpoints(t, Config{Secret: [16]byte{1}})
	ra, rb := &recorder{}, &recorder{}
	ca, err := ea.Connect(t0, clientAddr, serverAddr, ra)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := eb.Connect(t0, serverAddr, clientAddr, rb)
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(to *Endpoints, segs []sent, out Output) {
		for _, s := range segs {
			to.Input(t0, s.local.Addr(), s.remote.Addr(), encode(s.local, s.remote, &s.f, s.payload), out)
		}
	}
	synA, synB := ra.take(), rb.take()
	deliver(ea, synB, ra) // line 3
	deliver(eb, synA, rb) // line 4
	if ca.State() != StateSynReceived || cb.State() != StateSynReceived {
		t.Fatalf("states %v %v, want SYN-RECEIVED twice", ca.State(), cb.State())
	}
	synackA, synackB := ra.take(), rb.take()
	wantFlags(t, one(t, synackA), wire.FlagSYN|wire.FlagACK)
	wantFlags(t, one(t, synackB), wire.FlagSYN|wire.FlagACK)
	deliver(ea, synackB, ra) // line 6
	deliver(eb, synackA, rb) // line 7
	if ca.State() != StateEstablished || cb.State() != StateEstablished {
		t.Fatalf("states %v %v, want ESTABLISHED twice", ca.State(), cb.State())
	}
	// Data flows both ways.
	ca.Write(t0, []byte("ping"), ra)
	deliver(eb, ra.take(), rb)
	buf := make([]byte, 16)
	if n, _ := cb.Read(t0, buf, rb); string(buf[:n]) != "ping" {
		t.Fatalf("B read %q", buf[:n])
	}
}

// TestRFC9293_3_10_7_1_Closed checks the reset sent for a segment to a port
// nobody uses (RFC 9293 §3.10.7.1, §3.5.2 rule 1).
func TestRFC9293_3_10_7_1_Closed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     seg
		want  wire.TCPFlags // 0: nothing sent
		seq   wire.Seq
		ackNo wire.Seq
	}{
		{"SYN", seg{seq: sq(500), flags: wire.FlagSYN}, wire.FlagRST | wire.FlagACK, 0, 501},
		{"data without ACK", seg{seq: sq(500), noDefaultFlags: true, data: []byte("abc")}, wire.FlagRST | wire.FlagACK, 0, 503},
		{"ACK", seg{seq: sq(500), ack: sq(7777)}, wire.FlagRST, 7777, 0},
		{"FIN,ACK", seg{seq: sq(500), ack: sq(42), flags: wire.FlagFIN | wire.FlagACK}, wire.FlagRST, 42, 0},
		{"RST", seg{seq: sq(500), flags: wire.FlagRST}, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &peer{t: t, e: newEndpoints(t, Config{}), out: &recorder{}, now: t0, addr: peerAddr, us: srvAddr}
			got := p.send(tc.s)
			if tc.want == 0 {
				none(t, got)
				return
			}
			r := one(t, got)
			if r.f.Flags != tc.want || r.f.Seq != tc.seq || r.f.Ack != tc.ackNo {
				t.Fatalf("sent %v, want [%s] seq %d ack %d", r, fmtFlags(tc.want), tc.seq, tc.ackNo)
			}
		})
	}
}

// TestRFC9293_3_10_7_2_Listen: a RST is ignored, an ACK draws a RST, and a
// segment with neither SYN nor ACK is dropped.
func TestRFC9293_3_10_7_2_Listen(t *testing.T) {
	e := newEndpoints(t, Config{})
	if _, err := e.Listen(srvAddr, 1); err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: peerAddr, us: srvAddr, seq: 9}
	none(t, p.send(seg{flags: wire.FlagRST}))
	none(t, p.send(seg{noDefaultFlags: true, data: []byte("x")}))
	r := one(t, p.send(seg{ack: sq(1234)}))
	if r.f.Flags != wire.FlagRST || r.f.Seq != 1234 {
		t.Fatalf("sent %v, want <SEQ=1234><CTL=RST>", r)
	}
	if len(e.conns) != 0 {
		t.Fatalf("%d connections created", len(e.conns))
	}
	if _, err := e.Listen(srvAddr, 1); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second Listen: %v, want EADDRINUSE", err)
	}
	if _, err := e.Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), 80), 1); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("wildcard Listen on a used port: %v, want EADDRINUSE", err)
	}
}

// TestRFC9293_3_10_7_3_SynSent covers the ACK and RST checks in SYN-SENT.
func TestRFC9293_3_10_7_3_SynSent(t *testing.T) {
	t.Run("unacceptable ACK draws a RST", func(t *testing.T) {
		p, c, syn := activeOpen(t, Config{})
		r := one(t, p.send(seg{ack: sq(syn.f.Seq + 5)}))
		if r.f.Flags != wire.FlagRST || r.f.Seq != syn.f.Seq+5 {
			t.Fatalf("sent %v, want <SEQ=SEG.ACK><CTL=RST>", r)
		}
		if c.State() != StateSynSent {
			t.Fatalf("state %v", c.State())
		}
	})
	t.Run("RST without ACK is ignored", func(t *testing.T) {
		p, c, _ := activeOpen(t, Config{})
		none(t, p.send(seg{flags: wire.FlagRST}))
		if c.State() != StateSynSent {
			t.Fatalf("state %v", c.State())
		}
	})
	t.Run("RST with a bad ACK is dropped", func(t *testing.T) {
		p, c, syn := activeOpen(t, Config{})
		none(t, p.send(seg{flags: wire.FlagRST | wire.FlagACK, ack: sq(syn.f.Seq)}))
		if c.State() != StateSynSent {
			t.Fatalf("state %v", c.State())
		}
	})
	t.Run("RST,ACK means connection refused", func(t *testing.T) {
		p, c, syn := activeOpen(t, Config{})
		woken := false
		c.SetWakers(func() { woken = true }, nil)
		none(t, p.send(seg{flags: wire.FlagRST | wire.FlagACK, ack: sq(syn.f.Seq + 1)}))
		if c.State() != StateClosed || !errors.Is(c.Err(), syscall.ECONNREFUSED) || !woken {
			t.Fatalf("state %v err %v woken %v, want CLOSED, ECONNREFUSED", c.State(), c.Err(), woken)
		}
		if _, err := c.Read(p.now, make([]byte, 1), p.out); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Read: %v", err)
		}
		if len(p.e.conns) != 0 || !p.e.NextDeadline().IsZero() {
			t.Fatal("closed connection still registered")
		}
	})
	t.Run("SYN without ACK: simultaneous open", func(t *testing.T) {
		p, c, syn := activeOpen(t, Config{})
		r := one(t, p.send(seg{flags: wire.FlagSYN}))
		wantFlags(t, r, wire.FlagSYN|wire.FlagACK)
		if r.f.Seq != syn.f.Seq || r.f.Ack != 301 || c.State() != StateSynReceived {
			t.Fatalf("sent %v in %v", r, c.State())
		}
	})
}

// TestRFC6298_SynRetransmission: the SYN is resent after the 1 s initial
// RTO, doubling each time, and the open fails with ETIMEDOUT after
// SynRetries.
func TestRFC6298_SynRetransmission(t *testing.T) {
	p, c, syn := activeOpen(t, Config{SynRetries: 3})
	last := p.now
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		r := one(t, p.fireNext())
		wantFlags(t, r, wire.FlagSYN)
		if r.f.Seq != syn.f.Seq || p.now.Sub(last) != want {
			t.Fatalf("retransmission %d: %v after %v, want seq %d after %v", i+1, r, p.now.Sub(last), syn.f.Seq, want)
		}
		last = p.now
	}
	none(t, p.fireNext())
	if p.now.Sub(last) != 8*time.Second || c.State() != StateClosed || !errors.Is(c.Err(), syscall.ETIMEDOUT) {
		t.Fatalf("after %v: state %v err %v, want CLOSED with ETIMEDOUT after 8s", p.now.Sub(last), c.State(), c.Err())
	}
}

// TestSynReceived_DuplicateSYN: a retransmitted SYN (our SYN,ACK was lost)
// gets the SYN,ACK again; with SYN cookies off, the listener's queue bound
// drops extra SYNs.
func TestSynReceived_DuplicateSYN(t *testing.T) {
	e := newEndpoints(t, Config{MaxSynBacklog: 1, NoSynCookies: true})
	l, _ := e.Listen(srvAddr, 4)
	p := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: peerAddr, us: srvAddr, seq: 100, wnd: 65535}
	first := one(t, p.send(seg{flags: wire.FlagSYN}))
	again := one(t, p.send(seg{flags: wire.FlagSYN}))
	if again.f.Seq != first.f.Seq || again.f.Ack != 101 {
		t.Fatalf("second SYN,ACK %v, first %v", again, first)
	}
	other := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: netip.AddrPortFrom(hostB, 40001), us: srvAddr, seq: 7}
	none(t, other.send(seg{flags: wire.FlagSYN}))
	if e.Stats().ListenOverflows != 1 {
		t.Fatalf("ListenOverflows = %d", e.Stats().ListenOverflows)
	}
	// The SYN,ACK is retransmitted on its own timer too, and a RST at
	// RCV.NXT returns the half-open connection to LISTEN.
	r := one(t, p.fireNext())
	wantFlags(t, r, wire.FlagSYN|wire.FlagACK)
	none(t, p.send(seg{seq: sq(101), flags: wire.FlagRST}))
	if len(e.conns) != 0 || l.synQ != 0 {
		t.Fatalf("%d connections, SYN queue %d after RST", len(e.conns), l.synQ)
	}
}

// TestListenerClose resets connections that were never accepted.
func TestListenerClose(t *testing.T) {
	p, _ := established(t, Config{}, wire.TCPOptions{})
	e := p.e
	// established() accepted its connection; make a second one pending.
	q := &peer{t: t, e: e, out: p.out, now: t0, addr: netip.AddrPortFrom(hostB, 40001), us: srvAddr, seq: 50, wnd: 1000}
	synack := one(t, q.send(seg{flags: wire.FlagSYN}))
	q.seq, q.ack = 51, synack.f.Seq+1
	none(t, q.send(seg{}))
	l := e.listenerFor(srvAddr)
	l.Close(p.now, p.out)
	r := one(t, p.out.take())
	if r.f.Flags != wire.FlagRST || r.remote != q.addr {
		t.Fatalf("sent %v, want a RST to %v", r, q.addr)
	}
	if len(e.conns) != 1 {
		t.Fatalf("%d connections left, want the accepted one", len(e.conns))
	}
	if _, ok := l.Accept(); ok {
		t.Fatal("Accept after Close returned a connection")
	}
}

// TestRFC6528_ISN: the ISN depends on the 4-tuple and the secret and
// advances with a 4 µs clock.
func TestRFC6528_ISN(t *testing.T) {
	var k1, k2 [16]byte
	k2[0] = 1
	a := isn(&k1, t0, clientAddr, serverAddr)
	if isn(&k1, t0, clientAddr, serverAddr) != a {
		t.Fatal("ISN not a function of its inputs")
	}
	if isn(&k2, t0, clientAddr, serverAddr) == a {
		t.Fatal("ISN ignores the secret")
	}
	if isn(&k1, t0, netip.AddrPortFrom(hostA, 5001), serverAddr) == a {
		t.Fatal("ISN ignores the local port")
	}
	if d := isn(&k1, t0.Add(4*time.Millisecond), clientAddr, serverAddr) - a; d != 1000 {
		t.Fatalf("ISN advanced by %d in 4 ms, want 1000", d)
	}
}

// TestICMP_RFC5927: a port unreachable quoting our SYN refuses the
// connection; one quoting a sequence number not in flight is ignored.
func TestICMP_RFC5927(t *testing.T) {
	p, c, syn := activeOpen(t, Config{})
	p.e.HandleICMP(p.now, clientAddr, serverAddr, syn.f.Seq+100, ICMPPortUnreachable, 0, p.out)
	if c.State() != StateSynSent {
		t.Fatalf("state %v after a blind ICMP", c.State())
	}
	p.e.HandleICMP(p.now, clientAddr, serverAddr, syn.f.Seq, ICMPPortUnreachable, 0, p.out)
	if c.State() != StateClosed || !errors.Is(c.Err(), syscall.ECONNREFUSED) {
		t.Fatalf("state %v err %v, want ECONNREFUSED", c.State(), c.Err())
	}
	// Host unreachable is soft: reported when the SYN retries run out.
	p, c, syn = activeOpen(t, Config{SynRetries: 1})
	p.e.HandleICMP(p.now, clientAddr, serverAddr, syn.f.Seq, ICMPHostUnreachable, 0, p.out)
	p.fireNext()
	p.fireNext()
	if !errors.Is(c.Err(), syscall.EHOSTUNREACH) {
		t.Fatalf("err %v, want EHOSTUNREACH", c.Err())
	}
}

// TestEphemeralPorts: a port whose 4-tuple is in TIME-WAIT is not reused,
// and running out of ports is an error.
func TestEphemeralPorts(t *testing.T) {
	e := newEndpoints(t, Config{EphemeralLow: 40000, EphemeralHigh: 40001})
	out := &recorder{}
	local := netip.AddrPortFrom(hostA, 0)
	c1, err := e.Connect(t0, local, serverAddr, out)
	if err != nil {
		t.Fatal(err)
	}
	c1.state = StateTimeWait // as if it had closed actively
	c2, err := e.Connect(t0, local, serverAddr, out)
	if err != nil {
		t.Fatal(err)
	}
	if c1.LocalAddr().Port() == c2.LocalAddr().Port() {
		t.Fatalf("port %d reused while in TIME-WAIT", c2.LocalAddr().Port())
	}
	if _, err := e.Connect(t0, local, serverAddr, out); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("third Connect: %v, want EADDRNOTAVAIL", err)
	}
	// Another remote can use the same ports.
	if _, err := e.Connect(t0, local, netip.AddrPortFrom(hostB, 81), out); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Connect(t0, netip.AddrPortFrom(netip.IPv4Unspecified(), 0), serverAddr, out); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Connect from 0.0.0.0: %v, want EINVAL", err)
	}
}

// TestNames: states print as RFC 9293 names; a listener reports its
// address and queue.
func TestNames(t *testing.T) {
	for s, want := range map[State]string{StateSynReceived: "SYN-RECEIVED", StateTimeWait: "TIME-WAIT", State(99): "UNKNOWN"} {
		if s.String() != want {
			t.Errorf("%d prints %q, want %q", s, s.String(), want)
		}
	}
	e := newEndpoints(t, Config{})
	l, _ := e.Listen(srvAddr, 2)
	p := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: peerAddr, us: srvAddr, seq: 1}
	sa := one(t, p.send(seg{flags: wire.FlagSYN}))
	p.seq, p.ack = 2, sa.f.Seq+1
	p.send(seg{})
	if l.Addr() != srvAddr || l.Pending() != 1 {
		t.Fatalf("Addr %v Pending %d", l.Addr(), l.Pending())
	}
}
