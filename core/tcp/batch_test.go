package tcp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// inBatch sends each segment of segs inside one BeginBatch/EndBatch pair
// and returns what went out during the batch and what EndBatch sent.
func inBatch(p *peer, segs ...seg) (during, atEnd []sent) {
	p.t.Helper()
	p.e.BeginBatch()
	for _, s := range segs {
		during = append(during, p.send(s)...)
	}
	p.e.EndBatch(p.now, p.out)
	return during, p.out.take()
}

// fullSegs returns n in-order full-sized segments from the peer's next
// sequence number and advances it past them.
func fullSegs(p *peer, mss, n int) []seg {
	segs := make([]seg, n)
	for i := range segs {
		segs[i] = seg{seq: sq(p.seq), data: make([]byte, mss)}
		p.seq += wire.Seq(mss)
	}
	return segs
}

// TestBatchCoalescesAcks: N in-order full segments in one input batch are
// acknowledged once, at EndBatch, where outside a batch every second one
// is (RFC 1122 4.2.3.2).
func TestBatchCoalescesAcks(t *testing.T) {
	p, c := established(t, Config{}, synOpts)
	during, atEnd := inBatch(p, fullSegs(p, c.rcvMSS, 8)...)
	none(t, during)
	a := one(t, atEnd)
	wantFlags(t, a, wire.FlagACK)
	if a.f.Ack != p.seq {
		t.Fatalf("EndBatch ACK %v, want ack %d", a, uint32(p.seq))
	}
	if !c.delackAt.IsZero() || c.unackedBytes != 0 {
		t.Fatalf("delayed ACK still armed (%v, %d bytes) after the batch ACK", c.delackAt, c.unackedBytes)
	}
	// Outside a batch nothing changes: the second segment is ACKed at once.
	segs := fullSegs(p, c.rcvMSS, 2)
	none(t, p.send(segs[0]))
	if a := one(t, p.send(segs[1])); a.f.Ack != p.seq {
		t.Fatalf("ACK %v, want ack %d", a, uint32(p.seq))
	}
}

// TestBatchAckCap: a batch longer than a quarter of the receive window is
// acknowledged during the batch, so the sender never waits for its end.
func TestBatchAckCap(t *testing.T) {
	p, c := established(t, Config{ReceiveBuffer: 16 << 10, MaxReceiveBuffer: 16 << 10}, synOpts)
	quarter := c.rcvBuf.size / 4
	n := quarter/c.rcvMSS + 1 // the segment that reaches the quarter
	during, atEnd := inBatch(p, fullSegs(p, c.rcvMSS, n)...)
	a := one(t, during)
	if a.f.Ack != p.seq {
		t.Fatalf("ACK %v, want ack %d", a, uint32(p.seq))
	}
	none(t, atEnd)
}

// TestBatchOutOfOrderAckedAtOnce: out-of-order data inside a batch still
// draws an immediate duplicate ACK with a SACK block (RFC 5681 §4.2, RFC
// 2018 §4), which also covers the in-order data held so far.
func TestBatchOutOfOrderAckedAtOnce(t *testing.T) {
	p, c := established(t, Config{}, synOpts)
	segs := fullSegs(p, c.rcvMSS, 5)
	// 0, 1 in order (held); 3 out of order (hole at 2).
	during, atEnd := inBatch(p, segs[0], segs[1], segs[3])
	a := one(t, during)
	holeAt := *segs[2].seq
	if a.f.Ack != holeAt || a.f.Options.NumSACK != 1 || a.f.Options.SACK[0].Left != *segs[3].seq {
		t.Fatalf("ACK %v, want ack %d with a SACK block for the segment after the hole", a, uint32(holeAt))
	}
	none(t, atEnd)
	// The hole filled inside a batch is acknowledged at once too.
	during, atEnd = inBatch(p, segs[2])
	if a := one(t, during); a.f.Ack != *segs[4].seq {
		t.Fatalf("ACK %v after the hole was filled, want ack %d", a, uint32(*segs[4].seq))
	}
	none(t, atEnd)
}

// TestBatchConnClosed: a connection reset during the batch gets no ACK at
// EndBatch, and the next batch starts clean.
func TestBatchConnClosed(t *testing.T) {
	p, c := established(t, Config{}, synOpts)
	segs := fullSegs(p, c.rcvMSS, 2)
	rst := seg{seq: sq(p.seq), flags: wire.FlagRST, noDefaultFlags: true}
	during, atEnd := inBatch(p, segs[0], segs[1], rst)
	none(t, during)
	none(t, atEnd)
	if c.State() != StateClosed {
		t.Fatalf("state %v after RST, want CLOSED", c.State())
	}
	if len(p.e.heldAcks) != 0 || c.ackHeld {
		t.Fatalf("held ACKs %d (conn flag %v) after EndBatch", len(p.e.heldAcks), c.ackHeld)
	}
}

// TestBatchAbortedByUser: a connection the application aborts between
// input and EndBatch sends its RST and nothing after it.
func TestBatchAbortedByUser(t *testing.T) {
	p, c := established(t, Config{}, synOpts)
	p.e.BeginBatch()
	for _, s := range fullSegs(p, c.rcvMSS, 2) {
		none(t, p.send(s))
	}
	c.Abort(p.now, p.out)
	wantFlags(t, one(t, p.out.take()), wire.FlagRST)
	p.e.EndBatch(p.now, p.out)
	none(t, p.out.take())
}

