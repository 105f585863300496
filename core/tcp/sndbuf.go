package tcp

// tuneSndBuf grows the send buffer, as Linux's tcp_sndbuf_expand does,
// to twice what the path holds, so one window can be in flight while the
// application queues the next and slow start can still double it. What
// the path holds is the flight (flight bytes before this ACK acknowledged
// acked of them) less what waits in queues: the flight scaled by the
// path's least RTT over its smoothed one. The buffer thus grows while it,
// not a queue, limits the flow: a queue the flow fills itself (a fast
// local link with a drop-tail queue) stops the growth, where growing
// would only make that queue overflow. It never shrinks (storage goes
// back as data is acknowledged), stops at MaxSendBuffer, and grows only
// while the memory budget could fill the larger buffer beyond the share
// kept for receive buffers (sendKeep).
func (c *Conn) tuneSndBuf(acked int) {
	limit := c.e.cfg.MaxSendBuffer
	if c.sndBuf.size >= limit {
		return
	}
	least, smoothed := c.rtt.PathRTT()
	if least <= 0 || smoothed <= 0 {
		return
	}
	inPath := float64(c.flightSize()+acked) * float64(least) / float64(smoothed)
	want := min(int(2*inPath)+4*c.mss, limit)
	if want <= c.sndBuf.size {
		return
	}
	if c.e.budget.avail()-c.sndBuf.keep() < want-c.sndBuf.stored() {
		return
	}
	// The caller's ACK has woken the writer, which finds the room.
	c.sndBuf.grow(want)
}
