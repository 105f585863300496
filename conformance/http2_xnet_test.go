package conformance

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// HTTP/2 over TLS with golang.org/x/net/http2 on both ends: ConfigureServer
// on the server, http2.Transport dialing through microtcp on the client.
func TestTCPHTTP2XNet(t *testing.T) {
	p := newPair(t, opts{})
	ln := listenTCP(t, p.B, addrBPort(tcpPort))
	cert, pool := testCert(t)

	var conns atomic.Int64
	srv := &http.Server{
		Handler:   testHandler(),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		},
	}
	if err := http2.ConfigureServer(srv, &http2.Server{}); err != nil {
		t.Fatalf("ConfigureServer: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	defer func() {
		srv.Close()
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("ServeTLS returned %v", err)
		}
	}()

	tr := &http2.Transport{
		DialTLSContext:  tlsDialer(p.A, pool),
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: serverName},
	}
	defer tr.CloseIdleConnections()
	checkH2(t, &http.Client{Transport: tr, Timeout: time.Minute}, "https://"+ln.Addr().String(), &conns)
}
