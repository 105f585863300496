package stack

import (
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/tcp"
	"github.com/microtcp/microtcp/core/wire"
)

// FuzzStackStateful (issue #7, "fuzzing the whole input path") drives two
// stacks, A (client) and B (server, listener on port 80, UDP socket on
// 9000), joined by an in-memory wire the script controls frame by frame.
// The fuzz input is a script of operations: raw frames, synthesized IP
// packets, mutated copies of real segments of an established connection
// (checksums valid unless the script corrupts them), clock jumps, the
// applications' reads, writes and closes, delivery, loss, duplication and
// reordering of the frames in flight, UDP traffic, new connections and SYN
// storms. After every operation it checks:
//
//   - every inbound frame ended in exactly one terminal counter;
//   - every frame a stack sent parses and carries valid checksums;
//   - TCP buffer storage in use never exceeds the budget;
//   - the accept queue never exceeds the backlog;
//   - the bytes an application read are the peer's stream at those very
//     offsets (the peer writes a known pattern, and synthesized segments
//     carry the same pattern at the offsets their sequence numbers name,
//     so no byte that TCP accepts can legitimately differ);
//   - a UDP datagram from A's socket arrives intact;
//   - a stack whose connection has unacknowledged data has a deadline.
//
// Frames the script invents never claim to come from A's or B's address
// unless they are pattern-consistent: a valid segment with arbitrary data
// from the peer's own address would be a legitimate injection TCP cannot
// detect, not a bug.
func FuzzStackStateful(f *testing.F) {
	for _, s := range statefulSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		h := newFuzzHarness(t)
		h.run(script)
	})
}

// The operations of a script; each is one opcode byte followed by its
// arguments (missing bytes read as zero).
const (
	opRaw      = iota // target, u16 len, bytes: a raw frame
	opIP              // target, proto, frag, src, u16 len, bytes: an IPv4 packet with a valid header
	opSeg             // conn, ctl, u16 seqΔ, u16 ackΔ, flags, u16 window, opts, u16 len, corrupt, u16 bit
	opClock           // u16 milliseconds, scale: advance the clock and poll
	opDeadline        // jump to the earliest deadline and poll
	opWrite           // conn, side, u16 n: the application writes
	opRead            // conn, side, u16 n: the application reads
	opClose           // conn, side, kind: Close, CloseWrite or Abort
	opDeliver         // dir, k: deliver k frames in flight
	opDrop            // dir: lose the oldest frame in flight
	opDup             // dir: duplicate it
	opSwap            // dir: swap the two oldest
	opUDP             // size: A sends a datagram to B:9000
	opConnect         // a new connection from A to B:80
	opSynStorm        // k, u16 seed: k SYNs from other hosts to B:80
	opSettle          // deliver until the wire is quiet
	opAccept          // B accepts (and closes) what its listener queued
	numOps
)

const (
	fuzzBacklog      = 4
	fuzzSynBacklog   = 8
	fuzzMemoryBudget = 1 << 20
	fuzzMaxConns     = 6
	fuzzMaxSteps     = 400
	fuzzMaxInFlight  = 2000
	fuzzUDPPort      = 9000
	fuzzTCPPort      = 80
)

// fuzzConn is one tracked connection; index 0 is A's end, 1 is B's.
type fuzzConn struct {
	id  int
	end [2]*TCPConn
	// iss[s] is side s's initial sequence number: its stream offset 0 is
	// iss[s]+1. Known once s's SYN was seen on the wire.
	iss      [2]wire.Seq
	issKnown [2]bool
	written  [2]uint32 // bytes side s's application wrote
	read     [2]uint32 // bytes side s's application read of the peer's stream
	done     [2]bool   // side s's Read returned EOF or an error
	// sndMax[s] is the highest sequence number side s sent (seq+len),
	// ackMax[s] the highest acknowledgment delivered to s not above it.
	sndMax, ackMax [2]wire.Seq
	sent, acked    [2]bool
	last           [2]wire.TCPFields // the last segment side s really sent: the template
}

type fuzzHarness struct {
	t      *testing.T
	now    time.Time
	st     [2]*Stack
	queue  [2][][]byte // frames in flight sent by side s
	conns  []*fuzzConn
	ln     *TCPListener
	uA, uB *UDPSocket
	udpSeq uint16
	udpLen map[uint16]int // size of each datagram A sent, by sequence
	steps  int
	trace  []string
	// unackedChecks counts the checks that found unacknowledged data, so
	// a test can tell the deadline invariant was exercised.
	unackedChecks int
}

