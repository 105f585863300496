package conformance

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// After CloseWrite the peer reads everything sent, then a bare io.EOF, and
// can still write back; the half-closed side reads that answer in full.
func TestTCPHalfClose(t *testing.T) {
	p := newPair(t, opts{})
	ln := listenTCP(t, p.B, addrBPort(tcpPort))
	seed := seedFromClock(t)
	for _, tc := range []struct {
		name          string
		serverCloses  bool // the accepted end half-closes instead of the dialer
		sent, replied int64
	}{
		{name: "dialer/empty", sent: 0, replied: 1},
		{name: "dialer/small", sent: 100, replied: 100},
		{name: "dialer/1MiB-then-1MiB", sent: 1 << 20, replied: 1 << 20},
		{name: "dialer/1MiB-then-nothing", sent: 1 << 20, replied: 0},
		{name: "acceptor/small", serverCloses: true, sent: 100, replied: 100},
		{name: "acceptor/1MiB-then-1MiB", serverCloses: true, sent: 1 << 20, replied: 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := mustConnect(t, p.A, ln)
			closer, peer := client, server
			if tc.serverCloses {
				closer, peer = server, client
			}
			// Nothing here may block for long; a hang fails the test.
			for _, c := range []net.Conn{closer, peer} {
				c.SetDeadline(time.Now().Add(30 * time.Second))
			}
			cw, ok := closer.(closeWriter)
			if !ok {
				t.Fatalf("%T has no CloseWrite", closer)
			}

			sentSeed, replySeed := seed, seed+1
			got := drain(peer)
			if _, err := io.Copy(closer, body(sentSeed, tc.sent)); err != nil {
				t.Fatalf("write before CloseWrite: %v", err)
			}
			if err := cw.CloseWrite(); err != nil {
				t.Fatalf("CloseWrite: %v", err)
			}
			// drain stops at the first error; io.Copy reports io.EOF as
			// nil, so nil here means a bare io.EOF ended the stream.
			r := <-got
			if r.err != nil {
				t.Fatalf("peer reading up to EOF: %v after %d bytes", r.err, r.n)
			}
			if r.n != tc.sent || r.sum != bodySum(sentSeed, tc.sent) {
				t.Fatalf("peer got %d bytes (sha256 %x), sent %d", r.n, r.sum, tc.sent)
			}
			// And EOF again, bare, as package net reports it.
			if n, err := peer.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Errorf("peer's second Read after EOF: %d, %v; want 0, io.EOF", n, err)
			}

			// The write side is shut: writing fails, without a panic.
			if n, err := closer.Write([]byte("x")); err == nil {
				t.Errorf("Write after CloseWrite succeeded (%d bytes)", n)
			}

			// The other direction is still open.
			back := drain(closer)
			if _, err := io.Copy(peer, body(replySeed, tc.replied)); err != nil {
				t.Fatalf("peer writing after reading EOF: %v", err)
			}
			if err := peer.Close(); err != nil {
				t.Fatalf("peer Close: %v", err)
			}
			r = <-back
			if r.err != nil {
				t.Fatalf("half-closed side reading the reply: %v after %d bytes", r.err, r.n)
			}
			if r.n != tc.replied || r.sum != bodySum(replySeed, tc.replied) {
				t.Fatalf("half-closed side got %d bytes (sha256 %x), peer sent %d", r.n, r.sum, tc.replied)
			}
			if err := closer.Close(); err != nil {
				t.Errorf("Close after CloseWrite and EOF: %v", err)
			}
		})
	}
}

// CloseWrite on a closed conn is an error wrapping net.ErrClosed, and a
// second CloseWrite is harmless.
func TestTCPCloseWriteMisuse(t *testing.T) {
	p := newPair(t, opts{})
	ln := listenTCP(t, p.B, addrBPort(tcpPort))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, server, err := connectTCP(ctx, p.A, ln)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	cw := client.(closeWriter)
	if err := cw.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	if err := cw.CloseWrite(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Errorf("second CloseWrite: %v", err)
	}
	if err := client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := cw.CloseWrite(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("CloseWrite after Close: %v, want an error wrapping net.ErrClosed", err)
	}
	if _, err := client.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v, want an error wrapping net.ErrClosed", err)
	}
	if _, err := client.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v, want an error wrapping net.ErrClosed", err)
	}
}
