package tcp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// roomOut is an Output that records into the test's recorder and reports
// link room: every segment uses one frame of it, as the stack counts.
type roomOut struct {
	*recorder
	room int
}

func (o *roomOut) SendTCP(local, remote netip.AddrPort, f *wire.TCPFields, payload []byte) {
	o.recorder.SendTCP(local, remote, f, payload)
	if o.room > 0 {
		o.room--
	}
}

func (o *roomOut) LinkRoom(netip.Addr) int { return o.room }

// another opens one more connection to the listener of established(),
// from port, without options: its peer and the accepted connection.
func (p *peer) another(port uint16) (*peer, *Conn) {
	p.t.Helper()
	q := &peer{t: p.t, e: p.e, out: p.out, now: p.now, addr: netip.AddrPortFrom(hostB, port), us: p.us, seq: peerISS, wnd: 65535}
	synack := one(q.t, q.send(seg{flags: wire.FlagSYN, opts: &wire.TCPOptions{MSS: 1000}}))
	q.seq, q.ack = peerISS+1, synack.f.Seq+1
	none(q.t, q.send(seg{}))
	c, ok := p.e.listeners[srvAddr].Accept()
	if !ok {
		q.t.Fatal("no connection to accept")
	}
	c.SetNoDelay(true)
	return q, c
}

// sentData is a data segment: the peer's port and where it starts,
// relative to the connection's SND.UNA before the test wrote.
type sentData struct {
	port uint16
	off  uint32
}

// dataSegs checks that every segment carries data and describes each.
func dataSegs(t *testing.T, segs []sent, base map[uint16]wire.Seq) []sentData {
	t.Helper()
	var got []sentData
	for _, s := range segs {
		if len(s.payload) == 0 {
			t.Fatalf("segment without data: %v", s)
		}
		got = append(got, sentData{s.remote.Port(), uint32(s.f.Seq.Sub(base[s.remote.Port()]))})
	}
	return got
}

func equalData(a, b []sentData) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestThrottleHoldsDataNotACKs: with no link room, a connection's new data
// is held (nothing sent, no timer started for it: it is not in flight)
// while the ACKs it owes still go out; ResumeOutput with room N sends N
// segments and keeps the connection waiting for the rest.
func TestThrottleHoldsDataNotACKs(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{MSS: 1000})
	c.SetNoDelay(true)
	o := &roomOut{recorder: p.out}
	if n, err := c.Write(p.now, make([]byte, 3000), o); n != 3000 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	none(t, p.out.take())
	if !c.throttled || !p.e.Throttled() || p.e.Stats().LinkHolds != 1 {
		t.Fatalf("throttled=%v Throttled()=%v LinkHolds=%d, want true true 1", c.throttled, p.e.Throttled(), p.e.Stats().LinkHolds)
	}
	if d := c.nextDeadline(); !d.IsZero() {
		t.Fatalf("a timer is set for held data: %v", d.Sub(p.now))
	}

	// The peer's data is acknowledged though the link has no room.
	var acks []sent
	for range 2 {
		acks = append(acks, p.sendVia(seg{data: make([]byte, 1000)}, o)...)
		p.seq += 1000
	}
	if d := c.nextDeadline(); len(acks) == 0 && !d.IsZero() {
		p.now = d
		p.e.Poll(p.now, o)
		acks = p.out.take()
	}
	ack := one(t, acks)
	if len(ack.payload) != 0 || ack.f.Ack != p.seq {
		t.Fatalf("answer %v, want a pure ACK of %d", ack, uint32(p.seq))
	}

	// Ten minutes on, nothing was sent or timed out: held data is not in
	// flight.
	p.now = p.now.Add(10 * time.Minute)
	p.e.Poll(p.now, o)
	none(t, p.out.take())
	if st := p.e.Stats(); st.RTOs != 0 || st.TailLossProbes != 0 || c.State() != StateEstablished {
		t.Fatalf("RTOs=%d probes=%d state=%v after holding data, want 0 0 ESTABLISHED", st.RTOs, st.TailLossProbes, c.State())
	}

	una := c.sndUna
	o.room = 2
	p.e.ResumeOutput(p.now, o)
	got := dataSegs(t, p.out.take(), map[uint16]wire.Seq{p.addr.Port(): una})
	if want := []sentData{{p.addr.Port(), 0}, {p.addr.Port(), 1000}}; !equalData(got, want) {
		t.Fatalf("resumed with room 2: sent %v, want %v", got, want)
	}
	if !c.throttled || c.rtoAt == 0 {
		t.Fatalf("after a partial resume: throttled=%v rto armed=%v, want both", c.throttled, c.rtoAt != 0)
	}
	o.room = 100
	p.e.ResumeOutput(p.now, o)
	got = dataSegs(t, p.out.take(), map[uint16]wire.Seq{p.addr.Port(): una})
	if want := []sentData{{p.addr.Port(), 2000}}; !equalData(got, want) {
		t.Fatalf("resumed with room: sent %v, want %v", got, want)
	}
	if c.throttled || p.e.Throttled() {
		t.Fatal("still throttled with everything sent")
	}
}

