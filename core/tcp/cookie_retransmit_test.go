package tcp

import (
	"net/netip"
	"testing"

	"github.com/microtcp/microtcp/core/wire"
)

// TestRFC4987_CookieBeatsLaterHalfOpen: a SYN answered with a cookie is
// retransmitted (the cookie SYN,ACK was slow) after the SYN queue drained,
// so the retransmission creates a stateful half-open connection with a new
// ISS. The peer's ACK of the cookie SYN,ACK must then open the connection
// from the cookie, not draw a RST from the half-open one (which would reset
// a connection the peer already considers ESTABLISHED).
func TestRFC4987_CookieBeatsLaterHalfOpen(t *testing.T) {
	e := newEndpoints(t, Config{MaxSynBacklog: 1, NoTimestamps: true})
	l, _ := e.Listen(srvAddr, 8)
	first := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: peerAddr, us: srvAddr, seq: 100, wnd: 1000}
	one(t, first.send(seg{flags: wire.FlagSYN})) // fills the SYN queue

	p := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: netip.AddrPortFrom(hostB, 40001), us: srvAddr, seq: 5000, wnd: 1000}
	cookieSynAck := one(t, p.send(seg{flags: wire.FlagSYN}))
	wantFlags(t, cookieSynAck, wire.FlagSYN|wire.FlagACK)

	// The first half-open connection goes away (its peer resets it), so
	// the queue has room when p's SYN is retransmitted.
	first.seq = 101
	none(t, first.send(seg{flags: wire.FlagRST}))
	stateful := one(t, p.send(seg{flags: wire.FlagSYN}))
	wantFlags(t, stateful, wire.FlagSYN|wire.FlagACK)
	if stateful.f.Seq == cookieSynAck.f.Seq {
		t.Fatalf("test premise: the stateful SYN,ACK reused the cookie ISS %d", stateful.f.Seq)
	}

	// p took the cookie SYN,ACK and acknowledges it, with data.
	p.seq, p.ack = 5001, cookieSynAck.f.Seq+1
	for _, r := range p.send(seg{data: []byte("hello")}) {
		if r.f.Flags.Has(wire.FlagRST) {
			t.Fatalf("the ACK of a valid cookie drew %v", r)
		}
	}
	c, ok := l.Accept()
	if !ok {
		t.Fatal("no connection after the cookie ACK")
	}
	if c.State() != StateEstablished || c.iss != cookieSynAck.f.Seq {
		t.Fatalf("accepted %v with ISS %d, want ESTABLISHED with the cookie ISS %d", c.State(), c.iss, cookieSynAck.f.Seq)
	}
	buf := make([]byte, 16)
	if n, _ := c.Read(p.now, buf, p.out); string(buf[:n]) != "hello" {
		t.Fatalf("read %q", buf[:n])
	}
	if _, again := l.Accept(); again {
		t.Fatal("the superseded half-open connection was accepted too")
	}
}
