package tcp

// ring is a bounded byte ring. Its storage is allocated on first write so an
// idle connection costs no buffer memory. Logical offsets count from the
// oldest byte; bytes past Len may be written ahead (out-of-order data) and
// become readable with extend.
type ring struct {
	buf     []byte
	size    int
	head, n int
}

func newRing(size int) ring { return ring{size: size} }

func (r *ring) Len() int  { return r.n }
func (r *ring) Free() int { return r.size - r.n }

func (r *ring) alloc() {
	if r.buf == nil {
		r.buf = make([]byte, r.size)
	}
}

// writeAt copies p to logical offset off; off+len(p) must be <= size.
func (r *ring) writeAt(off int, p []byte) {
	if len(p) == 0 {
		return
	}
	r.alloc()
	i := (r.head + off) % r.size
	k := copy(r.buf[i:], p)
	copy(r.buf, p[k:])
}

// Append copies as much of p as fits and returns how much that was.
func (r *ring) Append(p []byte) int {
	n := min(len(p), r.Free())
	r.writeAt(r.n, p[:n])
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
	i := (r.head + off) % r.size
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
	if r.size > 0 {
		r.head = (r.head + n) % r.size
	}
}

// grow enlarges the ring to size bytes, keeping every byte's logical
// offset, including bytes written ahead of Len.
func (r *ring) grow(size int) {
	if size <= r.size {
		return
	}
	if r.buf != nil {
		b := make([]byte, size)
		k := copy(b, r.buf[r.head:])
		copy(b[k:], r.buf[:r.head])
		r.buf = b
	}
	r.head = 0
	r.size = size
}
