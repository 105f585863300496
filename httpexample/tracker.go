package main

import (
	"net"
	"sync"
)

// tracker remembers open connections and the goroutines serving them, so
// that shutdown can abort whatever the graceful part left behind and then
// wait until every goroutine has returned.
type tracker struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// add registers c and one goroutine serving it. After closeAll it refuses,
// closes c and returns false: the caller must not start the goroutine.
func (t *tracker) add(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return false
	}
	if t.conns == nil {
		t.conns = make(map[net.Conn]struct{})
	}
	t.conns[c] = struct{}{}
	t.wg.Add(1)
	return true
}

// done closes c and marks its goroutine finished.
func (t *tracker) done(c net.Conn) {
	c.Close()
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
	t.wg.Done()
}

// closeAll closes every registered connection, refuses new ones and waits
// for their goroutines.
func (t *tracker) closeAll() {
	t.mu.Lock()
	t.closed = true
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}
