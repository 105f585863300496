package tcp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// sent is one segment the engine handed to Output, copied.
type sent struct {
	local, remote netip.AddrPort
	f             wire.TCPFields
	payload       []byte
}

func (s sent) String() string { return fmtSeg(s.local, s.remote, &s.f, len(s.payload)) }

// recorder is an Output that keeps every segment.
type recorder struct{ segs []sent }

func (r *recorder) SendTCP(local, remote netip.AddrPort, f *wire.TCPFields, payload []byte) {
	r.segs = append(r.segs, sent{local, remote, *f, append([]byte(nil), payload...)})
}

// take returns and forgets what was sent.
func (r *recorder) take() []sent {
	s := r.segs
	r.segs = nil
	return s
}

// fmtSeg prints a segment the way tcpdump does.
func fmtSeg(src, dst netip.AddrPort, f *wire.TCPFields, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v > %v: Flags [%s], seq %d", src, dst, fmtFlags(f.Flags), uint32(f.Seq))
	if n > 0 {
		fmt.Fprintf(&b, ":%d", uint32(f.Seq)+uint32(n))
	}
	if f.Flags.Has(wire.FlagACK) {
		fmt.Fprintf(&b, ", ack %d", uint32(f.Ack))
	}
	fmt.Fprintf(&b, ", win %d", f.Window)
	o := &f.Options
	var opts []string
	if o.MSS != 0 {
		opts = append(opts, fmt.Sprintf("mss %d", o.MSS))
	}
	if o.SACKPermitted {
		opts = append(opts, "sackOK")
	}
	if o.HasTimestamps {
		opts = append(opts, fmt.Sprintf("TS val %d ecr %d", o.TSVal, o.TSEcr))
	}
	if o.HasWindowScale {
		opts = append(opts, fmt.Sprintf("wscale %d", o.WindowScale))
	}
	for i := 0; i < o.NumSACK; i++ {
		opts = append(opts, fmt.Sprintf("sack %d:%d", uint32(o.SACK[i].Left), uint32(o.SACK[i].Right)))
	}
	if len(opts) > 0 {
		fmt.Fprintf(&b, ", options [%s]", strings.Join(opts, ","))
	}
	fmt.Fprintf(&b, ", length %d", n)
	return b.String()
}

func fmtFlags(f wire.TCPFlags) string {
	var s string
	for _, x := range []struct {
		f wire.TCPFlags
		c string
	}{{wire.FlagSYN, "S"}, {wire.FlagFIN, "F"}, {wire.FlagRST, "R"}, {wire.FlagPSH, "P"}, {wire.FlagACK, "."}} {
		if f.Has(x.f) {
			s += x.c
		}
	}
	return s
}

// encode builds the bytes of a segment as the stack would hand them over.
func encode(src, dst netip.AddrPort, f *wire.TCPFields, payload []byte) wire.TCP {
	b := make([]byte, f.HeaderLen()+len(payload))
	copy(b[f.HeaderLen():], payload)
	f.Encode(b, src.Addr(), dst.Addr())
	t, err := wire.ParseTCP(b)
	if err != nil {
		panic(err)
	}
	return t
}

var (
	t0       = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hostA    = netip.MustParseAddr("10.0.0.1")
	hostB    = netip.MustParseAddr("10.0.0.2")
	srvAddr  = netip.AddrPortFrom(hostA, 80)
	peerAddr = netip.AddrPortFrom(hostB, 40000)
	peerISS  = wire.Seq(1000)
)

// peer is the test's hand-driven remote end: it builds segments from a
// template with overrides and feeds them to the engine under test.
type peer struct {
	t    testing.TB
	e    *Endpoints
	out  *recorder
	now  time.Time
	addr netip.AddrPort // the remote end's address
	us   netip.AddrPort // the engine's address
	seq  wire.Seq       // the peer's next sequence number
	ack  wire.Seq       // what the peer acknowledges
	wnd  uint16
	opts wire.TCPOptions // options on every non-SYN segment
}

// seg is a segment template: zero fields take the peer's current values.
type seg struct {
	seq, ack       *wire.Seq
	flags          wire.TCPFlags
	wnd            *uint16
	opts           *wire.TCPOptions
	data           []byte
	noDefaultFlags bool
}

