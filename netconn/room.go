package netconn

import (
	"sync"
	"sync/atomic"
	"time"
)

// RoomReporter is a link that can tell how many more frames it takes now
// and call back when room comes back (link.PipeEnd implements it). With
// it, the driver gives the stack the link's room before every call, so TCP
// holds data segments the link would drop and sends them when the link
// has drained. Links without it run without that limit.
type RoomReporter interface {
	// Room reports how many more frames the link takes now.
	Room() int
	// WaitRoom returns true if room is short, having arranged for the
	// NotifyRoom function to run once when it comes back; false if there
	// is room now.
	WaitRoom() bool
	// NotifyRoom registers the callback. It may run while the peer's
	// reader holds locks, so it must not block or take the driver lock.
	NotifyRoom(fn func())
}

// linkRoom is the driver's link-room state.
type linkRoom struct {
	link RoomReporter // the link as a RoomReporter, or nil
	// reserve is what of the link's room the stack may not fill with
	// data: room for the frames TCP never holds (ACKs, SYN, RST, the
	// resend of a loss) produced in the same call, such as the ACKs a
	// read batch owes.
	reserve int
	// unwritten counts frames taken from the stack and not yet written:
	// the link's Room does not show them yet.
	unwritten atomic.Int64

	mu      sync.Mutex  // orders kickResume against stopRoom
	timer   *time.Timer // runs resumeOutput
	stopped bool        // Close stopped the timer: no more kicks
}

// initRoom sets up link-room reporting if the link offers it. The link is
// fresh, so its room now is its capacity.
func (d *Driver) initRoom() {
	rr, ok := d.link.(RoomReporter)
	if !ok {
		return
	}
	d.room.link = rr
	d.room.reserve = rr.Room() / 16
	d.room.timer = time.AfterFunc(time.Hour, d.resumeOutput)
	d.room.timer.Stop()
	rr.NotifyRoom(d.kickResume)
}

// kickResume is the link's room notification: it only schedules
// resumeOutput, as it may run under another driver's lock.
func (d *Driver) kickResume() {
	d.room.mu.Lock()
	defer d.room.mu.Unlock()
	if !d.room.stopped {
		// Closing the link notifies too: without the check, the timer
		// would start a goroutine after Close.
		d.room.timer.Reset(0)
	}
}

// resumeOutput lets the connections that held data for lack of link room
// send it now that the link has drained.
func (d *Driver) resumeOutput() {
	st, now, err := d.lock()
	if err != nil {
		return
	}
	st.ResumeOutput(now)
	d.unlock()
}

// setLinkRoomLocked tells the stack how many frames it may queue in this
// call: the link's room less the frames taken but not yet written (read
// first: a write in between then counts twice, never not at all) and the
// reserve. mu is held.
func (d *Driver) setLinkRoomLocked() {
	if d.room.link == nil {
		return
	}
	pending := int(d.room.unwritten.Load())
	d.st.SetLinkRoom(max(d.room.link.Room()-pending-d.room.reserve, 0))
}

// tookFramesLocked counts n frames just taken from the stack as not yet
// written, and reports whether the stack holds data for lack of room. mu
// is held.
func (d *Driver) tookFramesLocked(n int) (held bool) {
	if d.room.link == nil {
		return false
	}
	d.room.unwritten.Add(int64(n))
	return d.st.OutputHeld()
}

// wroteFrames counts n frames as written and, if the stack held data,
// makes sure it is resumed: at once if the link has room now, else when
// the link says it has drained. mu is not held.
func (d *Driver) wroteFrames(n int, held bool) {
	if d.room.link == nil {
		return
	}
	d.room.unwritten.Add(-int64(n))
	if held && !d.room.link.WaitRoom() {
		d.kickResume()
	}
}

// stopRoom stops the resume timer (Close).
func (d *Driver) stopRoom() {
	if d.room.timer == nil {
		return
	}
	d.room.mu.Lock()
	defer d.room.mu.Unlock()
	d.room.stopped = true
	d.room.timer.Stop()
}
