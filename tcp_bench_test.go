package microtcp

import (
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/microtcp/microtcp/link"
)

// benchConns returns a connected client and server over link.Pipe, in real
// time (benchmarks measure the wall clock).
func benchConns(b *testing.B) (client, server net.Conn) {
	b.Helper()
	la, lb := link.Pipe()
	a, err := NewStack(la, Config{Addr: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	s, err := NewStack(lb, Config{Addr: netip.MustParsePrefix("10.0.0.2/24")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ln, err := s.Listen("tcp", ":80")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	client, err = a.Dial("tcp", "10.0.0.2:80")
	if err != nil {
		b.Fatal(err)
	}
	server = <-acc
	if server == nil {
		b.Fatal("accept failed")
	}
	b.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// BenchmarkTCPStream measures one-way bulk throughput through two stacks.
func BenchmarkTCPStream(b *testing.B) {
	client, server := benchConns(b)
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	done := make(chan error, 1)
	go func() {
		_, err := io.CopyN(io.Discard, server, int64(b.N)*chunk)
		done <- err
	}()
	b.SetBytes(chunk)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := client.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTCPRoundTrip measures a 64-byte request and its 64-byte answer.
func BenchmarkTCPRoundTrip(b *testing.B) {
	client, server := benchConns(b)
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(server, buf); err != nil {
				return
			}
			if _, err := server.Write(buf); err != nil {
				return
			}
		}
	}()
	msg := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := client.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(client, msg); err != nil {
			b.Fatal(err)
		}
	}
}
