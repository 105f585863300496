package conformance

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/microtcp/microtcp"
)

// dnsServer answers A queries for one name over UDP; AAAA for that name gets
// an empty answer, and every other name NXDOMAIN.
type dnsServer struct {
	name    dnsmessage.Name
	addr    [4]byte
	queries atomic.Int64 // well-formed queries answered
	bad     atomic.Int64 // datagrams that did not parse
	done    chan error
}

func serveDNS(c net.PacketConn, name string, addr [4]byte) *dnsServer {
	s := &dnsServer{name: dnsmessage.MustNewName(name), addr: addr, done: make(chan error, 1)}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				s.done <- err
				return
			}
			resp, err := s.answer(buf[:n])
			if err != nil {
				s.bad.Add(1)
				continue
			}
			s.queries.Add(1)
			if _, err := c.WriteTo(resp, from); err != nil {
				s.done <- err
				return
			}
		}
	}()
	return s
}

func (s *dnsServer) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	// The resolver checks these to accept an answer as final.
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	known := strings.EqualFold(q.Name.String(), s.name.String())
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if known && q.Type == dnsmessage.TypeA && q.Class == dnsmessage.ClassINET {
		err := b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: s.addr})
		if err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// A net.Resolver whose Dial goes through microtcp (stack A) resolves against
// a DNS server on stack B over UDP, whatever /etc/resolv.conf names.
func TestResolverOverMicrotcpUDP(t *testing.T) {
	p := newPair(t, opts{})
	pc, err := p.B.ListenPacket("udp", ":53")
	if err != nil {
		t.Fatal(err)
	}
	srv := serveDNS(pc, serverName+".", addrB.As4())
	defer func() {
		pc.Close()
		if err := <-srv.done; !errors.Is(err, net.ErrClosed) {
			t.Errorf("DNS server stopped with %v, want net.ErrClosed", err)
		}
	}()

	var dials atomic.Int64
	d := &microtcp.Dialer{Stack: p.A}
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			dials.Add(1)
			// The server the system configuration names is not on our
			// link; ours is.
			return d.DialContext(ctx, "udp", net.JoinHostPort(addrB.String(), "53"))
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	addrs, err := r.LookupHost(ctx, serverName)
	if err != nil {
		t.Fatalf("LookupHost(%s): %v", serverName, err)
	}
	if !slices.Equal(addrs, []string{addrB.String()}) {
		t.Errorf("LookupHost(%s) = %v, want [%v]", serverName, addrs, addrB)
	}
	if dials.Load() == 0 || srv.queries.Load() == 0 {
		t.Errorf("the lookup did not go through microtcp: %d dials, %d queries answered", dials.Load(), srv.queries.Load())
	}

	ips, err := r.LookupNetIP(ctx, "ip4", serverName)
	if err != nil || len(ips) != 1 || ips[0] != addrB {
		t.Errorf("LookupNetIP(ip4, %s) = %v, %v; want [%v]", serverName, ips, err, addrB)
	}

	const missing = "nx.microtcp"
	before := srv.queries.Load()
	addrs, err = r.LookupHost(ctx, missing)
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound || de.Name != missing {
		t.Fatalf("LookupHost(%s) = %v, %v (%T); want a *net.DNSError with IsNotFound for %s", missing, addrs, err, err, missing)
	}
	if srv.queries.Load() == before {
		t.Errorf("NXDOMAIN was not answered by our server")
	}
	if n := srv.bad.Load(); n != 0 {
		t.Errorf("%d malformed queries reached the server", n)
	}
}
