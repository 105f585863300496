package stack

// Frame buffers are reused rather than allocated per segment: the driver
// hands back what it took with TakeFrames once the link has copied it, and
// newFrame takes from there. Two free lists: small buffers, all of
// smallFrameCap bytes (ACKs, ARP, and every frame of a 1500-byte MTU), so
// any one fits and taking one is O(1); and large ones (jumbo MTUs, local
// delivery, fragmentation sources), reused when they fit without wasting
// more than half. Both are bounded so an idle stack holds little.
const (
	// smallFrameCap holds an Ethernet frame of a 1500-byte MTU with room
	// to spare, the common case.
	smallFrameCap = 2048
	// maxFreeSmall bounds the small list: 256 × 2 KiB = 512 KiB. Buffers
	// come back one driver write late, so the list must cover two bursts
	// of a sender (a 64 KiB write is 45 segments; a window opening sends
	// more).
	maxFreeSmall = 256
	// maxFreeLargeBytes bounds the large list by total capacity.
	maxFreeLargeBytes = 1 << 20
	// headerClear is how much of a reused frame newFrame zeroes: link,
	// IPv4 and the largest TCP header. Every sender writes its whole
	// header and payload, but a header field a future encoder skips must
	// read zero as it would in a fresh buffer, not a previous frame's
	// bytes.
	headerClear = 14 + 60 + 60
)

// newFrame returns a frame buffer of n bytes, reused when the free lists
// have one that fits. Its first headerClear bytes are zero; the rest holds
// whatever a previous frame left there and must be written in full.
func (s *Stack) newFrame(n int) []byte {
	if n <= smallFrameCap {
		if k := len(s.freeSmall); k > 0 {
			b := s.freeSmall[k-1]
			s.freeSmall[k-1] = nil
			s.freeSmall = s.freeSmall[:k-1]
			b = b[:n]
			clear(b[:min(n, headerClear)])
			return b
		}
		return make([]byte, n, smallFrameCap)
	}
	for i := len(s.freeLarge) - 1; i >= 0; i-- {
		b := s.freeLarge[i]
		if c := cap(b); c >= n && c/2 <= n {
			last := len(s.freeLarge) - 1
			s.freeLarge[i] = s.freeLarge[last]
			s.freeLarge[last] = nil
			s.freeLarge = s.freeLarge[:last]
			s.freeLargeBytes -= cap(b)
			b = b[:n]
			clear(b[:headerClear])
			return b
		}
	}
	return make([]byte, n)
}

// RecycleFrames hands back frame buffers that TakeFrames returned, once the
// caller no longer uses them (the link has copied them out), so that later
// frames reuse them instead of allocating. Each buffer must be given back at
// most once and not be touched afterwards; frames taken from another stack
// are welcome. Buffers beyond the free lists' bounds are left to the
// garbage collector, as are all of them after Close. The slice itself is
// not kept.
func (s *Stack) RecycleFrames(frames [][]byte) {
	if s.closed {
		return // Close let the free lists go
	}
	for _, b := range frames {
		s.recycle(b)
	}
}

// recycle keeps one spent frame buffer for reuse if there is room.
func (s *Stack) recycle(b []byte) {
	switch c := cap(b); {
	case c == smallFrameCap:
		if len(s.freeSmall) < maxFreeSmall {
			s.freeSmall = append(s.freeSmall, b[:0])
		}
	case c > smallFrameCap:
		if s.freeLargeBytes+c <= maxFreeLargeBytes {
			s.freeLarge = append(s.freeLarge, b[:0])
			s.freeLargeBytes += c
		}
	}
}
