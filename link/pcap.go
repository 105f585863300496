package link

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// pcap link types (https://www.tcpdump.org/linktypes.html).
const (
	LinkTypeEthernet = 1   // LINKTYPE_ETHERNET: Ethernet II frames (TAP, LinkEthernet)
	LinkTypeRaw      = 101 // LINKTYPE_RAW: bare IPv4/IPv6 packets (TUN, LinkIP)
)

// DefaultSnaplen is the capture length used when CaptureConfig.Snaplen is 0.
const DefaultSnaplen = 65535

// Classic libpcap file format, microsecond timestamps, version 2.4.
const (
	pcapMagic        = 0xa1b2c3d4
	pcapVersionMajor = 2
	pcapVersionMinor = 4
	pcapHeaderLen    = 24
	pcapRecordLen    = 16
)

// CaptureConfig configures NewCapture.
type CaptureConfig struct {
	LinkType int              // pcap LINKTYPE_* of the frames, e.g. LinkTypeEthernet
	Snaplen  int              // bytes kept per frame (default DefaultSnaplen)
	Now      func() time.Time // timestamps the records; nil = time.Now
}

// Capture wraps a link and records every frame read from or written to it
// as a classic libpcap stream. Failures writing the capture never break the
// link: the first one is kept (see Err) and recording stops. Its methods
// are safe for concurrent use. Wrapped around a Faulty it records what the
// stack sent; wrapped inside one, what survived the impairments.
type Capture struct {
	inner   io.ReadWriteCloser
	snaplen int
	now     func() time.Time

	mu  sync.Mutex // serialises records on w
	w   io.Writer
	buf []byte // record header and data, reused
	err error

	rb batchFallback // ReadBatch's buffer when inner has no ReadBatch
}

// NewCapture wraps inner and writes the pcap global header to w at once.
func NewCapture(inner io.ReadWriteCloser, w io.Writer, cfg CaptureConfig) (*Capture, error) {
	if inner == nil {
		return nil, errors.New("link: NewCapture: nil inner link")
	}
	if w == nil {
		return nil, errors.New("link: NewCapture: nil capture writer")
	}
	if cfg.LinkType < 0 || cfg.LinkType > 0xffff {
		return nil, fmt.Errorf("link: NewCapture: LinkType %d out of range [0, 65535]", cfg.LinkType)
	}
	if cfg.Snaplen < 0 {
		return nil, fmt.Errorf("link: NewCapture: negative Snaplen %d", cfg.Snaplen)
	}
	if cfg.Snaplen == 0 {
		cfg.Snaplen = DefaultSnaplen
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var hdr [pcapHeaderLen]byte
	binary.LittleEndian.PutUint32(hdr[0:], pcapMagic)
	binary.LittleEndian.PutUint16(hdr[4:], pcapVersionMajor)
	binary.LittleEndian.PutUint16(hdr[6:], pcapVersionMinor)
	// hdr[8:16]: thiszone and sigfigs, both 0 (timestamps are UTC).
	binary.LittleEndian.PutUint32(hdr[16:], uint32(cfg.Snaplen))
	binary.LittleEndian.PutUint32(hdr[20:], uint32(cfg.LinkType))
	if _, err := w.Write(hdr[:]); err != nil {
		return nil, fmt.Errorf("link: writing pcap header: %w", err)
	}
	return &Capture{inner: inner, snaplen: cfg.Snaplen, now: cfg.Now, w: w}, nil
}

// Read reads one frame from the inner link and records it. A frame
// truncated by a short buffer is recorded as far as it was read.
func (c *Capture) Read(p []byte) (int, error) {
	n, err := c.inner.Read(p)
	if err == nil || errors.Is(err, io.ErrShortBuffer) {
		c.record(p[:n])
	}
	return n, err
}

// Write writes one frame to the inner link and records it if the link
// accepted it.
func (c *Capture) Write(p []byte) (int, error) {
	n, err := c.inner.Write(p)
	if err == nil {
		c.record(p)
	}
	return n, err
}

// Close closes the inner link; the capture writer is left open.
func (c *Capture) Close() error {
	return c.inner.Close()
}

// Err returns the first error writing the capture, or nil.
func (c *Capture) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Capture) record(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return // the stream is already broken; more records would not parse
	}
	ts := c.now()
	incl := min(len(frame), c.snaplen)
	c.buf = c.buf[:0]
	c.buf = binary.LittleEndian.AppendUint32(c.buf, uint32(ts.Unix()))
	c.buf = binary.LittleEndian.AppendUint32(c.buf, uint32(ts.Nanosecond()/1000))
	c.buf = binary.LittleEndian.AppendUint32(c.buf, uint32(incl))
	c.buf = binary.LittleEndian.AppendUint32(c.buf, uint32(len(frame)))
	c.buf = append(c.buf, frame[:incl]...)
	if _, err := c.w.Write(c.buf); err != nil {
		c.err = fmt.Errorf("link: writing pcap record: %w", err)
	}
}
