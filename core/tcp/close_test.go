package tcp

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/microtcp/microtcp/core/wire"
)

// TestRFC9293_Figure12_NormalClose, with the engine as Peer A, the side
// that closes first:
//
//	    TCP Peer A                                           TCP Peer B
//	1.  ESTABLISHED                                          ESTABLISHED
//	2.  (Close)
//	    FIN-WAIT-1  --> <SEQ=100><ACK=300><CTL=FIN,ACK>  --> CLOSE-WAIT
//	3.  FIN-WAIT-2  <-- <SEQ=300><ACK=101><CTL=ACK>      <-- CLOSE-WAIT
//	4.                                                       (Close)
//	    TIME-WAIT   <-- <SEQ=300><ACK=101><CTL=FIN,ACK>  <-- LAST-ACK
//	5.  TIME-WAIT   --> <SEQ=101><ACK=301><CTL=ACK>      --> CLOSED
//	6.  (2 MSL)
//	    CLOSED
func TestRFC9293_Figure12_NormalClose(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{})
	// Use both buffers first.
	c.Write(p.now, []byte("req"), p.out)
	p.out.take()
	p.ack += 3
	p.send(seg{data: []byte("resp")})
	p.seq += 4
	c.Read(p.now, make([]byte, 8), p.out)
	p.out.take()
	if err := c.Close(p.now, p.out); err != nil {
		t.Fatal(err)
	}
	fin := one(t, p.out.take())
	wantFlags(t, fin, wire.FlagFIN|wire.FlagACK)
	if fin.f.Seq != p.ack || fin.f.Ack != p.seq || c.State() != StateFinWait1 {
		t.Fatalf("line 2: %v in %v", fin, c.State())
	}
	p.ack++
	none(t, p.send(seg{})) // line 3
	if c.State() != StateFinWait2 {
		t.Fatalf("line 3: state %v", c.State())
	}
	ack := one(t, p.send(seg{flags: wire.FlagFIN | wire.FlagACK})) // line 4
	wantFlags(t, ack, wire.FlagACK)
	if ack.f.Seq != p.ack || ack.f.Ack != p.seq+1 || c.State() != StateTimeWait {
		t.Fatalf("line 5: %v in %v", ack, c.State())
	}
	if c.sndBuf.buf != nil || c.rcvBuf.buf != nil {
		t.Fatal("a TIME-WAIT connection still holds buffers")
	}
	// A retransmitted FIN in TIME-WAIT is acknowledged again.
	again := one(t, p.send(seg{flags: wire.FlagFIN | wire.FlagACK}))
	if again.f.Ack != p.seq+1 {
		t.Fatalf("re-ACK %v", again)
	}
	// Line 6: 2 MSL, then CLOSED and forgotten.
	start := p.now
	none(t, p.fireNext())
	if d := p.now.Sub(start); d != 60e9 || c.State() != StateClosed || c.Err() != nil {
		t.Fatalf("after %v: state %v err %v, want CLOSED after 2 MSL = 60s", d, c.State(), c.Err())
	}
	if len(p.e.conns) != 0 || !p.e.NextDeadline().IsZero() {
		t.Fatal("connection still registered after TIME-WAIT")
	}
}

// TestRFC9293_Figure12_PassiveClose is the same exchange with the engine as
// Peer B, which receives the FIN first.
func TestRFC9293_Figure12_PassiveClose(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{})
	readable := 0
	c.SetWakers(func() { readable++ }, nil)
	ack := one(t, p.send(seg{flags: wire.FlagFIN | wire.FlagACK}))
	wantFlags(t, ack, wire.FlagACK)
	if ack.f.Ack != p.seq+1 || c.State() != StateCloseWait || readable == 0 {
		t.Fatalf("%v in %v (woken %d)", ack, c.State(), readable)
	}
	p.seq++
	if _, err := c.Read(p.now, make([]byte, 8), p.out); err != io.EOF {
		t.Fatalf("Read after FIN: %v, want io.EOF", err)
	}
	c.Close(p.now, p.out)
	fin := one(t, p.out.take())
	wantFlags(t, fin, wire.FlagFIN|wire.FlagACK)
	if c.State() != StateLastAck {
		t.Fatalf("state %v, want LAST-ACK", c.State())
	}
	p.ack++
	none(t, p.send(seg{}))
	if c.State() != StateClosed || c.Err() != nil || len(p.e.conns) != 0 {
		t.Fatalf("state %v err %v", c.State(), c.Err())
	}
	if _, err := c.Read(p.now, make([]byte, 8), p.out); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close: %v, want net.ErrClosed", err)
	}
}

// TestRFC9293_Figure13_SimultaneousClose:
//
//	    TCP Peer A                                           TCP Peer B
//	1.  ESTABLISHED                                          ESTABLISHED
//	2.  (Close)                                              (Close)
//	    FIN-WAIT-1  --> <SEQ=100><ACK=300><CTL=FIN,ACK>  ... FIN-WAIT-1
//	                <-- <SEQ=300><ACK=100><CTL=FIN,ACK>  <--
//	                ... <SEQ=100><ACK=300><CTL=FIN,ACK>  -->
//	3.  CLOSING     --> <SEQ=101><ACK=301><CTL=ACK>      ... CLOSING
//	                <-- <SEQ=301><ACK=101><CTL=ACK>      <--
//	                ... <SEQ=101><ACK=301><CTL=ACK>      -->
//	4.  TIME-WAIT                                            TIME-WAIT
//	    (2 MSL)                                              (2 MSL)
//	    CLOSED                                               CLOSED
func TestRFC9293_Figure13_SimultaneousClose(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{})
	c.Close(p.now, p.out)
	wantFlags(t, one(t, p.out.take()), wire.FlagFIN|wire.FlagACK)
	ack := one(t, p.send(seg{flags: wire.FlagFIN | wire.FlagACK})) // ACK=100: our FIN not yet acknowledged
	if c.State() != StateClosing || ack.f.Ack != p.seq+1 {
		t.Fatalf("%v in %v, want CLOSING", ack, c.State())
	}
	p.seq++
	p.ack++
	none(t, p.send(seg{}))
	if c.State() != StateTimeWait {
		t.Fatalf("state %v, want TIME-WAIT", c.State())
	}
}

