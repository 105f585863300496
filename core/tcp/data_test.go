package tcp

import (
	"bytes"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/tcp/cc"
	"github.com/microtcp/microtcp/core/wire"
)

// TestOptionsNegotiation: each option is used only when both ends offer it
// (RFC 7323 §2.2, §3.2; RFC 2018 §2), and the send MSS is min(peer MSS,
// our MSS) less the timestamp option (RFC 9293 §3.7.1).
func TestOptionsNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name          string
		cfg           Config
		offer         wire.TCPOptions
		mss           int
		ts, sack, ws  bool
		sndShift      uint8
		synackHasOpts bool
	}{
		{"nothing offered", Config{}, wire.TCPOptions{}, 536, false, false, false, 0, false},
		{"MSS only", Config{}, wire.TCPOptions{MSS: 1000}, 1000, false, false, false, 0, false},
		{"peer MSS above ours", Config{MSS: 1200}, wire.TCPOptions{MSS: 9000}, 1200, false, false, false, 0, false},
		{"everything", Config{}, synOpts, 1448, true, true, true, 7, true},
		{"shift above 14 is 14", Config{}, wire.TCPOptions{MSS: 1460, HasWindowScale: true, WindowScale: 20}, 1460, false, false, true, 14, true},
		{"our SACK off", Config{NoSACK: true}, synOpts, 1448, true, false, true, 7, true},
		{"our timestamps off", Config{NoTimestamps: true}, synOpts, 1460, false, true, true, 7, true},
		{"our window scale off", Config{NoWindowScale: true}, synOpts, 1448, true, true, false, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEndpoints(t, tc.cfg)
			e.Listen(srvAddr, 1)
			p := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: peerAddr, us: srvAddr, seq: 1}
			synack := one(t, p.send(seg{flags: wire.FlagSYN, opts: &tc.offer}))
			c := e.conns[fourTuple{srvAddr, peerAddr}]
			if c.mss != tc.mss || c.tsOK != tc.ts || c.sackOK != tc.sack || c.wsOK != tc.ws || c.sndShift != tc.sndShift {
				t.Fatalf("mss %d ts %v sack %v ws %v shift %d", c.mss, c.tsOK, c.sackOK, c.wsOK, c.sndShift)
			}
			o := synack.f.Options
			if o.HasTimestamps != tc.ts || o.SACKPermitted != tc.sack || o.HasWindowScale != tc.ws {
				t.Fatalf("SYN,ACK options %+v", o)
			}
		})
	}
}

// TestRFC7323_2_WindowScale: windows in segments other than SYNs are
// scaled both ways.
func TestRFC7323_2_WindowScale(t *testing.T) {
	p, c := established(t, Config{ReceiveBuffer: 1 << 20, MaxReceiveBuffer: 1 << 20}, synOpts)
	if c.sndWnd != 1024<<7 {
		t.Fatalf("snd.wnd %d, want %d", c.sndWnd, 1024<<7)
	}
	if c.rcvShift != 5 {
		t.Fatalf("rcv shift %d, want 5: 0xffff<<4 is just short of 1 MiB", c.rcvShift)
	}
	c.Write(p.now, []byte("x"), p.out)
	d := one(t, p.out.take())
	if got := int(d.f.Window) << 5; got != 1<<20 {
		t.Fatalf("advertised %d<<5 = %d, want 1 MiB", d.f.Window, got)
	}
}

// TestRFC1122_4_2_3_2_DelayedAck: one segment waits for the delayed-ACK
// timer; the second full-sized segment is acknowledged at once.
func TestRFC1122_4_2_3_2_DelayedAck(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{MSS: 1460})
	full := make([]byte, 1460)
	none(t, p.send(seg{data: full}))
	p.seq += 1460
	start := p.now
	a := one(t, p.fireNext())
	if p.now.Sub(start) != 40*time.Millisecond || a.f.Ack != p.seq {
		t.Fatalf("delayed ACK %v after %v, want after 40ms", a, p.now.Sub(start))
	}
	none(t, p.send(seg{data: full}))
	p.seq += 1460
	a = one(t, p.send(seg{data: full}))
	p.seq += 1460
	if a.f.Ack != p.seq {
		t.Fatalf("ACK %v, want ack %d", a, p.seq)
	}
	_ = c
}

