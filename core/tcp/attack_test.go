package tcp

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// Hostile-peer tests (issue #7): each attack is driven with crafted
// segments on a fake clock and checks what held.

// countOutput counts what the engine sends without keeping it, so that a
// flood does not measure the test's own memory.
type countOutput struct {
	synAcks, acks, rsts, data int
}

func (o *countOutput) SendTCP(local, remote netip.AddrPort, f *wire.TCPFields, payload []byte) {
	switch {
	case f.Flags.Has(wire.FlagRST):
		o.rsts++
	case f.Flags.Has(wire.FlagSYN):
		o.synAcks++
	case len(payload) > 0:
		o.data++
	default:
		o.acks++
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestAttackSynFlood: 100,000 SYNs from random addresses and ports fill
// the SYN queue to MaxSynBacklog and no further; SYN cookies (RFC 4987
// §3.6) answer the rest without state, and a genuine client that connects
// in the middle of the flood is accepted and moves data both ways.
func TestAttackSynFlood(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	seed := uint64(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC).Unix())
	t.Logf("seed %d, %d SYNs", seed, n)
	rng := rand.New(rand.NewPCG(seed, 7))

	cfg := Config{}
	e := newEndpoints(t, cfg)
	l, err := e.Listen(srvAddr, 128)
	if err != nil {
		t.Fatal(err)
	}
	const backlog = 256 // Config.MaxSynBacklog's default
	out := &countOutput{}
	buf := make([]byte, 60)
	before := heapInUse()

	var legit *peer
	var legitConn *Conn
	peakSynQ, peakConns := 0, 0
	for i := range n {
		if i == n/2 {
			legit, legitConn = connectDuringFlood(t, e, l)
		}
		src := netip.AddrFrom4([4]byte{byte(rng.IntN(223) + 1), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
		f := wire.TCPFields{SrcPort: uint16(rng.IntN(64512) + 1024), DstPort: srvAddr.Port(), Seq: wire.Seq(rng.Uint32()),
			Flags: wire.FlagSYN, Window: 65535, Options: wire.TCPOptions{MSS: 1460}}
		b := buf[:f.HeaderLen()]
		f.Encode(b, src, srvAddr.Addr())
		s, err := wire.ParseTCP(b)
		if err != nil {
			t.Fatal(err)
		}
		e.Input(t0, src, srvAddr.Addr(), s, out)
		peakSynQ = max(peakSynQ, l.synQ)
		peakConns = max(peakConns, len(e.conns))
	}
	after := heapInUse()
	st := e.Stats()
	t.Logf("peak half-open %d, peak connections %d, SYN,ACKs %d (cookies %d), budget in use %d peak %d, heap %d → %d (delta %+d bytes)",
		peakSynQ, peakConns, out.synAcks, st.SynCookiesSent, st.BudgetInUse, st.BudgetPeak, before, after, int64(after)-int64(before))

	if peakSynQ != backlog {
		t.Errorf("peak SYN queue %d, want exactly MaxSynBacklog %d", peakSynQ, backlog)
	}
	if peakConns > backlog+1 {
		t.Errorf("peak connections %d, want at most the SYN queue plus the genuine client (%d)", peakConns, backlog+1)
	}
	if out.synAcks != n || st.SynCookiesSent != uint64(n-backlog)+1 {
		t.Errorf("%d SYN,ACKs, %d cookies: want every one of %d SYNs answered, all beyond the first %d (and the client's) by cookie",
			out.synAcks, st.SynCookiesSent, n, backlog)
	}
	// Half-open connections hold no buffer storage: the budget in use is
	// the genuine connection's alone, less than one 256 KiB buffer.
	if st.BudgetPeak >= 256<<10 {
		t.Errorf("budget peak %d during the flood", st.BudgetPeak)
	}
	// A leak of even 200 bytes per SYN would show as 20 MB here.
	if d := int64(after) - int64(before); d > int64(n)*200 {
		t.Errorf("heap grew %d bytes over %d SYNs", d, n)
	}

	// The genuine connection survived the second half of the flood.
	legitConn.Write(legit.now, []byte("still here"), legit.out)
	if d := legit.out.take(); len(d) != 1 || string(d[0].payload) != "still here" {
		t.Fatalf("after the flood the client's connection sent %v", d)
	}

	// The flood's half-open connections give up after SynRetries
	// retransmissions of their SYN,ACK (RFC 6298 backoff: 1+2+…+64 s).
	legit.advance(10 * time.Minute)
	for range 20 {
		e.Poll(legit.now, out)
		legit.advance(time.Minute)
	}
	if l.synQ != 0 || len(e.conns) != 1 {
		t.Fatalf("after the timeouts: SYN queue %d, %d connections, want 0 and the client's", l.synQ, len(e.conns))
	}
}

// connectDuringFlood completes a handshake from a genuine client (with the
// options Linux offers) while the SYN queue is full, and checks that data
// moves both ways.
func connectDuringFlood(t *testing.T, e *Endpoints, l *Listener) (*peer, *Conn) {
	t.Helper()
	p := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: peerAddr, us: srvAddr, seq: peerISS, wnd: 1024}
	synack := one(t, p.send(seg{flags: wire.FlagSYN, opts: &synOpts}))
	wantFlags(t, synack, wire.FlagSYN|wire.FlagACK)
	p.seq, p.ack = peerISS+1, synack.f.Seq+1
	p.opts = wire.TCPOptions{HasTimestamps: true, TSVal: synOpts.TSVal + 1, TSEcr: synack.f.Options.TSVal}
	p.send(seg{data: []byte("GET /")})
	p.seq += 5
	c, ok := l.Accept()
	if !ok {
		t.Fatal("the genuine client was not accepted during the flood")
	}
	buf := make([]byte, 16)
	if n, err := c.Read(p.now, buf, p.out); err != nil || string(buf[:n]) != "GET /" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	c.Write(p.now, []byte("200 OK"), p.out)
	d := p.out.take()
	if len(d) == 0 || string(d[len(d)-1].payload) != "200 OK" {
		t.Fatalf("reply %v", d)
	}
	p.ack += 6
	p.send(seg{})
	return p, c
}

// TestAttackBlindInjection: an off-path attacker who knows the four-tuple
// but not the sequence numbers can neither reset, nor inject into, nor
// desynchronise a connection (RFC 5961).
func TestAttackBlindInjection(t *testing.T) {
	type result int
	const (
		dropped   result = iota // nothing sent
		challenge               // one ACK <SEQ=SND.NXT><ACK=RCV.NXT>
	)
	for _, tc := range []struct {
		name string
		s    func(p *peer, c *Conn) seg
		want result
	}{
		{"RST in window, not at RCV.NXT (§3.2)", func(p *peer, c *Conn) seg {
			return seg{seq: sq(p.seq + 1000), flags: wire.FlagRST}
		}, challenge},
		{"RST outside the window (§3.2)", func(p *peer, c *Conn) seg {
			return seg{seq: sq(p.seq + 1<<30), flags: wire.FlagRST}
		}, dropped},
		{"RST,ACK just below RCV.NXT", func(p *peer, c *Conn) seg {
			return seg{seq: sq(p.seq - 1), flags: wire.FlagRST | wire.FlagACK}
		}, dropped},
		{"SYN in window (§4.2)", func(p *peer, c *Conn) seg {
			return seg{seq: sq(p.seq + 10), flags: wire.FlagSYN}
		}, challenge},
		{"SYN outside the window (§4.2)", func(p *peer, c *Conn) seg {
			return seg{seq: sq(p.seq + 1<<31), flags: wire.FlagSYN}
		}, challenge},
		{"data at a guessed sequence outside the window (RFC 9293 §3.10.7.4)", func(p *peer, c *Conn) seg {
			return seg{seq: sq(p.seq + 1<<30), data: []byte("EVIL")}
		}, challenge}, // the duplicate ACK that an unacceptable segment draws
		{"data acknowledging bytes never sent (§5.2)", func(p *peer, c *Conn) seg {
			return seg{ack: sq(c.sndMax + 5000), data: []byte("EVIL")}
		}, challenge},
		{"data with an ACK far below SND.UNA (§5.2)", func(p *peer, c *Conn) seg {
			return seg{ack: sq(c.sndUna - 1<<30), data: []byte("EVIL")}
		}, challenge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, c := established(t, Config{}, synOpts)
			// Data in both directions so that SND.UNA < SND.NXT.
			p.send(seg{data: []byte("hello ")})
			p.seq += 6
			c.Write(p.now, []byte("0123456789"), p.out)
			p.out.take()
			una, nxt := c.sndUna, c.sndNxt

			got := p.send(tc.s(p, c))
			switch tc.want {
			case dropped:
				none(t, got)
			case challenge:
				r := one(t, got)
				if r.f.Flags != wire.FlagACK || r.f.Seq != nxt || r.f.Ack != p.seq || len(r.payload) != 0 {
					t.Fatalf("sent %v, want <SEQ=%d><ACK=%d><CTL=ACK>", r, uint32(nxt), uint32(p.seq))
				}
			}
			if c.State() != StateEstablished || c.Err() != nil || c.sndUna != una {
				t.Fatalf("state %v err %v snd.una %d (was %d)", c.State(), c.Err(), uint32(c.sndUna), uint32(una))
			}
			// The stream is intact: the genuine next bytes follow the old.
			p.send(seg{data: []byte("world")})
			buf := make([]byte, 64)
			n, _ := c.Read(p.now, buf, p.out)
			if string(buf[:n]) != "hello world" {
				t.Fatalf("stream reads %q, want %q", buf[:n], "hello world")
			}
		})
	}
}

// TestAttackChallengeACKFlood: 10,000 in-window RSTs within one second
// draw at most ChallengeACKLimit challenge ACKs (RFC 5961 §7), so the
// stack cannot be turned into an amplifier, and the limit refills.
func TestAttackChallengeACKFlood(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{})
	const limit = 1000 // Config.ChallengeACKLimit's default
	out := &countOutput{}
	p.out = &recorder{}
	for i := range 10_000 {
		p.now = t0.Add(time.Duration(i) * 90 * time.Microsecond) // 0.9 s in all
		f := wire.TCPFields{SrcPort: p.addr.Port(), DstPort: p.us.Port(), Seq: p.seq + wire.Seq(1+i%60000), Flags: wire.FlagRST, Window: 1}
		p.e.Input(p.now, p.addr.Addr(), p.us.Addr(), encode(p.addr, p.us, &f, nil), out)
	}
	st := p.e.Stats()
	t.Logf("10000 blind RSTs: %d challenge ACKs sent, %d suppressed by the stack-wide limit, %d by the connection's", out.acks, st.ChallengeACKsSuppressed, st.OutOfWindowACKsSkipped)
	// One connection answers at most one per 500 ms (oow.go): 2 in 0.9 s,
	// far below the stack-wide RFC 5961 §7 limit.
	if out.acks > 2 || st.ChallengeACKs > limit || st.ChallengeACKs+st.ChallengeACKsSuppressed+st.OutOfWindowACKsSkipped != 10_000 || out.rsts != 0 {
		t.Fatalf("sent %d ACKs %d RSTs, stats %+v: want at most 2 challenge ACKs, the rest suppressed", out.acks, out.rsts, st)
	}
	if c.State() != StateEstablished {
		t.Fatalf("state %v", c.State())
	}
	// Both limits refill: a later blind RST draws a challenge ACK again.
	p.now = t0.Add(1500 * time.Millisecond)
	one(t, p.send(seg{seq: sq(p.seq + 7), flags: wire.FlagRST}))
}

