package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// crr runs n connect + 1-byte request/response + close cycles spread over
// clients concurrent clients and returns connections per second.
func crr(ctx context.Context, stack string, n, clients int) (float64, error) {
	s, err := openSetup(stack, linkOpts{MTU: 1500})
	if err != nil {
		return 0, err
	}
	defer s.Close()

	var srvWG sync.WaitGroup
	srvErrs := make(chan error, 1)
	report := func(err error) {
		select {
		case srvErrs <- err:
		default:
		}
	}
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			sc, err := s.ln.Accept()
			if err != nil {
				return // listener closed at the end
			}
			srvWG.Add(1)
			go func() {
				defer srvWG.Done()
				defer sc.Close()
				applyDeadline(ctx, sc)
				b := make([]byte, 1)
				if _, err := io.ReadFull(sc, b); err != nil {
					report(fmt.Errorf("server read: %w", err))
					return
				}
				b[0] = ^b[0]
				if _, err := sc.Write(b); err != nil {
					report(fmt.Errorf("server write: %w", err))
				}
			}()
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, clients)
	for k := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 1)
			for i := k; i < n; i += clients {
				errs[k] = crrOnce(ctx, s, byte(i), b)
				if errs[k] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	s.ln.Close()
	<-acceptDone
	srvWG.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	select {
	case err := <-srvErrs:
		return 0, err
	default:
	}
	return float64(n) / elapsed.Seconds(), nil
}

func crrOnce(ctx context.Context, s *setup, x byte, b []byte) error {
	c, err := s.p.Dial(ctx, s.addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	applyDeadline(ctx, c)
	b[0] = x
	if _, err := c.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if _, err := io.ReadFull(c, b); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if b[0] != ^x {
		return fmt.Errorf("got %#x want %#x: %w", b[0], ^x, errCorrupt)
	}
	return nil
}
