package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// testWriter sends log output to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// randomBytes returns n bytes from a seeded generator, logging the seed.
func randomBytes(t testing.TB, seed uint64, n int) []byte {
	t.Logf("random payload: %d bytes, seed %d", n, seed)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// kernelForwarder starts a forwarder on a kernel loopback socket toward
// target, closed (and checked to have stopped) when the test ends.
func kernelForwarder(t *testing.T, target string) *forwarder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var d net.Dialer
	f := newForwarder(ln, d.DialContext, target, log.New(testWriter{t}, "", 0), true)
	served := make(chan error, 1)
	go func() { served <- f.serve() }()
	t.Cleanup(func() {
		f.close()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return f
}

func listenKernel(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func dialKernel(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second)) // a hang fails, not blocks
	return c.(*net.TCPConn)
}

// TestForwarderHalfClose: request, then FIN, then the response, then FIN,
// the way an HTTP/1.0 exchange without Content-Length goes. The upstream
// only answers once it has seen the client's EOF, so this fails unless the
// forwarder passes the half-close on while the other direction stays open.
func TestForwarderHalfClose(t *testing.T) {
	request := randomBytes(t, 1, 1<<20)
	response := randomBytes(t, 2, 2<<20)
	up := listenKernel(t)
	upstreamGot := make(chan []byte, 1)
	go func() {
		c, err := up.Accept()
		if err != nil {
			upstreamGot <- nil
			return
		}
		defer c.Close()
		got, _ := io.ReadAll(c)
		upstreamGot <- got
		c.Write(response)
	}()
	f := kernelForwarder(t, up.Addr().String())

	c := dialKernel(t, f.ln.Addr().String())
	if _, err := c.Write(request); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	if !bytes.Equal(<-upstreamGot, request) {
		t.Error("the upstream received a different request")
	}
	if !bytes.Equal(got, response) {
		t.Errorf("the client received %d bytes, not the %d-byte response", len(got), len(response))
	}
}

// TestForwarderBothWays streams 8 MiB each way at once through an echo.
func TestForwarderBothWays(t *testing.T) {
	payload := randomBytes(t, 3, 8<<20)
	up := listenKernel(t)
	var conns tracker
	go serveTCPEcho(up, &conns)
	t.Cleanup(conns.closeAll)
	f := kernelForwarder(t, up.Addr().String())

	c := dialKernel(t, f.ln.Addr().String())
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(payload)
		if err == nil {
			err = c.CloseWrite()
		}
		wrote <- err
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("writing: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Errorf("echo returned %d bytes, want the %d sent, intact", len(got), len(payload))
	}
}

// TestForwarderDialFails: nothing listens upstream, so the client's
// connection is closed without data instead of hanging.
func TestForwarderDialFails(t *testing.T) {
	up := listenKernel(t)
	target := up.Addr().String()
	up.Close() // the port is now refused
	f := kernelForwarder(t, target)
	c := dialKernel(t, f.ln.Addr().String())
	n, err := c.Read(make([]byte, 1))
	if n != 0 || err == nil {
		t.Fatalf("Read = %d, %v; want the connection closed", n, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("Read timed out: the forwarder left the connection open: %v", err)
	}
}

// TestForwarderCloseAborts: close ends relays that would otherwise run for
// ever (neither side ever closes) and returns only after they have.
func TestForwarderCloseAborts(t *testing.T) {
	up := listenKernel(t)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := up.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var d net.Dialer
	f := newForwarder(ln, d.DialContext, up.Addr().String(), log.New(testWriter{t}, "", 0), false)
	served := make(chan error, 1)
	go func() { served <- f.serve() }()

	c := dialKernel(t, ln.Addr().String())
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	upc, ok := <-accepted
	if !ok {
		t.Fatal("upstream accept failed")
	}
	defer upc.Close()
	upc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(upc, make([]byte, 1)); err != nil {
		t.Fatalf("the relay is not up: %v", err)
	}

	f.close() // must return: it waits for the relay's goroutines
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("client connection still open after close")
	}
	if _, err := upc.Read(make([]byte, 1)); err == nil {
		t.Error("upstream connection still open after close")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second); err == nil {
		t.Error("the forwarder still accepts after close")
	}
}

// TestEchoServers runs both echo services on kernel sockets.
func TestEchoServers(t *testing.T) {
	ln := listenKernel(t)
	var conns tracker
	tcpDone := make(chan error, 1)
	go func() { tcpDone <- serveTCPEcho(ln, &conns) }()

	c := dialKernel(t, ln.Addr().String())
	msg := randomBytes(t, 4, 300<<10)
	go func() {
		c.Write(msg)
		c.CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, msg) {
		t.Errorf("TCP echo returned %d bytes (%v), want the %d sent", len(got), err, len(msg))
	}
	ln.Close()
	if err := <-tcpDone; err != nil {
		t.Errorf("serveTCPEcho after Close = %v, want nil", err)
	}
	conns.closeAll()

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	udpDone := make(chan error, 1)
	go func() { udpDone <- serveUDPEcho(pc) }()
	u, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.SetDeadline(time.Now().Add(10 * time.Second))
	for _, size := range []int{0, 1, 1472} {
		dgram := msg[:size]
		if _, err := u.Write(dgram); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2000)
		n, err := u.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], dgram) {
			t.Errorf("UDP echo of %d bytes returned %d (%v)", size, n, err)
		}
	}
	pc.Close()
	if err := <-udpDone; err != nil {
		t.Errorf("serveUDPEcho after Close = %v, want nil", err)
	}
}

// The forwarder's dial is cancelled by close, not left to time out.
func TestForwarderCloseCancelsDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dialing := make(chan struct{})
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		close(dialing)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	f := newForwarder(ln, dial, "10.0.0.4:80", log.New(testWriter{t}, "", 0), false)
	served := make(chan error, 1)
	go func() { served <- f.serve() }()
	c := dialKernel(t, ln.Addr().String())
	<-dialing
	f.close()
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("client connection still open after close")
	}
}