// TestAttackTinyMSS: a peer that offers an MSS of 1 does not make the
// engine send a segment per byte: the send MSS is clamped to 64 bytes.
func TestAttackTinyMSS(t *testing.T) {
	p, c := established(t, Config{NoTimestamps: true}, wire.TCPOptions{MSS: 1})
	const clamp = 64
	if c.mss != clamp {
		t.Fatalf("send MSS %d for a peer MSS of 1, want the clamp %d", c.mss, clamp)
	}
	data := bytes.Repeat([]byte("x"), 5000)
	c.Write(p.now, data, p.out)
	segs := p.out.take()
	if len(segs) == 0 {
		t.Fatal("nothing sent")
	}
	for _, s := range segs {
		if len(s.payload) != clamp {
			t.Fatalf("segment of %d bytes, want full %d-byte segments: %v", len(s.payload), clamp, s)
		}
	}
}

// TestAttackZeroWindowForever: a peer that answers every probe with a zero
// window keeps the connection in persist: probes continue, backed off to
// MaxRTO, send buffer and budget stay where they were. Nothing in the
// engine ends such a connection (RFC 1122 4.2.2.17: keep probing while
// the peer answers); the application's Close or Abort does, and
// TestAttackZeroWindowThenSilent covers a peer that stops answering.
func TestAttackZeroWindowForever(t *testing.T) {
	p, c := established(t, Config{NoWindowScale: true}, wire.TCPOptions{})
	p.wnd = 0
	none(t, p.send(seg{}))
	n, _ := c.Write(p.now, make([]byte, 100_000), p.out)
	if n == 0 {
		t.Fatal("Write took nothing")
	}
	none(t, p.out.take())
	budget := p.e.Stats().BudgetInUse

	start, last := p.now, p.now
	var gaps []time.Duration
	for p.now.Sub(start) < 24*time.Hour {
		segs := p.fireNext()
		for _, s := range segs {
			if len(s.payload) > 1 {
				t.Fatalf("probe carries %d bytes into a zero window", len(s.payload))
			}
		}
		if len(segs) > 0 {
			gaps = append(gaps, p.now.Sub(last))
			last = p.now
			p.send(seg{}) // the peer answers: window still zero
		}
	}
	t.Logf("%d probes in 24 h of simulated time; first gaps %v, last %v", len(gaps), gaps[:min(6, len(gaps))], gaps[len(gaps)-1])
	for i := 1; i < len(gaps); i++ {
		if gaps[i] < gaps[i-1] && gaps[i-1] <= 120*time.Second {
			t.Fatalf("probe interval shrank from %v to %v", gaps[i-1], gaps[i])
		}
	}
	if g := gaps[len(gaps)-1]; g != 120*time.Second {
		t.Fatalf("probe interval settled at %v, want MaxRTO", g)
	}
	if len(gaps) > 24*3600/120+20 {
		t.Fatalf("%d probes in 24 h", len(gaps))
	}
	if c.State() != StateEstablished || p.e.Stats().BudgetInUse != budget {
		t.Fatalf("state %v, budget %d (was %d)", c.State(), p.e.Stats().BudgetInUse, budget)
	}
	c.Abort(p.now, p.out)
	if c.State() != StateClosed || len(p.e.conns) != 0 {
		t.Fatalf("after Abort: state %v, %d connections", c.State(), len(p.e.conns))
	}
}

