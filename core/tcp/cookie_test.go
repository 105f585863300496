package tcp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// TestRFC4987_SynCookies: with the SYN queue full, a SYN is answered with
// a cookie and no state; the returning ACK rebuilds the connection with
// the MSS, window scale and SACK of the SYN; forged or stale ACKs are
// reset.
func TestRFC4987_SynCookies(t *testing.T) {
	e := newEndpoints(t, Config{MaxSynBacklog: 1})
	l, _ := e.Listen(srvAddr, 8)
	first := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: peerAddr, us: srvAddr, seq: 100, wnd: 1000}
	one(t, first.send(seg{flags: wire.FlagSYN})) // fills the SYN queue

	p := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: netip.AddrPortFrom(hostB, 40001), us: srvAddr, seq: 5000, wnd: 1000}
	offer := wire.TCPOptions{MSS: 1400, SACKPermitted: true, HasTimestamps: true, TSVal: 77, HasWindowScale: true, WindowScale: 6}
	synack := one(t, p.send(seg{flags: wire.FlagSYN, opts: &offer}))
	wantFlags(t, synack, wire.FlagSYN|wire.FlagACK)
	if len(e.conns) != 1 || e.Stats().SynCookiesSent != 1 {
		t.Fatalf("%d connections, %d cookies: a cookie SYN,ACK must keep no state", len(e.conns), e.Stats().SynCookiesSent)
	}
	o := synack.f.Options
	if !o.HasTimestamps || !o.SACKPermitted || !o.HasWindowScale || o.TSEcr != 77 {
		t.Fatalf("cookie SYN,ACK options %+v", o)
	}
	p.seq, p.ack = 5001, synack.f.Seq+1

	// A forged cookie creates nothing; while cookies are out it is dropped
	// without a RST, since it may be a later segment of a genuine peer.
	none(t, p.send(seg{ack: sq(p.ack + 1<<20), opts: &wire.TCPOptions{HasTimestamps: true, TSVal: 78, TSEcr: o.TSVal}}))
	none(t, p.send(seg{seq: sq(p.seq + 1460), opts: &wire.TCPOptions{HasTimestamps: true, TSVal: 78, TSEcr: o.TSVal}, data: []byte("later")}))
	if len(e.conns) != 1 {
		t.Fatalf("forged cookie: %d connections", len(e.conns))
	}

	// The genuine ACK, carrying data, opens the connection.
	p.opts = wire.TCPOptions{HasTimestamps: true, TSVal: 78, TSEcr: o.TSVal}
	p.send(seg{data: []byte("GET /")})
	c, ok := l.Accept()
	if !ok {
		t.Fatal("no connection after the cookie ACK")
	}
	if c.State() != StateEstablished || c.mss != 1360-12 || !c.sackOK || !c.tsOK || c.sndShift != 6 || c.sndWnd != 1000<<6 {
		t.Fatalf("rebuilt %v mss %d sack %v ts %v shift %d wnd %d", c.State(), c.mss, c.sackOK, c.tsOK, c.sndShift, c.sndWnd)
	}
	buf := make([]byte, 16)
	if n, _ := c.Read(p.now, buf, p.out); string(buf[:n]) != "GET /" {
		t.Fatalf("read %q", buf[:n])
	}
	c.Write(p.now, []byte("200"), p.out)
	d := p.out.take()
	if len(d) == 0 || d[len(d)-1].f.Seq != synack.f.Seq+1 || string(d[len(d)-1].payload) != "200" {
		t.Fatalf("reply %v", d)
	}

	// A cookie older than its lifetime is refused; once no cookie has been
	// sent for that long, stray ACKs are reset again.
	q := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: netip.AddrPortFrom(hostB, 40002), us: srvAddr, seq: 9000, wnd: 1000}
	sa := one(t, q.send(seg{flags: wire.FlagSYN}))
	if sa.f.Options.HasTimestamps || sa.f.Options.SACKPermitted || sa.f.Options.HasWindowScale {
		t.Fatalf("without timestamps a cookie cannot remember options: %+v", sa.f.Options)
	}
	q.now = q.now.Add(3 * cookiePeriod)
	q.seq, q.ack = 9001, sa.f.Seq+1
	if r := one(t, q.send(seg{})); r.f.Flags != wire.FlagRST {
		t.Fatalf("stale cookie: sent %v", r)
	}
}

// TestSimSynCookies runs lossy transfers where every connection is opened
// through a SYN cookie.
func TestSimSynCookies(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		rng := newRng(seed, 11)
		im := impairments{loss: 0.1, delay: 20 * time.Millisecond}
		s := newSim(t, seed, im, simConfig(rng))
		s.cookies = true
		s.transfer(seeded(rng, rng.IntN(40000)), seeded(rng, rng.IntN(40000)), time.Hour, [2]time.Duration{})
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}
