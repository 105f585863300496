package tcp

import "math/bits"

// Ring storage is recycled through a small free list per Endpoints rather
// than left to the garbage collector. Rings give their storage back when
// they empty (at once under memory pressure) and grow by doubling, so a
// busy stack turns its storage into garbage every few round trips: in the
// bench's conc case (1,000 connections, issue #6) ring growth allocated
// 834 MB in 2 s. The list cuts that churn (with a 32 MiB budget, to
// about 460 MB keeping an eighth of the budget, 170 MB keeping all of it).
//
// The list is kept small on purpose (keepable): storage kept here is live
// heap, and the Go collector lets the heap grow to twice what is live
// before it collects, so any churn left (frames, the rest of the rings)
// brings the heap to twice the live bytes within a second of load. A list
// allowed to keep the whole unused budget measured 10–20 MiB more peak
// RSS than no list at all. It keeps at most an eighth of the budget, never
// more than the budget leaves unused (rings plus list stay within the
// limit), and never more than the rings hold, so an idle or closed stack
// keeps nothing, without a timer.
//
// Only power-of-two sizes from ringChunk up are kept, one list per size:
// taking one is O(1). A ring may get a buffer up to storageSlack classes
// larger than it asked for, charged in full to the budget, rather than
// the kept buffer becoming garbage while a new one is allocated.
type storage struct {
	free  [storageClasses][][]byte
	bytes int // total kept
}

// storageClasses covers ringChunk (4 KiB) up to 1 GiB, the largest buffer.
const storageClasses = 30 - 12 + 1

// storageClass returns the list index for a buffer of n bytes, or -1 when
// n is not a size the list keeps.
func storageClass(n int) int {
	if n < ringChunk || n&(n-1) != 0 {
		return -1
	}
	c := bits.Len(uint(n)) - bits.Len(uint(ringChunk))
	if c >= storageClasses {
		return -1
	}
	return c
}

// classSize rounds n up to the next size the free list keeps, if any.
func classSize(n int) int {
	if n <= ringChunk {
		return ringChunk
	}
	return 1 << bits.Len(uint(n-1))
}

// alloc returns zeroed storage of at least n bytes, reused when the list
// has some. The caller has already taken n bytes from the budget; a kept
// buffer up to storageSlack classes larger is taken whole when the budget
// also grants the difference (leaving keep bytes to others), since a kept
// buffer of the wrong size would otherwise turn into garbage while a new
// one is allocated. Kept storage beyond what the limit then leaves is let
// go.
func (b *budget) alloc(n, keep int) []byte {
	if b == nil {
		return make([]byte, n)
	}
	if c := storageClass(n); c >= 0 {
		for k := c; k < min(c+storageSlack+1, storageClasses); k++ {
			l := b.store.free[k]
			if len(l) == 0 {
				continue
			}
			buf := l[len(l)-1]
			extra := len(buf) - n
			if extra > 0 && b.avail()-keep < extra {
				break // nothing larger fits either
			}
			l[len(l)-1] = nil
			b.store.free[k] = l[:len(l)-1]
			b.store.bytes -= len(buf)
			b.inUse += extra
			b.peak = max(b.peak, b.inUse)
			// A ring reads only bytes it wrote, but a stale byte of
			// another connection must never be one bug away from the
			// wire: reused storage reads as fresh storage would.
			clear(buf)
			return buf
		}
	}
	b.trim(b.keepable())
	return make([]byte, n)
}

// storageSlack is how many classes larger than asked a kept buffer may be
// and still be handed out: at most four times the bytes asked for.
const storageSlack = 2

// keepable is how much storage the free list may keep now (see the top
// of this file for the three bounds).
func (b *budget) keepable() int { return min(b.limit-b.inUse, b.inUse, b.limit/8) }

// free keeps buf for reuse if its size is one the list keeps and the
// budget leaves room for it; the caller has already given its bytes back
// to the budget and must not touch buf again.
func (b *budget) free(buf []byte) {
	if b == nil {
		return
	}
	c := storageClass(len(buf))
	if c < 0 || b.store.bytes+len(buf) > b.keepable() {
		return
	}
	b.store.free[c] = append(b.store.free[c], buf[:len(buf):len(buf)])
	b.store.bytes += len(buf)
}

// trim lets kept storage go, largest first, until at most keep bytes are
// kept: the largest buffers are the fewest and the least often reused.
func (b *budget) trim(keep int) {
	for c := storageClasses - 1; c >= 0 && b.store.bytes > keep; c-- {
		l := b.store.free[c]
		for len(l) > 0 && b.store.bytes > keep {
			b.store.bytes -= len(l[len(l)-1])
			l[len(l)-1] = nil
			l = l[:len(l)-1]
		}
		b.store.free[c] = l
	}
}