// TestAttackOneByteWindow: a peer that keeps its window at one byte gets
// no stream of 1-byte segments: sender SWS avoidance (RFC 1122 4.2.3.4)
// waits for the override timer before each one.
func TestAttackOneByteWindow(t *testing.T) {
	p, c := established(t, Config{NoWindowScale: true, NoTimestamps: true}, wire.TCPOptions{MSS: 1000})
	p.wnd = 1
	none(t, p.send(seg{}))
	c.Write(p.now, make([]byte, 3000), p.out)
	none(t, p.out.take())
	start := p.now
	sent := 0
	for range 50 {
		for _, s := range p.fireNext() {
			if len(s.payload) > 1 {
				t.Fatalf("%d bytes into a 1-byte window", len(s.payload))
			}
			if len(s.payload) == 1 {
				sent++
				p.ack = s.f.Seq + 1
				// The peer takes the byte and reopens one byte.
				none(t, p.send(seg{}))
			}
		}
	}
	elapsed := p.now.Sub(start)
	t.Logf("%d one-byte segments in %v of simulated time", sent, elapsed)
	// At least one timer interval (MinRTO, 200 ms) per byte.
	if sent == 0 || elapsed < time.Duration(sent)*200*time.Millisecond {
		t.Fatalf("%d one-byte segments in %v: silly window syndrome", sent, elapsed)
	}
}

