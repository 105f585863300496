package conformance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"testing"
	"time"
)

// serverName is the name the test certificate is issued for.
const serverName = "test.microtcp"

// testCert makes a self-signed ECDSA P-256 certificate for serverName and
// B's address, and a pool that trusts it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: serverName},
		DNSNames:              []string{serverName},
		IPAddresses:           []net.IP{addrB.AsSlice()},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestTCPTLS(t *testing.T) {
	const size = 1 << 20
	p := newPair(t, opts{})
	ln := listenTCP(t, p.B, addrBPort(tcpPort))
	cert, pool := testCert(t)
	seed := seedFromClock(t)

	rawClient, rawServer := mustConnect(t, p.A, ln)
	for _, c := range []net.Conn{rawClient, rawServer} {
		c.SetDeadline(time.Now().Add(time.Minute))
	}
	server := tls.Server(rawServer, &tls.Config{Certificates: []tls.Certificate{cert}})
	client := tls.Client(rawClient, &tls.Config{RootCAs: pool, ServerName: serverName})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hs := make(chan error, 1)
	go func() { hs <- server.HandshakeContext(ctx) }()
	if err := client.HandshakeContext(ctx); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-hs; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	st := client.ConnectionState()
	if !st.HandshakeComplete || st.Version != tls.VersionTLS13 || len(st.PeerCertificates) == 0 || !st.PeerCertificates[0].Equal(cert.Leaf) {
		t.Fatalf("connection state: complete %v, version %x, peer certs %d", st.HandshakeComplete, st.Version, len(st.PeerCertificates))
	}

	// 1 MiB each way at the same time, then close_notify each way: the
	// reader sees io.EOF after exactly the bytes sent.
	type side struct {
		name      string
		c         *tls.Conn
		writeSeed uint64
	}
	sides := []side{{"client", client, seed}, {"server", server, seed + 1}}
	var reads [2]<-chan copyResult
	writes := make(chan error, 2)
	for i, s := range sides {
		reads[i] = drain(s.c)
		go func() {
			_, err := io.Copy(s.c, body(s.writeSeed, size))
			if err == nil {
				// CloseWrite on a tls.Conn sends close_notify under a
				// 5 s write deadline, then leaves a past write deadline on
				// the TCP conn, which Close must still finish gracefully.
				err = s.c.CloseWrite()
			}
			writes <- err
		}()
	}
	for range 2 {
		if err := <-writes; err != nil {
			t.Errorf("write side: %v", err)
		}
	}
	for i, s := range sides {
		r := <-reads[i]
		peer := sides[1-i]
		if r.err != nil || r.n != size || r.sum != bodySum(peer.writeSeed, size) {
			t.Errorf("%s read %d bytes (sha256 %x), %v; %s sent %d", s.name, r.n, r.sum, r.err, peer.name, size)
		}
	}
	for _, s := range sides {
		if err := s.c.Close(); err != nil {
			t.Errorf("%s Close: %v", s.name, err)
		}
	}
}
