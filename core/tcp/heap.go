package tcp

import "time"

// deadlineHeap is a min-heap of connections by their next deadline, so
// NextDeadline is O(1) and a timer change O(log n) with many connections.
type deadlineHeap []*Conn

func (h deadlineHeap) less(i, j int) bool { return h[i].deadline < h[j].deadline }

func (h deadlineHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIndex = int32(i)
	h[j].heapIndex = int32(j)
}

func (h deadlineHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h deadlineHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}

// set places c in the heap at deadline d, or removes it when d is zero.
func (h *deadlineHeap) set(c *Conn, d time.Time) {
	c.deadline = c.e.at(d)
	switch {
	case c.heapIndex < 0 && d.IsZero():
	case c.heapIndex < 0:
		c.heapIndex = int32(len(*h))
		*h = append(*h, c)
		h.up(len(*h) - 1)
	case d.IsZero():
		i := int(c.heapIndex)
		last := len(*h) - 1
		h.swap(i, last)
		(*h)[last] = nil
		*h = (*h)[:last]
		c.heapIndex = -1
		if i < last {
			h.down(i)
			h.up(i)
		}
	default:
		i := int(c.heapIndex)
		h.down(i)
		h.up(int(c.heapIndex))
	}
}

func (h deadlineHeap) min() time.Time {
	if len(h) == 0 {
		return time.Time{}
	}
	return h[0].e.time(h[0].deadline)
}
