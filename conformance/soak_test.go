package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/microtcp/microtcp"
	"github.com/microtcp/microtcp/link"
)

var (
	soakDuration = flag.Duration("soak.duration", 0, "how long TestSoak runs (0 = 60s, or 5s with -short)")
	soakReportTo = flag.String("soak.report", "", "write TestSoak's figures as JSON to this file")
)

// Soak ports on B.
const (
	soakBulkPort = 9000
	soakEchoPort = 7
	soakUDPPort  = 5353
)

// soakPorts are the HTTP servers' ports on B, one per HTTP kind, so each
// server's connection count belongs to one kind.
var soakPorts = map[int]int{kindHTTPKeepAlive: 80, kindHTTPClose: 81, kindHTTPS: 443}

// soakStall is how long any blocking call of the soak may wait without
// progress before the soak fails, naming what stalled.
const soakStall = 45 * time.Second

// TestSoak (issue #7) runs a mixed workload between two stacks over a link
// with every fault on at once — loss, duplication, reordering, bit
// corruption, delay with jitter — until -soak.duration ends: HTTP/1.1 with
// and without keep-alive, HTTPS, 1–8 MiB bulk transfers both ways, short
// echo connections and UDP echo. Every TCP byte is checked against a
// seeded stream; UDP echoes that come back must be intact (loss is
// allowed). It reports what completed, bytes moved, peak heap, TCP
// counters, and checks that the goroutines are back to the baseline.
func TestSoak(t *testing.T) {
	dur := *soakDuration
	if dur == 0 {
		dur = time.Minute
		if testing.Short() {
			dur = 5 * time.Second
		}
	}
	seed := seedFromClock(t)
	baseline := runtime.NumGoroutine()
	heapBefore := heapAlloc()
	faults := link.FaultConfig{
		Seed: int64(seed), Loss: 0.01, Duplicate: 0.005, Reorder: 0.01, Corrupt: 0.005,
		Delay: time.Millisecond, Jitter: 2 * time.Millisecond,
	}
	t.Logf("soak for %v, faults each way %+v", dur, faults)
	p := newPair(t, opts{Faults: &faults})
	sampler := startHeapSampler()

	s := &soak{t: t, p: p, seed: seed}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	defer s.cancel()
	cert, pool := testCert(t)
	s.startServers(cert)

	type worker struct {
		name string
		run  func(w int, rng *rand.Rand) error
	}
	// Modest counts: CI runs this for 60 s under -race on 2 cores.
	workers := []worker{
		{"http-keepalive", s.httpWorker(kindHTTPKeepAlive, false, true, nil)},
		{"http-keepalive", s.httpWorker(kindHTTPKeepAlive, false, true, nil)},
		{"http-close", s.httpWorker(kindHTTPClose, false, false, nil)},
		{"https", s.httpWorker(kindHTTPS, true, true, pool)},
		{"bulk", s.bulkWorker},
		{"short", s.shortWorker},
		{"short", s.shortWorker},
	}
	start := time.Now()
	deadline := time.AfterFunc(dur, func() { s.stopping.Store(true) })
	var wg sync.WaitGroup
	for i, wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			for iter := 0; s.running(); iter++ {
				if err := wk.run(i, rng); err != nil {
					s.failf("%s worker %d, iteration %d: %v", wk.name, i, iter, err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.udpWorker(); err != nil {
			s.failf("udp: %v", err)
		}
	}()
	// Every blocking call has a stall deadline; this only catches a bug in
	// the soak itself, naming what still runs.
	watchdog := time.AfterFunc(dur+4*soakStall, func() {
		buf := make([]byte, 1<<20)
		s.failf("the workers did not wind down %v after the end:\n%s", 4*soakStall, buf[:runtime.Stack(buf, true)])
	})
	wg.Wait()
	watchdog.Stop()
	deadline.Stop()
	elapsed := time.Since(start)

	s.stopServers()
	peak := sampler.close()
	r := &soakReport{
		Seed: seed, Duration: dur.String(), Elapsed: elapsed.Round(time.Millisecond).String(), Race: raceEnabled,
		Completed: map[string]int64{}, Bytes: map[string]int64{}, HTTPConns: map[string]int64{},
		UDPSent: s.c.udpSent.Load(), UDPReceived: s.c.udpRecv.Load(),
		HeapBefore: heapBefore, HeapPeak: peak,
		TCP:    map[string]any{"A": tcpFigures(p.A), "B": tcpFigures(p.B)},
		Faults: map[string]any{"A→B": faultFigures(p.FaultA), "B→A": faultFigures(p.FaultB)},
	}
	for k := range numKinds {
		r.Completed[kindNames[k]] = s.c.done[k].Load()
		r.Bytes[kindNames[k]] = s.c.bytes[k].Load()
		r.TotalBytes += s.c.bytes[k].Load()
		if n := s.c.httpConns[k].Load(); n > 0 {
			r.HTTPConns[kindNames[k]] = n
		}
	}
	caught := caughtCorruption(p.A) + caughtCorruption(p.B)
	corrupted := p.FaultA.Stats().Corrupted + p.FaultB.Stats().Corrupted

	if err := p.A.Close(); err != nil {
		t.Errorf("closing A: %v", err)
	}
	if err := p.B.Close(); err != nil {
		t.Errorf("closing B: %v", err)
	}
	checkGoroutines(t, baseline)
	r.GoroutinesAt = map[string]int{"baseline": baseline, "end": runtime.NumGoroutine()}
	r.HeapAfter = heapAlloc()
	r.write(t, *soakReportTo)

	if t.Failed() {
		return
	}
	for _, k := range []int{kindHTTPKeepAlive, kindHTTPClose, kindHTTPS, kindShort} {
		if s.c.done[k].Load() == 0 {
			t.Errorf("no %s exchange completed in %v", kindNames[k], elapsed)
		}
	}
	if r.UDPReceived == 0 {
		t.Errorf("none of %d UDP datagrams came back", r.UDPSent)
	}
	if corrupted > 0 && caught == 0 {
		t.Errorf("the links corrupted %d frames and no stack counted a bad checksum or header", corrupted)
	}
}

// soak is the shared state of one run.
type soak struct {
	t      *testing.T
	p      *pair
	seed   uint64
	ctx    context.Context
	cancel context.CancelFunc
	c      soakCounters
	// stopping is set when the duration is over: workers finish what they
	// are doing and start nothing new. ctx is cancelled on a failure.
	stopping atomic.Bool

	servers   sync.WaitGroup
	httpSrv   []*http.Server
	listeners []net.Listener
	udpSrv    net.PacketConn
	transport []*http.Transport
}

func (s *soak) running() bool { return !s.stopping.Load() && s.ctx.Err() == nil }

// failf reports the first failure with the stacks' state and stops the
// run; later failures are consequences and only logged.
func (s *soak) failf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	first := false
	s.c.failOnce.Do(func() { first = true })
	if !first {
		s.t.Logf("after the first failure: %s", msg)
		return
	}
	s.t.Errorf("soak: %s\n%s", msg, stackDump(s.p))
	s.cancel()
}

func (s *soak) listen(port int) net.Listener {
	ln, err := s.p.B.Listen("tcp", addrBPort(port))
	if err != nil {
		s.t.Fatalf("Listen :%d: %v", port, err)
	}
	s.listeners = append(s.listeners, ln)
	return ln
}

func (s *soak) startServers(cert tls.Certificate) {
	for _, kind := range []int{kindHTTPKeepAlive, kindHTTPClose, kindHTTPS} {
		port := soakPorts[kind]
		ln := s.listen(port)
		if kind == kindHTTPS {
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
		}
		srv := &http.Server{
			Handler:     testHandler(),
			ReadTimeout: soakStall, WriteTimeout: soakStall, IdleTimeout: soakStall,
			ConnState: func(_ net.Conn, st http.ConnState) {
				if st == http.StateNew {
					s.c.httpConns[kind].Add(1)
				}
			},
		}
		s.httpSrv = append(s.httpSrv, srv)
		s.servers.Add(1)
		go func() {
			defer s.servers.Done()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				s.failf("http server :%d: Serve returned %v", port, err)
			}
		}()
	}
	s.serveStream(s.listen(soakBulkPort), s.bulkServe)
	s.serveStream(s.listen(soakEchoPort), s.echoServe)

	pc, err := s.p.B.ListenPacket("udp", addrBPort(soakUDPPort))
	if err != nil {
		s.t.Fatalf("ListenPacket: %v", err)
	}
	s.udpSrv = pc
	s.servers.Add(1)
	go func() {
		defer s.servers.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					s.failf("udp echo server: ReadFrom: %v", err)
				}
				return
			}
			if _, err := pc.WriteTo(buf[:n], from); err != nil && !errors.Is(err, net.ErrClosed) {
				s.failf("udp echo server: WriteTo %v: %v", from, err)
				return
			}
		}
	}()
}