// TestAttackOptimisticACK: ACKs for data not yet sent do not advance
// SND.UNA nor let the sender forget data; the data is retransmitted.
func TestAttackOptimisticACK(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{})
	c.Write(p.now, []byte("0123456789"), p.out)
	d := one(t, p.out.take())
	una := c.sndUna
	for i, a := range []wire.Seq{c.sndMax + 1, c.sndMax + 1460, c.sndMax + 1<<20} {
		got := p.send(seg{ack: sq(a)})
		// A challenge ACK answers the first; the next ones, within
		// 500 ms, are only dropped (oow.go).
		if i == 0 {
			if r := one(t, got); r.f.Flags != wire.FlagACK {
				t.Fatalf("ACK %d: sent %v, want a challenge ACK", uint32(a), r)
			}
		} else {
			none(t, got)
		}
		if c.sndUna != una {
			t.Fatalf("ACK %d: snd.una %d (was %d)", uint32(a), uint32(c.sndUna), uint32(una))
		}
	}
	r := one(t, p.fireNext())
	if r.f.Seq != d.f.Seq || string(r.payload) != "0123456789" {
		t.Fatalf("retransmission %v, want the 10 bytes again", r)
	}
}

// TestAttackOutOfOrderFlood: 100,000 out-of-order segments at random
// offsets inside the window keep at most MaxOutOfOrder ranges and never
// more than the receive buffer; once the holes are filled every byte
// reads back as sent.
func TestAttackOutOfOrderFlood(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	const seed = 20261122
	t.Logf("seed %d, %d segments", seed, n)
	rng := rand.New(rand.NewPCG(seed, 5))
	const rcvBuf = 64 << 10
	p, c := established(t, Config{ReceiveBuffer: rcvBuf, NoWindowScale: true}, wire.TCPOptions{SACKPermitted: true})
	stream := make([]byte, rcvBuf)
	for i := range stream {
		stream[i] = byte(i*131 + i>>8)
	}
	base := p.seq
	out := &countOutput{}
	peakRanges := 0
	var peakBudget uint64
	for range n {
		off := 1 + rng.IntN(rcvBuf-100)
		l := 1 + rng.IntN(100)
		f := wire.TCPFields{SrcPort: p.addr.Port(), DstPort: p.us.Port(), Seq: base + wire.Seq(off), Ack: p.ack, Flags: wire.FlagACK, Window: 65535}
		p.e.Input(p.now, p.addr.Addr(), p.us.Addr(), encode(p.addr, p.us, &f, stream[off:off+l]), out)
		peakRanges = max(peakRanges, len(c.ooo.r))
		peakBudget = max(peakBudget, p.e.Stats().BudgetInUse)
	}
	t.Logf("peak %d out-of-order ranges, budget peak %d bytes", peakRanges, peakBudget)
	if peakRanges > 16 || peakBudget > rcvBuf {
		t.Fatalf("%d out-of-order ranges, %d bytes of budget: want at most MaxOutOfOrder (16) and the receive buffer (%d)", peakRanges, peakBudget, rcvBuf)
	}
	if c.rcvBuf.Len() != 0 {
		t.Fatalf("%d bytes readable before the first byte arrived", c.rcvBuf.Len())
	}
	// Fill in order; whatever the queue kept must agree with the stream.
	var got []byte
	buf := make([]byte, 8192)
	for off := 0; off < rcvBuf; {
		l := min(1000, rcvBuf-off)
		p.send(seg{seq: sq(base + wire.Seq(off)), data: stream[off : off+l]})
		off += l
		for {
			k, _ := c.Read(p.now, buf, p.out)
			if k == 0 {
				break
			}
			got = append(got, buf[:k]...)
		}
	}
	if !bytes.Equal(got, stream) {
		t.Fatalf("read %d bytes, differ from the %d sent", len(got), len(stream))
	}
}

