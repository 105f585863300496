package microtcp_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/microtcp/microtcp"
	"github.com/microtcp/microtcp/link"
)

// Two virtual hosts joined by an in-memory Ethernet link: one pings the
// other, then sends a datagram to a UDP echo server running on it.
func Example() {
	endA, endB := link.Pipe()
	a, err := microtcp.NewStack(endA, microtcp.Config{Addr: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := microtcp.NewStack(endB, microtcp.Config{Addr: netip.MustParsePrefix("10.0.0.2/24")})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.Ping(ctx, netip.MustParseAddr("10.0.0.2")); err != nil {
		log.Fatal(err)
	}
	fmt.Println("ping 10.0.0.2: ok")

	// A UDP echo server on b.
	srv, err := b.ListenPacket("udp", ":7")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			srv.WriteTo(buf[:n], from)
		}
	}()

	// A client on a: a connected UDP socket keeps datagram boundaries.
	c, err := a.Dial("udp", "10.0.0.2:7")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("hello over microtcp")); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("echo from %v: %s\n", c.RemoteAddr(), buf[:n])
	// Output:
	// ping 10.0.0.2: ok
	// echo from 10.0.0.2:7: hello over microtcp
}