// serveStream accepts on ln until it is closed, one goroutine per
// connection.
func (s *soak) serveStream(ln net.Listener, handle func(net.Conn) error) {
	s.servers.Add(1)
	go func() {
		defer s.servers.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					s.failf("accept on %v: %v", ln.Addr(), err)
				}
				return
			}
			s.servers.Add(1)
			go func() {
				defer s.servers.Done()
				defer c.Close()
				if err := handle(deadlineConn{c, soakStall}); err != nil {
					s.failf("server side of %v→%v: %v", c.RemoteAddr(), c.LocalAddr(), err)
				}
			}()
		}
	}()
}

// stopServers closes every listener and server and waits for their
// goroutines; the workers are done by then.
func (s *soak) stopServers() {
	for _, tr := range s.transport {
		tr.CloseIdleConnections()
	}
	for _, srv := range s.httpSrv {
		srv.Close()
	}
	for _, ln := range s.listeners {
		ln.Close()
	}
	s.udpSrv.Close()
	s.servers.Wait()
}

// httpWorker makes GET /small, GET /download and POST /upload requests
// over plain HTTP or HTTPS, kept alive or not, checking every body.
func (s *soak) httpWorker(kind int, useTLS, keepAlive bool, pool *x509.CertPool) func(int, *rand.Rand) error {
	d := &microtcp.Dialer{Stack: s.p.A, Timeout: soakStall}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 2,
		ResponseHeaderTimeout: soakStall, TLSHandshakeTimeout: soakStall}
	base := "http://" + addrBPort(soakPorts[kind])
	if useTLS {
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, ServerName: serverName}
		base = "https://" + addrBPort(soakPorts[kind])
	}
	s.transport = append(s.transport, tr)
	client := &http.Client{Transport: tr}
	return func(w int, rng *rand.Rand) (err error) {
		ctx, cancel := context.WithTimeout(s.ctx, 2*soakStall)
		defer cancel()
		// Name the connection a failed request used.
		var conn connName
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { conn.set(info.Conn) },
		})
		defer func() {
			if err != nil {
				err = fmt.Errorf("%s on %s: %w", base, conn.get(), err)
			}
		}()
		switch rng.IntN(3) {
		case 0:
			i := rng.IntN(1 << 30)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/small?i=%d", base, i), nil)
			b, err := do(client, req)
			if err != nil {
				return fmt.Errorf("GET /small?i=%d: %w", i, err)
			}
			if string(b) != strconv.Itoa(i) {
				return fmt.Errorf("GET /small?i=%d: body %q", i, b)
			}
			s.c.bytes[kind].Add(int64(len(b)))
		case 1:
			seed, size := rng.Uint64(), int64(1+rng.IntN(256<<10))
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/download?seed=%d&size=%d", base, seed, size), nil)
			resp, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("GET /download seed %d size %d: %w", seed, size, err)
			}
			v := newVerifier(seed)
			n, err := io.Copy(v, resp.Body)
			resp.Body.Close()
			if err != nil || n != size || v.err() != nil {
				return fmt.Errorf("GET /download seed %d size %d: got %d bytes, read error %v, content %v", seed, size, n, err, v.err())
			}
			s.c.bytes[kind].Add(n)
		case 2:
			seed, size := rng.Uint64(), int64(1+rng.IntN(256<<10))
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/upload", body(seed, size))
			req.ContentLength = size
			b, err := do(client, req)
			if err != nil {
				return fmt.Errorf("POST /upload seed %d size %d: %w", seed, size, err)
			}
			sum := bodySum(seed, size)
			if want := fmt.Sprintf("%d %x", size, sum); string(b) != want {
				return fmt.Errorf("POST /upload seed %d size %d: server saw %q, want %q", seed, size, b, want)
			}
			s.c.bytes[kind].Add(size)
		}
		s.c.done[kind].Add(1)
		return nil
	}
}

