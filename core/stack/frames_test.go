package stack

import (
	"bytes"
	"net/netip"
	"testing"
)

// pumpFunc moves frames between a world's stacks until none is left.
type pumpFunc func(w *world, snap *[][]byte)

// pumpPlain delivers like world.settle and records a copy of every frame.
func pumpPlain(w *world, snap *[][]byte) { pump(w, snap, false) }

// pumpRecycling is pumpPlain, but once delivered every frame is poisoned
// and given back to the stack that made it, as the netconn driver does
// after the link copied it: frames built later from those buffers must be
// the same bytes as from fresh ones.
func pumpRecycling(w *world, snap *[][]byte) { pump(w, snap, true) }

func pump(w *world, snap *[][]byte, recycle bool) {
	w.t.Helper()
	for range 10000 {
		fa, fb := w.a.TakeFrames(nil), w.b.TakeFrames(nil)
		if len(fa) == 0 && len(fb) == 0 {
			return
		}
		w.recordAndDeliver(snap, fa, fb)
		if !recycle {
			continue
		}
		for _, f := range append(fa, fb...) {
			for i := range f[:cap(f)] {
				f[:cap(f)][i] = 0xa5
			}
		}
		w.a.RecycleFrames(fa)
		w.b.RecycleFrames(fb)
	}
	w.t.Fatal("frames still flowing after 10000 rounds")
}

func (w *world) recordAndDeliver(snap *[][]byte, fa, fb [][]byte) {
	for _, f := range fa {
		*snap = append(*snap, append([]byte{'a'}, f...))
	}
	for _, f := range fb {
		*snap = append(*snap, append([]byte{'b'}, f...))
	}
	w.deliver(true, fa, w.b)
	w.deliver(false, fb, w.a)
}

