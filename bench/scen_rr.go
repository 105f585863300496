package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// rr times n 1-byte request/response round trips on one connection and
// returns the p50 and p99 in µs. The server answers each byte with its
// complement, which the client checks.
func rr(ctx context.Context, stack string, n int) (p50, p99 float64, err error) {
	s, err := openSetup(stack, linkOpts{MTU: 1500})
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	c, sc, err := s.connect(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	defer sc.Close()

	srvErr := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		for {
			if _, err := io.ReadFull(sc, b); err != nil {
				if err == io.EOF {
					err = nil
				}
				srvErr <- err
				return
			}
			b[0] = ^b[0]
			if _, err := sc.Write(b); err != nil {
				srvErr <- err
				return
			}
		}
	}()

	const warmup = 200
	lat := make([]time.Duration, 0, n)
	req, resp := make([]byte, 1), make([]byte, 1)
	for i := range n + warmup {
		req[0] = byte(i)
		t0 := time.Now()
		if _, err := c.Write(req); err != nil {
			return 0, 0, fmt.Errorf("round trip %d: %w", i, err)
		}
		if _, err := io.ReadFull(c, resp); err != nil {
			return 0, 0, fmt.Errorf("round trip %d: %w", i, err)
		}
		d := time.Since(t0)
		if resp[0] != ^req[0] {
			return 0, 0, fmt.Errorf("round trip %d: got %#x want %#x: %w", i, resp[0], ^req[0], errCorrupt)
		}
		if i >= warmup {
			lat = append(lat, d)
		}
	}
	c.Close()
	if err := <-srvErr; err != nil {
		return 0, 0, fmt.Errorf("server: %w", err)
	}
	slices.Sort(lat)
	us := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / 1e3 }
	return us(0.50), us(0.99), nil
}