// TestRFC2018_OutOfOrder: an out-of-order segment is acknowledged at once
// with a SACK block (RFC 1122 4.2.3.2, RFC 2018 §4); the segment filling
// the hole is acknowledged at once too, covering both.
func TestRFC2018_OutOfOrder(t *testing.T) {
	p, c := established(t, Config{}, synOpts)
	a := one(t, p.send(seg{seq: sq(p.seq + 100), data: bytes.Repeat([]byte("b"), 100)}))
	o := a.f.Options
	if a.f.Ack != p.seq || o.NumSACK != 1 || o.SACK[0] != (wire.SACKBlock{Left: p.seq + 100, Right: p.seq + 200}) {
		t.Fatalf("dup ACK %v, want ack %d with SACK %d-%d", a, p.seq, p.seq+100, p.seq+200)
	}
	a = one(t, p.send(seg{seq: sq(p.seq + 300), data: bytes.Repeat([]byte("d"), 100)}))
	if a.f.Options.NumSACK != 2 || a.f.Options.SACK[0].Left != p.seq+300 {
		t.Fatalf("second dup ACK %v: the most recent block comes first", a)
	}
	a = one(t, p.send(seg{data: bytes.Repeat([]byte("a"), 100)}))
	if a.f.Ack != p.seq+200 || a.f.Options.NumSACK != 1 {
		t.Fatalf("hole-fill ACK %v, want ack %d and one SACK block", a, p.seq+200)
	}
	buf := make([]byte, 1000)
	n, _ := c.Read(p.now, buf, p.out)
	if string(buf[:n]) != string(bytes.Repeat([]byte("a"), 100))+string(bytes.Repeat([]byte("b"), 100)) {
		t.Fatalf("read %q", buf[:n])
	}
}

// TestRFC1122_4_2_3_3_ReceiverSWS: the window opens only in steps of
// min(buffer/2, MSS), and reading enough sends a window update.
func TestRFC1122_4_2_3_3_ReceiverSWS(t *testing.T) {
	p, c := established(t, Config{ReceiveBuffer: 4000, NoWindowScale: true}, wire.TCPOptions{MSS: 1000})
	for i := 0; i < 4; i++ {
		p.send(seg{data: make([]byte, 1000)})
		p.seq += 1000
	}
	p.out.take()
	if c.rcvAdv != c.rcvNxt {
		t.Fatalf("window not closed after filling the buffer")
	}
	buf := make([]byte, 500)
	c.Read(p.now, buf, p.out)
	none(t, p.out.take()) // 500 < min(2000, 1000): no update
	c.Read(p.now, buf, p.out)
	u := one(t, p.out.take())
	if u.f.Window != 1000 || u.f.Ack != p.seq {
		t.Fatalf("window update %v, want win 1000", u)
	}
}

// TestRFC896_Nagle: a small segment waits while data is unacknowledged,
// unless NoDelay is set.
func TestRFC896_Nagle(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{MSS: 1460})
	c.Write(p.now, []byte("a"), p.out)
	one(t, p.out.take())
	c.Write(p.now, []byte("b"), p.out)
	none(t, p.out.take())
	d := one(t, p.send(seg{ack: sq(p.ack + 1)}))
	if string(d.payload) != "b" {
		t.Fatalf("sent %q after the ACK", d.payload)
	}
	c.SetNoDelay(true)
	c.Write(p.now, []byte("c"), p.out)
	if d := one(t, p.out.take()); string(d.payload) != "c" {
		t.Fatalf("NoDelay sent %q", d.payload)
	}
}