// TestResumeOutputFIFO: held connections resume in the order they were
// held, each sending while the room lasts; one that fills the room goes
// to the back; and a connection with data to send while others wait
// queues behind them even when there is room.
func TestResumeOutputFIFO(t *testing.T) {
	p1, c1 := established(t, Config{}, wire.TCPOptions{MSS: 1000})
	c1.SetNoDelay(true)
	p2, c2 := p1.another(40002)
	p3, c3 := p1.another(40003)
	p4, c4 := p1.another(40004)
	o := &roomOut{recorder: p1.out}
	base := map[uint16]wire.Seq{}
	for _, x := range []struct {
		p *peer
		c *Conn
	}{{p2, c2}, {p1, c1}, {p3, c3}} {
		base[x.p.addr.Port()] = x.c.sndUna
		if n, _ := x.c.Write(p1.now, make([]byte, 2000), o); n != 2000 {
			t.Fatalf("Write = %d", n)
		}
	}
	none(t, p1.out.take())
	port1, port2, port3, port4 := p1.addr.Port(), p2.addr.Port(), p3.addr.Port(), p4.addr.Port()

	o.room = 3
	p1.e.ResumeOutput(p1.now, o)
	got := dataSegs(t, p1.out.take(), base)
	if want := []sentData{{port2, 0}, {port2, 1000}, {port1, 0}}; !equalData(got, want) {
		t.Fatalf("room 3: sent %v, want %v", got, want)
	}

	// Room again, but c3 and c1 wait: c4's new data queues behind them.
	o.room = 1
	base[port4] = c4.sndUna
	if n, _ := c4.Write(p1.now, make([]byte, 1000), o); n != 1000 {
		t.Fatalf("Write = %d", n)
	}
	none(t, p1.out.take())
	p1.e.ResumeOutput(p1.now, o)
	got = dataSegs(t, p1.out.take(), base)
	if want := []sentData{{port3, 0}}; !equalData(got, want) {
		t.Fatalf("room 1: sent %v, want %v", got, want)
	}

	o.room = 10
	p1.e.ResumeOutput(p1.now, o)
	got = dataSegs(t, p1.out.take(), base)
	if want := []sentData{{port1, 1000}, {port4, 0}, {port3, 1000}}; !equalData(got, want) {
		t.Fatalf("room 10: sent %v, want %v", got, want)
	}
	if p1.e.Throttled() || len(p1.e.throttledQ) != 0 {
		t.Fatalf("list not empty after everything was sent: %d entries", len(p1.e.throttledQ))
	}
}

// TestThrottledConnLeavesList: a held connection that is reset or aborted
// leaves the throttled list at once.
func TestThrottledConnLeavesList(t *testing.T) {
	p1, c1 := established(t, Config{}, wire.TCPOptions{MSS: 1000})
	c1.SetNoDelay(true)
	p2, c2 := p1.another(40002)
	o := &roomOut{recorder: p1.out}
	for _, c := range []*Conn{c1, c2} {
		c.Write(p1.now, make([]byte, 1000), o)
	}
	none(t, p1.out.take())
	if len(p1.e.throttledQ) != 2 {
		t.Fatalf("%d connections held, want 2", len(p1.e.throttledQ))
	}
	p1.sendVia(seg{flags: wire.FlagRST}, o)
	if c1.State() != StateClosed || c1.throttled {
		t.Fatalf("after RST: state %v throttled=%v, want CLOSED false", c1.State(), c1.throttled)
	}
	if q := p1.e.throttledQ[p1.e.throttleHead:]; len(q) != 1 || q[0] != c2 {
		t.Fatalf("list after the RST: %d entries, want c2 alone", len(q))
	}
	c2.Abort(p2.now, o)
	p1.out.take() // the RST
	if c2.throttled || p1.e.Throttled() {
		t.Fatal("aborted connection still on the list")
	}
	o.room = 10
	p1.e.ResumeOutput(p1.now, o)
	none(t, p1.out.take())
}

// TestThrottleTimersInFlight: data in flight keeps its timers while more
// waits for room, but neither the tail loss probe nor the timeout's resend
// goes into a full link: the timeout backs off, resends nothing and leaves
// no timer running, and ResumeOutput later resends from SND.UNA.
func TestThrottleTimersInFlight(t *testing.T) {
	p, c := established(t, Config{NoTimestamps: true}, wire.TCPOptions{MSS: 1000, SACKPermitted: true})
	// An RTT sample first: the probe needs one.
	sendSegments(t, p, c, 1)
	p.now = p.now.Add(10 * time.Millisecond)
	none(t, p.send(seg{ack: sq(c.sndMax)}))
	p.ack = c.sndMax
	segs := sendSegments(t, p, c, 2)
	if c.tlpAt == 0 {
		t.Fatal("no probe timer for data in flight")
	}
	o := &roomOut{recorder: p.out}
	c.Write(p.now, make([]byte, 3000), o)
	none(t, p.out.take())
	if !c.throttled {
		t.Fatal("data not held with no room")
	}
	// The probe timer fires first: no probe into the full link.
	for c.rtoAt != 0 && p.e.NextDeadline().Before(c.e.time(c.rtoAt)) {
		p.now = p.e.NextDeadline()
		p.e.Poll(p.now, o)
		none(t, p.out.take())
	}
	if st := p.e.Stats(); st.TailLossProbes != 0 {
		t.Fatalf("%d probes sent into a full link", st.TailLossProbes)
	}
	p.now = c.e.time(c.rtoAt)
	p.e.Poll(p.now, o)
	none(t, p.out.take())
	if st := p.e.Stats(); st.RTOs != 1 || !c.throttled || !c.nextDeadline().IsZero() {
		t.Fatalf("after the timeout: RTOs=%d throttled=%v next timer %v, want 1 true none", st.RTOs, c.throttled, c.nextDeadline())
	}
	o.room = 10
	p.e.ResumeOutput(p.now, o)
	rxt := one(t, p.out.take()) // the loss window is one segment
	if rxt.f.Seq != segs[0].f.Seq || len(rxt.payload) != 1000 {
		t.Fatalf("resumed with %v, want the first segment again (%v)", rxt, segs[0])
	}
	if c.rtoAt == 0 {
		t.Fatal("no retransmission timer for the resent segment")
	}
}