func sq(s wire.Seq) *wire.Seq { return &s }
func w16(v uint16) *uint16    { return &v }

// send delivers s to the engine and returns what it answered.
func (p *peer) send(s seg) []sent {
	p.t.Helper()
	return p.sendVia(s, p.out)
}

// sendVia is send with the engine answering through out, which must
// record into p.out.
func (p *peer) sendVia(s seg, out Output) []sent {
	p.t.Helper()
	f := wire.TCPFields{SrcPort: p.addr.Port(), DstPort: p.us.Port(), Seq: p.seq, Ack: p.ack, Flags: s.flags, Window: p.wnd, Options: p.opts}
	if s.flags == 0 && !s.noDefaultFlags {
		f.Flags = wire.FlagACK
	}
	if s.seq != nil {
		f.Seq = *s.seq
	}
	if s.ack != nil {
		f.Ack = *s.ack
	}
	if s.wnd != nil {
		f.Window = *s.wnd
	}
	if s.opts != nil {
		f.Options = *s.opts
	}
	p.e.Input(p.now, p.addr.Addr(), p.us.Addr(), encode(p.addr, p.us, &f, s.data), out)
	return p.out.take()
}

// advance moves the clock by d and runs the timers.
func (p *peer) advance(d time.Duration) []sent {
	p.now = p.now.Add(d)
	p.e.Poll(p.now, p.out)
	return p.out.take()
}

// fireNext jumps to the engine's next deadline and runs it.
func (p *peer) fireNext() []sent {
	p.t.Helper()
	d := p.e.NextDeadline()
	if d.IsZero() {
		p.t.Fatalf("no timer pending")
	}
	return p.advance(d.Sub(p.now))
}

func newEndpoints(t testing.TB, cfg Config) *Endpoints {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func one(t testing.TB, segs []sent) sent {
	t.Helper()
	if len(segs) != 1 {
		t.Fatalf("sent %d segments, want 1: %v", len(segs), segs)
	}
	return segs[0]
}

func none(t testing.TB, segs []sent) {
	t.Helper()
	if len(segs) != 0 {
		t.Fatalf("sent %d segments, want none: %v", len(segs), segs)
	}
}

func wantFlags(t testing.TB, s sent, flags wire.TCPFlags) {
	t.Helper()
	if s.f.Flags&^wire.FlagPSH != flags {
		t.Fatalf("flags [%s], want [%s]: %v", fmtFlags(s.f.Flags), fmtFlags(flags), s)
	}
}

// synOpts is what a Linux client offers.
var synOpts = wire.TCPOptions{MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 100, HasWindowScale: true, WindowScale: 7}

// established builds a passive-open connection in ESTABLISHED through the
// handshake of RFC 9293 Figure 6, with the peer offering opts in its SYN.
// peer.opts is then what the peer puts on every segment.
func established(t testing.TB, cfg Config, opts wire.TCPOptions) (*peer, *Conn) {
	t.Helper()
	e := newEndpoints(t, cfg)
	l, err := e.Listen(srvAddr, 8)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, e: e, out: &recorder{}, now: t0, addr: peerAddr, us: srvAddr, seq: peerISS, wnd: 65535}
	synack := one(t, p.send(seg{flags: wire.FlagSYN, opts: &opts}))
	wantFlags(t, synack, wire.FlagSYN|wire.FlagACK)
	p.seq = peerISS + 1
	p.ack = synack.f.Seq + 1
	if opts.HasTimestamps && synack.f.Options.HasTimestamps {
		p.opts.HasTimestamps = true
		p.opts.TSVal = opts.TSVal + 1
		p.opts.TSEcr = synack.f.Options.TSVal
	}
	if opts.HasWindowScale && synack.f.Options.HasWindowScale {
		p.wnd = 1024 // scaled by 1<<opts.WindowScale: 128 KiB for a shift of 7
	}
	none(t, p.send(seg{}))
	c, ok := l.Accept()
	if !ok {
		t.Fatal("no connection to accept after the handshake")
	}
	if c.State() != StateEstablished {
		t.Fatalf("state %v, want ESTABLISHED", c.State())
	}
	return p, c
}
