package tcp

import (
	"errors"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// TestBudgetManyConnections: a thousand simultaneous connections share a
// budget that holds a few dozen windows. Every byte arrives intact, the
// buffers in use never exceed the budget (checked on every segment by the
// simulation) and come back to zero once everything is closed.
func TestBudgetManyConnections(t *testing.T) {
	const budget = 256 << 10
	seeds, conns := 1, 1000 // the sim sweep covers small budgets on many more seeds
	if testing.Short() {
		seeds, conns = 1, 200
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		rng := newRng(seed, 17)
		im := impairments{loss: 0.01, delay: 5 * time.Millisecond, rate: 10 << 20}
		s := newSim(t, seed, im, Config{MemoryBudget: budget, SynRetries: 30, Retries: 30})
		pairs := make([]pairSpec, conns)
		for i := range pairs {
			pairs[i] = pairSpec{toServer: seeded(rng, rng.IntN(6000)), toClient: seeded(rng, rng.IntN(6000))}
		}
		res := s.transferMany(pairs, time.Hour)
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
		for i, st := range res.stats {
			t.Logf("seed %d host %d: peak %d of %d bytes, %d denials, in use at the end %d, done after %v",
				seed, i, st.BudgetPeak, budget, st.BudgetDenied, st.BudgetInUse, res.elapsed)
			if st.BudgetPeak > budget || st.BudgetInUse != 0 {
				t.Errorf("host %d: peak %d, in use %d, budget %d", i, st.BudgetPeak, st.BudgetInUse, budget)
			}
		}
	}
}

// TestBudgetExhausted: when send buffers hold all of the budget they may,
// Write accepts nothing more and the connection is not writable, Connect
// fails with ENOBUFS and a listener drops SYNs; once the peer acknowledges
// the data, the memory comes back, the writer is woken and a new connection
// opens.
func TestBudgetExhausted(t *testing.T) {
	const budget = 40000
	p, c := established(t, Config{MemoryBudget: budget, SendBuffer: 64 << 10}, synOpts)
	woken := 0
	c.SetWakers(nil, func() { woken++ })

	data := seeded(newRng(1, 1), 64<<10)
	n, err := c.Write(p.now, data, p.out)
	if err != nil {
		t.Fatal(err)
	}
	flight := p.out.take()
	// Send buffers may take all but a quarter of the budget (sendKeep).
	if want := budget - budget/4; n != want {
		t.Fatalf("Write took %d bytes, want %d (the budget's share for send buffers)", n, want)
	}
	if c.Writable() {
		t.Fatal("writable with the memory budget exhausted")
	}
	if n2, err := c.Write(p.now, data[n:], p.out); n2 != 0 || err != nil {
		t.Fatalf("second Write = %d, %v; want 0, nil (wait, not fail)", n2, err)
	}
	st := p.e.Stats()
	if st.BudgetInUse != uint64(n) || st.BudgetPeak != uint64(n) || st.BudgetDenied == 0 {
		t.Fatalf("stats in use %d peak %d denied %d after writing %d", st.BudgetInUse, st.BudgetPeak, st.BudgetDenied, n)
	}

	_, err = p.e.Connect(p.now, netip.AddrPortFrom(hostA, 0), netip.AddrPortFrom(hostB, 9), p.out)
	if !errors.Is(err, syscall.ENOBUFS) {
		t.Fatalf("Connect with the budget exhausted: %v, want ENOBUFS", err)
	}
	p.out.take() // the refused connection's nothing
	other := &peer{t: t, e: p.e, out: p.out, now: p.now, addr: netip.AddrPortFrom(hostB, 40001), us: srvAddr, seq: 5000, wnd: 65535}
	none(t, other.send(seg{flags: wire.FlagSYN, opts: &synOpts}))

	// The peer acknowledges whatever arrives until everything has.
	for round := 0; c.sndBuf.Len() > 0 && round < 1000; round++ {
		for _, s := range append(flight, p.out.take()...) {
			if end := s.f.Seq.Add(uint32(len(s.payload))); end.GreaterThan(p.ack) {
				p.ack = end
			}
		}
		p.now = p.now.Add(time.Millisecond)
		flight = p.send(seg{})
		p.e.Poll(p.now, p.out)
	}
	if got := p.e.Stats().BudgetInUse; got != 0 || c.sndBuf.stored() != 0 {
		t.Fatalf("%d bytes of budget in use, send ring holds %d, after everything was acknowledged", got, c.sndBuf.stored())
	}
	if woken == 0 || !c.Writable() {
		t.Fatalf("writer woken %d times, writable %v: want woken and writable", woken, c.Writable())
	}
	if _, err := p.e.Connect(p.now, netip.AddrPortFrom(hostA, 0), netip.AddrPortFrom(hostB, 9), p.out); err != nil {
		t.Fatalf("Connect once memory came back: %v", err)
	}
}

// TestBudgetCapsAutoTuning: receive auto-tuning, which would grow the
// buffer to MaxReceiveBuffer (TestReceiveBufferAutoTuning), stops at what
// the budget can hold, and the window offered never exceeds it.
func TestBudgetCapsAutoTuning(t *testing.T) {
	const budget = 64 << 10
	p, c := established(t, Config{ReceiveBuffer: 8 << 10, MaxReceiveBuffer: 1 << 20, MemoryBudget: budget}, synOpts)
	buf := make([]byte, 1<<20)
	sent, read := 0, 0
	for round := 0; round < 30; round++ {
		wnd := int(c.rcvAdv.Sub(c.rcvNxt))
		if wnd > budget {
			t.Fatalf("round %d: window %d above the %d budget", round, wnd, budget)
		}
		for ; wnd >= 1000; wnd -= 1000 {
			p.send(seg{data: make([]byte, 1000)})
			p.seq += 1000
			sent += 1000
		}
		if in := p.e.Stats().BudgetInUse; in > budget {
			t.Fatalf("round %d: %d bytes in use, budget %d", round, in, budget)
		}
		p.now = p.now.Add(10 * time.Millisecond)
		n, _ := c.Read(p.now, buf, p.out)
		read += n
		p.out.take()
	}
	if read != sent {
		t.Fatalf("read %d of %d bytes sent", read, sent)
	}
	if c.rcvBuf.size > budget || c.rcvBuf.size <= 8<<10 {
		t.Fatalf("receive buffer tuned to %d, want grown from 8 KiB but within the %d budget", c.rcvBuf.size, budget)
	}
	if c.rcvBuf.stored() != 0 || p.e.Stats().BudgetInUse != 0 {
		t.Fatalf("after reading everything the ring holds %d bytes, budget in use %d", c.rcvBuf.stored(), p.e.Stats().BudgetInUse)
	}
}

// TestBudgetReceiveShortfall: a segment inside the window the budget can
// no longer store is trimmed to what fits; the rest is retransmitted
// later, and nothing is lost.
func TestBudgetReceiveShortfall(t *testing.T) {
	p, c := established(t, Config{MemoryBudget: 16 << 10}, synOpts)
	// Another user of the same budget takes all but 1000 bytes.
	hog := p.e.budget.take(p.e.budget.avail()-1000, 0, 0)
	data := seeded(newRng(2, 2), 1400)
	ack := one(t, p.send(seg{data: data}))
	if want := peerISS + 1 + 1000; ack.f.Ack != want {
		t.Fatalf("ACK %d, want %d: only what the budget can store", ack.f.Ack, want)
	}
	p.seq += 1000
	p.e.budget.give(hog)
	p.send(seg{data: data[1000:]})
	buf := make([]byte, 2000)
	n, _ := c.Read(p.now, buf, p.out)
	if string(buf[:n]) != string(data) {
		t.Fatalf("read %d bytes, want the %d sent intact", n, len(data))
	}
	for range 3 {
		p.advance(idleRelease) // the idle sweeps give the empty ring back
	}
	if st := p.e.Stats(); st.BudgetInUse != 0 || st.BudgetDenied == 0 {
		t.Fatalf("in use %d, denied %d", st.BudgetInUse, st.BudgetDenied)
	}
}

// TestBudgetIdleConnections opens many connections that exchange a little
// data and go idle: once everything is read and acknowledged they hold no
// buffer memory. It logs the heap an idle established connection costs.
func TestBudgetIdleConnections(t *testing.T) {
	conns := 10000
	if testing.Short() {
		conns = 1000
	}
	s := newSim(t, 1, impairments{delay: time.Millisecond}, Config{})
	l, err := s.ep[1].Listen(netip.AddrPortFrom(s.addr[1], 80), conns)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	client := make([]*Conn, 0, conns)
	server := make([]*Conn, 0, conns)
	for range conns {
		c, err := s.ep[0].Connect(s.now, netip.AddrPortFrom(s.addr[0], 0), l.Addr(), s.outs[0])
		if err != nil {
			t.Fatal(err)
		}
		client = append(client, c)
	}
	for s.step() {
	}
	for {
		c, ok := l.Accept()
		if !ok {
			break
		}
		server = append(server, c)
	}
	if len(server) != conns {
		t.Fatalf("accepted %d of %d", len(server), conns)
	}
	msg := []byte("hello, idle world")
	buf := make([]byte, 64)
	for i := range conns {
		client[i].Write(s.now, msg, s.outs[0])
		server[i].Write(s.now, msg, s.outs[1])
	}
	for s.step() {
		for i := range conns {
			client[i].Read(s.now, buf, s.outs[0])
			server[i].Read(s.now, buf, s.outs[1])
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	for i, e := range s.ep {
		if st := e.Stats(); st.BudgetInUse != 0 {
			t.Errorf("host %d: %d bytes of buffers held by idle connections", i, st.BudgetInUse)
		}
	}
	for i := range conns {
		for _, c := range []*Conn{client[i], server[i]} {
			if c.State() != StateEstablished || c.sndBuf.stored() != 0 || c.rcvBuf.stored() != 0 {
				t.Fatalf("conn %d: %v, send ring %d, receive ring %d bytes: want ESTABLISHED, no storage",
					i, c.State(), c.sndBuf.stored(), c.rcvBuf.stored())
			}
		}
	}
	perConn := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / int64(2*conns)
	t.Logf("%d idle established connections (both ends in one process): %d bytes of heap each, buffers included",
		2*conns, perConn)
	runtime.KeepAlive(client)
	runtime.KeepAlive(server)
}
