package link

// Room reporting lets a stack driver stop producing frames when the queue
// toward the peer is full, and resume when the peer's reader has drained
// it, instead of writing frames the queue drops (what Linux's TCP Small
// Queues and byte queue limits do for a NIC's transmit ring).

// resumeMark is how many free slots of the queue bring the notification
// back after WaitRoom found it short: a quarter of the queue, so that a
// writer is woken once per quarter drained, not once per frame, and the
// reader still has three quarters to read while the writer refills it.
func (d *direction) resumeMark() int { return max(len(d.ring)/4, 1) }

// Room reports how many more frames the queue toward the peer takes now:
// the frames a Write would queue rather than drop. The reader only makes
// it grow; only this end's writes make it shrink.
func (e *PipeEnd) Room() int {
	d := e.tx
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.ring) - d.n
}

// NotifyRoom registers fn, called once after each WaitRoom that found the
// queue toward the peer short, when the peer's reader has drained it to a
// quarter free (or either end closed). fn runs on the reader's goroutine,
// without the pipe's locks, but possibly while the reader's own stack
// driver holds its lock: it must not block, and must not take a lock a
// stack driver holds while it writes (hand the work to another goroutine,
// e.g. by resetting a time.AfterFunc timer to zero). A nil fn stops the
// notifications.
func (e *PipeEnd) NotifyRoom(fn func()) {
	d := e.tx
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notify = fn
}

// WaitRoom asks to be told when the queue toward the peer has room again.
// When less than a quarter of it is free, it arranges for the NotifyRoom
// function to be called once the reader has drained it to a quarter free,
// and returns true. Otherwise there is room now: it arranges nothing and
// returns false. The check and the arrangement are one step under the
// pipe's lock, so no drain can slip between them and be missed.
func (e *PipeEnd) WaitRoom() bool {
	d := e.tx
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.writerClosed || d.readerClosed || len(d.ring)-d.n >= d.resumeMark() {
		return false
	}
	d.wantRoom = true
	return true
}

// roomBack returns the notification to call once d.mu is released, if a
// writer waits for room and the queue now has enough: nil otherwise. It
// clears the wait, so each WaitRoom is answered once. d.mu must be held.
func (d *direction) roomBack() func() {
	if !d.wantRoom || (len(d.ring)-d.n < d.resumeMark() && !d.writerClosed && !d.readerClosed) {
		return nil
	}
	d.wantRoom = false
	return d.notify
}
