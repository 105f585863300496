package main

import (
	"errors"
	"fmt"
	"io"
	"net"
)

// serveTCPEcho answers every connection with what it sends (RFC 862) until
// the peer's FIN, then half-closes, until ln is closed (nil) or fails.
func serveTCPEcho(ln net.Listener, conns *tracker) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("TCP echo on %v: %w", ln.Addr(), err)
		}
		if !conns.add(c) {
			continue
		}
		go func() {
			defer conns.done(c)
			if echoStream(c) == nil {
				closeWrite(c)
			}
		}()
	}
}

// echoStream writes back what it reads until EOF (nil) or an error. It is
// a plain loop rather than io.Copy(c, c), which would hand the socket to
// its own ReadFrom or WriteTo fast paths.
func echoStream(c net.Conn) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// serveUDPEcho sends every datagram back to where it came from (RFC 862)
// until pc is closed (nil) or fails.
func serveUDPEcho(pc net.PacketConn) error {
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("UDP echo on %v: %w", pc.LocalAddr(), err)
		}
		// A reply that cannot be sent is lost, as UDP allows; the next
		// datagram is served anyway.
		pc.WriteTo(buf[:n], from)
	}
}