// connName remembers which connection a request went out on.
type connName struct {
	mu   sync.Mutex
	name string
}

func (c *connName) set(nc net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.name = fmt.Sprintf("%v→%v", nc.LocalAddr(), nc.RemoteAddr())
}

func (c *connName) get() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.name == "" {
		return "no connection yet"
	}
	return c.name
}

// do runs a request and returns the body of a 200 response.
func do(c *http.Client, req *http.Request) ([]byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return b, fmt.Errorf("reading the body after %d bytes: %w", len(b), err)
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("status %s: %q", resp.Status, b)
	}
	return b, nil
}

// The bulk protocol: the client sends a 17-byte header — direction (0 =
// up, 1 = down), seed, size — then up: the client sends size bytes of the
// seed's stream and the server answers with the 32-byte SHA-256 it
// computed after checking every byte; down: the server sends them and
// closes.
func (s *soak) bulkServe(c net.Conn) error {
	var hdr [17]byte
	if err := readFull(c, hdr[:]); err != nil {
		return fmt.Errorf("bulk header: %w", err)
	}
	seed, size := binary.BigEndian.Uint64(hdr[1:]), int64(binary.BigEndian.Uint64(hdr[9:]))
	switch hdr[0] {
	case 0:
		v := newVerifier(seed)
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(v, h), io.LimitReader(c, size))
		if err != nil || n != size {
			return fmt.Errorf("bulk-up seed %d: received %d of %d bytes: %v", seed, n, size, err)
		}
		if err := v.err(); err != nil {
			return fmt.Errorf("bulk-up seed %d size %d: %w", seed, size, err)
		}
		_, err = c.Write(h.Sum(nil))
		return err
	case 1:
		if n, err := io.Copy(c, body(seed, size)); err != nil {
			return fmt.Errorf("bulk-down seed %d: sent %d of %d bytes: %w", seed, n, size, err)
		}
		return c.(deadlineConn).Conn.(closeWriter).CloseWrite()
	}
	return fmt.Errorf("bulk header % x: bad direction", hdr)
}

