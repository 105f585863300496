package netconn

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// tcpPair dials from a to a listener on b and returns both ends.
func tcpPair(t *testing.T, a, b *Driver) (client, server *TCPConn) {
	t.Helper()
	ln, err := ListenTCP(b, "tcp", ap("10.0.0.2:0"), 0, net.KeepAliveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan *TCPConn, 1)
	go func() {
		c, err := ln.AcceptTCP()
		if err != nil {
			t.Error(err)
		}
		acc <- c
	}()
	client, err = DialTCP(t.Context(), a, "tcp", ap("10.0.0.1:0"), ln.l.Addr(), net.KeepAliveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	server = <-acc
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestTCPFullDuplex(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newPair(t)
		client, server := tcpPair(t, a, b)
		up := bytes.Repeat([]byte("abcdefgh"), 128<<10)
		down := bytes.Repeat([]byte("12345678"), 96<<10)
		var wg sync.WaitGroup
		var gotUp, gotDown []byte
		var errUp, errDown error
		wg.Add(4)
		go func() { defer wg.Done(); client.Write(up); client.CloseWrite() }()
		go func() { defer wg.Done(); server.Write(down); server.CloseWrite() }()
		go func() { defer wg.Done(); gotUp, errUp = io.ReadAll(server) }()
		go func() { defer wg.Done(); gotDown, errDown = io.ReadAll(client) }()
		wg.Wait()
		if errUp != nil || errDown != nil || !bytes.Equal(gotUp, up) || !bytes.Equal(gotDown, down) {
			t.Fatalf("up %d/%d (%v), down %d/%d (%v)", len(gotUp), len(up), errUp, len(gotDown), len(down), errDown)
		}
	})
}

func TestTCPConcurrentWritersStayWhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newPair(t)
		client, server := tcpPair(t, a, b)
		const writers, size = 8, 100 << 10
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := client.Write(bytes.Repeat([]byte{byte('A' + i)}, size)); err != nil {
					t.Error(err)
				}
			}()
		}
		go func() { wg.Wait(); client.CloseWrite() }()
		got, err := io.ReadAll(server)
		if err != nil || len(got) != writers*size {
			t.Fatalf("read %d bytes (%v), want %d", len(got), err, writers*size)
		}
		// Writes are serialised: each one's bytes arrive contiguous.
		for off := 0; off < len(got); off += size {
			if !bytes.Equal(got[off:off+size], bytes.Repeat(got[off:off+1], size)) {
				t.Fatalf("write at offset %d interleaved with another", off)
			}
		}
	})
}

func TestTCPDialCancelledAborts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := newPair(t)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		// Nobody at .99: the SYN waits for ARP until the context ends.
		_, err := DialTCP(ctx, a, "tcp", ap("10.0.0.1:0"), ap("10.0.0.99:80"), net.KeepAliveConfig{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("DialTCP: %v, want context.DeadlineExceeded", err)
		}
		if _, err := DialTCP(t.Context(), a, "tcp", ap("10.0.0.1:0"), ap("10.0.0.99:80"), net.KeepAliveConfig{}); !errors.Is(err, syscall.EHOSTUNREACH) {
			t.Fatalf("DialTCP to nobody: %v, want EHOSTUNREACH", err)
		}
	})
}

func TestTCPOptionsAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newPair(t)
		client, _ := tcpPair(t, a, b)
		if err := client.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 3}); err != nil {
			t.Fatal(err)
		}
		client.Close()
		for name, err := range map[string]error{
			"SetNoDelay":    client.SetNoDelay(true),
			"SetKeepAlive":  client.SetKeepAlive(true),
			"SetLinger":     client.SetLinger(0),
			"CloseWrite":    client.CloseWrite(),
			"CloseRead":     client.CloseRead(),
			"SetDeadline":   client.SetDeadline(time.Time{}),
			"second Close":  client.Close(),
			"SetReadBuffer": client.SetReadBuffer(1),
		} {
			wantOpError(t, err, map[bool]string{true: "close", false: "set"}[name == "CloseWrite" || name == "CloseRead" || name == "second Close"], net.ErrClosed)
		}
		if _, err := client.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Write after Close: %v", err)
		}
	})
}