// TestRFC9293_3_8_6_1_ZeroWindowProbe: with a zero send window nothing is
// sent; the persist timer probes with backoff until the window opens.
func TestRFC9293_3_8_6_1_ZeroWindowProbe(t *testing.T) {
	p, c := established(t, Config{NoTimestamps: true}, wire.TCPOptions{MSS: 1460})
	p.wnd = 0
	none(t, p.send(seg{}))
	c.Write(p.now, []byte("waiting"), p.out)
	none(t, p.out.take())
	var gaps []time.Duration
	last := p.now
	for i := 0; i < 3; i++ {
		probe := one(t, p.fireNext())
		if len(probe.payload) != 0 || probe.f.Seq != c.sndUna-1 {
			t.Fatalf("probe %v, want seq snd.una-1 without data", probe)
		}
		gaps = append(gaps, p.now.Sub(last))
		last = p.now
		none(t, p.send(seg{})) // still zero
	}
	if gaps[1] != 2*gaps[0] || gaps[2] != 2*gaps[1] {
		t.Fatalf("probe intervals %v, want doubling", gaps)
	}
	p.wnd = 100
	d := one(t, p.send(seg{}))
	if string(d.payload) != "waiting" {
		t.Fatalf("sent %v after the window opened", d)
	}
}

// TestRFC6298_Retransmission: unacknowledged data is resent when the RTO
// expires, with exponential backoff, and the connection fails with
// ETIMEDOUT after Retries.
func TestRFC6298_Retransmission(t *testing.T) {
	p, c := established(t, Config{Retries: 3, NoTimestamps: true}, wire.TCPOptions{MSS: 1460})
	c.Write(p.now, []byte("lost"), p.out)
	orig := one(t, p.out.take())
	rto := c.rtt.RTO()
	if rto != 200*time.Millisecond {
		t.Fatalf("RTO %v, want the 200ms minimum after a fast handshake", rto)
	}
	last := p.now
	for i, want := range []time.Duration{rto, 2 * rto, 4 * rto} {
		r := one(t, p.fireNext())
		if r.f.Seq != orig.f.Seq || string(r.payload) != "lost" || p.now.Sub(last) != want {
			t.Fatalf("retransmission %d: %v after %v, want %v", i+1, r, p.now.Sub(last), want)
		}
		last = p.now
	}
	none(t, p.fireNext())
	if c.State() != StateClosed || !errors.Is(c.Err(), syscall.ETIMEDOUT) {
		t.Fatalf("state %v err %v, want ETIMEDOUT", c.State(), c.Err())
	}
	if p.e.Stats().RTOs != 3 {
		t.Fatalf("RTOs = %d", p.e.Stats().RTOs)
	}
}

// TestRFC6298_Karn: an ACK for retransmitted data gives no RTT sample.
func TestRFC6298_Karn(t *testing.T) {
	p, c := established(t, Config{NoTimestamps: true}, wire.TCPOptions{MSS: 1460})
	srtt := c.rtt.SRTT()
	c.Write(p.now, []byte("x"), p.out)
	p.out.take()
	p.fireNext()
	p.advance(3 * time.Second)
	p.send(seg{ack: sq(p.ack + 1)})
	if c.rtt.SRTT() != srtt {
		t.Fatalf("SRTT changed from %v to %v on an ambiguous ACK", srtt, c.rtt.SRTT())
	}
	if c.rtt.RTO() != 200*time.Millisecond {
		t.Fatalf("RTO %v: backoff not reset by the new ACK", c.rtt.RTO())
	}
}

// sendSegments writes n full segments and returns them.
func sendSegments(t *testing.T, p *peer, c *Conn, n int) []sent {
	t.Helper()
	data := make([]byte, n*c.mss)
	for i := range data {
		data[i] = byte(i)
	}
	c.SetNoDelay(true)
	if w, _ := c.Write(p.now, data, p.out); w != len(data) {
		t.Fatalf("wrote %d", w)
	}
	segs := p.out.take()
	if len(segs) != n {
		t.Fatalf("sent %d segments, want %d", len(segs), n)
	}
	return segs
}