func newFuzzHarness(t *testing.T) *fuzzHarness {
	h := &fuzzHarness{t: t, now: epoch, udpLen: make(map[uint16]int)}
	for i, c := range []Config{config(macA, addrA), config(macB, addrB)} {
		c.TCP.MaxSynBacklog = fuzzSynBacklog
		c.TCP.MemoryBudget = fuzzMemoryBudget
		c.TCP.SendBuffer = 64 << 10
		c.TCP.ReceiveBuffer = 64 << 10
		s, err := New(c, h.now)
		if err != nil {
			t.Fatal(err)
		}
		h.st[i] = s
	}
	var err error
	if h.ln, err = h.st[1].ListenTCP(netip.AddrPortFrom(netip.IPv4Unspecified(), fuzzTCPPort), fuzzBacklog); err != nil {
		t.Fatal(err)
	}
	if h.uB, err = h.st[1].OpenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), fuzzUDPPort)); err != nil {
		t.Fatal(err)
	}
	if h.uA, err = h.st[0].OpenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), 5000)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if !h.connect() {
			t.Fatal("setup: the connection did not establish")
		}
	}
	h.trace = append(h.trace, "setup: 2 connections")
	return h
}

// reader hands out script bytes; past the end it yields zeros.
type reader struct{ b []byte }

