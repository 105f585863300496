package tcp

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// discard is an Output that only counts, so benchmarks measure the engine.
type discard struct{ n int }

func (d *discard) SendTCP(netip.AddrPort, netip.AddrPort, *wire.TCPFields, []byte) { d.n++ }

// BenchmarkReceiveSegment is the steady-state cost of one in-order data
// segment: demux, acceptability, copy into the ring, delayed ACK, Read.
func BenchmarkReceiveSegment(b *testing.B) {
	p, c := established(b, Config{}, synOpts)
	const mss = 1448
	f := wire.TCPFields{SrcPort: peerAddr.Port(), DstPort: srvAddr.Port(), Seq: p.seq, Ack: p.ack, Flags: wire.FlagACK, Window: 1024, Options: p.opts}
	seg := encode(peerAddr, srvAddr, &f, make([]byte, mss))
	tsOff := 20 + 4 // NOP NOP kind len, then TSval
	out := &discard{}
	buf := make([]byte, mss)
	seq := uint32(p.seq)
	ts := p.opts.TSVal
	b.SetBytes(mss)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		binary.BigEndian.PutUint32(seg[4:], seq)
		binary.BigEndian.PutUint32(seg[tsOff:], ts)
		p.e.Input(p.now, peerAddr.Addr(), srvAddr.Addr(), seg, out)
		c.Read(p.now, buf, out)
		seq += mss
		ts++
	}
	if c.rcvNxt != wire.Seq(seq) {
		b.Fatalf("rcv.nxt %d, want %d: segments were not accepted", c.rcvNxt, seq)
	}
}

// BenchmarkSendSegment is the steady-state cost of sending one segment and
// processing the ACK that covers it.
func BenchmarkSendSegment(b *testing.B) {
	p, c := established(b, Config{}, synOpts)
	mss := c.mss
	f := wire.TCPFields{SrcPort: peerAddr.Port(), DstPort: srvAddr.Port(), Seq: p.seq, Ack: p.ack, Flags: wire.FlagACK, Window: 1024, Options: p.opts}
	ack := encode(peerAddr, srvAddr, &f, nil)
	out := &discard{}
	data := make([]byte, mss)
	next := uint32(c.sndNxt)
	b.SetBytes(int64(mss))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.Write(p.now, data, out)
		next += uint32(mss)
		binary.BigEndian.PutUint32(ack[8:], next)
		p.e.Input(p.now, peerAddr.Addr(), srvAddr.Addr(), ack, out)
	}
	if c.sndUna != wire.Seq(next) {
		b.Fatalf("snd.una %d, want %d", c.sndUna, next)
	}
}

// BenchmarkTimers10k measures NextDeadline and a delayed-ACK timer firing
// with 10,000 established connections, each with a timer pending.
func BenchmarkTimers10k(b *testing.B) {
	e := newEndpoints(b, Config{})
	if _, err := e.Listen(srvAddr, 20000); err != nil {
		b.Fatal(err)
	}
	out := &recorder{}
	var conns []*Conn
	for i := 0; i < 10000; i++ {
		p := &peer{t: b, e: e, out: out, now: t0, addr: netip.AddrPortFrom(hostB, uint16(10000+i)), us: srvAddr, seq: 1, wnd: 1000}
		synack := one(b, p.send(seg{flags: wire.FlagSYN}))
		p.seq, p.ack = 2, synack.f.Seq+1
		p.send(seg{data: []byte("x")}) // leaves a delayed ACK pending
		conns = append(conns, e.conns[fourTuple{srvAddr, p.addr}])
	}
	if len(e.timers) != 10000 {
		b.Fatalf("%d timers pending, want 10000", len(e.timers))
	}
	// Stagger the deadlines so each Poll fires exactly one timer.
	for i, c := range conns {
		c.delackAt = e.at(t0.Add(time.Duration(i) * time.Microsecond))
		e.schedule(c)
	}
	d := &discard{}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		now := e.NextDeadline()
		c := e.timers[0]
		e.Poll(now, d)
		// Re-arm the one that fired, behind all the others.
		c.delackAt = e.at(now.Add(10 * time.Millisecond))
		e.schedule(c)
	}
	if len(e.timers) != 10000 || d.n != b.N {
		b.Fatalf("%d timers, %d ACKs for %d polls", len(e.timers), d.n, b.N)
	}
}
