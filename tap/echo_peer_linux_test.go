package tap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
	"github.com/microtcp/microtcp/internal/netnstest"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// echoPeer plays the far end of the link: the host at hostAddr pings addr,
// and echoPeer answers ARP (TAP) and ICMP echo for addr through the device.
type echoPeer struct {
	dev      *Device
	addr     netip.Addr // the address the host pings
	hostAddr netip.Addr // the host side's address, expected as the source
	mac      wire.MAC   // addr's link address (TAP only)
}

// peerLog is what the peer saw, for the test to assert on after the device
// is closed.
type peerLog struct {
	arpRequests int   // ARP requests for addr sent by hostAddr
	echoes      int   // echo requests from hostAddr answered
	notIP       int   // TUN packets not starting with an IPv4/IPv6 header (a PI header would)
	readErr     error // what ended the loop
	writeErr    error // first failed Write
}

// serve reads frames until Read fails (the test closes the device).
func (p *echoPeer) serve() peerLog {
	var log peerLog
	buf := make([]byte, 64<<10)
	for {
		n, err := p.dev.Read(buf)
		if err != nil {
			log.readErr = err
			return log
		}
		var reply []byte
		if p.dev.Mode() == TUN {
			reply = p.handlePacket(buf[:n], &log)
		} else {
			reply = p.handleFrame(buf[:n], &log)
		}
		if reply == nil {
			continue
		}
		if _, err := p.dev.Write(reply); err != nil && log.writeErr == nil {
			log.writeErr = err
		}
	}
}

func (p *echoPeer) handlePacket(pkt []byte, log *peerLog) []byte {
	if len(pkt) == 0 || (pkt[0]>>4 != 4 && pkt[0]>>4 != 6) {
		log.notIP++
		return nil
	}
	return p.echoReply(pkt, log)
}

func (p *echoPeer) handleFrame(frame []byte, log *peerLog) []byte {
	eth, err := wire.ParseEthernet(frame)
	if err != nil {
		return nil
	}
	switch eth.EtherType() {
	case wire.EtherTypeARP:
		a, err := wire.ParseARP(eth.Payload())
		if err != nil || a.Op() != wire.ARPRequest || a.TargetIP() != p.addr || a.SenderIP() != p.hostAddr {
			return nil
		}
		log.arpRequests++
		out := make([]byte, wire.EthernetHeaderLen+wire.ARPLen)
		eh := wire.EthernetFields{Dst: a.SenderMAC(), Src: p.mac, EtherType: wire.EtherTypeARP}
		eh.Encode(out)
		ah := wire.ARPFields{Op: wire.ARPReply, SenderMAC: p.mac, SenderIP: p.addr, TargetMAC: a.SenderMAC(), TargetIP: a.SenderIP()}
		ah.Encode(out[wire.EthernetHeaderLen:])
		return out
	case wire.EtherTypeIPv4:
		ip := p.echoReply(eth.Payload(), log)
		if ip == nil {
			return nil
		}
		out := make([]byte, wire.EthernetHeaderLen+len(ip))
		eh := wire.EthernetFields{Dst: eth.Src(), Src: p.mac, EtherType: wire.EtherTypeIPv4}
		eh.Encode(out)
		copy(out[wire.EthernetHeaderLen:], ip)
		return out
	}
	return nil
}

// echoReply answers a valid ICMP echo request to p.addr (RFC 792, "Echo or
// Echo Reply Message": addresses swapped, type 0, identifier, sequence
// number and data returned unchanged).
func (p *echoPeer) echoReply(pkt []byte, log *peerLog) []byte {
	ip, err := wire.ParseIPv4(pkt)
	if err != nil || !ip.ChecksumValid() || ip.Dst() != p.addr || ip.Src() != p.hostAddr || ip.Protocol() != wire.ProtoICMP {
		return nil
	}
	req, err := wire.ParseICMPv4(ip.Payload())
	if err != nil || !req.ChecksumValid() || req.Type() != wire.ICMPEchoRequest {
		return nil
	}
	log.echoes++
	out := make([]byte, wire.IPv4HeaderLen+len(req))
	copy(out[wire.IPv4HeaderLen:], req)
	ih := wire.ICMPv4Fields{Type: wire.ICMPEchoReply, Rest: req.Rest()}
	ih.Encode(out[wire.IPv4HeaderLen:])
	iph := wire.IPv4Fields{TotalLen: len(out), TTL: 64, Protocol: wire.ProtoICMP, Src: p.addr, Dst: ip.Src()}
	iph.Encode(out)
	return out
}

// pingFromHost pings dst from inside namespace ns and returns nil when a
// reply came back. It runs the ping command when it is installed and
// otherwise sends the echo request itself from a raw ICMP socket opened in
// ns, so the test does not depend on iputils being present.
func pingFromHost(t *testing.T, ns string, dst netip.Addr) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := exec.LookPath("ping"); err == nil {
		out, err := netnstest.Command(ctx, ns, "ping", "-c1", "-W1", dst.String()).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ping %v in %s: %w\n%s", dst, ns, err, out)
		}
		t.Logf("ping %v in %s:\n%s", dst, ns, out)
		return nil
	}
	var c *icmp.PacketConn
	if err := netnstest.InNetns(t, ns, func() error {
		var err error
		c, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		return fmt.Errorf("raw ICMP socket in %s: %w", ns, err)
	}
	defer c.Close()
	t.Logf("ping command not installed: sending the echo request to %v from a raw socket in %s", dst, ns)
	const id, seq = 0x6d74, 1
	req := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("microtcp tap test")}}
	b, err := req.Marshal(nil)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		return fmt.Errorf("send echo request to %v: %w", dst, err)
	}
	if err := c.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for {
		// A raw socket sees every ICMP message in the namespace, including
		// our own request on some kernels: wait for the matching reply.
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return fmt.Errorf("wait for echo reply from %v: %w", dst, err)
		}
		m, err := icmp.ParseMessage(1, buf[:n])
		if err != nil {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		if m.Type == ipv4.ICMPTypeEchoReply && ok && e.ID == id && e.Seq == seq && from.String() == dst.String() {
			return nil
		}
	}
}

// runPing serves dev as peer while the host in ns pings peer.addr, then
// closes dev and returns what the peer saw and the ping's outcome.
func runPing(t *testing.T, ns string, dev *Device, peer *echoPeer) (peerLog, error) {
	t.Helper()
	logc := make(chan peerLog, 1)
	go func() { logc <- peer.serve() }()
	pingErr := pingFromHost(t, ns, peer.addr)
	if err := dev.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case log := <-logc:
		if !errors.Is(log.readErr, os.ErrClosed) {
			t.Errorf("Read after Close: got %v, want os.ErrClosed", log.readErr)
		}
		return log, pingErr
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock the peer's Read within 5s")
		return peerLog{}, nil
	}
}