func (r *reader) u8() byte {
	if len(r.b) == 0 {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() uint16 { return uint16(r.u8())<<8 | uint16(r.u8()) }

func (r *reader) bytes(n int) []byte {
	n = min(n, len(r.b))
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (h *fuzzHarness) run(script []byte) {
	r := &reader{script}
	for len(r.b) > 0 && h.steps < fuzzMaxSteps {
		h.steps++
		h.step(r)
		h.collect()
		h.check()
	}
	// The end: let everything in flight land and the timers run a while;
	// the invariants must hold there too.
	h.settle()
	for range 50 {
		h.deadline()
		h.settle()
	}
	h.check()
}

func (h *fuzzHarness) fatalf(format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf("step %d (%s): "+format, append([]any{h.steps, h.trace[len(h.trace)-1]}, args...)...)
}

func (h *fuzzHarness) note(s string) {
	h.trace = append(h.trace, s)
}

func (h *fuzzHarness) conn(r *reader) *fuzzConn {
	return h.conns[int(r.u8())%len(h.conns)]
}

func (h *fuzzHarness) step(r *reader) {
	switch op := int(r.u8()) % numOps; op {
	case opRaw:
		to := int(r.u8() & 1)
		frame := append([]byte(nil), r.bytes(int(r.u16())%1600)...)
		h.note("raw frame")
		h.input(to, notFromPeers(frame))
	case opIP:
		h.note("ip packet")
		h.inputIP(r)
	case opSeg:
		h.note("segment")
		h.inputSegment(r)
	case opClock:
		d := time.Duration(r.u16()) * time.Millisecond
		if r.u8()&1 == 1 {
			d *= 64
		}
		h.note("clock +" + d.String())
		h.now = h.now.Add(d)
		h.poll()
	case opDeadline:
		h.note("deadline")
		h.deadline()
	case opWrite:
		c, side, n := h.conn(r), int(r.u8()&1), int(r.u16())
		h.note("write")
		h.write(c, side, n)
	case opRead:
		c, side, n := h.conn(r), int(r.u8()&1), int(r.u16())
		h.note("read")
		h.readConn(c, side, n)
	case opClose:
		c, side, kind := h.conn(r), int(r.u8()&1), r.u8()%3
		h.note("close")
		switch kind {
		case 0:
			_ = c.end[side].Close(h.now)
		case 1:
			_ = c.end[side].CloseWrite(h.now)
		case 2:
			c.end[side].Abort(h.now)
		}
	case opDeliver:
		dir, k := int(r.u8()&1), int(r.u8()%16)+1
		h.note("deliver")
		for range k {
			h.deliverOne(dir)
		}
	case opDrop:
		dir := int(r.u8() & 1)
		h.note("drop")
		if q := h.queue[dir]; len(q) > 0 {
			h.queue[dir] = q[1:]
		}
	case opDup:
		dir := int(r.u8() & 1)
		h.note("duplicate")
		if q := h.queue[dir]; len(q) > 0 {
			h.queue[dir] = append([][]byte{q[0]}, q...)
		}
	case opSwap:
		dir := int(r.u8() & 1)
		h.note("swap")
		if q := h.queue[dir]; len(q) > 1 {
			q[0], q[1] = q[1], q[0]
		}
	case opUDP:
		h.note("udp")
		h.sendUDP(int(r.u8()) * 5)
	case opConnect:
		h.note("connect")
		if len(h.conns) < fuzzMaxConns {
			h.connect()
		}
	case opSynStorm:
		k, seed := int(r.u8())+1, r.u16()
		h.note("syn storm")
		h.synStorm(k, seed)
	case opSettle:
		h.note("settle")
		h.settle()
	case opAccept:
		h.note("accept")
		h.acceptStrays()
	}
}

// notFromPeers rewrites an IPv4 source address that claims to be A or B
// to a third host: only frames the harness builds may speak for them.
func notFromPeers(frame []byte) []byte {
	const src = wire.EthernetHeaderLen + 12
	if len(frame) < src+4 || wire.EtherType(binary.BigEndian.Uint16(frame[12:])) != wire.EtherTypeIPv4 {
		return frame
	}
	a := netip.AddrFrom4([4]byte(frame[src : src+4]))
	if a == addrA || a == addrB {
		frame[src+3] ^= 0x80
	}
	return frame
}

// streamByte is byte off of the stream side s writes on connection id.
func streamByte(id, side int, off uint32) byte {
	x := off*2654435761 + uint32(id)*40503 + uint32(side)*97
	return byte(x>>13) ^ byte(off>>8)
}

func fillStream(b []byte, id, side int, off uint32) {
	for i := range b {
		b[i] = streamByte(id, side, off+uint32(i))
	}
}

// input hands one frame to side to, recording the acknowledgments it
// carries for the deadline check.
func (h *fuzzHarness) input(to int, frame []byte) {
	if ip, seg := tcpOf(frame); seg != nil {
		if c, from := h.connOf(ip, seg); c != nil && from != to && seg.Flags().Has(wire.FlagACK) && c.sent[to] {
			if a := seg.Ack(); a.LessThanEq(c.sndMax[to]) && (!c.acked[to] || a.GreaterThan(c.ackMax[to])) {
				c.ackMax[to], c.acked[to] = a, true
			}
		}
	}
	h.st[to].Input(h.now, frame)
}

// connOf finds the tracked connection a segment between A and B belongs
// to, and which side sent it.
func (h *fuzzHarness) connOf(ip wire.IPv4, seg wire.TCP) (*fuzzConn, int) {
	var aPort uint16
	var from int
	switch {
	case ip.Src() == addrA && ip.Dst() == addrB && seg.DstPort() == fuzzTCPPort:
		aPort, from = seg.SrcPort(), 0
	case ip.Src() == addrB && ip.Dst() == addrA && seg.SrcPort() == fuzzTCPPort:
		aPort, from = seg.DstPort(), 1
	default:
		return nil, 0
	}
	for _, c := range h.conns {
		if c.end[0].LocalAddr().Port() == aPort {
			return c, from
		}
	}
	return nil, 0
}

// collect takes the frames both stacks sent, checks them, learns from the
// TCP ones, and puts them in flight.
func (h *fuzzHarness) collect() {
	for side, s := range h.st {
		for _, frame := range s.TakeFrames(nil) {
			h.checkOutbound(side, frame)
			h.learn(frame)
			if len(h.queue[side]) >= fuzzMaxInFlight {
				h.queue[side] = h.queue[side][1:] // the wire's queue overflows
			}
			h.queue[side] = append(h.queue[side], frame)
		}
	}
}

// learn records what a stack sent on a tracked connection.
func (h *fuzzHarness) learn(frame []byte) {
	ip, seg := tcpOf(frame)
	if seg == nil {
		return
	}
	c, from := h.connOf(ip, seg)
	if c == nil {
		return
	}
	if seg.Flags().Has(wire.FlagSYN) && !c.issKnown[from] {
		c.iss[from], c.issKnown[from] = seg.Seq(), true
	}
	if seg.Flags().Has(wire.FlagRST) {
		return
	}
	if end := seg.Seq().Add(seg.SegLen()); !c.sent[from] || end.GreaterThan(c.sndMax[from]) {
		c.sndMax[from], c.sent[from] = end, true
	}
	opts, _ := seg.ParsedOptions()
	c.last[from] = wire.TCPFields{
		SrcPort: seg.SrcPort(), DstPort: seg.DstPort(), Seq: seg.Seq(), Ack: seg.Ack(),
		Flags: seg.Flags(), Window: seg.Window(), Options: opts,
	}
}

// checkOutbound: whatever a stack sends parses and carries valid checksums.
func (h *fuzzHarness) checkOutbound(side int, frame []byte) {
	eth, err := wire.ParseEthernet(frame)
	if err != nil {
		h.fatalf("stack %d sent a bad frame: %v", side, err)
	}
	if eth.EtherType() != wire.EtherTypeIPv4 {
		return
	}
	ip, err := wire.ParseIPv4(eth.Payload())
	if err != nil || !ip.ChecksumValid() {
		h.fatalf("stack %d sent a bad IPv4 packet (%v): % x", side, err, eth.Payload())
	}
	if ip.IsFragment() {
		return
	}
	switch ip.Protocol() {
	case wire.ProtoTCP:
		seg, err := wire.ParseTCP(ip.Payload())
		if err != nil || !seg.ChecksumValid(ip.Src(), ip.Dst()) {
			h.fatalf("stack %d sent a bad TCP segment (%v): % x", side, err, ip.Payload())
		}
	case wire.ProtoUDP:
		u, err := wire.ParseUDP(ip.Payload())
		if err != nil || !u.ChecksumValid(ip.Src(), ip.Dst()) {
			h.fatalf("stack %d sent a bad UDP datagram (%v): % x", side, err, ip.Payload())
		}
	}
}

func (h *fuzzHarness) deliverOne(dir int) bool {
	q := h.queue[dir]
	if len(q) == 0 {
		return false
	}
	frame := q[0]
	q[0] = nil
	h.queue[dir] = q[1:]
	h.input(1-dir, frame)
	return true
}

// settle delivers every frame in flight, and what that provokes, without
// moving the clock. Two stacks that never stop answering each other at a
// fixed time (an ACK war) fail here.
func (h *fuzzHarness) settle() {
	for range 10000 {
		h.collect()
		if len(h.queue[0]) == 0 && len(h.queue[1]) == 0 {
			return
		}
		for dir := range h.queue {
			for n := len(h.queue[dir]); n > 0; n-- {
				h.deliverOne(dir)
			}
		}
	}
	h.fatalf("frames still flowing after 10000 rounds at a fixed time: an ACK loop? A: %+v B: %+v",
		h.st[0].Stats().TCP.Stats, h.st[1].Stats().TCP.Stats)
}

func (h *fuzzHarness) poll() {
	for _, s := range h.st {
		s.Poll(h.now)
	}
}

func (h *fuzzHarness) deadline() {
	d := earliest(h.st[0].NextDeadline(), h.st[1].NextDeadline())
	if d.IsZero() {
		return
	}
	if d.After(h.now) {
		h.now = d
	}
	h.poll()
	h.collect()
}

// connect opens a connection from A and, with the wire otherwise quiet,
// completes it; it is tracked when both ends are established.
func (h *fuzzHarness) connect() bool {
	h.settle()
	ca, err := h.st[0].ConnectTCP(h.now, netip.AddrPort{}, netip.AddrPortFrom(addrB, fuzzTCPPort))
	if err != nil {
		return false
	}
	c := &fuzzConn{id: len(h.conns)}
	c.end[0] = ca
	h.conns = append(h.conns, c)
	h.settle()
	for {
		cb, ok := h.ln.Accept()
		if !ok {
			break
		}
		if cb.RemoteAddr() == ca.LocalAddr() {
			c.end[1] = cb
		} else {
			cb.Abort(h.now)
		}
	}
	h.collect()
	if c.end[1] == nil || !ca.Established() || !c.issKnown[0] || !c.issKnown[1] {
		// Not tracked: the listener was full or the budget short.
		h.conns = h.conns[:len(h.conns)-1]
		ca.Abort(h.now)
		h.collect()
		return false
	}
	return true
}

func (h *fuzzHarness) acceptStrays() {
	for {
		cb, ok := h.ln.Accept()
		if !ok {
			return
		}
		_ = cb.Close(h.now)
	}
}

func (h *fuzzHarness) write(c *fuzzConn, side, n int) {
	p := make([]byte, n)
	fillStream(p, c.id, side, c.written[side])
	m, err := c.end[side].Write(h.now, p)
	if m < 0 || m > n || (err != nil && m != 0) {
		h.fatalf("conn %d side %d: Write(%d) = %d, %v", c.id, side, n, m, err)
	}
	c.written[side] += uint32(m)
}

func (h *fuzzHarness) readConn(c *fuzzConn, side, n int) {
	buf := make([]byte, n)
	m, err := c.end[side].Read(h.now, buf)
	if m < 0 || m > n {
		h.fatalf("conn %d side %d: Read(%d) = %d", c.id, side, n, m)
	}
	peer := 1 - side
	for i, b := range buf[:m] {
		off := c.read[side] + uint32(i)
		if want := streamByte(c.id, peer, off); b != want {
			h.fatalf("conn %d: side %d read %#02x at stream offset %d, the peer's byte there is %#02x (peer wrote %d bytes)",
				c.id, side, b, off, want, c.written[peer])
		}
	}
	c.read[side] += uint32(m)
	if err != nil {
		if m != 0 {
			h.fatalf("conn %d side %d: Read returned %d bytes and %v", c.id, side, m, err)
		}
		if c.done[side] && errors.Is(err, io.EOF) {
			return
		}
		c.done[side] = true
	}
}

func (h *fuzzHarness) sendUDP(size int) {
	h.udpSeq++
	p := make([]byte, max(size, 2))
	binary.BigEndian.PutUint16(p, h.udpSeq)
	fillStream(p[2:], int(h.udpSeq), 2, 0)
	h.udpLen[h.udpSeq] = len(p)
	_ = h.uA.SendTo(h.now, p, netip.AddrPortFrom(addrB, fuzzUDPPort))
}

// checkUDP reads B's socket: a datagram from A's socket is one A sent,
// whole.
func (h *fuzzHarness) checkUDP() {
	buf := make([]byte, 2000)
	for {
		n, from, ok := h.uB.ReadFrom(buf)
		if !ok {
			return
		}
		if from != netip.AddrPortFrom(addrA, 5000) {
			continue
		}
		if n < 2 {
			h.fatalf("a %d-byte datagram from A's socket, which sends at least 2", n)
		}
		seq := binary.BigEndian.Uint16(buf)
		want := make([]byte, h.udpLen[seq])
		if len(want) < 2 {
			h.fatalf("datagram %d from A's socket was never sent", seq)
		}
		binary.BigEndian.PutUint16(want, seq)
		fillStream(want[2:], int(seq), 2, 0)
		if string(buf[:n]) != string(want) {
			h.fatalf("datagram %d arrived altered: % x, sent % x", seq, buf[:n], want)
		}
	}
}

// inputIP builds an IPv4 packet with a valid header from a third host.
func (h *fuzzHarness) inputIP(r *reader) {
	to := int(r.u8() & 1)
	proto := [...]wire.IPProtocol{wire.ProtoTCP, wire.ProtoUDP, wire.ProtoICMP, 0}[r.u8()%4]
	frag, srcSel := r.u8(), r.u8()
	body := r.bytes(int(r.u16()) % 1500)
	if proto == 0 {
		proto = wire.IPProtocol(srcSel)
	}
	src := netip.AddrFrom4([4]byte{192, 0, 2, 3 + srcSel%250})
	if srcSel&0x80 != 0 {
		src = netip.AddrFrom4([4]byte{198, 51, 100, srcSel})
	}
	dst := h.st[to].Addr()
	if frag&0x40 != 0 {
		dst = netip.AddrFrom4([4]byte{192, 0, 2, 255})
	}
	ip := make([]byte, wire.IPv4HeaderLen+len(body))
	copy(ip[wire.IPv4HeaderLen:], body)
	// Fix the transport checksum unless the script says not to, so the
	// packet reaches the sockets and the TCP engine.
	if frag&0x20 == 0 {
		t := ip[wire.IPv4HeaderLen:]
		switch {
		case proto == wire.ProtoTCP && len(t) >= wire.TCPHeaderLen:
			t[16], t[17] = 0, 0
			binary.BigEndian.PutUint16(t[16:], wire.Fold(wire.Sum(t, wire.PseudoHeaderSum(wire.ProtoTCP, src, dst, len(t)))))
		case proto == wire.ProtoUDP && len(t) >= wire.UDPHeaderLen:
			binary.BigEndian.PutUint16(t[4:], uint16(len(t)))
			t[6], t[7] = 0, 0
			binary.BigEndian.PutUint16(t[6:], wire.Fold(wire.Sum(t, wire.PseudoHeaderSum(wire.ProtoUDP, src, dst, len(t)))))
		case proto == wire.ProtoICMP && len(t) >= wire.ICMPv4HeaderLen:
			t[2], t[3] = 0, 0
			binary.BigEndian.PutUint16(t[2:], wire.Fold(wire.Sum(t, 0)))
		}
	}
	hdr := wire.IPv4Fields{TotalLen: len(ip), ID: uint16(srcSel) << 8, TTL: 64, Protocol: proto, Src: src, Dst: dst,
		MoreFragments: frag&1 != 0, FragmentOffset: 8 * int(frag>>1&0xf)}
	hdr.Encode(ip)
	dstMAC := h.st[to].cfg.MAC
	if frag&0x40 != 0 {
		dstMAC = wire.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	}
	h.input(to, ethFrame(wire.MAC{0x02, 0, 0, 0, 0, 0x77}, dstMAC, wire.EtherTypeIPv4, ip))
}

// inputSegment injects a mutated copy of the last real segment of a
// tracked connection, carrying the sender's stream bytes at the offsets its
// sequence number names.
func (h *fuzzHarness) inputSegment(r *reader) {
	c := h.conn(r)
	ctl := r.u8()
	from := int(ctl & 1)
	to := 1 - from
	seqD, ackD := int32(int16(r.u16())), int32(int16(r.u16()))
	flagsB, win, optSel := r.u8(), r.u16(), r.u8()
	plen := int(r.u16()) % 1461
	corrupt, bit := r.u8(), r.u16()
	if !c.issKnown[from] || !c.sent[from] {
		return
	}
	f := c.last[from]
	if ctl&2 != 0 {
		seqD *= 1024
	}
	if ctl&4 != 0 {
		ackD *= 1024
	}
	f.Seq = f.Seq.Add(uint32(seqD))
	f.Ack = f.Ack.Add(uint32(ackD))
	if flagsB&0x80 == 0 {
		f.Flags = wire.TCPFlags(flagsB & 0x3f)
	}
	if ctl&8 == 0 {
		f.Window = win
	}
	if ctl&16 != 0 {
		plen = 0
	}
	// Options: keep the template's (timestamps, perhaps SACK) unless told
	// otherwise, then bend them.
	if optSel&1 != 0 {
		f.Options = wire.TCPOptions{}
	}
	if optSel&2 != 0 && f.Options.HasTimestamps {
		f.Options.TSVal += uint32(int32(int8(optSel)) * 1000)
	}
	if optSel&4 != 0 {
		f.Options.NumSACK = 1
		f.Options.SACK[0] = wire.SACKBlock{Left: f.Ack.Add(uint32(optSel) * 100), Right: f.Ack.Add(uint32(optSel)*100 + uint32(plen) + 1)}
	}
	if optSel&8 != 0 {
		f.Options.MSS = uint16(optSel) * 3
	}
	if optSel&16 != 0 {
		f.Options.HasWindowScale, f.Options.WindowScale = true, optSel>>5
	}
	if f.Options.Len() > 40 {
		f.Options.NumSACK = 0
	}
	// The payload is the sender's stream at its offsets: data follows the
	// SYN when there is one.
	start := f.Seq
	if f.Flags.Has(wire.FlagSYN) {
		start = start.Add(1)
	}
	off := uint32(start.Sub(c.iss[from].Add(1)))
	hl := f.HeaderLen()
	seg := make([]byte, hl+plen)
	fillStream(seg[hl:], c.id, from, off)
	src, dst := h.st[from].Addr(), h.st[to].Addr()
	f.Encode(seg, src, dst)
	if corrupt%4 == 0 {
		// A flipped bit: the checksum must catch it whatever it hit.
		b := int(bit) % (len(seg) * 8)
		seg[b/8] ^= 1 << (b % 8)
	}
	h.input(to, ethFrame(h.st[from].cfg.MAC, h.st[to].cfg.MAC, wire.EtherTypeIPv4, ipPacket(wire.ProtoTCP, src, dst, seg)))
}

// synStorm sends k SYNs to B's listener from other hosts, on-link (B
// resolves them and waits) or beyond a router B does not have.
func (h *fuzzHarness) synStorm(k int, seed uint16) {
	for i := range k {
		x := uint32(seed)*2654435761 + uint32(i)*40503
		src := netip.AddrFrom4([4]byte{192, 0, 2, byte(3 + x%250)})
		if x&0x100 != 0 {
			src = netip.AddrFrom4([4]byte{203, 0, 113, byte(x >> 9)})
		}
		f := wire.TCPFields{SrcPort: uint16(1024 + x>>16%60000), DstPort: fuzzTCPPort, Seq: wire.Seq(x * 7),
			Flags: wire.FlagSYN, Window: 65535, Options: wire.TCPOptions{MSS: 1460, SACKPermitted: x&2 != 0}}
		seg := make([]byte, f.HeaderLen())
		f.Encode(seg, src, addrB)
		h.input(1, ethFrame(wire.MAC{0x02, 0, 0, 0, 0, 0x66}, macB, wire.EtherTypeIPv4, ipPacket(wire.ProtoTCP, src, addrB, seg)))
	}
}

// check asserts the invariants of the package comment.
func (h *fuzzHarness) check() {
	h.t.Helper()
	for side, s := range h.st {
		st := s.Stats()
		if in, term := st.Link.FramesIn+st.IPv4.LoopbackIn, terminals(st); in != term {
			h.fatalf("stack %d: frames in %d != terminal counters %d: %+v", side, in, term, st)
		}
		if st.TCP.BudgetInUse > fuzzMemoryBudget || st.TCP.BudgetPeak > fuzzMemoryBudget {
			h.fatalf("stack %d: TCP buffer storage %d (peak %d) over the budget %d", side, st.TCP.BudgetInUse, st.TCP.BudgetPeak, fuzzMemoryBudget)
		}
	}
	if p := h.ln.l.Pending(); p > fuzzBacklog {
		h.fatalf("accept queue %d > backlog %d", p, fuzzBacklog)
	}
	h.checkUDP()
	for _, c := range h.conns {
		for side, e := range c.end {
			if e.State() == tcp.StateClosed || e.Err() != nil || !c.sent[side] {
				continue
			}
			if c.acked[side] && !c.ackMax[side].LessThan(c.sndMax[side]) {
				continue
			}
			h.unackedChecks++
			if h.st[side].NextDeadline().IsZero() {
				h.fatalf("conn %d side %d in %v: sent up to %d, acknowledged %d (%v), but no deadline: nothing will retransmit",
					c.id, side, e.State(), c.sndMax[side], c.ackMax[side], c.acked[side])
			}
		}
	}
}

// script builds seed scripts.
type script []byte

func (s script) op(op int, args ...byte) script { return append(append(s, byte(op)), args...) }

func (s script) u16(op int, pre []byte, v uint16, post ...byte) script {
	s = s.op(op, pre...)
	s = append(s, byte(v>>8), byte(v))
	return append(s, post...)
}

func (s script) write(conn, side byte, n uint16) script { return s.u16(opWrite, []byte{conn, side}, n) }
func (s script) read(conn, side byte, n uint16) script  { return s.u16(opRead, []byte{conn, side}, n) }
func (s script) clock(ms uint16) script                 { return s.u16(opClock, nil, ms, 0) }

// seg injects a segment on conn from side (0 = A) with the template's
// flags unless flags is given (bit 7 clear).
func (s script) seg(conn, from byte, seqD, ackD int16, flags byte, plen uint16, corrupt bool) script {
	s = s.op(opSeg, conn, from|8)
	s = append(s, byte(uint16(seqD)>>8), byte(seqD), byte(uint16(ackD)>>8), byte(ackD), flags, 0, 0, 0)
	s = append(s, byte(plen>>8), byte(plen))
	c := byte(1)
	if corrupt {
		c = 0
	}
	return append(s, c, 0, 77)
}

func statefulSeeds() [][]byte {
	const (
		fin = byte(wire.FlagFIN | wire.FlagACK)
		rst = byte(wire.FlagRST)
		syn = byte(wire.FlagSYN)
		ack = byte(wire.FlagACK | wire.FlagPSH)
		tpl = 0x80
	)
	var seeds [][]byte
	// Handshake and data both ways, then an orderly close.
	seeds = append(seeds, script{}.
		write(0, 0, 3000).op(opSettle).read(0, 1, 4000).
		write(0, 1, 5000).op(opSettle).read(0, 0, 6000).
		op(opClose, 0, 0, 0).op(opSettle).read(0, 1, 10).op(opClose, 0, 1, 0).
		op(opSettle).clock(61000).op(opDeadline).op(opSettle))
	// RST storm: resets at and around the window, valid and corrupted.
	rs := script{}.write(1, 0, 2000).op(opSettle)
	for i, d := range []int16{0, 1, -1, 100, 3000, -3000, 20000, 0} {
		rs = rs.seg(byte(i%2), byte(i%2), d, 0, rst, 0, i == 7)
	}
	seeds = append(seeds, rs.op(opSettle).read(1, 1, 3000).write(0, 0, 100).op(opSettle))
	// SYN storm: the SYN queue fills, cookies answer, a new client still
	// connects and moves data; stray connections are accepted.
	seeds = append(seeds, script{}.
		u16(opSynStorm, []byte{200}, 1).op(opConnect).op(opAccept).
		write(2, 0, 1000).op(opSettle).read(2, 1, 1000).
		u16(opSynStorm, []byte{255}, 2).seg(0, 0, 0, 0, syn, 0, false).op(opSettle).
		op(opAccept).clock(65000).op(opDeadline).op(opSettle))
	// Out of order: drops, swaps and duplicates, then injected in-window
	// data ahead of what was sent, and the retransmissions fill the hole.
	seeds = append(seeds, script{}.
		write(0, 0, 20000).op(opDrop, 0).op(opSwap, 0).op(opDup, 0).op(opDeliver, 0, 3).
		seg(0, 0, 4000, 0, tpl, 1000, false).seg(0, 0, 8000, 0, ack, 1460, false).
		op(opDeliver, 0, 15).op(opDeliver, 1, 15).op(opDeadline).op(opSettle).
		read(0, 1, 30000).op(opDeadline).op(opSettle).read(0, 1, 30000))
	// FIN: an injected FIN in window, a corrupted one, data after it.
	seeds = append(seeds, script{}.
		write(1, 1, 500).op(opSettle).
		seg(1, 0, 0, 0, fin, 0, true).seg(1, 0, 0, 0, fin, 10, false).
		op(opSettle).read(1, 1, 100).read(1, 1, 100).write(1, 1, 100).op(opClose, 1, 1, 0).
		op(opSettle).read(1, 0, 1000).op(opClose, 1, 0, 1).clock(1000).op(opDeadline).op(opSettle))
	// Raw and IP-level garbage, UDP both intact and spoofed, fragments.
	seeds = append(seeds, script{}.
		op(opRaw, 1, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 8, 0, 0x45, 0, 0, 20, 0, 0).
		op(opUDP, 40).op(opUDP, 200).op(opDeliver, 0, 2).
		u16(opIP, []byte{1, 1, 0, 5}, 40, make([]byte, 40)...).
		u16(opIP, []byte{1, 2, 0x20, 9}, 12, 8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4).
		u16(opIP, []byte{1, 1, 1, 7}, 24, make([]byte, 24)...).
		u16(opIP, []byte{0, 0, 0, 0x90}, 20, 0, 80, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2, 0xff, 0xff).
		op(opSettle).clock(31000).op(opDeadline).op(opSettle))
	return seeds
}

// TestStatefulSeedsReachDeepStates keeps the seed scripts honest: each
// reaches the state it was written for, so the fuzzer starts from there.
func TestStatefulSeedsReachDeepStates(t *testing.T) {
	seeds := statefulSeeds()
	for i, want := range []struct {
		name string
		ok   func(h *fuzzHarness) bool
	}{
		{"data both ways", func(h *fuzzHarness) bool { return h.conns[0].read[1] == 3000 && h.conns[0].read[0] > 0 }},
		{"RST storm resets", func(h *fuzzHarness) bool {
			return errors.Is(h.conns[0].end[0].Err(), syscall.ECONNRESET) || errors.Is(h.conns[0].end[1].Err(), syscall.ECONNRESET)
		}},
		{"SYN storm: cookies, and a new client served", func(h *fuzzHarness) bool {
			return h.st[1].Stats().TCP.SynCookiesSent > 0 && len(h.conns) == 3 && h.conns[2].read[1] == 1000
		}},
		{"out of order recovered", func(h *fuzzHarness) bool {
			st := h.st[0].Stats().TCP
			return h.conns[0].read[1] == 20000 && st.Retransmits > 0 && h.unackedChecks > 0
		}},
		{"injected FIN is EOF", func(h *fuzzHarness) bool { return h.conns[1].done[1] && h.conns[1].read[1] == 10 }},
		{"UDP delivered and checked", func(h *fuzzHarness) bool { return h.st[1].Stats().UDP.InDatagrams >= 2 }},
	} {
		h := newFuzzHarness(t)
		h.run(seeds[i])
		if !want.ok(h) {
			for _, c := range h.conns {
				t.Logf("conn %d: %v/%v, errors %v/%v, written %v, read %v", c.id, c.end[0].State(), c.end[1].State(), c.end[0].Err(), c.end[1].Err(), c.written, c.read)
			}
			t.Errorf("seed %d does not reach %q: A %+v, B %+v", i, want.name, h.st[0].Stats().TCP, h.st[1].Stats().TCP)
		}
	}
}

// TestACKLoopAfterSpoofedSYN is the smallest form of the first crasher
// FuzzStackStateful found (testdata/fuzz/FuzzStackStateful/25650881d3edf38b):
// B has forgotten a connection that A still has (B aborted it and the RST
// was lost), and one SYN that spoofs A's address and port, with any
// sequence number, reaches B's listener. B answers from SYN-RECEIVED with
// a SYN,ACK whose sequence number A finds unacceptable, so A sends a
// duplicate ACK (RFC 9293 §3.10.7.4, first check); that ACK is unacceptable
// to B in SYN-RECEIVED, which resends its SYN,ACK; and so on. Unbounded,
// the two hosts would exchange segments as fast as the link carries them,
// at no cost to the attacker beyond one packet. Like Linux
// (tcp_invalid_ratelimit), core/tcp answers out-of-window segments at most
// once per 500 ms per connection (core/tcp/oow.go), which ends the loop.
func TestACKLoopAfterSpoofedSYN(t *testing.T) {
	w := resolved(t, nil)
	ca, cb := connected(t, w)
	// B forgets the connection; its RST is lost.
	w.filter = func(fromA bool, _ []byte) bool { return fromA }
	cb.Abort(w.now)
	w.settle()
	w.filter = nil
	// The spoofed SYN: A's four-tuple, an arbitrary sequence number.
	f := wire.TCPFields{SrcPort: ca.LocalAddr().Port(), DstPort: 80, Seq: 12345, Flags: wire.FlagSYN, Window: 65535,
		Options: wire.TCPOptions{MSS: 1460}}
	seg := make([]byte, f.HeaderLen())
	f.Encode(seg, addrA, addrB)
	w.b.Input(w.now, ethFrame(macA, macB, wire.EtherTypeIPv4, ipPacket(wire.ProtoTCP, addrA, addrB, seg)))
	exchanged := 0
	for range 1000 {
		fa, fb := w.a.TakeFrames(nil), w.b.TakeFrames(nil)
		if len(fa)+len(fb) == 0 {
			break
		}
		exchanged += len(fa) + len(fb)
		w.deliver(true, fa, w.b)
		w.deliver(false, fb, w.a)
	}
	// A few segments settle it: B's SYN,ACK, A's ACK, B's RST or one
	// more SYN,ACK. Hundreds at one instant is a loop.
	if exchanged > 10 {
		t.Fatalf("%d segments exchanged at one instant after one spoofed SYN: an ACK loop (A %+v, B %+v)",
			exchanged, w.a.Stats().TCP.Stats, w.b.Stats().TCP.Stats)
	}
}
