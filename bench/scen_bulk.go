package main

import (
	"context"
	"fmt"
	"time"
)

// bulk moves one flow in 64 KiB writes for dur and reports the goodput the
// receiver saw, in Mbit/s, from the first write to the verified EOF.
func bulk(ctx context.Context, stack string, o linkOpts, dur time.Duration, seed uint64) (float64, error) {
	s, err := openSetup(stack, o)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	c, sc, err := s.connect(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	defer sc.Close()

	pat := newPattern(seed)
	type recv struct {
		n   int64
		end time.Time
		err error
	}
	done := make(chan recv, 1)
	go func() {
		n, err := pat.verify(sc, make([]byte, 256<<10), 0, -1)
		done <- recv{n, time.Now(), err}
	}()

	const chunk = 64 << 10
	var sent int64
	start := time.Now()
	for time.Since(start) < dur {
		if err := pat.write(c, sent, chunk, chunk); err != nil {
			c.Close()
			<-done
			return 0, err
		}
		sent += chunk
	}
	if err := c.Close(); err != nil {
		return 0, fmt.Errorf("close: %w", err)
	}
	r := <-done
	if r.err != nil {
		return 0, r.err
	}
	if r.n != sent {
		return 0, fmt.Errorf("received %d of %d bytes: %w", r.n, sent, errCorrupt)
	}
	return mbits(r.n, r.end.Sub(start)), nil
}
