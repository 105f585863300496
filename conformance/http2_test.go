package conformance

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/microtcp/microtcp"
)

// h2Streams is how many requests run at once over the one HTTP/2 conn.
const h2Streams = 8

// tlsDialer dials TCP through microtcp and runs a TLS client handshake that
// offers h2 (ALPN), the way DialTLSContext hooks expect.
func tlsDialer(s *microtcp.Stack, pool *x509.CertPool) func(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
	d := &microtcp.Dialer{Stack: s, Timeout: 30 * time.Second}
	return func(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
		if cfg == nil {
			cfg = &tls.Config{RootCAs: pool, ServerName: serverName, NextProtos: []string{"h2"}}
		}
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := tls.Client(raw, cfg)
		if err := c.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		if got := c.ConnectionState().NegotiatedProtocol; got != "h2" {
			c.Close()
			return nil, fmt.Errorf("ALPN negotiated %q, want h2", got)
		}
		return c, nil
	}
}

// checkH2 runs one warm-up request, then h2Streams concurrent downloads
// and uploads, asserting HTTP/2 and intact bodies.
func checkH2(t *testing.T, c *http.Client, baseURL string, conns *atomic.Int64) {
	t.Helper()
	resp, err := c.Get(baseURL + "/small?i=7")
	if err != nil {
		t.Fatalf("first request: %v", err)
	}
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" || resp.ProtoMajor != 2 {
		t.Fatalf("first request used %s, want HTTP/2.0", resp.Proto)
	}
	const size = 256 << 10
	errs := make(chan error, 2*h2Streams)
	for i := range h2Streams {
		go func() { errs <- download(c, baseURL, uint64(i), size) }()
		go func() { errs <- upload(c, baseURL, uint64(i)+100, size) }()
	}
	for range 2 * h2Streams {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections served %d concurrent streams, want 1", n, 2*h2Streams+1)
	}
}

// HTTP/2 over TLS with net/http's own HTTP/2 (a bundled copy of
// golang.org/x/net/http2), configured through http.Protocols.
func TestTCPHTTP2Bundled(t *testing.T) {
	p := newPair(t, opts{})
	ln := listenTCP(t, p.B, addrBPort(tcpPort))
	cert, pool := testCert(t)

	var conns atomic.Int64
	var protos http.Protocols
	protos.SetHTTP2(true)
	srv := &http.Server{
		Handler:   testHandler(),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Protocols: &protos,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		},
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	defer func() {
		srv.Close()
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("ServeTLS returned %v", err)
		}
	}()

	dialTLS := tlsDialer(p.A, pool)
	tr := &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialTLS(ctx, network, addr, nil)
		},
		Protocols: &protos,
	}
	defer tr.CloseIdleConnections()
	checkH2(t, &http.Client{Transport: tr, Timeout: time.Minute}, "https://"+ln.Addr().String(), &conns)
}