// TestRFC6582_FastRetransmitNewReno: three duplicate ACKs resend the first
// segment; a partial ACK resends the next hole; a full ACK ends recovery
// with cwnd = ssthresh.
func TestRFC6582_FastRetransmitNewReno(t *testing.T) {
	p, c := established(t, Config{CongestionControl: "newreno"}, wire.TCPOptions{MSS: 1000})
	segs := sendSegments(t, p, c, 6)
	una := c.sndUna
	// Segments 0 and 2 are lost; 1, 3, 4, 5 arrive and each draws a dup ACK.
	none(t, p.send(seg{ack: sq(una)}))
	none(t, p.send(seg{ack: sq(una)}))
	r := one(t, p.send(seg{ack: sq(una)}))
	if r.f.Seq != segs[0].f.Seq || !bytes.Equal(r.payload, segs[0].payload) || !c.inRecovery {
		t.Fatalf("fast retransmit %v, want segment 0", r)
	}
	if c.cc.Ssthresh() != 3000 {
		t.Fatalf("ssthresh %d, want FlightSize/2 = 3000", c.cc.Ssthresh())
	}
	p.send(seg{ack: sq(una)})
	// Partial ACK: up to segment 2.
	r = one(t, p.send(seg{ack: sq(segs[2].f.Seq)}))
	if r.f.Seq != segs[2].f.Seq {
		t.Fatalf("partial ACK retransmitted %v, want segment 2", r)
	}
	none(t, p.send(seg{ack: sq(c.sndMax)}))
	if c.inRecovery || c.cc.Cwnd() != c.cc.Ssthresh() {
		t.Fatalf("after the full ACK: recovery %v cwnd %d ssthresh %d", c.inRecovery, c.cc.Cwnd(), c.cc.Ssthresh())
	}
	if p.e.Stats().FastRetransmits != 1 {
		t.Fatalf("FastRetransmits = %d", p.e.Stats().FastRetransmits)
	}
}

// TestRFC6675_SACKRecovery: with SACK, the sender resends exactly the
// holes the scoreboard shows as lost, never SACKed data.
func TestRFC6675_SACKRecovery(t *testing.T) {
	p, c := established(t, Config{NoTimestamps: true}, wire.TCPOptions{MSS: 1000, SACKPermitted: true})
	segs := sendSegments(t, p, c, 8)
	una := c.sndUna
	// Segments 0 and 3 are lost.
	sackOpt := func(blocks ...wire.SACKBlock) *wire.TCPOptions {
		o := wire.TCPOptions{NumSACK: len(blocks)}
		copy(o.SACK[:], blocks)
		return &o
	}
	s := func(i int) wire.Seq { return segs[i].f.Seq }
	none(t, p.send(seg{ack: sq(una), opts: sackOpt(wire.SACKBlock{Left: s(1), Right: s(2)})}))
	none(t, p.send(seg{ack: sq(una), opts: sackOpt(wire.SACKBlock{Left: s(1), Right: s(3)})}))
	got := p.send(seg{ack: sq(una), opts: sackOpt(wire.SACKBlock{Left: s(4), Right: s(5)}, wire.SACKBlock{Left: s(1), Right: s(3)})})
	if len(got) == 0 || got[0].f.Seq != s(0) || !c.inRecovery {
		t.Fatalf("first retransmission %v, want segment 0", got)
	}
	got = append(got, p.send(seg{ack: sq(una), opts: sackOpt(wire.SACKBlock{Left: s(4), Right: s(7)}, wire.SACKBlock{Left: s(1), Right: s(3)})})...)
	resent := map[wire.Seq]bool{}
	for _, r := range got {
		resent[r.f.Seq] = true
		for _, i := range []int{1, 2, 4, 5, 6} {
			if r.f.Seq == s(i) {
				t.Fatalf("retransmitted SACKed segment %d: %v", i, r)
			}
		}
	}
	if !resent[s(3)] {
		t.Fatalf("hole at segment 3 not retransmitted: %v", got)
	}
	none(t, p.send(seg{ack: sq(c.sndMax)}))
	if c.inRecovery {
		t.Fatal("still in recovery after the full ACK")
	}
}

