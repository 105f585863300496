package tcp

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// FuzzInput feeds arbitrary segments, addressed to an established
// connection and to a listener, and checks that nothing panics and the
// sequence variables stay ordered.
func FuzzInput(f *testing.F) {
	add := func(fl wire.TCPFlags, seq, ack uint32, opts wire.TCPOptions, data string) {
		tf := wire.TCPFields{SrcPort: 40000, DstPort: 80, Seq: wire.Seq(seq), Ack: wire.Seq(ack), Flags: fl, Window: 1000, Options: opts}
		f.Add([]byte(encode(peerAddr, srvAddr, &tf, []byte(data))), uint8(0))
	}
	add(wire.FlagSYN, 1, 0, synOpts, "")
	add(wire.FlagACK, 1001, 0, wire.TCPOptions{}, "hello")
	add(wire.FlagACK|wire.FlagFIN, 1001, 0, wire.TCPOptions{NumSACK: 2, SACK: [4]wire.SACKBlock{{Left: 5, Right: 9}, {Left: 1, Right: 2}}}, "x")
	add(wire.FlagRST, 1001, 0, wire.TCPOptions{}, "")
	add(wire.FlagSYN|wire.FlagACK, 1000, 0, wire.TCPOptions{HasTimestamps: true, TSVal: 1}, "data")
	f.Fuzz(func(t *testing.T, b []byte, mode uint8) {
		seg, err := wire.ParseTCP(b)
		if err != nil {
			return
		}
		p, c := established(t, Config{}, synOpts)
		c.Write(p.now, []byte("some data in flight"), p.out)
		binary.BigEndian.PutUint16(seg[0:], peerAddr.Port())
		binary.BigEndian.PutUint16(seg[2:], srvAddr.Port())
		if mode&1 != 0 {
			// Relative to the connection, so most segments land in its windows.
			binary.BigEndian.PutUint32(seg[4:], uint32(p.seq)+binary.BigEndian.Uint32(seg[4:])%4096)
			binary.BigEndian.PutUint32(seg[8:], uint32(c.sndUna)+binary.BigEndian.Uint32(seg[8:])%64)
		}
		p.e.Input(p.now, peerAddr.Addr(), srvAddr.Addr(), seg, p.out)
		// A new peer hits the listener.
		binary.BigEndian.PutUint16(seg[0:], 40001)
		p.e.Input(p.now, peerAddr.Addr(), srvAddr.Addr(), seg, p.out)
		for i := 0; i < 5 && !p.e.NextDeadline().IsZero(); i++ {
			p.advance(p.e.NextDeadline().Sub(p.now) + time.Millisecond)
		}
		c.Read(p.now, make([]byte, 100), p.out)
		if c.state != StateClosed {
			if c.sndNxt.GreaterThan(c.sndMax) || c.sndUna.GreaterThan(c.sndNxt) {
				t.Fatalf("snd.una %d snd.nxt %d snd.max %d out of order", c.sndUna, c.sndNxt, c.sndMax)
			}
			if c.rcvBuf.Len() > c.rcvBuf.size {
				t.Fatalf("receive ring overfull")
			}
		}
	})
}
