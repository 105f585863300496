package tcp

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/tcp/rtt"
	"github.com/microtcp/microtcp/core/wire"
)

// TestRFC9293_3_10_7_4_Acceptability runs the four cases of the segment
// acceptability test against a connection with a 1000-byte window.
func TestRFC9293_3_10_7_4_Acceptability(t *testing.T) {
	const wnd = 1000
	type tc struct {
		name   string
		off    int32 // SEG.SEQ - RCV.NXT
		data   int
		full   bool // the receive window is zero
		accept bool
		newB   int // bytes that become readable
	}
	for _, c := range []tc{
		{"len 0, wnd 0, seq = rcv.nxt", 0, 0, true, true, 0},
		{"len 0, wnd 0, seq > rcv.nxt", 1, 0, true, false, 0},
		{"len 0, wnd > 0, seq = rcv.nxt", 0, 0, false, true, 0},
		{"len 0, wnd > 0, seq at the right edge", wnd - 1, 0, false, true, 0},
		{"len 0, wnd > 0, seq past the window", wnd, 0, false, false, 0},
		{"len 0, wnd > 0, seq before rcv.nxt", -1, 0, false, false, 0},
		{"len > 0, wnd 0, seq = rcv.nxt: ACK processed, text dropped", 0, 10, true, true, 0},
		{"len > 0, wnd 0, seq > rcv.nxt", 5, 10, true, false, 0},
		{"len > 0, wnd > 0, in window", 0, 10, false, true, 10},
		{"len > 0, wnd > 0, starts before, ends inside", -4, 10, false, true, 6},
		{"len > 0, wnd > 0, entirely old", -10, 10, false, false, 0},
		{"len > 0, wnd > 0, starts inside, ends past", wnd - 4, 10, false, true, 0},
		{"len > 0, wnd > 0, entirely past", wnd, 10, false, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, conn := established(t, Config{ReceiveBuffer: wnd, NoWindowScale: true}, wire.TCPOptions{})
			base := p.seq
			if c.full {
				p.send(seg{data: make([]byte, wnd)})
				p.seq += wnd
				base = p.seq
				p.out.take()
			}
			before := conn.rcvBuf.Len()
			got := p.send(seg{seq: sq(base.Add(uint32(c.off))), data: make([]byte, c.data)})
			ackSent := len(got) == 1 && got[0].f.Flags == wire.FlagACK
			if c.accept && c.newB == 0 && c.data == 0 && len(got) != 0 {
				t.Fatalf("acceptable segment answered with %v", got)
			}
			if !c.accept && !ackSent {
				t.Fatalf("unacceptable segment: sent %v, want one ACK", got)
			}
			if !c.accept && ackSent && got[0].f.Ack != base {
				t.Fatalf("ACK %v, want ack %d", got[0], base)
			}
			if n := conn.rcvBuf.Len() - before; n != c.newB {
				t.Fatalf("%d new readable bytes, want %d", n, c.newB)
			}
		})
	}
}

// TestRFC5961_3_2_RST: only a RST at exactly RCV.NXT resets; one elsewhere
// in the window draws a challenge ACK, one outside is dropped.
func TestRFC5961_3_2_RST(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{})
	none(t, p.send(seg{seq: sq(p.seq + 1_000_000), flags: wire.FlagRST}))
	r := one(t, p.send(seg{seq: sq(p.seq + 10), flags: wire.FlagRST}))
	if r.f.Flags != wire.FlagACK || r.f.Seq != p.ack || r.f.Ack != p.seq {
		t.Fatalf("challenge ACK %v, want <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>", r)
	}
	if c.State() != StateEstablished {
		t.Fatalf("state %v", c.State())
	}
	none(t, p.send(seg{flags: wire.FlagRST}))
	if c.State() != StateClosed || !errors.Is(c.Err(), syscall.ECONNRESET) {
		t.Fatalf("state %v err %v, want ECONNRESET", c.State(), c.Err())
	}
	if _, err := c.Write(p.now, []byte("x"), p.out); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Write after reset: %v", err)
	}
}

// TestRFC5961_4_2_SYN: a SYN on a synchronized connection, in or out of
// the window, gets a challenge ACK and changes nothing.
func TestRFC5961_4_2_SYN(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{})
	for _, s := range []wire.Seq{p.seq, p.seq + 5, p.seq - 100000} {
		none(t, p.advance(oowInterval)) // past the per-connection limit (oow.go)
		r := one(t, p.send(seg{seq: sq(s), flags: wire.FlagSYN}))
		if r.f.Flags != wire.FlagACK || r.f.Ack != p.seq || c.State() != StateEstablished {
			t.Fatalf("SYN at %d: sent %v in %v", s, r, c.State())
		}
	}
}

