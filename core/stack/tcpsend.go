package stack

import (
	"net/netip"

	"github.com/microtcp/microtcp/core/tcp"
	"github.com/microtcp/microtcp/core/wire"
)

// The engine's data segments take this path: the payload is copied once,
// from the send buffer straight into the frame, instead of through the
// engine's scratch buffer first.
var _ tcp.SourceOutput = (*tcpOutput)(nil)

// SendTCPFrom is SendTCP with the payload peeked from src: the n bytes at
// offset off.
func (o *tcpOutput) SendTCPFrom(local, remote netip.AddrPort, f *wire.TCPFields, src tcp.PayloadSource, off, n int) {
	o.sendTCP(local, remote, f, nil, src, off, n)
}
