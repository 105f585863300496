package conformance

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/microtcp/microtcp"
)

// The TCP conns and listener offer more than net.Conn / net.Listener, as
// *net.TCPConn and *net.TCPListener do; tests reach it by assertion, the way
// users would.
type (
	closeWriter      interface{ CloseWrite() error }
	deadlineListener interface{ SetDeadline(time.Time) error }
	temporary        interface{ Temporary() bool }
)

// tcpPort is where the TCP suites listen on B unless they need their own.
const tcpPort = 8080

// addrBPort is B's address with a port, in the form Dial takes.
func addrBPort(port int) string {
	return net.JoinHostPort(addrB.String(), strconv.Itoa(port))
}

// listenTCP listens on s and closes the listener when the test ends (before
// the pair's cleanup, which was registered earlier and so runs later).
func listenTCP(t testing.TB, s *microtcp.Stack, address string) net.Listener {
	t.Helper()
	ln, err := s.Listen("tcp", address)
	if err != nil {
		t.Fatalf("Listen(tcp, %s): %v", address, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

type acceptResult struct {
	c   net.Conn
	err error
}

// connectTCP dials ln (on B) from A and returns both ends: client on A,
// server on B. Accept runs alongside the dial, so a listener that only
// completes handshakes for a waiting Accept still works.
func connectTCP(ctx context.Context, from *microtcp.Stack, ln net.Listener) (client, server net.Conn, err error) {
	accepted := make(chan acceptResult, 1)
	go func() {
		c, err := ln.Accept()
		accepted <- acceptResult{c, err}
	}()
	d := microtcp.Dialer{Stack: from}
	client, err = d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		// The Accept goroutine ends when the listener is closed.
		return nil, nil, fmt.Errorf("dial %v: %w", ln.Addr(), err)
	}
	select {
	case r := <-accepted:
		if r.err != nil {
			client.Close()
			return nil, nil, fmt.Errorf("accept: %w", r.err)
		}
		return client, r.c, nil
	case <-ctx.Done():
		client.Close()
		return nil, nil, fmt.Errorf("dial succeeded but accept did not return: %w", ctx.Err())
	}
}

// mustConnect is connectTCP for tests, with a bound on the handshake, and
// closes both conns when the test ends.
func mustConnect(t testing.TB, from *microtcp.Stack, ln net.Listener) (client, server net.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, server, err := connectTCP(ctx, from, ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}

// stream is an endless deterministic byte stream: the same seed always
// yields the same bytes however they are read, so the two ends of a
// transfer can each produce or check a body of any size without holding it
// in memory.
type stream struct {
	x    uint64
	word [8]byte
	off  int // bytes of word already handed out
}

func newStream(seed uint64) *stream {
	// Spread nearby seeds apart; xorshift64 must not start at zero.
	x := (seed ^ 0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	if x == 0 {
		x = 1
	}
	return &stream{x: x, off: 8}
}

// step advances the xorshift64 generator by one word.
func (s *stream) step() {
	s.x ^= s.x << 13
	s.x ^= s.x >> 7
	s.x ^= s.x << 17
}

// Read fills p completely; it never fails.
func (s *stream) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case s.off < len(s.word):
			c := copy(p[n:], s.word[s.off:])
			s.off += c
			n += c
		case len(p)-n >= 8:
			// Whole words straight into p: eight bytes per store keeps
			// the race detector's cost down on 16 MiB bodies.
			s.step()
			binary.LittleEndian.PutUint64(p[n:], s.x)
			n += 8
		default:
			s.step()
			binary.LittleEndian.PutUint64(s.word[:], s.x)
			s.off = 0
		}
	}
	return n, nil
}

// body returns size bytes of the stream for seed.
func body(seed uint64, size int64) io.Reader {
	return io.LimitReader(newStream(seed), size)
}

// bodySum is the SHA-256 of body(seed, size), computed independently of any
// transfer.
func bodySum(seed uint64, size int64) [sha256.Size]byte {
	h := sha256.New()
	if _, err := io.Copy(h, body(seed, size)); err != nil {
		panic(err) // the stream never fails
	}
	return sum(h)
}

func sum(h hash.Hash) [sha256.Size]byte {
	var s [sha256.Size]byte
	h.Sum(s[:0])
	return s
}

// copyResult is what a background io.Copy reports.
type copyResult struct {
	n   int64
	sum [sha256.Size]byte
	err error
}

// drain reads r to EOF in the background, hashing what it reads.
func drain(r io.Reader) <-chan copyResult {
	done := make(chan copyResult, 1)
	go func() {
		h := sha256.New()
		n, err := io.Copy(h, r)
		done <- copyResult{n, sum(h), err}
	}()
	return done
}

// isTemporary reports whether err claims to be temporary; http.Serve
// retries such Accept errors forever instead of returning.
func isTemporary(err error) bool {
	var te temporary
	return errors.As(err, &te) && te.Temporary()
}

// isTimeout reports whether err is a net.Error whose Timeout is true.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// tcpSeed replays a failure: go test -run ... -tcp.seed N, with the seed a
// failing run logged.
var tcpSeed = flag.Uint64("tcp.seed", 0, "seed for the randomised TCP suites (0 = from the clock)")

// seedFromClock returns a seed for a randomised test, -tcp.seed if given,
// and logs it.
func seedFromClock(t testing.TB) uint64 {
	t.Helper()
	seed := *tcpSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -tcp.seed %d)", seed, seed)
	return seed
}

// mbps is megabytes (10^6) per second.
func mbps(n int64, d time.Duration) float64 {
	return float64(n) / 1e6 / d.Seconds()
}