// TestAttackZeroWindowThenSilent: a peer that closes its window and then
// stops answering the probes is given up with ETIMEDOUT after Retries
// unanswered probes, as an unanswered retransmission would be (Linux:
// tcp_retries2 unanswered zero-window probes).
func TestAttackZeroWindowThenSilent(t *testing.T) {
	p, c := established(t, Config{NoWindowScale: true}, wire.TCPOptions{})
	p.wnd = 0
	none(t, p.send(seg{}))
	c.Write(p.now, make([]byte, 10_000), p.out)
	for range 30 { // answered probes: nothing counts against the peer
		p.fireNext()
		p.send(seg{})
	}
	if c.State() != StateEstablished {
		t.Fatalf("state %v while the peer answers", c.State())
	}
	start := p.now
	probes := 0
	for c.State() != StateClosed && probes < 1000 {
		probes += len(p.fireNext())
	}
	t.Logf("given up after %d unanswered probes, %v of silence", probes, p.now.Sub(start))
	if !errors.Is(c.Err(), syscall.ETIMEDOUT) || probes != 15 {
		t.Fatalf("err %v after %d unanswered probes, want ETIMEDOUT after Retries (15)", c.Err(), probes)
	}
	if len(p.e.conns) != 0 || p.e.Stats().BudgetInUse != 0 {
		t.Fatalf("%d connections, budget %d left", len(p.e.conns), p.e.Stats().BudgetInUse)
	}
}