// TestRFC5681_SlowStartAndIdle: the initial window is 10 segments and
// grows with ACKs.
func TestRFC5681_InitialWindow(t *testing.T) {
	p, c := established(t, Config{SendBuffer: 1 << 20}, wire.TCPOptions{MSS: 1000})
	c.Write(p.now, make([]byte, 100_000), p.out)
	if n := len(p.out.take()); n != 10 {
		t.Fatalf("sent %d segments in the initial window, want 10 (RFC 6928)", n)
	}
	if n := len(p.send(seg{ack: sq(p.ack + 2000)})); n != 4 {
		t.Fatalf("sent %d segments after 2 ACKed, want 4 (slow start)", n)
	}
}

// TestRFC1122_4_2_3_6_KeepAlive: after the idle time the engine probes
// with SEG.SEQ = SND.NXT-1; an answer restarts the idle wait; unanswered
// probes end the connection with ETIMEDOUT.
func TestRFC1122_4_2_3_6_KeepAlive(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{})
	if !p.e.NextDeadline().IsZero() {
		t.Fatal("keepalive must be off by default")
	}
	c.SetKeepAlive(p.now, true, 10*time.Second, time.Second, 2)
	start := p.now
	probe := one(t, p.fireNext())
	if p.now.Sub(start) != 10*time.Second || probe.f.Seq != c.sndMax-1 || len(probe.payload) != 0 {
		t.Fatalf("probe %v after %v", probe, p.now.Sub(start))
	}
	none(t, p.send(seg{})) // the peer answers
	start = p.now
	one(t, p.fireNext())
	if p.now.Sub(start) != 10*time.Second {
		t.Fatalf("answered probe did not restart the idle wait: %v", p.now.Sub(start))
	}
	one(t, p.fireNext())
	none(t, p.fireNext())
	if c.State() != StateClosed || !errors.Is(c.Err(), syscall.ETIMEDOUT) {
		t.Fatalf("state %v err %v, want ETIMEDOUT", c.State(), c.Err())
	}
}

// TestRFC5681_4_1_RestartAfterIdle: after an idle period longer than the
// RTO the congestion window falls back to the restart window.
func TestRFC5681_4_1_RestartAfterIdle(t *testing.T) {
	p, c := established(t, Config{SendBuffer: 1 << 20}, wire.TCPOptions{MSS: 1000})
	c.SetNoDelay(true)
	// Grow cwnd past the initial window.
	c.Write(p.now, make([]byte, 100_000), p.out)
	p.out.take()
	for c.sndUna != c.sndMax {
		p.send(seg{ack: sq(c.sndMax)})
	}
	if c.cc.Cwnd() <= 10_000 {
		t.Fatalf("cwnd %d did not grow", c.cc.Cwnd())
	}
	p.advance(10 * time.Second)
	c.Write(p.now, make([]byte, 100_000), p.out)
	if n := len(p.out.take()); n != 10 {
		t.Fatalf("sent %d segments after idle, want the restart window of 10", n)
	}
}

// TestReceiveBufferAutoTuning: a reader that drains a full window every
// round trip makes the receive buffer, and so the window, grow up to
// MaxReceiveBuffer and no further.
func TestReceiveBufferAutoTuning(t *testing.T) {
	p, c := established(t, Config{ReceiveBuffer: 8 << 10, MaxReceiveBuffer: 256 << 10}, synOpts)
	buf := make([]byte, 1<<20)
	var lastWnd int
	for round := 0; round < 20; round++ {
		wnd := int(c.rcvAdv.Sub(c.rcvNxt))
		for sent := 0; sent+1000 <= wnd; sent += 1000 {
			p.send(seg{data: make([]byte, 1000)})
			p.seq += 1000
		}
		p.now = p.now.Add(10 * time.Millisecond)
		c.Read(p.now, buf, p.out)
		p.out.take()
		lastWnd = int(c.rcvAdv.Sub(c.rcvNxt))
	}
	if c.rcvBuf.size != 256<<10 {
		t.Fatalf("receive buffer %d, want grown to the 256 KiB maximum", c.rcvBuf.size)
	}
	if lastWnd < 200<<10 {
		t.Fatalf("advertised window %d after tuning", lastWnd)
	}
}

