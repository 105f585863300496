package udp

import (
	"encoding/binary"
	"net/netip"
)

// recordHeaderLen is the per-datagram overhead in the ring: source IPv4
// address (4), source port (2), payload length (2).
const recordHeaderLen = 8

// queue is a byte ring of datagram records. The ring is allocated on the
// first datagram so that idle sockets cost nothing, and never again, so that
// steady-state delivery does not allocate.
type queue struct {
	buf      []byte
	capacity int
	head     int // offset of the oldest record
	used     int // bytes in use
	count    int // records in use
}

// push appends a record; false means it does not fit (the caller counts the
// drop, as Linux counts RcvbufErrors).
func (q *queue) push(from netip.AddrPort, payload []byte) bool {
	need := recordHeaderLen + len(payload)
	if len(payload) > 0xffff || need > q.capacity-q.used {
		return false
	}
	if q.buf == nil {
		q.buf = make([]byte, q.capacity)
	}
	var h [recordHeaderLen]byte
	a := from.Addr().As4()
	copy(h[0:4], a[:])
	binary.BigEndian.PutUint16(h[4:], from.Port())
	binary.BigEndian.PutUint16(h[6:], uint16(len(payload)))
	tail := (q.head + q.used) % q.capacity
	tail = q.write(tail, h[:])
	q.write(tail, payload)
	q.used += need
	q.count++
	return true
}

// write copies b into the ring at off, wrapping, and returns the offset after it.
func (q *queue) write(off int, b []byte) int {
	n := copy(q.buf[off:], b)
	if n < len(b) {
		copy(q.buf, b[n:])
	}
	return (off + len(b)) % q.capacity
}

// read copies len(b) bytes of the ring at off into b, wrapping.
func (q *queue) read(off int, b []byte) {
	n := copy(b, q.buf[off:])
	if n < len(b) {
		copy(b[n:], q.buf)
	}
}

// pop removes the oldest record, copying as much of its payload as fits in b
// (the rest is discarded, like recvfrom on a short buffer).
func (q *queue) pop(b []byte) (n int, from netip.AddrPort, ok bool) {
	if q.count == 0 {
		return 0, netip.AddrPort{}, false
	}
	var h [recordHeaderLen]byte
	q.read(q.head, h[:])
	l := int(binary.BigEndian.Uint16(h[6:]))
	from = netip.AddrPortFrom(netip.AddrFrom4([4]byte(h[0:4])), binary.BigEndian.Uint16(h[4:]))
	n = min(l, len(b))
	q.read((q.head+recordHeaderLen)%q.capacity, b[:n])
	q.head = (q.head + recordHeaderLen + l) % q.capacity
	q.used -= recordHeaderLen + l
	q.count--
	if q.count == 0 {
		// Restart at the front so later records rarely wrap.
		q.head = 0
	}
	return n, from, true
}
