package microtcp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/microtcp/microtcp/netconn"
)

// pingPayload is the 56 data bytes ping(8) sends by default, so a capture
// looks familiar.
var pingPayload = func() []byte {
	b := make([]byte, 56)
	for i := range b {
		b[i] = byte(0x10 + i)
	}
	return b
}()

// Ping sends one ICMP echo request to dst and waits for the matching reply,
// returning the round-trip time. It waits for as long as ctx allows: give
// it a deadline. When ctx ends it returns ctx.Err(); when the next hop does
// not answer ARP, an error wrapping syscall.EHOSTUNREACH.
func (s *Stack) Ping(ctx context.Context, dst netip.Addr) (time.Duration, error) {
	ipAddr := &net.IPAddr{IP: dst.AsSlice()}
	opError := func(err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return ctxErr
		}
		return &net.OpError{Op: "ping", Net: "ip4:icmp", Addr: ipAddr, Err: err}
	}
	dst = dst.Unmap()
	if !dst.Is4() {
		return 0, opError(&net.AddrError{Err: "not an IPv4 address", Addr: dst.String()})
	}
	e, err := netconn.OpenEcho(s.d)
	if err != nil {
		return 0, opError(err)
	}
	defer e.Close()

	seq := uint16(s.pingSeq.Add(1))
	start := time.Now()
	if err := e.Send(ctx, dst, seq, pingPayload); err != nil {
		return 0, opError(err)
	}
	for {
		from, got, n, err := e.Recv(ctx)
		if err != nil {
			return 0, opError(err)
		}
		// The socket owns its identifier, so only stale replies to an
		// earlier sequence number can show up here.
		if from == dst && got == seq && n == len(pingPayload) {
			return time.Since(start), nil
		}
	}
}
