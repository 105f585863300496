package netconn

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/stack"
	"github.com/microtcp/microtcp/core/wire"
	"github.com/microtcp/microtcp/link"
)

// newHost starts a driver for host 10.0.0.<n>/24 on l and closes it at
// cleanup.
func newHost(t *testing.T, l io.ReadWriteCloser, n byte) *Driver {
	t.Helper()
	cfg := stack.Config{
		Addr:   netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, n}), 24),
		MAC:    wire.MAC{0x02, 0, 0, 0, 0, n},
		Secret: [16]byte{n, 1, 2, 3},
	}
	st, err := stack.New(cfg, time.Now())
	if err != nil {
		t.Fatalf("stack.New: %v", err)
	}
	d := NewDriver(l, st)
	t.Cleanup(func() { d.Close() })
	return d
}

// newPair returns two hosts, 10.0.0.1 and 10.0.0.2, on one link.Pipe.
func newPair(t *testing.T) (a, b *Driver) {
	t.Helper()
	la, lb := link.Pipe()
	return newHost(t, la, 1), newHost(t, lb, 2)
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// listen opens an unconnected UDP socket and closes it at cleanup.
func listen(t *testing.T, d *Driver, local string) *PacketConn {
	t.Helper()
	c, err := OpenUDP(d, "udp", ap(local), netip.AddrPort{})
	if err != nil {
		t.Fatalf("OpenUDP(%s): %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echo serves c until it fails, sending every datagram back to its sender.
// The returned channel yields the error that stopped it.
func echo(c *PacketConn) <-chan error {
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				done <- err
				return
			}
			if _, err := c.WriteTo(buf[:n], from); err != nil {
				done <- err
				return
			}
		}
	}()
	return done
}

// wantOpError checks err's shape: a *net.OpError with op that wraps want.
func wantOpError(t *testing.T, err error, op string, want error) *net.OpError {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v: want errors.Is %v", err, want)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T): want a *net.OpError", err, err)
	}
	if oe.Op != op {
		t.Fatalf("OpError.Op = %q, want %q (%v)", oe.Op, op, err)
	}
	return oe
}
