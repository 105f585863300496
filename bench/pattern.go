package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
)

// patternPeriod is prime so a pattern offset never lines up with a power-of-two
// write or segment size: a duplicated, dropped or shifted chunk shows up.
const patternPeriod = 65521

// maxSpan bounds one write or read checked against the pattern.
const maxSpan = 256 << 10

// pattern is a seeded byte stream: the byte at offset i is ring[i%patternPeriod].
// ring holds one period plus maxSpan bytes so any slice of up to maxSpan
// bytes is contiguous.
type pattern struct {
	seed uint64
	ring []byte
}

func newPattern(seed uint64) *pattern {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ring := make([]byte, patternPeriod+maxSpan)
	for i := range patternPeriod {
		ring[i] = byte(r.Uint32())
	}
	for i := patternPeriod; i < len(ring); i++ {
		ring[i] = ring[i-patternPeriod]
	}
	return &pattern{seed: seed, ring: ring}
}

// at returns the n (≤ maxSpan) pattern bytes starting at offset off.
func (p *pattern) at(off int64, n int) []byte {
	s := int(off % patternPeriod)
	return p.ring[s : s+n]
}

// errCorrupt marks a verification failure: a byte lost, duplicated or changed.
var errCorrupt = fmt.Errorf("data corrupted")

// write writes total bytes of the pattern, starting at pattern offset base,
// in chunk-sized writes. Giving each connection its own base makes bytes
// delivered to the wrong connection show up as corruption.
func (p *pattern) write(w io.Writer, base, total int64, chunk int) error {
	for off := int64(0); off < total; {
		n := int(min(int64(chunk), total-off, maxSpan))
		if _, err := w.Write(p.at(base+off, n)); err != nil {
			return fmt.Errorf("write at offset %d: %w", off, err)
		}
		off += int64(n)
	}
	return nil
}

// verify reads r to EOF, checking every byte against the pattern, and
// returns how many bytes arrived. want < 0 means any length is fine.
func (p *pattern) verify(r io.Reader, buf []byte, base, want int64) (int64, error) {
	var off int64
	buf = buf[:min(len(buf), maxSpan)]
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if !bytes.Equal(buf[:n], p.at(base+off, n)) {
				return off, fmt.Errorf("seed %d: mismatch in bytes [%d,%d): %w", p.seed, off, off+int64(n), errCorrupt)
			}
			off += int64(n)
		}
		if err == io.EOF {
			if want >= 0 && off != want {
				return off, fmt.Errorf("seed %d: got %d bytes, want %d: %w", p.seed, off, want, errCorrupt)
			}
			return off, nil
		}
		if err != nil {
			return off, fmt.Errorf("read at offset %d: %w", off, err)
		}
	}
}