// TestOutOfOrderFIN: a FIN that arrives before the data ahead of it is
// processed once the hole is filled; Read returns every byte, then EOF.
func TestOutOfOrderFIN(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{})
	one(t, p.send(seg{seq: sq(p.seq + 5), data: []byte("world"), flags: wire.FlagFIN | wire.FlagACK}))
	if c.State() != StateEstablished {
		t.Fatalf("state %v before the hole is filled", c.State())
	}
	a := one(t, p.send(seg{data: []byte("hello")}))
	if a.f.Ack != p.seq+11 || c.State() != StateCloseWait {
		t.Fatalf("ACK %v in %v, want ack covering the FIN in CLOSE-WAIT", a, c.State())
	}
	buf := make([]byte, 64)
	n, err := c.Read(p.now, buf, p.out)
	if string(buf[:n]) != "helloworld" || err != nil {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if _, err := c.Read(p.now, buf, p.out); err != io.EOF {
		t.Fatalf("second Read: %v, want io.EOF", err)
	}
}

// TestReassemblyBounded: out-of-order ranges beyond MaxOutOfOrder are not
// kept (nor SACKed); the stream is still delivered intact once the sender
// retransmits.
func TestReassemblyBounded(t *testing.T) {
	p, c := established(t, Config{MaxOutOfOrder: 2}, wire.TCPOptions{SACKPermitted: true})
	base := p.seq
	part := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 10) }
	for _, i := range []int{1, 3, 5} {
		p.send(seg{seq: sq(base + wire.Seq(10*i)), data: part(i)})
	}
	if len(c.ooo.r) != 2 {
		t.Fatalf("%d ranges kept, want the bound of 2", len(c.ooo.r))
	}
	for i := 0; i < 6; i++ {
		p.send(seg{seq: sq(base + wire.Seq(10*i)), data: part(i)})
	}
	buf := make([]byte, 100)
	n, _ := c.Read(p.now, buf, p.out)
	var want []byte
	for i := 0; i < 6; i++ {
		want = append(want, part(i)...)
	}
	if !bytes.Equal(buf[:n], want) {
		t.Fatalf("read %q, want %q", buf[:n], want)
	}
}

// TestRFC1122_4_2_3_4_SenderSWS: with a usable window far below both the
// MSS and half the largest window, the sender waits, and the override
// timer then sends what fits.
func TestRFC1122_4_2_3_4_SenderSWS(t *testing.T) {
	p, c := established(t, Config{NoTimestamps: true}, wire.TCPOptions{MSS: 1000})
	p.wnd = 100
	none(t, p.send(seg{}))
	c.Write(p.now, make([]byte, 3000), p.out)
	none(t, p.out.take())
	d := one(t, p.fireNext())
	if len(d.payload) != 100 {
		t.Fatalf("override sent %d bytes, want the 100 the window allows", len(d.payload))
	}
}

// TestRFC1191_FragmentationNeeded: an ICMP quoting data in flight lowers
// the segment size and resends at the new size.
func TestRFC1191_FragmentationNeeded(t *testing.T) {
	p, c := established(t, Config{NoTimestamps: true}, wire.TCPOptions{MSS: 1460})
	c.Write(p.now, make([]byte, 1460), p.out)
	d := one(t, p.out.take())
	p.e.HandleICMP(p.now, srvAddr, peerAddr, d.f.Seq, ICMPFragmentationNeeded, 1000, p.out)
	r := one(t, p.out.take())
	if c.mss != 960 || len(r.payload) != 960 || r.f.Seq != d.f.Seq {
		t.Fatalf("mss %d, resent %v", c.mss, r)
	}
	// Quoting a sequence number outside the window does nothing.
	p.e.HandleICMP(p.now, srvAddr, peerAddr, d.f.Seq+5000, ICMPFragmentationNeeded, 600, p.out)
	if c.mss != 960 {
		t.Fatalf("blind ICMP changed the MSS to %d", c.mss)
	}
}

