// Package microtcp is a userspace TCP/IP stack whose connections are
// ordinary net.Conn, net.Listener and net.PacketConn values.
//
// A Stack is one virtual IPv4 host on one Link (a TAP or TUN device, an
// in-memory link.Pipe, or any frame transport). It runs one reader goroutine
// and one protocol timer; sockets start no goroutines.
package microtcp

import (
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/microtcp/microtcp/core/stack"
	"github.com/microtcp/microtcp/netconn"
)

// Stack is one virtual host. Its methods are safe for concurrent use.
type Stack struct {
	d       *netconn.Driver
	addr    netip.Prefix
	pingSeq atomic.Uint32
}

// NewStack validates cfg and starts serving link at once: it announces the
// address (gratuitous ARP on Ethernet) and answers ARP and ping from then
// on. The Stack owns link; Close closes it.
func NewStack(link Link, cfg Config) (*Stack, error) {
	if link == nil {
		return nil, errors.New("microtcp: NewStack needs a Link, got nil")
	}
	sc, err := cfg.stackConfig()
	if err != nil {
		return nil, err
	}
	st, err := stack.New(sc, time.Now())
	if err != nil {
		return nil, fmt.Errorf("microtcp: %w", err)
	}
	return &Stack{d: netconn.NewDriver(link, st), addr: cfg.Addr}, nil
}

// Addr returns the host's address and subnet.
func (s *Stack) Addr() netip.Prefix { return s.addr }

// Close aborts every socket (blocked calls return errors wrapping
// net.ErrClosed), closes the link and waits for the stack's goroutines.
// It is idempotent; it returns the link's Close error.
func (s *Stack) Close() error { return s.d.Close() }