// frameScenario drives every path that builds a frame: ARP (request,
// reply, the packet queued behind it), UDP with and without fragmentation,
// ICMP echo and port unreachable, delivery to ourselves, and a TCP
// connection with data both ways. It returns the frames in order.
func frameScenario(t *testing.T, recycling bool) [][]byte {
	pump := pumpFunc(pumpPlain)
	if recycling {
		pump = pumpRecycling
	}
	w := newWorld(t, nil)
	var snap [][]byte
	settle := func() { pump(w, &snap) }
	settle() // the gratuitous ARPs

	ub := mustUDP(t, w.b, "0.0.0.0:9")
	ua := mustUDP(t, w.a, "0.0.0.0:7")
	buf := make([]byte, 70000)
	recv := func(u *UDPSocket, want []byte) {
		t.Helper()
		n, _, ok := u.ReadFrom(buf)
		if !ok || !bytes.Equal(buf[:n], want) {
			t.Fatalf("datagram of %d bytes (ok %v) differs from the %d sent", n, ok, len(want))
		}
	}
	// The first datagram waits for ARP; the frame it was built in is
	// spent at once (ARP keeps a copy).
	first := pattern(1000, 1)
	if err := ua.SendTo(w.now, first, netip.AddrPortFrom(addrB, 9)); err != ErrResolving {
		t.Fatalf("first SendTo: %v, want ErrResolving", err)
	}
	settle()
	recv(ub, first)
	for i, n := range []int{0, 1, 100, 1472, 1473, 3000, 9000, 65000} {
		p := pattern(n, i)
		if err := ua.SendTo(w.now, p, netip.AddrPortFrom(addrB, 9)); err != nil {
			t.Fatalf("SendTo %d bytes: %v", n, err)
		}
		q := pattern(n, i+50)
		if err := ub.SendTo(w.now, q, netip.AddrPortFrom(addrA, 7)); err != nil {
			t.Fatalf("SendTo %d bytes: %v", n, err)
		}
		settle()
		recv(ub, p)
		recv(ua, q)
	}
	// To ourselves, small and large (the loop keeps whole frames).
	for i, n := range []int{10, 5000} {
		p := pattern(n, i+9)
		if err := ua.SendTo(w.now, p, netip.AddrPortFrom(addrA, 7)); err != nil {
			t.Fatalf("SendTo self: %v", err)
		}
		if err := ua.SendTo(w.now, p, netip.MustParseAddrPort("127.0.0.1:7")); err != nil {
			t.Fatalf("SendTo loopback: %v", err)
		}
		recv(ua, p)
		recv(ua, p)
	}
	// A closed port: ICMP port unreachable quotes the datagram.
	if err := ua.SendTo(w.now, pattern(200, 3), netip.AddrPortFrom(addrB, 1234)); err != nil {
		t.Fatal(err)
	}
	e, err := w.a.OpenEcho()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Send(w.now, addrB, 1, pattern(3000, 4)); err != nil {
		t.Fatal(err)
	}
	settle()
	if _, seq, n, ok := e.Recv(); !ok || seq != 1 || n != 3000 {
		t.Fatalf("echo reply: seq %d, %d bytes, ok %v", seq, n, ok)
	}

	l, err := w.b.ListenTCP(netip.MustParseAddrPort("0.0.0.0:80"), 0)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := w.a.ConnectTCP(w.now, netip.AddrPort{}, netip.AddrPortFrom(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	settle()
	cb, ok := l.Accept()
	if !ok {
		t.Fatal("nothing to accept")
	}
	up, down := pattern(200_000, 5), pattern(70_000, 6)
	var gotUp, gotDown []byte
	sentUp, sentDown := 0, 0
	for range 10000 {
		if sentUp < len(up) {
			n, err := ca.Write(w.now, up[sentUp:])
			if err != nil {
				t.Fatal(err)
			}
			sentUp += n
		}
		if sentDown < len(down) {
			n, err := cb.Write(w.now, down[sentDown:])
			if err != nil {
				t.Fatal(err)
			}
			sentDown += n
		}
		settle()
		for {
			n, _ := cb.Read(w.now, buf)
			m, _ := ca.Read(w.now, buf[n:])
			gotUp = append(gotUp, buf[:n]...)
			gotDown = append(gotDown, buf[n:n+m]...)
			if n+m == 0 {
				break
			}
		}
		if len(gotUp) == len(up) && len(gotDown) == len(down) {
			break
		}
		if d := earliest(w.a.NextDeadline(), w.b.NextDeadline()); !d.IsZero() && d.After(w.now) {
			w.now = d
		}
		w.a.Poll(w.now)
		w.b.Poll(w.now)
	}
	if !bytes.Equal(gotUp, up) || !bytes.Equal(gotDown, down) {
		t.Fatalf("TCP: %d of %d bytes up, %d of %d down, or they differ", len(gotUp), len(up), len(gotDown), len(down))
	}
	if err := ca.Close(w.now); err != nil {
		t.Fatal(err)
	}
	settle()

	// Frames handed out and never given back are the caller's for good:
	// nothing the stack built later wrote into them.
	if len(w.log) != len(snap) {
		t.Fatalf("log %d frames, snapshots %d", len(w.log), len(snap))
	}
	// (With pumpRecycling they were given back: the log is stale.)
	if !recycling {
		for i, lg := range w.log {
			if !bytes.Equal(lg.frame, snap[i][1:]) {
				t.Fatalf("frame %d changed after it was taken", i)
			}
		}
	}
	return snap
}

// TestTakenFramesStayIntact: without RecycleFrames, every frame taken stays
// as it was when taken, whatever the stack sends afterwards.
func TestTakenFramesStayIntact(t *testing.T) {
	snap := frameScenario(t, false)
	if len(snap) < 100 {
		t.Fatalf("only %d frames: the scenario did not run", len(snap))
	}
}

// TestRecycledFramesMatchFresh: frames built in recycled (poisoned) buffers
// are byte for byte those built in fresh ones.
func TestRecycledFramesMatchFresh(t *testing.T) {
	plain := frameScenario(t, false)
	recycled := frameScenario(t, true)
	if len(plain) != len(recycled) {
		t.Fatalf("%d frames fresh, %d recycled", len(plain), len(recycled))
	}
	for i := range plain {
		if !bytes.Equal(plain[i], recycled[i]) {
			t.Fatalf("frame %d differs:\nfresh    % x\nrecycled % x", i, plain[i][:min(len(plain[i]), 80)], recycled[i][:min(len(recycled[i]), 80)])
		}
	}
}

func TestNewFrameReusesAndBounds(t *testing.T) {
	w := newWorld(t, nil)
	s := w.a
	s.TakeFrames(nil)

	small := s.newFrame(60)
	s.RecycleFrames([][]byte{small})
	if again := s.newFrame(1514); &again[:1][0] != &small[:1][0] {
		t.Error("a small frame buffer was not reused")
	}

	big := s.newFrame(65534)
	s.RecycleFrames([][]byte{big})
	if b := s.newFrame(20000); &b[:1][0] == &big[:1][0] {
		t.Error("a 64 KiB buffer was reused for 20000 bytes (more than half wasted)")
	}
	if b := s.newFrame(40000); &b[:1][0] != &big[:1][0] || len(b) != 40000 {
		t.Error("a 64 KiB buffer was not reused for 40000 bytes")
	}

	// Bounded: an idle stack keeps at most maxFreeSmall small buffers and
	// maxFreeLargeBytes of large ones, however many it is given.
	var many [][]byte
	for range 3 * maxFreeSmall {
		many = append(many, make([]byte, 100, smallFrameCap))
	}
	for range 64 {
		many = append(many, make([]byte, 65534))
	}
	many = append(many, make([]byte, 10)) // an odd size: not kept
	s.RecycleFrames(many)
	if len(s.freeSmall) != maxFreeSmall {
		t.Errorf("%d small buffers kept, want %d", len(s.freeSmall), maxFreeSmall)
	}
	total := 0
	for _, b := range s.freeLarge {
		total += cap(b)
	}
	if total != s.freeLargeBytes || total > maxFreeLargeBytes || total < maxFreeLargeBytes-65534 {
		t.Errorf("large buffers: %d bytes (counted %d), want at most %d and nearly that", total, s.freeLargeBytes, maxFreeLargeBytes)
	}
	// Close lets them go.
	s.Close()
	if len(s.freeSmall)+len(s.freeLarge) != 0 || s.freeLargeBytes != 0 {
		t.Error("Close kept the free lists")
	}
}

// TestSendUDPRecycledDoesNotAllocate: with the frames given back, sending a
// datagram allocates nothing.
func TestSendUDPRecycledDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counting")
	}
	w := resolved(t, nil)
	u := mustUDP(t, w.a, "0.0.0.0:0")
	dst := netip.AddrPortFrom(addrB, 9000)
	payload := pattern(1024, 0)
	frames := make([][]byte, 0, 4)
	send := func() {
		if err := u.SendTo(w.now, payload, dst); err != nil {
			t.Fatal(err)
		}
		frames = w.a.TakeFrames(frames[:0])
		w.a.RecycleFrames(frames)
	}
	send()
	if a := testing.AllocsPerRun(100, send); a != 0 {
		t.Fatalf("%v allocations per SendTo with recycling, want 0", a)
	}
}
