package tcp

import (
	"bytes"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// idleState reports what of c's optional state is held: an idle
// connection should hold none of it (issue #6, idle memory).
func idleState(c *Conn) []string {
	var held []string
	for _, x := range []struct {
		name string
		on   bool
	}{
		{"send ring storage", c.sndBuf.stored() > 0},
		{"receive ring storage", c.rcvBuf.stored() > 0},
		{"SACK scoreboard", c.sb != nil},
		{"received SACK blocks", c.sackRecv != nil},
		{"RACK state", c.rack != nil},
		{"keepalive state", c.ka != nil},
	} {
		if x.on {
			held = append(held, x.name)
		}
	}
	return held
}

// TestIdleConnHoldsNothing: a freshly established connection holds no
// buffer storage and none of the state kept behind pointers (SACK
// scoreboard and blocks, RACK, keepalive); after an out-of-order episode
// and a SACK recovery it gives that state back, and once idle past the
// sweep its ring storage too.
func TestIdleConnHoldsNothing(t *testing.T) {
	p, c := established(t, Config{NoTimestamps: true, RACK: true}, wire.TCPOptions{MSS: 1000, SACKPermitted: true})
	if held := idleState(c); len(held) > 0 {
		t.Fatalf("fresh connection holds %v", held)
	}
	// Receive side: a hole, then the data that fills it.
	one(t, p.send(seg{seq: sq(p.seq + 100), data: bytes.Repeat([]byte("b"), 100)}))
	if c.sackRecv == nil {
		t.Fatal("no SACK blocks kept for out-of-order data")
	}
	one(t, p.send(seg{data: bytes.Repeat([]byte("a"), 100)}))
	p.seq += 200
	if c.sackRecv != nil {
		t.Fatal("SACK blocks kept after the hole was filled")
	}
	c.Read(p.now, make([]byte, 1000), p.out)
	p.out.take()

	// Send side: segment 0 lost, 1-3 SACKed, then everything acknowledged.
	segs := sendSegments(t, p, c, 4)
	una := c.sndUna
	sack := func(l, r int) *wire.TCPOptions {
		o := wire.TCPOptions{NumSACK: 1}
		o.SACK[0] = wire.SACKBlock{Left: segs[l].f.Seq, Right: segs[r].f.Seq.Add(uint32(len(segs[r].payload)))}
		return &o
	}
	p.send(seg{ack: sq(una), opts: sack(1, 1)})
	p.send(seg{ack: sq(una), opts: sack(1, 2)})
	p.send(seg{ack: sq(una), opts: sack(1, 3)})
	if c.sb == nil || c.rack == nil {
		t.Fatalf("scoreboard %v, RACK %v: missing during recovery", c.sb != nil, c.rack != nil)
	}
	p.send(seg{ack: sq(c.sndMax)})
	if c.sb != nil {
		t.Fatal("scoreboard kept after everything was acknowledged")
	}
	c.SetKeepAlive(p.now, true, time.Minute, 0, 0)
	if c.ka == nil || c.nextDeadline().IsZero() {
		t.Fatal("keepalive on but no keepalive timer")
	}
	c.SetKeepAlive(p.now, false, 0, 0, 0)
	// Idle past two sweeps: the empty rings give their storage back.
	for range 3 {
		p.advance(time.Second)
	}
	if c.sndBuf.stored() > 0 || c.rcvBuf.stored() > 0 {
		t.Fatalf("idle connection holds %d + %d bytes of ring storage", c.sndBuf.stored(), c.rcvBuf.stored())
	}
}

// TestInstantRoundTrip: timers kept as instants convert back to the times
// they were set from, keep their order, and zero stays "not set".
func TestInstantRoundTrip(t *testing.T) {
	e := newEndpoints(t, Config{})
	if e.at(time.Time{}) != 0 || !e.time(0).IsZero() {
		t.Fatal("the zero time and the zero instant do not map to each other")
	}
	for _, d := range []time.Duration{0, time.Nanosecond, time.Hour, 10 * 365 * 24 * time.Hour, -time.Minute} {
		at := t0.Add(d)
		if got := e.time(e.at(at)); !got.Equal(at) {
			t.Errorf("t0%+v: back as %v", d, got)
		}
	}
	if !(e.at(t0) < e.at(t0.Add(time.Nanosecond))) {
		t.Error("instants out of order")
	}
	if !e.dueAt(e.at(t0), t0) || e.dueAt(e.at(t0.Add(1)), t0) || e.dueAt(0, t0) {
		t.Error("dueAt wrong at the boundary or for an unset timer")
	}
}