// TestRFC5961_5_2_ACK: an ACK for data never sent, or far older than the
// window, is answered with a challenge ACK and does not move SND.UNA.
func TestRFC5961_5_2_ACK(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{})
	c.Write(p.now, []byte("0123456789"), p.out)
	p.out.take()
	una := c.sndUna
	for _, a := range []wire.Seq{una + 11, una - 200000} {
		r := one(t, p.send(seg{ack: sq(a), data: []byte("z")}))
		if r.f.Flags != wire.FlagACK || c.sndUna != una || c.rcvBuf.Len() != 0 {
			t.Fatalf("ACK %d: sent %v, snd.una %d, %d bytes taken", a, r, c.sndUna, c.rcvBuf.Len())
		}
	}
	none(t, p.send(seg{ack: sq(una + 10)}))
	if c.sndUna != una+10 {
		t.Fatalf("valid ACK ignored")
	}
}

// TestRFC5961_7_RateLimit: challenge ACKs are limited per second. The
// segments carry data (an ACK for data never sent, with a byte), which
// the per-connection limit of oow.go lets through, so only the
// stack-wide RFC 5961 §7 limit applies.
func TestRFC5961_7_RateLimit(t *testing.T) {
	p, c := established(t, Config{ChallengeACKLimit: 2}, wire.TCPOptions{})
	bad := seg{ack: sq(c.sndMax + 100), data: []byte("z")}
	one(t, p.send(bad))
	one(t, p.send(bad))
	none(t, p.send(bad))
	p.advance(time.Second)
	one(t, p.send(bad))
	if st := p.e.Stats(); st.ChallengeACKs != 3 || st.ChallengeACKsSuppressed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRFC7323_5_PAWS: a segment whose timestamp is older than TS.Recent is
// acknowledged and dropped; TS.Recent follows in-order segments.
func TestRFC7323_5_PAWS(t *testing.T) {
	p, c := established(t, Config{}, synOpts)
	p.opts.TSVal = 500
	p.send(seg{data: []byte("new")})
	p.seq += 3
	if c.tsRecent != 500 {
		t.Fatalf("TS.Recent %d, want 500", c.tsRecent)
	}
	old := p.opts
	old.TSVal = 400
	r := one(t, p.send(seg{opts: &old, data: []byte("old")}))
	if r.f.Flags != wire.FlagACK || c.rcvBuf.Len() != 3 || p.e.Stats().PAWSRejected != 1 {
		t.Fatalf("sent %v, %d bytes buffered", r, c.rcvBuf.Len())
	}
	if !r.f.Options.HasTimestamps || r.f.Options.TSEcr != 500 {
		t.Fatalf("ACK echoes %+v, want TSecr 500", r.f.Options)
	}
	// A RST is not subject to PAWS (RFC 7323 §5.3 R1).
	none(t, p.send(seg{opts: &old, flags: wire.FlagRST}))
	if c.State() != StateClosed {
		t.Fatalf("state %v after an in-sequence RST", c.State())
	}
}

// TestRTTFromTimestamps: the echoed timestamp gives an RTT sample (RFC
// 7323 §4.1).
func TestRTTFromTimestamps(t *testing.T) {
	p, c := established(t, Config{}, synOpts)
	c.Write(p.now, []byte("abc"), p.out)
	d := one(t, p.out.take())
	p.now = p.now.Add(30 * time.Millisecond)
	o := p.opts
	o.TSEcr = d.f.Options.TSVal
	p.send(seg{ack: sq(p.ack + 3), opts: &o})
	// The handshake's ACK echoed a timestamp from the same millisecond:
	// a first sample of 0, then 30 ms.
	want := rtt.New(rtt.Config{})
	want.Sample(0)
	want.Sample(30 * time.Millisecond)
	if c.rtt.SRTT() != want.SRTT() || c.rtt.RTTVar() != want.RTTVar() {
		t.Fatalf("SRTT %v RTTVAR %v, want %v %v", c.rtt.SRTT(), c.rtt.RTTVar(), want.SRTT(), want.RTTVar())
	}
}