// bulkWorker alternates uploads and downloads of 1–8 MiB.
func (s *soak) bulkWorker(w int, rng *rand.Rand) error {
	dir := byte(rng.IntN(2))
	kind := kindBulkUp + int(dir)
	seed, size := rng.Uint64(), int64(1<<20+rng.IntN(7<<20))
	d := microtcp.Dialer{Stack: s.p.A, Timeout: soakStall}
	raw, err := d.DialContext(s.ctx, "tcp", addrBPort(soakBulkPort))
	if err != nil {
		return fmt.Errorf("%s dial: %w", kindNames[kind], err)
	}
	defer raw.Close()
	c := deadlineConn{raw, soakStall}
	var hdr [17]byte
	hdr[0] = dir
	binary.BigEndian.PutUint64(hdr[1:], seed)
	binary.BigEndian.PutUint64(hdr[9:], uint64(size))
	if _, err := c.Write(hdr[:]); err != nil {
		return fmt.Errorf("%s %v: header: %w", kindNames[kind], raw.LocalAddr(), err)
	}
	if dir == 0 {
		if n, err := io.Copy(c, body(seed, size)); err != nil {
			return fmt.Errorf("bulk-up %v seed %d: sent %d of %d bytes: %w", raw.LocalAddr(), seed, n, size, err)
		}
		var got [32]byte
		if err := readFull(c, got[:]); err != nil {
			return fmt.Errorf("bulk-up %v seed %d size %d: reading the server's digest: %w", raw.LocalAddr(), seed, size, err)
		}
		if want := bodySum(seed, size); got != want {
			return fmt.Errorf("bulk-up %v seed %d size %d: server digest %x, want %x", raw.LocalAddr(), seed, size, got, want)
		}
	} else {
		v := newVerifier(seed)
		n, err := io.Copy(v, c)
		if err != nil || n != size {
			return fmt.Errorf("bulk-down %v seed %d: received %d of %d bytes: %v", raw.LocalAddr(), seed, n, size, err)
		}
		if err := v.err(); err != nil {
			return fmt.Errorf("bulk-down %v seed %d size %d: %w", raw.LocalAddr(), seed, size, err)
		}
	}
	s.c.bytes[kind].Add(size)
	s.c.done[kind].Add(1)
	return nil
}

