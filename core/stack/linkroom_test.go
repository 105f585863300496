package stack

import (
	"bytes"
	"net/netip"
	"testing"
)

// TestLinkRoomHoldsTCPData: with SetLinkRoom, TCP queues no more data
// frames than the room allows, acknowledgments still flow, and
// ResumeOutput sends the rest once there is room again; every byte
// arrives.
func TestLinkRoomHoldsTCPData(t *testing.T) {
	w := newWorld(t, nil)
	ca, cb := connected(t, w)
	if got := w.a.LinkRoom(); got >= 0 {
		t.Fatalf("LinkRoom of a new stack = %d, want negative (no limit)", got)
	}
	data := pattern(8*1448, 3) // 8 full segments (MSS 1448 with timestamps), within the initial window
	w.a.SetLinkRoom(3)
	if n, err := ca.Write(w.now, data); n != len(data) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	first := w.a.TakeFrames(nil)
	if len(first) != 3 || w.a.LinkRoom() != 0 || !w.a.OutputHeld() {
		t.Fatalf("room 3: %d frames queued, room left %d, held %v; want 3 0 true", len(first), w.a.LinkRoom(), w.a.OutputHeld())
	}
	// B acknowledges; A, with no room, answers nothing and sends no data.
	w.deliver(true, first, w.b)
	w.now = w.now.Add(w.b.NextDeadline().Sub(w.now)) // B's delayed ACK, if any
	w.b.Poll(w.now)
	acks := w.b.TakeFrames(nil)
	if len(acks) == 0 {
		t.Fatal("B acknowledged nothing")
	}
	w.deliver(false, acks, w.a)
	if f := w.a.TakeFrames(nil); len(f) != 0 {
		t.Fatalf("A queued %d frames with no room", len(f))
	}
	if !w.a.OutputHeld() {
		t.Fatal("A no longer holds its data")
	}
	w.a.SetLinkRoom(100)
	w.a.ResumeOutput(w.now)
	rest := w.a.TakeFrames(nil)
	if len(rest) != 5 || w.a.OutputHeld() || w.a.LinkRoom() != 95 {
		t.Fatalf("resumed: %d frames, held %v, room left %d; want 5 false 95", len(rest), w.a.OutputHeld(), w.a.LinkRoom())
	}
	w.deliver(true, rest, w.b)
	w.settle()
	got := make([]byte, len(data)+1)
	n, err := cb.Read(w.now, got)
	if err != nil || !bytes.Equal(got[:n], data) {
		t.Fatalf("B read %d bytes (%v), not the %d written", n, err, len(data))
	}
	if st := w.a.Stats().TCP; st.LinkHolds == 0 || st.Retransmits != 0 {
		t.Fatalf("LinkHolds=%d Retransmits=%d, want >0 and 0", st.LinkHolds, st.Retransmits)
	}
}

// TestLinkRoomSpares127: packets to ourselves never reach the link, so a
// connection over loopback sends with no link room at all.
func TestLinkRoomSpares127(t *testing.T) {
	w := newWorld(t, nil)
	l, err := w.a.ListenTCP(netip.MustParseAddrPort("0.0.0.0:80"), 0)
	if err != nil {
		t.Fatal(err)
	}
	w.a.TakeFrames(nil) // the gratuitous ARP
	w.a.SetLinkRoom(0)
	c, err := w.a.ConnectTCP(w.now, netip.AddrPort{}, netip.MustParseAddrPort("127.0.0.1:80"))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := l.Accept()
	if !ok {
		t.Fatal("loopback handshake did not complete")
	}
	data := pattern(20000, 5)
	if n, err := c.Write(w.now, data); n != len(data) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	var got []byte
	buf := make([]byte, len(data))
	for range 100 {
		n, _ := s.Read(w.now, buf)
		got = append(got, buf[:n]...)
		if len(got) >= len(data) || w.a.NextDeadline().IsZero() {
			break
		}
		w.now = w.a.NextDeadline() // Nagle's last small segment waits for an ACK
		w.a.Poll(w.now)
	}
	if !bytes.Equal(got, data) || w.a.OutputHeld() {
		t.Fatalf("read %d of %d bytes over loopback with no link room (held %v)", len(got), len(data), w.a.OutputHeld())
	}
	if f := w.a.TakeFrames(nil); len(f) != 0 {
		t.Fatalf("%d frames for the link from a loopback connection", len(f))
	}
}
