package netconn

import (
	"errors"
	"io"
	"net"
	"testing"
	"testing/synctest"
)

// TestSpinAwait: a poll reports the first channel that fires, takes the
// readiness token it found, gives up when nothing comes (where the clock
// stands still too: synctest), and always leaves the spinner count as it
// found it.
func TestSpinAwait(t *testing.T) {
	fired := func() chan struct{} { c := make(chan struct{}); close(c); return c }
	token := func() chan struct{} { c := make(chan struct{}, 1); c <- struct{}{}; return c }
	tests := []struct {
		name      string
		ready     chan struct{}
		dl        chan struct{}
		closed    chan struct{}
		driverOff bool
		want      bool
	}{
		{name: "nothing", want: false},
		{name: "readable", ready: token(), want: true},
		{name: "deadline", dl: fired(), want: true},
		{name: "closed", closed: fired(), want: true},
		{name: "driver closed", driverOff: true, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := &Driver{closedCh: make(chan struct{})}
				if tt.driverOff {
					close(d.closedCh)
				}
				ready := tt.ready
				if ready == nil {
					ready = make(chan struct{}, 1)
				}
				if got := spinAwait(ready, tt.dl, tt.closed, d); got != tt.want {
					t.Fatalf("spinAwait = %v, want %v", got, tt.want)
				}
				if len(ready) != 0 {
					t.Fatal("the readiness token was left in the channel")
				}
				if n := d.spinners.Load(); n != 0 {
					t.Fatalf("spinners = %d after the poll, want 0", n)
				}
			})
		})
	}
}

// TestSpinAwaitLimit: once maxSpinners calls of a driver poll, the next
// one does not: it returns false at once and leaves the token for the
// blocking select.
func TestSpinAwaitLimit(t *testing.T) {
	d := &Driver{closedCh: make(chan struct{})}
	d.spinners.Store(maxSpinners)
	ready := make(chan struct{}, 1)
	ready <- struct{}{}
	if spinAwait(ready, nil, nil, d) {
		t.Fatal("spinAwait polled beyond maxSpinners")
	}
	if len(ready) != 1 {
		t.Fatal("spinAwait took the token without polling")
	}
	if n := d.spinners.Load(); n != maxSpinners {
		t.Fatalf("spinners = %d, want %d", n, maxSpinners)
	}
}

// TestTCPRoundTripsWhilePolling: many 1-byte request/responses (each side
// polls before nearly every Read) come back intact, then Close and the
// driver's Close end blocked Reads with net.ErrClosed, and the peer's FIN
// with io.EOF.
func TestTCPRoundTripsWhilePolling(t *testing.T) {
	a, b := newPair(t)
	client, server := tcpPair(t, a, b)
	srv := make(chan error, 1)
	go func() {
		buf := make([]byte, 1)
		for {
			if _, err := io.ReadFull(server, buf); err != nil {
				srv <- err
				return
			}
			buf[0] = ^buf[0]
			if _, err := server.Write(buf); err != nil {
				srv <- err
				return
			}
		}
	}()
	req, resp := make([]byte, 1), make([]byte, 1)
	for i := range 3000 {
		req[0] = byte(i)
		if _, err := client.Write(req); err != nil {
			t.Fatalf("round %d: Write: %v", i, err)
		}
		if _, err := io.ReadFull(client, resp); err != nil {
			t.Fatalf("round %d: Read: %v", i, err)
		}
		if resp[0] != ^req[0] {
			t.Fatalf("round %d: got %#x, want %#x", i, resp[0], ^req[0])
		}
	}
	// A Read blocked (polling or parked) when its connection closes.
	got := make(chan error, 1)
	go func() { _, err := client.Read(resp); got <- err }()
	client.Close()
	wantOpError(t, <-got, "read", net.ErrClosed)
	if err := <-srv; !errors.Is(err, io.EOF) {
		t.Fatalf("server Read after the client's Close: %v, want io.EOF", err)
	}
	// A Read blocked when its driver closes.
	_, s2 := tcpPair(t, a, b)
	go func() { _, err := s2.Read(resp); got <- err }()
	b.Close()
	wantOpError(t, <-got, "read", net.ErrClosed)
}
