package main

import (
	"bytes"
	"errors"
	"testing"
)

func TestPatternRoundTrip(t *testing.T) {
	const seed = 7
	t.Logf("seed %d", seed)
	p := newPattern(seed)
	for _, tc := range []struct {
		name         string
		base, total  int64
		chunk, rsize int
	}{
		{"one chunk", 0, 1000, 1000, 512},
		{"crosses the period", 65000, 3 * patternPeriod, 64 << 10, 4096},
		{"write larger than maxSpan", 3, 2 * maxSpan, 4 * maxSpan, 1 << 20},
		{"empty", 5, 0, 64, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := p.write(&buf, tc.base, tc.total, tc.chunk); err != nil {
				t.Fatal(err)
			}
			if int64(buf.Len()) != tc.total {
				t.Fatalf("wrote %d bytes, want %d", buf.Len(), tc.total)
			}
			n, err := p.verify(&buf, make([]byte, tc.rsize), tc.base, tc.total)
			if err != nil || n != tc.total {
				t.Fatalf("verify = %d, %v; want %d, nil", n, err, tc.total)
			}
		})
	}
}

func TestPatternDetectsDamage(t *testing.T) {
	const seed, total = 11, 200000
	t.Logf("seed %d", seed)
	p := newPattern(seed)
	var clean bytes.Buffer
	if err := p.write(&clean, 0, total, 64<<10); err != nil {
		t.Fatal(err)
	}
	good := clean.Bytes()
	flipped := bytes.Clone(good)
	flipped[123456] ^= 1
	for _, tc := range []struct {
		name   string
		stream []byte
		base   int64
	}{
		{"bit flipped", flipped, 0},
		{"byte lost", append(bytes.Clone(good[:1000]), good[1001:]...), 0},
		{"byte duplicated", append(bytes.Clone(good[:1001]), good[1000:]...), 0},
		{"truncated", good[:total-1], 0},
		{"another connection's bytes", good, 7919},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.verify(bytes.NewReader(tc.stream), make([]byte, 4096), tc.base, total)
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("verify error = %v, want errCorrupt", err)
			}
		})
	}
}
