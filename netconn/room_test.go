package netconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/stack"
	"github.com/microtcp/microtcp/link"
)

// TestDriverLinkRoomNoDrops: 50 connections each send 256 KiB at once
// through a pipe that queues 16 frames per direction. The link reports
// its room, so TCP holds data instead of overflowing the queue: every byte
// arrives intact and the data direction drops no frame at all. (The
// other direction carries only ACKs, which are never held; they may
// overflow and are only counted.)
func TestDriverLinkRoomNoDrops(t *testing.T) {
	const (
		conns = 50
		size  = 256 << 10
	)
	la, lb := link.NewPipe(link.PipeConfig{QueueLen: 16})
	da, db := newHost(t, la, 1), newHost(t, lb, 2)
	ln, err := ListenTCP(db, "tcp", ap("10.0.0.2:80"), conns, net.KeepAliveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	// Dial one by one: SYNs are never held, and 50 at once would
	// overflow the queue before any data flows.
	clients := make([]*TCPConn, conns)
	servers := make([]*TCPConn, conns)
	for i := range conns {
		acc := make(chan *TCPConn, 1)
		go func() {
			c, err := ln.AcceptTCP()
			if err != nil {
				t.Error(err)
			}
			acc <- c
		}()
		clients[i], err = DialTCP(context.Background(), da, "tcp", ap("10.0.0.1:0"), ap("10.0.0.2:80"), net.KeepAliveConfig{})
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		if servers[i] = <-acc; servers[i] == nil {
			t.FailNow()
		}
	}
	if d := la.Dropped(); d != 0 {
		t.Fatalf("%d frames dropped while connecting", d)
	}

	data := streamPattern(size + conns)
	release := make(chan struct{})
	errs := make([]error, 2*conns)
	var wg sync.WaitGroup
	for i := range conns {
		want := data[i : i+size] // a different stream per connection
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-release
			if _, err := clients[i].Write(want); err != nil {
				errs[2*i] = fmt.Errorf("conn %d: write: %w", i, err)
				return
			}
			if err := clients[i].Close(); err != nil {
				errs[2*i] = fmt.Errorf("conn %d: close: %w", i, err)
			}
		}()
		go func() {
			defer wg.Done()
			// No Close here: the client's ACK of this FIN would be a
			// frame never held, sent while others still fill the link.
			got, err := io.ReadAll(servers[i])
			switch {
			case err != nil:
				errs[2*i+1] = fmt.Errorf("conn %d: read: %w", i, err)
			case !bytes.Equal(got, want):
				errs[2*i+1] = fmt.Errorf("conn %d: received %d bytes, not the %d sent", i, len(got), len(want))
			}
		}()
	}
	close(release)
	wg.Wait()
	dropped := la.Dropped()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, c := range servers {
		c.Close()
	}
	var holds, retx uint64
	da.View(func(st *stack.Stack) {
		s := st.Stats().TCP
		holds, retx = s.LinkHolds, s.Retransmits
	})
	t.Logf("data direction: %d frames dropped, %d holds, %d retransmissions; ACK direction: %d dropped", dropped, holds, retx, lb.Dropped())
	if dropped != 0 {
		t.Fatalf("%d data-direction frames dropped with room reporting, want 0", dropped)
	}
	if holds == 0 {
		t.Fatal("no data was ever held: the test did not fill the link")
	}
}

// TestDriverLinkRoomOnlyWithReporter: the driver limits the stack's output
// only on a link that reports its room; on others (TAP, a wrapped pipe)
// the stack runs without a limit, as before.
func TestDriverLinkRoomOnlyWithReporter(t *testing.T) {
	pa, pb := link.NewPipe(link.PipeConfig{QueueLen: 64})
	reporting := newHost(t, pa, 1)
	plain := newHost(t, plainLink{pb}, 2)
	for _, x := range []struct {
		name    string
		d       *Driver
		limited bool
	}{{"PipeEnd", reporting, true}, {"plain link", plain, false}} {
		var room int
		if err := x.d.Do(func(st *stack.Stack, _ time.Time) error {
			room = st.LinkRoom()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// 64 frames less the reserve of a sixteenth, less what the
		// peer's reader has not yet taken (the gratuitous ARP, say).
		if x.limited && (room <= 0 || room > 60) {
			t.Fatalf("%s: the stack was given room %d, want 1 to 60", x.name, room)
		}
		if !x.limited && room >= 0 {
			t.Fatalf("%s: the stack was given room %d, want no limit", x.name, room)
		}
	}
}