// echoServe copies until EOF, then closes.
func (s *soak) echoServe(c net.Conn) error {
	if _, err := io.Copy(c, c); err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	return nil
}

// shortWorker dials the echo server, sends up to 8 KiB, half-closes and
// reads the echo to EOF.
func (s *soak) shortWorker(w int, rng *rand.Rand) error {
	seed, size := rng.Uint64(), 1+rng.IntN(8<<10)
	d := microtcp.Dialer{Stack: s.p.A, Timeout: soakStall}
	raw, err := d.DialContext(s.ctx, "tcp", addrBPort(soakEchoPort))
	if err != nil {
		return fmt.Errorf("short dial: %w", err)
	}
	defer raw.Close()
	c := deadlineConn{raw, soakStall}
	msg := make([]byte, size)
	newStream(seed).Read(msg)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		if err == nil {
			err = raw.(closeWriter).CloseWrite()
		}
		errc <- err
	}()
	got, rerr := io.ReadAll(c)
	if werr := <-errc; werr != nil {
		return fmt.Errorf("short %v seed %d size %d: write: %w", raw.LocalAddr(), seed, size, werr)
	}
	if rerr != nil || !bytes.Equal(got, msg) {
		v := newVerifier(seed)
		v.Write(got)
		return fmt.Errorf("short %v seed %d: echoed %d of %d bytes (read error %v), content %v", raw.LocalAddr(), seed, len(got), size, rerr, v.err())
	}
	s.c.bytes[kindShort].Add(int64(2 * size))
	s.c.done[kindShort].Add(1)
	return nil
}

// udpWorker sends datagrams to B's echo socket and checks each echo that
// comes back; a lost one is allowed.
func (s *soak) udpWorker() error {
	pc, err := s.p.A.ListenPacket("udp", ":0")
	if err != nil {
		return fmt.Errorf("ListenPacket: %w", err)
	}
	defer pc.Close()
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(addrB, soakUDPPort))
	rng := rand.New(rand.NewPCG(s.seed, 99))
	buf := make([]byte, 65536)
	for seq := uint32(0); s.running(); seq++ {
		size := 4 + rng.IntN(1400)
		if seq%16 == 0 {
			size = 2000 + rng.IntN(6000) // fragmented
		}
		pc.SetWriteDeadline(time.Now().Add(soakStall))
		if _, err := pc.WriteTo(payload(s.seed, seq, size), dst); err != nil {
			return fmt.Errorf("WriteTo datagram %d (%d bytes): %w", seq, size, err)
		}
		s.c.udpSent.Add(1)
		pc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				if isTimeout(err) {
					break // lost, or still on its way: the next read sees it
				}
				return fmt.Errorf("ReadFrom: %w", err)
			}
			b := buf[:n]
			if n < 4 || !bytes.Equal(b, payload(s.seed, seqOf(b), n)) {
				return fmt.Errorf("an echoed datagram of %d bytes is not one that was sent (seq field %d)", n, seqOf(b))
			}
			s.c.udpRecv.Add(1)
			if seqOf(b) == seq {
				break
			}
		}
	}
	return nil
}

// raceEnabled is set by soak_race_test.go.
var raceEnabled bool

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSoakVerifier: the soak's stream check finds a changed byte and
// names its offset, and accepts the stream whatever the write sizes.
func TestSoakVerifier(t *testing.T) {
	const seed, size = 42, 100_000
	b, err := io.ReadAll(body(seed, size))
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(seed)
	for off := 0; off < size; off += 777 {
		v.Write(b[off:min(off+777, size)])
	}
	if err := v.err(); err != nil {
		t.Fatalf("the stream itself: %v", err)
	}
	b[54321] ^= 4
	v = newVerifier(seed)
	v.Write(b[:50000])
	v.Write(b[50000:])
	if err := v.err(); err == nil || !strings.Contains(err.Error(), "offset 54321") {
		t.Fatalf("a flipped bit at 54321: %v", err)
	}
}
