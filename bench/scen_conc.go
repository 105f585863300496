package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// conc opens n connections, then has every one send size bytes at once.
// It returns the aggregate goodput in Mbit/s (release to the last verified
// EOF) and the peak RSS growth of the whole run, pair creation included.
func conc(ctx context.Context, stack string, n int, size int64, seed uint64) (mbps float64, peak int64, err error) {
	pat := newPattern(seed)
	rss := startRSS()
	defer func() {
		if p := rss.Stop(); err == nil {
			peak = p
		}
		if verbose {
			fmt.Fprintf(os.Stderr, "  [%s conc memory at peak (MiB): %v]\n", stack, rss)
		}
	}()
	s, err := openSetup(stack, linkOpts{MTU: 1500})
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()

	clients := make([]net.Conn, 0, n)
	servers := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
		for _, c := range servers {
			c.Close()
		}
	}()
	for i := range n {
		c, sc, err := s.connect(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("connection %d: %w", i, err)
		}
		clients = append(clients, c)
		servers = append(servers, sc)
	}

	release := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range n {
		base := int64(i) * 7919 // distinct per connection
		wg.Add(2)
		go func() {
			defer wg.Done()
			// A 16 KiB read buffer per connection, like a typical server's:
			// the harness's own memory (n of them) is in every stack's RSS
			// figure and should not dwarf what the stacks hold.
			_, errs[2*i] = pat.verify(servers[i], make([]byte, 16<<10), base, size)
		}()
		go func() {
			defer wg.Done()
			<-release
			if err := pat.write(clients[i], base, size, 64<<10); err != nil {
				errs[2*i+1] = err
				return
			}
			if err := clients[i].Close(); err != nil {
				errs[2*i+1] = fmt.Errorf("close: %w", err)
			}
		}()
	}
	start := time.Now()
	close(release)
	wg.Wait()
	elapsed := time.Since(start)
	if err := writeMemProfile(); err != nil {
		return 0, 0, err
	}
	if err := errors.Join(errs...); err != nil {
		return 0, 0, err
	}
	return mbits(int64(n)*size, elapsed), 0, nil
}