// TestRFC3042_LimitedTransmit: each of the first two duplicate ACKs sends
// one new segment without changing cwnd.
func TestRFC3042_LimitedTransmit(t *testing.T) {
	p, c := established(t, Config{SendBuffer: 1 << 20}, wire.TCPOptions{MSS: 1000})
	c.SetNoDelay(true)
	c.Write(p.now, make([]byte, 20_000), p.out)
	if n := len(p.out.take()); n != 10 {
		t.Fatalf("initial window sent %d segments", n)
	}
	cwnd := c.cc.Cwnd()
	for i := 1; i <= 2; i++ {
		d := one(t, p.send(seg{ack: sq(c.sndUna)}))
		if len(d.payload) != 1000 || d.f.Seq != c.sndMax-1000 {
			t.Fatalf("dup ACK %d sent %v, want one new segment", i, d)
		}
	}
	if c.cc.Cwnd() != cwnd || c.inRecovery {
		t.Fatalf("cwnd %d (was %d), recovery %v", c.cc.Cwnd(), cwnd, c.inRecovery)
	}
	r := p.send(seg{ack: sq(c.sndUna)})
	if len(r) == 0 || r[0].f.Seq != c.sndUna || !c.inRecovery {
		t.Fatalf("third dup ACK sent %v, want the fast retransmit", r)
	}
}

// TestRFC5827_EarlyRetransmit: with two segments outstanding and nothing
// more to send, one duplicate ACK is enough.
func TestRFC5827_EarlyRetransmit(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{MSS: 1000})
	c.SetNoDelay(true)
	c.Write(p.now, make([]byte, 2000), p.out)
	segs := p.out.take()
	if len(segs) != 2 {
		t.Fatalf("sent %d segments", len(segs))
	}
	r := one(t, p.send(seg{ack: sq(c.sndUna)}))
	if r.f.Seq != segs[0].f.Seq || !c.inRecovery {
		t.Fatalf("sent %v, want segment 0 retransmitted", r)
	}
}

// TestWakers: the readable waker runs when data, a FIN or an error
// arrives; the writable waker when the handshake completes or an ACK frees
// send-buffer space. Readable and Writable agree.
func TestWakers(t *testing.T) {
	p, c := established(t, Config{SendBuffer: 1000}, wire.TCPOptions{MSS: 1000})
	var r, w int
	c.SetWakers(func() { r++ }, func() { w++ })
	if c.Readable() || !c.Writable() {
		t.Fatalf("fresh connection: readable %v writable %v", c.Readable(), c.Writable())
	}
	c.Write(p.now, make([]byte, 1000), p.out)
	if c.Writable() {
		t.Fatal("writable with a full send buffer")
	}
	if n, err := c.Write(p.now, []byte("x"), p.out); n != 0 || err != nil {
		t.Fatalf("Write on a full buffer = %d, %v; want 0, nil", n, err)
	}
	p.send(seg{ack: sq(p.ack + 1000)})
	if w == 0 || !c.Writable() {
		t.Fatalf("ACK freeing the buffer: woken %d, writable %v", w, c.Writable())
	}
	p.send(seg{data: []byte("hi")})
	if r == 0 || !c.Readable() {
		t.Fatalf("data: woken %d, readable %v", r, c.Readable())
	}
	r = 0
	p.seq += 2
	p.send(seg{flags: wire.FlagRST})
	if r == 0 || w < 2 {
		t.Fatalf("reset: woken %d/%d times", r, w)
	}
	buf := make([]byte, 8)
	// Data that arrived before the reset is still returned, then the error.
	if n, err := c.Read(p.now, buf, p.out); string(buf[:n]) != "hi" || err != nil {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if _, err := c.Read(p.now, buf, p.out); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read after reset: %v", err)
	}
}

// TestConfigErrors: bad configurations are refused with a reason.
func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{MSS: 10},
		{CongestionControl: "vegas"},
		{EphemeralLow: 5000, EphemeralHigh: 4000},
		{ReceiveBuffer: 2 << 30},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := New(Config{CongestionControl: "vegas"}); !errors.Is(err, cc.ErrUnknownAlgorithm) {
		t.Errorf("unknown algorithm: %v", err)
	}
}

