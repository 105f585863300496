package netconn

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/microtcp/microtcp/core/stack"
	"github.com/microtcp/microtcp/core/tcp"
)

// DialTCP opens a connection from local to remote and waits for the
// handshake. ctx's cancellation or deadline aborts it (RST if the peer
// answered) and returns ctx.Err(). Other errors wrap ECONNREFUSED,
// ETIMEDOUT, EHOSTUNREACH, EADDRINUSE…; like OpenUDP it returns them
// unwrapped for the caller's *net.OpError.
func DialTCP(ctx context.Context, d *Driver, network string, local, remote netip.AddrPort, keepAlive net.KeepAliveConfig) (*TCPConn, error) {
	var tc *TCPConn
	err := d.Do(func(st *stack.Stack, now time.Time) error {
		c, err := st.ConnectTCP(now, local, remote)
		if err != nil {
			return err
		}
		tc = newTCPConn(d, network, c)
		tc.ka = keepAliveOf(keepAlive)
		if tc.ka.on {
			c.SetKeepAlive(now, true, tc.ka.idle, tc.ka.interval, tc.ka.count)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	w := tc.wait()
	for {
		established, failure, err := tc.handshakeState()
		if err != nil {
			return nil, err
		}
		if failure != nil {
			return nil, failure
		}
		if established {
			tc.dropWait()
			return tc, nil
		}
		select {
		case <-w.writable:
		case <-w.readable:
		case <-ctx.Done():
			// RFC 9293 §3.10.5: abort the half-open connection.
			_ = d.Do(func(_ *stack.Stack, now time.Time) error {
				tc.c.SetWakers(nil, nil)
				tc.c.Abort(now)
				return nil
			})
			return nil, ctx.Err()
		case <-d.Done():
			return nil, net.ErrClosed
		}
	}
}

// handshakeState reads, under the driver lock, whether the opening
// handshake completed or failed.
func (c *TCPConn) handshakeState() (established bool, failure, err error) {
	err = c.d.Do(func(*stack.Stack, time.Time) error {
		established = c.c.Established()
		failure = c.c.Err()
		if !established && failure == nil && c.c.State() == tcp.StateClosed {
			failure = fmt.Errorf("netconn: connection closed during the handshake: %w", syscall.ECONNABORTED)
		}
		return nil
	})
	return established, failure, err
}