// TestHalfClose: after CloseWrite the engine keeps receiving until the
// peer's FIN (RFC 9293 §3.10.4, §3.6).
func TestHalfClose(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{})
	c.CloseWrite(p.now, p.out)
	wantFlags(t, one(t, p.out.take()), wire.FlagFIN|wire.FlagACK)
	if _, err := c.Write(p.now, []byte("x"), p.out); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after CloseWrite: %v", err)
	}
	p.ack++
	none(t, p.send(seg{}))
	p.send(seg{data: []byte("still talking")})
	p.seq += 13
	buf := make([]byte, 64)
	n, err := c.Read(p.now, buf, p.out)
	if string(buf[:n]) != "still talking" || err != nil || c.State() != StateFinWait2 {
		t.Fatalf("Read = %q, %v in %v", buf[:n], err, c.State())
	}
	one(t, p.send(seg{flags: wire.FlagFIN | wire.FlagACK}))
	if _, err := c.Read(p.now, buf, p.out); err != io.EOF || c.State() != StateTimeWait {
		t.Fatalf("Read = %v in %v, want EOF in TIME-WAIT", err, c.State())
	}
}

// TestRFC1122_4_2_2_13_CloseWithUnreadData: closing with received data
// unread sends a RST instead of a FIN.
func TestRFC1122_4_2_2_13_CloseWithUnreadData(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{})
	p.send(seg{data: []byte("unread")})
	c.Close(p.now, p.out)
	r := one(t, p.out.take())
	if r.f.Flags != wire.FlagRST || r.f.Seq != p.ack {
		t.Fatalf("sent %v, want <SEQ=SND.NXT><CTL=RST>", r)
	}
	if c.State() != StateClosed || len(p.e.conns) != 0 {
		t.Fatalf("state %v", c.State())
	}
}

// TestAbort: ABORT sends a RST and fails pending calls (RFC 9293 §3.10.5);
// data arriving after a full close resets the connection.
func TestAbort(t *testing.T) {
	p, c := established(t, Config{}, wire.TCPOptions{})
	c.Abort(p.now, p.out)
	if r := one(t, p.out.take()); r.f.Flags != wire.FlagRST {
		t.Fatalf("sent %v", r)
	}
	if _, err := c.Write(p.now, []byte("x"), p.out); !errors.Is(err, syscall.ECONNABORTED) {
		t.Fatalf("Write after Abort: %v", err)
	}

	p, c = established(t, Config{}, wire.TCPOptions{})
	c.Close(p.now, p.out)
	p.out.take()
	r := one(t, p.send(seg{data: []byte("late")}))
	if r.f.Flags != wire.FlagRST || c.State() != StateClosed {
		t.Fatalf("sent %v in %v, want RST and CLOSED", r, c.State())
	}
}

// TestFinWait2Timeout: a fully closed connection does not wait forever for
// the peer's FIN.
func TestFinWait2Timeout(t *testing.T) {
	p, c := established(t, Config{FinWait2Timeout: 5e9}, wire.TCPOptions{})
	c.Close(p.now, p.out)
	p.out.take()
	p.ack++
	none(t, p.send(seg{}))
	start := p.now
	p.fireNext()
	if c.State() != StateClosed || p.now.Sub(start) != 5e9 {
		t.Fatalf("state %v after %v", c.State(), p.now.Sub(start))
	}
}

// TestRFC6191_TimeWaitReopen: a SYN beyond the old incarnation's sequence
// numbers ends TIME-WAIT and opens a new connection through the listener;
// an old duplicate SYN does not.
func TestRFC6191_TimeWaitReopen(t *testing.T) {
	p, c := established(t, Config{NoTimestamps: true}, wire.TCPOptions{})
	c.Close(p.now, p.out)
	p.out.take()
	p.ack++
	p.send(seg{flags: wire.FlagFIN | wire.FlagACK})
	if c.State() != StateTimeWait {
		t.Fatalf("state %v", c.State())
	}
	r := one(t, p.send(seg{seq: sq(p.seq - 50), flags: wire.FlagSYN}))
	if r.f.Flags != wire.FlagACK || c.State() != StateTimeWait {
		t.Fatalf("old SYN: sent %v in %v, want a challenge ACK in TIME-WAIT", r, c.State())
	}
	r = one(t, p.send(seg{seq: sq(p.seq + 100000), flags: wire.FlagSYN}))
	wantFlags(t, r, wire.FlagSYN|wire.FlagACK)
	if r.f.Ack != p.seq+100001 || c.State() != StateClosed {
		t.Fatalf("new SYN: sent %v, old connection %v", r, c.State())
	}
}