// TestRFC8985_TailLossProbe: when the tail of a flight is lost, a probe
// resending the last segment goes out after about two round trips, long
// before the RTO; its SACK then drives the repair.
func TestRFC8985_TailLossProbe(t *testing.T) {
	p, c := established(t, Config{NoTimestamps: true}, wire.TCPOptions{MSS: 1000, SACKPermitted: true})
	// A measured RTT of 50ms, so PTO (100ms) is well below the RTO.
	for i := 0; i < 4; i++ {
		c.Write(p.now, make([]byte, 1000), p.out)
		p.out.take()
		p.now = p.now.Add(50 * time.Millisecond)
		p.send(seg{ack: sq(c.sndMax)})
	}
	c.SetNoDelay(true)
	c.Write(p.now, make([]byte, 3000), p.out)
	segs := p.out.take()
	if len(segs) != 3 {
		t.Fatalf("sent %d segments", len(segs))
	}
	// Segments 1 and 2 are lost; segment 0 is acknowledged.
	p.now = p.now.Add(50 * time.Millisecond)
	none(t, p.send(seg{ack: sq(segs[1].f.Seq)}))
	start := p.now
	probe := one(t, p.fireNext())
	if probe.f.Seq != segs[2].f.Seq || p.now.Sub(start) >= c.rtt.RTO() {
		t.Fatalf("probe %v after %v (RTO %v), want the last segment before the RTO", probe, p.now.Sub(start), c.rtt.RTO())
	}
	// The probe's ACK SACKs segment 2: one duplicate ACK with two segments
	// outstanding is enough (RFC 5827) to resend segment 1.
	o := wire.TCPOptions{NumSACK: 1, SACK: [4]wire.SACKBlock{{Left: segs[2].f.Seq, Right: segs[2].f.Seq + 1000}}}
	r := one(t, p.send(seg{ack: sq(segs[1].f.Seq), opts: &o}))
	if r.f.Seq != segs[1].f.Seq {
		t.Fatalf("sent %v, want segment 1 retransmitted", r)
	}
	if p.e.Stats().RTOs != 0 || p.e.Stats().TailLossProbes != 1 {
		t.Fatalf("stats %+v", p.e.Stats())
	}
}

// TestLostRetransmission: in SACK recovery, once segments sent after the
// resend of the first hole are SACKed while SND.UNA stays put, the resend
// was lost and goes out again, without waiting for the RTO.
func TestLostRetransmission(t *testing.T) {
	p, c := established(t, Config{NoTimestamps: true, SendBuffer: 1 << 20}, wire.TCPOptions{MSS: 1000, SACKPermitted: true})
	c.SetNoDelay(true)
	c.Write(p.now, make([]byte, 30_000), p.out)
	segs := p.out.take() // the initial window: 10 segments
	una := segs[0].f.Seq
	sack := func(right wire.Seq) *wire.TCPOptions {
		return &wire.TCPOptions{NumSACK: 1, SACK: [4]wire.SACKBlock{{Left: una + 1000, Right: right}}}
	}
	// Segment 0 is lost; 1..3 arrive: fast retransmit of segment 0.
	var resent []sent
	for i := 2; i <= 4; i++ {
		resent = append(resent, p.send(seg{ack: sq(una), opts: sack(una + wire.Seq(1000*i))})...)
	}
	// Limited transmit sends two new segments first (RFC 3042).
	if len(resent) != 3 || resent[2].f.Seq != una || !c.inRecovery {
		t.Fatalf("want two limited-transmit segments and the fast retransmit: %v", resent)
	}
	mark := c.sndMax
	// Everything up to well past what was sent after that resend arrives,
	// but not segment 0.
	var again bool
	for right := una + 5000; right.LessThanEq(c.sndMax) && !again; right += 1000 {
		for _, s := range p.send(seg{ack: sq(una), opts: sack(right)}) {
			if s.f.Seq == una {
				again = true
				if !right.GreaterThan(mark + 3000) {
					t.Fatalf("resent at SACK %d, before 3 segments past the mark %d", right, mark)
				}
			}
		}
	}
	if !again || p.e.Stats().LostRetransmits != 1 || p.e.Stats().RTOs != 0 {
		t.Fatalf("lost retransmission not repaired: again %v stats %+v", again, p.e.Stats())
	}
}
