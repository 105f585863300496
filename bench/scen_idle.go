package main

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"time"
)

// idle establishes n connection pairs and leaves them idle, then reports the
// live heap bytes and goroutines they add, per pair, after a GC. For the
// kernel only the Go side (file descriptors, poller) shows; kernel socket
// memory is not on the Go heap.
func idle(ctx context.Context, stack string, n int) (heapPerPair, goroutinesPerPair float64, err error) {
	s, err := openSetup(stack, linkOpts{MTU: 1500})
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	conns := make([]net.Conn, 0, 2*n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	heap0, g0 := liveHeap()
	for i := range n {
		c, sc, err := s.connectBare(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("connection %d: %w", i, err)
		}
		conns = append(conns, c, sc)
	}
	// One byte each way on the last pair makes sure the handshakes behind
	// it have settled.
	last := conns[len(conns)-2:]
	applyDeadline(ctx, last[0])
	applyDeadline(ctx, last[1])
	if _, err := last[0].Write([]byte{1}); err != nil {
		return 0, 0, err
	}
	b := make([]byte, 1)
	if _, err := last[1].Read(b); err != nil || b[0] != 1 {
		return 0, 0, fmt.Errorf("probe byte: %v %w", err, errCorrupt)
	}
	heap1, g1 := liveHeap()
	return float64(heap1-heap0) / float64(n), float64(g1-g0) / float64(n), nil
}

// liveHeap returns the heap in use after GC and the goroutine count, once
// both have stopped moving: a previous run's stack may still be releasing
// memory from its goroutines (gVisor tears endpoints down asynchronously),
// which would otherwise land in the difference. It polls for up to 3 s.
func liveHeap() (int64, int) {
	prevH, prevG := int64(-1), -1
	for range 60 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		h, g := int64(m.HeapAlloc), runtime.NumGoroutine()
		if prevH >= 0 && abs(h-prevH) < 16<<10 && g == prevG {
			return h, g
		}
		prevH, prevG = h, g
		time.Sleep(50 * time.Millisecond)
	}
	return prevH, prevG
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
