package link

import (
	"errors"
	"io"
	"sync"
)

// batchReader is the batch read path PipeEnd offers (netconn.BatchReader).
type batchReader interface {
	ReadBatch(fn func(frame []byte)) error
}

// pendingCounter is PipeEnd's Pending.
type pendingCounter interface {
	Pending() int
}

// fallbackFrameSize holds the largest IPv4 packet plus an Ethernet header.
const fallbackFrameSize = 64<<10 + 14

// batchFallback reads one frame at a time for a wrapper whose inner link
// has no ReadBatch, into a buffer kept for the wrapper's lifetime.
type batchFallback struct {
	mu  sync.Mutex
	buf []byte
}

// readBatch hands fn the frames of inner: in batches when inner is a
// batchReader, else one frame per call through Read. A frame longer than
// the buffer reaches fn truncated, where the stack counts and drops it,
// rather than ending the reader with io.ErrShortBuffer.
func (b *batchFallback) readBatch(inner io.Reader, fn func(frame []byte)) error {
	if br, ok := inner.(batchReader); ok {
		return br.ReadBatch(fn)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf == nil {
		b.buf = make([]byte, fallbackFrameSize)
	}
	n, err := inner.Read(b.buf)
	if err != nil && !errors.Is(err, io.ErrShortBuffer) {
		return err
	}
	fn(b.buf[:n])
	return nil
}

// pending reports the frames waiting in inner, or 0 when it cannot tell.
func pending(inner io.Reader) int {
	if pc, ok := inner.(pendingCounter); ok {
		return pc.Pending()
	}
	return 0
}

// ReadBatch hands over the frames waiting in the inner link in one call
// when the inner link can (a PipeEnd), so a stack driver takes its lock
// once per batch and coalesces acknowledgments, as it does on a bare
// pipe; otherwise it reads one frame. Frames read are not impaired. The
// frame is valid only during fn. It returns the inner link's errors, like
// Read.
func (f *Faulty) ReadBatch(fn func(frame []byte)) error {
	if f.inner == nil {
		return f.cfgErr
	}
	return f.rb.readBatch(f.inner, fn)
}

// Pending reports how many frames wait in the inner link (0 when the inner
// link cannot tell).
func (f *Faulty) Pending() int {
	if f.inner == nil {
		return 0
	}
	return pending(f.inner)
}

// ReadBatch is Read for a batch of frames, each recorded before fn sees it;
// see Faulty.ReadBatch.
func (c *Capture) ReadBatch(fn func(frame []byte)) error {
	return c.rb.readBatch(c.inner, func(frame []byte) {
		c.record(frame)
		fn(frame)
	})
}

// Pending reports how many frames wait in the inner link (0 when the inner
// link cannot tell).
func (c *Capture) Pending() int { return pending(c.inner) }