// TestBatchNoAllocs: in steady state a batch does not allocate for the
// bookkeeping of held ACKs.
func TestBatchNoAllocs(t *testing.T) {
	p, c := established(t, Config{}, synOpts)
	buf := make([]byte, 64<<10)
	tmpl := wire.TCPFields{SrcPort: p.addr.Port(), DstPort: p.us.Port(), Flags: wire.FlagACK, Ack: p.ack, Window: p.wnd, Options: p.opts}
	payload := make([]byte, c.rcvMSS)
	// The frames are built up front: only the engine's work is counted.
	batches := make([][]wire.TCP, 22)
	for i := range batches {
		for range 4 {
			f := tmpl
			f.Seq = p.seq
			p.seq += wire.Seq(len(payload))
			batches[i] = append(batches[i], encode(p.addr, p.us, &f, payload))
		}
	}
	out := &discard{}
	k := 0
	run := func() {
		p.e.BeginBatch()
		for _, fr := range batches[k] {
			p.e.Input(p.now, p.addr.Addr(), p.us.Addr(), fr, out)
		}
		k++
		p.e.EndBatch(p.now, out)
		c.Read(p.now, buf, out)
	}
	run() // the first batch allocates ring storage and the held list
	if got := testing.AllocsPerRun(20, run); got != 0 {
		t.Fatalf("%v allocations per batch, want 0", got)
	}
	if c.rcvNxt != p.seq {
		t.Fatalf("rcv.nxt %d, want %d: not every segment was taken", uint32(c.rcvNxt), uint32(p.seq))
	}
}

// sourceRecorder is a SourceOutput: it records the payload it peeks.
type sourceRecorder struct {
	recorder
	fromSource int // segments that came through SendTCPFrom
}

func (r *sourceRecorder) SendTCPFrom(local, remote netip.AddrPort, f *wire.TCPFields, src PayloadSource, off, n int) {
	p := make([]byte, n)
	if got := src.Peek(off, p); got != n {
		panic("short peek")
	}
	r.fromSource++
	r.SendTCP(local, remote, f, p)
}

// TestSendFromSource: data segments, new and retransmitted, reach a
// SourceOutput through SendTCPFrom with the right bytes; ACKs and SYNs
// keep using SendTCP.
func TestSendFromSource(t *testing.T) {
	p, c := established(t, Config{NoTLP: true}, synOpts)
	out := &sourceRecorder{}
	data := make([]byte, 3*c.mss)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if n, _ := c.Write(p.now, data, out); n != len(data) {
		t.Fatalf("wrote %d", n)
	}
	segs := out.take()
	if len(segs) != 3 || out.fromSource != 3 {
		t.Fatalf("sent %d segments, %d from the source, want 3 and 3", len(segs), out.fromSource)
	}
	var got []byte
	for _, s := range segs {
		got = append(got, s.payload...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("payload differs from what was written")
	}
	// The retransmission timeout resends the first segment from the buffer.
	p.now = p.e.NextDeadline()
	p.e.Poll(p.now, out)
	rto := one(t, out.take())
	if !bytes.Equal(rto.payload, data[:c.mss]) || out.fromSource != 4 {
		t.Fatalf("retransmission %v from source %d times: payload differs", rto, out.fromSource)
	}
}

// TestTLPRevealsLostFlight: when a whole flight is lost and the tail loss
// probe (new data, so DupThresh stays 3) is SACKed alone, the flight is
// resent at once from SND.UNA with the RTO's loss window, instead of after
// the retransmission timeout (RFC 8985 §7 with RFC 5681 §3.1).
func TestTLPRevealsLostFlight(t *testing.T) {
	p, c := established(t, Config{NoTimestamps: true}, wire.TCPOptions{MSS: 1000, SACKPermitted: true})
	for range 4 { // an RTT of 50ms: PTO 100ms, well below the RTO
		c.Write(p.now, make([]byte, 1000), p.out)
		p.out.take()
		p.now = p.now.Add(50 * time.Millisecond)
		p.send(seg{ack: sq(c.sndMax)})
	}
	c.SetNoDelay(true)
	c.Write(p.now, make([]byte, 40000), p.out)
	flight := p.out.take() // all lost
	if len(flight) < 4 || c.unsent() == 0 {
		t.Fatalf("sent %d segments, %d bytes unsent: want a flight and data left", len(flight), c.unsent())
	}
	una := c.sndUna
	probe := one(t, p.fireNext())
	if probe.f.Seq != flight[len(flight)-1].f.Seq+1000 {
		t.Fatalf("probe %v, want new data after the flight", probe)
	}
	o := wire.TCPOptions{NumSACK: 1, SACK: [4]wire.SACKBlock{{Left: probe.f.Seq, Right: probe.f.Seq + 1000}}}
	got := p.send(seg{ack: sq(una), opts: &o})
	if len(got) == 0 || got[0].f.Seq != una {
		t.Fatalf("sent %v after the probe's ACK, want the flight resent from %d", got, uint32(una))
	}
	if c.cc.Cwnd() != c.mss || p.e.Stats().RTOs != 0 || c.tlpOut {
		t.Fatalf("cwnd %d (want one MSS %d), %d RTOs, probe outstanding %v", c.cc.Cwnd(), c.mss, p.e.Stats().RTOs, c.tlpOut)
	}
}
