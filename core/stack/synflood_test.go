package stack

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// TestSynFloodEndToEnd (issue #7): 100,000 SYNs from random addresses and
// ports reach a listener through Input as real Ethernet frames from the
// router, 10,000 a second of virtual time, while a genuine client (a
// second stack on the same link, 10 ms away each way) connects and moves
// 64 KiB each way. The half-open connections stop at MaxSynBacklog, SYN
// cookies answer the rest, buffer storage and the heap stay bounded, and
// the client is served as if the flood were not there.
func TestSynFloodEndToEnd(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	const (
		seed         = 20261122
		tick         = 10 * time.Millisecond // one-way delay and flood batch period
		perTick      = 100                   // SYNs per tick: 10,000/s
		synBacklog   = 256                   // Config.MaxSynBacklog's default
		transferSize = 64 << 10
	)
	t.Logf("seed %d, %d SYNs", seed, n)
	rng := rand.New(rand.NewPCG(seed, 0x5f10))

	router := netip.MustParseAddr("192.0.2.254")
	macR := wire.MAC{0x02, 0, 0, 0, 0, 0xfe}
	w := resolved(t, func(_, b *Config) { b.Gateway = router })
	ln, err := w.b.ListenTCP(netip.MustParseAddrPort("0.0.0.0:80"), 128)
	if err != nil {
		t.Fatal(err)
	}
	// The router asks for B: B learns its MAC from the request (RFC 826).
	arpReq := make([]byte, wire.ARPLen)
	af := wire.ARPFields{Op: wire.ARPRequest, SenderMAC: macR, SenderIP: router, TargetIP: addrB}
	af.Encode(arpReq)
	w.b.Input(w.now, ethFrame(macR, wire.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, wire.EtherTypeARP, arpReq))
	w.b.TakeFrames(nil)

	// The flood: one reused frame, rewritten per SYN (Input borrows it).
	synFrame := make([]byte, wire.EthernetHeaderLen+wire.IPv4HeaderLen+wire.TCPHeaderLen+20)
	floodSYN := func() {
		var src netip.Addr
		for {
			src = netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
			if !w.b.cfg.Addr.Contains(src) && !src.IsLoopback() && !src.IsPrivate() {
				break
			}
		}
		f := wire.TCPFields{SrcPort: uint16(1024 + rng.IntN(64512)), DstPort: 80, Seq: wire.Seq(rng.Uint32()),
			Flags: wire.FlagSYN, Window: 64240,
			Options: wire.TCPOptions{MSS: 1460, SACKPermitted: true, HasWindowScale: true, WindowScale: 7, HasTimestamps: rng.IntN(2) == 0, TSVal: rng.Uint32()}}
		hl := f.HeaderLen()
		ip := synFrame[wire.EthernetHeaderLen : wire.EthernetHeaderLen+wire.IPv4HeaderLen+hl]
		f.Encode(ip[wire.IPv4HeaderLen:], src, addrB)
		h := wire.IPv4Fields{TotalLen: len(ip), ID: uint16(rng.Uint32()), TTL: 64, Protocol: wire.ProtoTCP, Src: src, Dst: addrB}
		h.Encode(ip)
		eh := wire.EthernetFields{Dst: macB, Src: macR, EtherType: wire.EtherTypeIPv4}
		eh.Encode(synFrame)
		w.b.Input(w.now, synFrame[:wire.EthernetHeaderLen+len(ip)])
	}

	// The wire: what A and B send in one tick arrives in the next. B's
	// answers to the flood go to the router, and are only counted.
	var toA, toB [][]byte
	var synAcksToRouter, framesToRouter int
	pump := func() {
		for _, f := range w.b.TakeFrames(nil) {
			if wire.MAC(f[:6]) == macA {
				toA = append(toA, f)
				continue
			}
			framesToRouter++
			if _, seg := tcpOf(f); seg != nil && seg.Flags().Has(wire.FlagSYN|wire.FlagACK) {
				synAcksToRouter++
			}
		}
		toB = append(toB, w.a.TakeFrames(nil)...)
	}
	deliver := func(frames [][]byte, to *Stack) {
		for _, f := range frames {
			to.Input(w.now, f)
		}
	}

	// The genuine client.
	up, down := pattern(transferSize, 3), pattern(transferSize, 4)
	var ca, cb *TCPConn
	var gotUp, gotDown []byte
	var sentUp, sentDown int
	var connectStart, connectedAt, servedAt time.Time
	buf := make([]byte, 16<<10)
	client := func() {
		if ca == nil || ca.Err() != nil {
			return
		}
		if cb == nil {
			if c, ok := ln.Accept(); ok {
				cb = c
			}
		}
		if cb == nil || !ca.Established() {
			return
		}
		if connectedAt.IsZero() {
			connectedAt = w.now
		}
		if sentUp < len(up) {
			k, err := ca.Write(w.now, up[sentUp:])
			if err != nil {
				t.Fatalf("client Write: %v", err)
			}
			sentUp += k
		}
		if sentDown < len(down) {
			k, err := cb.Write(w.now, down[sentDown:])
			if err != nil {
				t.Fatalf("server Write: %v", err)
			}
			sentDown += k
		}
		for _, r := range []struct {
			c   *TCPConn
			got *[]byte
		}{{cb, &gotUp}, {ca, &gotDown}} {
			for {
				k, err := r.c.Read(w.now, buf)
				if err != nil {
					t.Fatalf("Read at %d: %v", len(*r.got), err)
				}
				if k == 0 {
					break
				}
				*r.got = append(*r.got, buf[:k]...)
			}
		}
		if servedAt.IsZero() && len(gotUp) == len(up) && len(gotDown) == len(down) {
			servedAt = w.now
		}
	}

	heapBefore := heapInUse()
	var heapPeak uint64
	halfOpenPeak := 0
	ticks := n / perTick
	sampleEvery := max(ticks/10, 1)
	floodStart := w.now
	for i := 0; i < ticks || (servedAt.IsZero() && i < ticks+6000); i++ {
		inA, inB := toA, toB
		toA, toB = nil, nil
		if i < ticks {
			// The genuine frames land in the middle of the batch.
			for range perTick / 2 {
				floodSYN()
			}
			deliver(inB, w.b)
			for range perTick - perTick/2 {
				floodSYN()
			}
		} else {
			deliver(inB, w.b)
		}
		deliver(inA, w.a)
		if i == ticks/5 {
			connectStart = w.now
			if ca, err = w.a.ConnectTCP(w.now, netip.AddrPort{}, netip.AddrPortFrom(addrB, 80)); err != nil {
				t.Fatal(err)
			}
		}
		client()
		pump()
		legit := 0
		if cb != nil || ln.l.Pending() > 0 {
			legit = 1
		}
		halfOpenPeak = max(halfOpenPeak, int(w.b.Stats().TCP.Connections)-legit)
		if i%sampleEvery == 0 {
			heapPeak = max(heapPeak, heapInUse())
		}
		w.now = w.now.Add(tick)
		w.a.Poll(w.now)
		w.b.Poll(w.now)
		pump()
	}
	heapAfter := heapInUse()
	heapPeak = max(heapPeak, heapAfter)
	st := w.b.Stats()
	floodEnd := floodStart.Add(time.Duration(ticks) * tick)

	connectTime := connectedAt.Sub(connectStart)
	t.Logf("flood of %d SYNs over %v (virtual): half-open peak %d, connections opened %d, SYN cookies sent %d (validated %d), SYN,ACKs to the router %d (%d frames), listen overflows %d",
		n, floodEnd.Sub(floodStart), halfOpenPeak, st.TCP.ConnectionsOpened, st.TCP.SynCookiesSent, st.TCP.SynCookiesValidated,
		synAcksToRouter, framesToRouter, st.TCP.ListenOverflows)
	t.Logf("TCP budget in use %d, peak %d; live heap %d → peak %d → %d (peak delta %+d, end delta %+d bytes)",
		st.TCP.BudgetInUse, st.TCP.BudgetPeak, heapBefore, heapPeak, heapAfter, int64(heapPeak)-int64(heapBefore), int64(heapAfter)-int64(heapBefore))
	t.Logf("genuine client: connected %v (virtual, 10 ms one-way delay) after its SYN; 64 KiB each way done %v after connecting",
		connectTime, servedAt.Sub(connectedAt))

	if ca == nil || connectedAt.IsZero() {
		t.Fatal("the genuine client never connected")
	}
	if !connectedAt.Before(floodEnd) {
		t.Fatalf("the genuine client connected at %v, after the flood ended at %v", connectedAt.Sub(floodStart), floodEnd.Sub(floodStart))
	}
	if connectTime > time.Second {
		t.Errorf("the genuine client took %v to connect: its SYN or ACK was lost in the flood", connectTime)
	}
	if servedAt.IsZero() || !bytes.Equal(gotUp, up) || !bytes.Equal(gotDown, down) {
		t.Fatalf("transfer: %d/%d bytes up, %d/%d down, intact %v/%v", len(gotUp), len(up), len(gotDown), len(down),
			bytes.Equal(gotUp, up[:len(gotUp)]), bytes.Equal(gotDown, down[:len(gotDown)]))
	}
	if halfOpenPeak > synBacklog || halfOpenPeak == 0 {
		t.Errorf("half-open peak %d, want the SYN queue full and bounded at MaxSynBacklog %d", halfOpenPeak, synBacklog)
	}
	if answered := st.TCP.SynCookiesSent + st.TCP.ConnectionsOpened; answered < uint64(n) {
		t.Errorf("%d SYNs answered (cookies %d + connections %d), want all %d", answered, st.TCP.SynCookiesSent, st.TCP.ConnectionsOpened, n)
	}
	if synAcksToRouter < n {
		t.Errorf("%d SYN,ACKs reached the router, want at least one per SYN (%d)", synAcksToRouter, n)
	}
	// Only the genuine connection holds buffers: 64 KiB each way at most
	// in flight, far below one default 256 KiB buffer pair.
	if st.TCP.BudgetPeak > 512<<10 {
		t.Errorf("TCP buffer budget peaked at %d bytes during the flood", st.TCP.BudgetPeak)
	}
	// 200 bytes per SYN would be 20 MB at 100,000: a leak shows.
	if d := int64(heapPeak) - int64(heapBefore); d > int64(n)*200 {
		t.Errorf("live heap grew %d bytes during %d SYNs", d, n)
	}
	checkInvariant(t, "server", st)
	checkInvariant(t, "client", w.a.Stats())
}
