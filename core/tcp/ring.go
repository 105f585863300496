package tcp

import "math/bits"

// ring is a bounded byte ring. size is its logical capacity, which sets the
// window; its storage grows on demand, drawing from the Endpoints' memory
// budget, and is released when the ring empties, so an idle connection costs
// no buffer memory. Logical offsets count from the oldest byte; bytes past
// Len may be written ahead (out-of-order data) and become readable with
// extend.
type ring struct {
	buf     []byte // storage, len(buf) <= size; nil while nothing is held
	size    int
	head, n int
	budget  *budget // nil: unlimited (tests)
	send    bool    // a send buffer: its growth leaves sendKeep to others
	touched bool    // written since the last idle sweep
}

// ringChunk is the smallest storage a ring allocates: growing by doubling
// from here keeps reallocations few without giving a short message a whole
// window of memory.
const ringChunk = 4096

func newRing(size int) ring { return ring{size: size} }

func newBudgetRing(size int, b *budget, send bool) ring {
	return ring{size: size, budget: b, send: send}
}

// keep is how many budget bytes this ring's growth leaves to others.
func (r *ring) keep() int {
	if r.send && r.budget != nil {
		return sendKeep(r.budget.limit)
	}
	return 0
}

func (r *ring) Len() int  { return r.n }
func (r *ring) Free() int { return r.size - r.n }

// stored is how many bytes of storage the ring holds.
func (r *ring) stored() int { return len(r.buf) }

// canAppend reports whether Append would take at least one byte now.
func (r *ring) canAppend() bool {
	return r.Free() > 0 && (r.n < len(r.buf) || r.budget.avail() > r.keep())
}

// reserve grows the storage so that logical offsets below end fit, as far
// as size and the budget allow, and returns the storage size, which may
// stay below end.
func (r *ring) reserve(end int) int {
	end = min(end, r.size)
	have := len(r.buf)
	if end <= have {
		return have
	}
	// Sizes the storage free list keeps (powers of two) are reused
	// rather than collected (storage.go).
	want := min(r.size, classSize(max(end, 2*have)))
	got := r.budget.take(want-have, end-have, r.keep())
	if got == 0 {
		return have
	}
	n := have + got
	if p := 1 << (bits.Len(uint(n)) - 1); p < n && p > have && p >= end {
		// A short grant: keep to a reusable size when that still grows.
		r.budget.untake(n - p)
		n = p
	}
	r.resize(n)
	return len(r.buf)
}

// resize moves the bytes to storage of at least n bytes (more when the
// budget hands out a larger kept buffer), keeping every byte's logical
// offset, including bytes written ahead of Len.
func (r *ring) resize(n int) {
	b := r.budget.alloc(n, r.keep())
	if r.buf != nil {
		k := copy(b, r.buf[r.head:])
		copy(b[k:], r.buf[:r.head])
		r.budget.free(r.buf)
	}
	r.buf = b
	r.head = 0
}

// release gives the storage back to the budget. Bytes held are lost: the
// callers release an empty ring, or one nobody will read again.
func (r *ring) release() {
	if r.buf != nil {
		r.budget.give(len(r.buf))
		r.budget.free(r.buf)
		r.buf = nil
	}
	r.head, r.n = 0, 0
}

// writeAt copies p to logical offset off and returns how many bytes of p
// fit in the storage the budget allows; off+len(p) must be <= size.
func (r *ring) writeAt(off int, p []byte) int {
	if len(p) == 0 {
		return 0
	}
	end := r.reserve(off + len(p))
	p = p[:max(min(len(p), end-off), 0)]
	if len(p) == 0 {
		return 0
	}
	r.touched = true
	i := (r.head + off) % len(r.buf)
	k := copy(r.buf[i:], p)
	copy(r.buf, p[k:])
	return len(p)
}

// Append copies as much of p as fits and returns how much that was.
func (r *ring) Append(p []byte) int {
	n := r.writeAt(r.n, p[:min(len(p), r.Free())])
	r.n += n
	return n
}

// extend makes n more bytes, already placed by writeAt, readable.
func (r *ring) extend(n int) { r.n += n }

// Peek copies bytes from logical offset off into p and returns the count.
func (r *ring) Peek(off int, p []byte) int {
	n := min(len(p), r.n-off)
	if n <= 0 || off < 0 {
		return 0
	}
	i := (r.head + off) % len(r.buf)
	k := copy(p[:n], r.buf[i:])
	copy(p[k:n], r.buf)
	return n
}

// Read consumes up to len(p) bytes into p.
func (r *ring) Read(p []byte) int {
	n := r.Peek(0, p)
	r.Discard(n)
	return n
}

// Discard drops the n oldest bytes.
func (r *ring) Discard(n int) {
	n = min(n, r.n)
	r.n -= n
	// head moves even when the ring empties: bytes written ahead of Len
	// (out-of-order data) keep their place.
	if len(r.buf) > 0 {
		r.head = (r.head + n) % len(r.buf)
	}
}

// grow raises the logical size, hence the window; storage follows as
// bytes arrive.
func (r *ring) grow(size int) {
	if size > r.size {
		r.size = size
	}
}
