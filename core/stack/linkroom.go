package stack

import (
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/core/tcp"
)

// Link room: a driver whose link reports how many more frames it takes
// tells the stack with SetLinkRoom before each call, and TCP holds its
// data segments once that room is used up (core/tcp/throttle.go) rather
// than queue frames the link would drop. Each frame queued for TakeFrames
// uses one unit of it.

// SetLinkRoom tells the stack how many more frames the link takes now;
// frames it queues from now on count against it. The caller should keep
// back a few frames of the link's real room for what is never held (ACKs,
// SYN, RST, ARP, UDP). A negative number means no limit, the default.
func (s *Stack) SetLinkRoom(frames int) { s.linkRoom = frames }

// LinkRoom reports what remains of the room given to SetLinkRoom: negative
// for no limit.
func (s *Stack) LinkRoom() int { return s.linkRoom }

// OutputHeld reports whether TCP connections hold data for lack of link
// room. A driver that sees it after a call arranges to run ResumeOutput
// when the link has drained.
func (s *Stack) OutputHeld() bool { return !s.closed && s.tcp.Throttled() }

// ResumeOutput lets the TCP connections that held data for lack of link
// room send it, oldest first, while the room given by SetLinkRoom lasts.
// Every other entry point (Input, Poll, the socket calls) does the same on
// its way out.
func (s *Stack) ResumeOutput(now time.Time) {
	if s.closed {
		return
	}
	s.now = now
	s.finish()
}

// resumeOutput is finish's part: resume held connections if room is left.
func (s *Stack) resumeOutput() {
	if s.linkRoom != 0 && s.tcp.Throttled() {
		s.tcp.ResumeOutput(s.now, s.tcpOut())
	}
}

// useLinkRoom counts one frame queued for the link against the room.
func (s *Stack) useLinkRoom() {
	if s.linkRoom > 0 {
		s.linkRoom--
	}
}

// LinkRoom is the room TCP may use toward remote: packets to ourselves
// never reach the link, so nothing limits them.
func (o *tcpOutput) LinkRoom(remote netip.Addr) int {
	s := (*Stack)(o)
	if remote == s.addr || remote.IsLoopback() {
		return -1
	}
	return s.linkRoom
}

var _ tcp.RoomOutput = (*tcpOutput)(nil)
