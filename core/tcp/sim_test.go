package tcp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// impairments describe the virtual wire, the same in both directions.
type impairments struct {
	loss, dup, reorder float64       // probabilities per segment
	delay, jitter      time.Duration // one-way delay, extra random delay for reordered segments
	rate               int           // bytes per second, 0 = unlimited
}

func (im impairments) String() string {
	return fmt.Sprintf("loss=%.3f dup=%.3f reorder=%.3f delay=%v jitter=%v rate=%d", im.loss, im.dup, im.reorder, im.delay, im.jitter, im.rate)
}

type flight struct {
	at   time.Time
	n    int // order of sending, keeps delivery stable
	to   int
	data []byte
}

// sim is two Endpoints on a virtual wire with a fake clock that jumps from
// deadline to deadline.
type sim struct {
	t        testing.TB
	rng      *rand.Rand
	seed     uint64
	im       impairments
	now      time.Time
	ep       [2]*Endpoints
	addr     [2]netip.Addr
	outs     [2]*simOut
	inflight []flight
	sentN    int
	linkFree [2]time.Time
	appWake  time.Time // when a slow reader wants to run next
	kicked   bool      // a writable waker fired: the apps run again now
	trace    []string
	traceAll bool
	cookies  bool // the listener answers with SYN cookies
	failed   string
}

type simOut struct {
	s    *sim
	from int
}

func newSim(t testing.TB, seed uint64, im impairments, cfg Config) *sim {
	s := &sim{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed: seed, im: im, now: t0,
		addr: [2]netip.Addr{hostA, hostB}}
	for i := range s.ep {
		c := cfg
		c.Secret[0] = byte(i + 1)
		e, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		s.ep[i] = e
		s.outs[i] = &simOut{s, i}
	}
	return s
}

func (s *sim) logf(format string, args ...any) {
	line := fmt.Sprintf("%9.3fms ", float64(s.now.Sub(t0))/1e6) + fmt.Sprintf(format, args...)
	s.trace = append(s.trace, line)
	if !s.traceAll && len(s.trace) > 400 {
		s.trace = s.trace[len(s.trace)-300:]
	}
}

func (s *sim) fail(format string, args ...any) {
	if s.failed == "" {
		s.failed = fmt.Sprintf(format, args...)
		s.logf("INVARIANT: %s", s.failed)
	}
}

// SendTCP checks the invariants, then puts the segment on the wire.
func (o *simOut) SendTCP(local, remote netip.AddrPort, f *wire.TCPFields, payload []byte) {
	s := o.s
	from, to := o.from, 1-o.from
	s.logf("%s", fmtSeg(local, remote, f, len(payload)))
	for i, e := range s.ep {
		if b := e.budget; b.inUse > b.limit || b.inUse < 0 {
			s.fail("host %d holds %d bytes of buffers, budget %d", i, b.inUse, b.limit)
		}
	}
	if c, ok := s.ep[from].conns[fourTuple{local, remote}]; ok && c.state.synchronized() {
		if c.cc.Cwnd() < c.mss {
			s.fail("cwnd %d below one MSS %d", c.cc.Cwnd(), c.mss)
		}
	}
	if pc, ok := s.ep[to].conns[fourTuple{remote, local}]; ok && f.Flags&wire.FlagRST == 0 {
		if f.Flags.Has(wire.FlagACK) && f.Ack.GreaterThan(pc.sndMax) {
			s.fail("ACK %d beyond what the peer sent (snd.max %d)", f.Ack, pc.sndMax)
		}
		n := uint32(len(payload))
		if f.Flags.Has(wire.FlagFIN) {
			n++
		}
		if pc.state >= StateSynReceived && n > 0 && f.Seq.Add(n).GreaterThan(pc.rcvAdv) {
			s.fail("segment %d:%d beyond the peer's window (rcv.adv %d)", f.Seq, f.Seq.Add(n), pc.rcvAdv)
		}
		if pc.state >= StateSynReceived && pc.state <= StateFinWait2 && n > 0 &&
			f.Seq.Add(uint32(len(payload))).GreaterThan(pc.rcvNxt.Add(uint32(pc.rcvBuf.Free()))) {
			s.fail("segment %d:%d beyond the peer's free buffer (rcv.nxt %d + %d)", f.Seq, f.Seq.Add(n), pc.rcvNxt, pc.rcvBuf.Free())
		}
	}
	b := make([]byte, f.HeaderLen()+len(payload))
	copy(b[f.HeaderLen():], payload)
	f.Encode(b, local.Addr(), remote.Addr())
	im := s.im
	if s.rng.Float64() < im.loss {
		s.logf("  (dropped)")
		return
	}
	copies := 1
	if s.rng.Float64() < im.dup {
		copies = 2
	}
	at := s.now
	if im.rate > 0 {
		// Serialise on the link: a simple bottleneck with an unbounded queue.
		start := at
		if s.linkFree[from].After(start) {
			start = s.linkFree[from]
		}
		s.linkFree[from] = start.Add(time.Duration(len(b)+40) * time.Second / time.Duration(im.rate))
		at = s.linkFree[from]
	}
	at = at.Add(im.delay)
	for i := 0; i < copies; i++ {
		t := at
		if s.rng.Float64() < im.reorder {
			t = t.Add(time.Duration(s.rng.Int64N(int64(im.jitter) + 1)))
		}
		s.sentN++
		s.inflight = append(s.inflight, flight{at: t, n: s.sentN, to: to, data: b})
	}
}

func (s *sim) nextEvent() time.Time {
	if s.kicked {
		return s.now
	}
	next := s.appWake
	for _, e := range s.ep {
		if d := e.NextDeadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	for _, f := range s.inflight {
		if next.IsZero() || f.at.Before(next) {
			next = f.at
		}
	}
	return next
}

// kick is the apps' writable waker, as netconn's would wake a blocked
// Write: without it a writer refused by the memory budget would wait for
// an unrelated event.
func (s *sim) kick() { s.kicked = true }

// step advances to the next event and processes it; false when idle.
func (s *sim) step() bool {
	next := s.nextEvent()
	if next.IsZero() {
		return false
	}
	s.kicked = false
	if next.After(s.now) {
		s.now = next
	}
	sort.SliceStable(s.inflight, func(i, j int) bool {
		if !s.inflight[i].at.Equal(s.inflight[j].at) {
			return s.inflight[i].at.Before(s.inflight[j].at)
		}
		return s.inflight[i].n < s.inflight[j].n
	})
	k := 0
	for k < len(s.inflight) && !s.inflight[k].at.After(s.now) {
		k++
	}
	due := s.inflight[:k:k]
	s.inflight = s.inflight[k:]
	for _, f := range due {
		seg, err := wire.ParseTCP(f.data)
		if err != nil {
			s.t.Fatalf("seed %d: unparsable segment: %v", s.seed, err)
		}
		s.ep[f.to].Input(s.now, s.addr[1-f.to], s.addr[f.to], seg, s.outs[f.to])
	}
	for i, e := range s.ep {
		e.Poll(s.now, s.outs[i])
	}
	return true
}

// app is one side's application: write all of data, half-close, read
// until EOF, then close.
type app struct {
	c         *Conn
	data      []byte
	written   int
	closedW   bool
	got       bytes.Buffer
	eof       bool
	closed    bool
	err       error
	buf       []byte
	readEvery time.Duration // a slow reader reads 4 KiB this often; 0 = reads everything at once
	nextRead  time.Time
	eofAt     time.Time
	chunk     int  // bytes written per turn, 0 = as much as fits
	noDelay   bool // Nagle off
}

func (a *app) run(now time.Time, out Output) {
	if a.c == nil || a.closed || a.err != nil {
		return
	}
	c := a.c
	if c.State() == StateClosed && c.Err() != nil {
		a.err = c.Err()
		return
	}
	if !c.Established() && c.State() != StateClosed {
		return
	}
	c.SetNoDelay(a.noDelay)
	for turn := 0; a.written < len(a.data); turn++ {
		p := a.data[a.written:]
		if a.chunk > 0 {
			if turn > 0 {
				break
			}
			p = p[:min(len(p), a.chunk)]
		}
		n, err := c.Write(now, p, out)
		if err != nil {
			a.err = err
			return
		}
		if n == 0 {
			break
		}
		a.written += n
	}
	if a.written == len(a.data) && !a.closedW {
		if err := c.CloseWrite(now, out); err != nil {
			a.err = err
			return
		}
		a.closedW = true
	}
	if a.buf == nil {
		a.buf = make([]byte, 8192)
	}
	limit := 0
	if a.readEvery > 0 && !a.eof {
		if now.Before(a.nextRead) {
			return
		}
		a.nextRead = now.Add(a.readEvery)
		limit = 4096
	}
	read := 0
	for !a.eof && (limit == 0 || read < limit) {
		p := a.buf
		if limit > 0 {
			p = p[:min(len(p), limit-read)]
		}
		n, err := c.Read(now, p, out)
		a.got.Write(p[:n])
		read += n
		if errors.Is(err, io.EOF) {
			a.eof = true
			a.eofAt = now
			break
		}
		if err != nil {
			a.err = err
			return
		}
		if n == 0 {
			break
		}
	}
	if a.eof && a.closedW && !a.closed {
		if err := c.Close(now, out); err != nil {
			a.err = err
			return
		}
		a.closed = true
	}
}

type simResult struct {
	elapsed time.Duration
	stats   [2]Stats
}

// transfer runs a client on host 0 and a server on host 1 that exchange
// the given payloads, and checks everything the simulation promises.
func (s *sim) transfer(toServer, toClient []byte, limit time.Duration, slow [2]time.Duration, tweak ...func(*app)) simResult {
	s.t.Helper()
	p := pairSpec{toServer: toServer, toClient: toClient, slow: slow}
	copy(p.tweak[:], tweak)
	return s.transferMany([]pairSpec{p}, limit)
}

// pairSpec is one client/server exchange.
type pairSpec struct {
	toServer, toClient []byte
	slow               [2]time.Duration
	tweak              [2]func(*app)
}

// transferMany runs one connection per pair at once, all from host 0 to
// a listener on host 1, and checks everything the simulation promises.
func (s *sim) transferMany(pairs []pairSpec, limit time.Duration) simResult {
	s.t.Helper()
	srv := netip.AddrPortFrom(s.addr[1], 80)
	l, err := s.ep[1].Listen(srv, len(pairs)+16)
	if err != nil {
		s.t.Fatal(err)
	}
	l.alwaysCookies = s.cookies
	apps := make([][2]*app, len(pairs))
	byPort := map[uint16]int{}
	for i, p := range pairs {
		cc, err := s.ep[0].Connect(s.now, netip.AddrPortFrom(s.addr[0], 0), srv, s.outs[0])
		if err != nil {
			s.t.Fatal(err)
		}
		byPort[cc.LocalAddr().Port()] = i
		apps[i] = [2]*app{{c: cc, data: p.toServer, readEvery: p.slow[0]}, {data: p.toClient, readEvery: p.slow[1]}}
		cc.SetWakers(nil, s.kick)
		for k, f := range p.tweak {
			if f != nil {
				f(apps[i][k])
			}
		}
	}
	deadline := s.now.Add(limit)
	for {
		for {
			c, ok := l.Accept()
			if !ok {
				break
			}
			i, known := byPort[c.RemoteAddr().Port()]
			if !known || apps[i][1].c != nil {
				s.fail("accepted an unexpected connection from %v", c.RemoteAddr())
				break
			}
			apps[i][1].c = c
			c.SetWakers(nil, s.kick)
		}
		s.appWake = time.Time{}
		for _, pair := range apps {
			for k, a := range pair {
				a.run(s.now, s.outs[k])
				if a.readEvery > 0 && !a.eof && a.err == nil && (s.appWake.IsZero() || a.nextRead.Before(s.appWake)) {
					s.appWake = a.nextRead
				}
			}
		}
		if s.failed != "" || s.now.After(deadline) || !s.step() {
			break
		}
	}
	s.appWake = time.Time{}
	l.Close(s.now, s.outs[1])
	for s.failed == "" && s.step() && !s.now.After(deadline) {
	}
	check := func(cond bool, format string, args ...any) {
		if !cond && s.failed == "" {
			s.fail(format, args...)
		}
	}
	check(!s.now.After(deadline), "not finished after %v", limit)
	for n, pair := range apps {
		for i, a := range pair {
			check(a.c != nil, "pair %d side %d never got a connection", n, i)
			if a.c == nil {
				continue
			}
			check(a.err == nil, "pair %d side %d: error %v", n, i, a.err)
			check(a.closed, "pair %d side %d never closed (state %v)", n, i, a.c.State())
			check(a.c.State() == StateClosed, "pair %d side %d ends in %v", n, i, a.c.State())
			want := pair[1-i].data
			check(bytes.Equal(a.got.Bytes(), want), "pair %d side %d got %d bytes, want %d intact (first difference at %d)",
				n, i, a.got.Len(), len(want), firstDiff(a.got.Bytes(), want))
		}
	}
	for i, e := range s.ep {
		check(len(e.conns) == 0, "host %d still has %d connections", i, len(e.conns))
		check(len(e.timers) == 0, "host %d still has %d timers", i, len(e.timers))
		check(e.budget.inUse == 0, "host %d still holds %d bytes of buffers after every close", i, e.budget.inUse)
		check(e.budget.peak <= e.budget.limit, "host %d peaked at %d bytes of buffers, budget %d", i, e.budget.peak, e.budget.limit)
	}
	if s.failed != "" {
		for i, e := range s.ep {
			s.logf("budget: host %d budget %d/%d denied %d starved %d", i, e.budget.inUse, e.budget.limit, e.budget.denied, len(e.budget.starved))
			for _, c := range e.conns {
				s.logf("budget:  conn %v snd %d/%d/%d rcv %d/%d/%d ooo %d wait %v", c.state, c.sndBuf.Len(), c.sndBuf.stored(), c.sndBuf.size, c.rcvBuf.Len(), c.rcvBuf.stored(), c.rcvBuf.size, len(c.ooo.r), c.budgetWait)
			}
		}
		for n, pair := range apps {
			for i, a := range pair {
				s.logf("pair %d side %d: wrote %d/%d closedW %v read %d eof %v closed %v err %v", n, i, a.written, len(a.data), a.closedW, a.got.Len(), a.eof, a.closed, a.err)
			}
		}
		s.t.Errorf("seed %d (%v): %s\ntrace (last lines):\n%s", s.seed, s.im, s.failed, strings.Join(s.trace, "\n"))
	}
	var last time.Time
	for _, pair := range apps {
		if pair[1].eofAt.After(last) {
			last = pair[1].eofAt
		}
	}
	return simResult{elapsed: last.Sub(t0), stats: [2]Stats{s.ep[0].Stats(), s.ep[1].Stats()}}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func seeded(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// randomImpairments draws a wire from the seed: loss 0–20 %, duplication,
// reordering, one-way delay 0–100 ms, sometimes a bandwidth limit.
func randomImpairments(rng *rand.Rand) impairments {
	im := impairments{
		delay: time.Duration(rng.IntN(101)) * time.Millisecond,
	}
	if rng.IntN(4) > 0 {
		im.loss = rng.Float64() * 0.2
	}
	if rng.IntN(3) == 0 {
		im.dup = rng.Float64() * 0.05
	}
	if rng.IntN(3) == 0 {
		im.reorder = rng.Float64() * 0.2
		im.jitter = time.Duration(rng.IntN(50)+1) * time.Millisecond
	}
	if rng.IntN(3) == 0 {
		im.rate = (rng.IntN(100) + 1) * 125_000 // 1–100 Mbit/s
	}
	return im
}

func simConfig(rng *rand.Rand) Config {
	cfg := Config{SynRetries: 30, Retries: 30}
	cfg.NoSACK = rng.IntN(4) == 0
	cfg.NoTimestamps = rng.IntN(4) == 0
	cfg.NoWindowScale = rng.IntN(4) == 0
	if rng.IntN(2) == 0 {
		cfg.CongestionControl = "newreno"
	}
	if rng.IntN(3) == 0 {
		cfg.ReceiveBuffer = 4096 + rng.IntN(64<<10)
		cfg.SendBuffer = 4096 + rng.IntN(64<<10)
	}
	return cfg
}

// sweepSeeds is the seed range of a simulation sweep: count seeds from 1, or
// short of them with -short, or the range TCP_SIM_SEEDS=first:count names
// (CI, bug hunts).
func sweepSeeds(t *testing.T, count, short int) (first uint64, seeds int) {
	t.Helper()
	first, seeds = 1, count
	if testing.Short() {
		seeds = short
	}
	if v := os.Getenv("TCP_SIM_SEEDS"); v != "" {
		if _, err := fmt.Sscanf(v, "%d:%d", &first, &seeds); err != nil {
			t.Fatalf("TCP_SIM_SEEDS=%q: want first:count", v)
		}
	}
	return first, seeds
}

func TestSimSweep(t *testing.T) {
	first, seeds := sweepSeeds(t, 2000, 500)
	for seed := first; seed < first+uint64(seeds); seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		im := randomImpairments(rng)
		cfg := simConfig(rng)
		if brng := newRng(seed, 13); brng.IntN(4) == 0 {
			// A separate stream, so the other choices stay as they were: a
			// budget between one connection's minimum and a few windows.
			cfg.MemoryBudget = 12<<10 + brng.IntN(256<<10)
		}
		a := seeded(rng, rng.IntN(48<<10))
		b := seeded(rng, rng.IntN(48<<10))
		var slow [2]time.Duration
		if rng.IntN(4) == 0 {
			slow[rng.IntN(2)] = time.Duration(rng.IntN(50)+1) * time.Millisecond
		}
		var tweaks [2]func(*app)
		for i := range tweaks {
			chunk, noDelay := 0, rng.IntN(2) == 0
			if rng.IntN(3) == 0 {
				chunk = 200 + rng.IntN(3000) // the app writes this much per event: tiny chunks only test its patience
			}
			tweaks[i] = func(a *app) { a.chunk, a.noDelay = chunk, noDelay }
		}
		s := newSim(t, seed, im, cfg)
		s.cookies = rng.IntN(8) == 0
		s.transfer(a, b, time.Hour, slow, tweaks[:]...)
		if t.Failed() {
			t.Fatalf("replay: go test -run 'TestSimSweep' (seed %d)", seed)
		}
	}
}

// TestSimLossyMegabyte sends 1 MiB over a 20 ms RTT path with 5 % random
// loss in both directions and reports how long it took and how many
// retransmission timeouts fired.
func TestSimLossyMegabyte(t *testing.T) {
	for _, name := range []string{"cubic", "newreno"} {
		for _, sackOff := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/nosack=%v", name, sackOff), func(t *testing.T) {
				seeds := 10
				if testing.Short() {
					seeds = 2
				}
				var total time.Duration
				var rtos, frs uint64
				for seed := uint64(1); seed <= uint64(seeds); seed++ {
					rng := rand.New(rand.NewPCG(seed, 0))
					im := impairments{loss: 0.05, delay: 10 * time.Millisecond, rate: 100 * 125_000}
					s := newSim(t, seed, im, Config{CongestionControl: name, NoSACK: sackOff})
					res := s.transfer(seeded(rng, 1<<20), nil, time.Hour, [2]time.Duration{})
					st := res.stats[0]
					t.Logf("seed %d: 1 MiB, 20 ms RTT, 5%% loss: delivered after %v simulated, %d RTOs, %d fast retransmits, %d retransmitted segments of %d",
						seed, res.elapsed, st.RTOs, st.FastRetransmits, st.Retransmits, st.SegmentsOut)
					total += res.elapsed
					rtos += st.RTOs
					frs += st.FastRetransmits
				}
				n := float64(seeds)
				t.Logf("mean over %d seeds: %v, %.1f RTOs, %.1f fast retransmits", seeds, total/time.Duration(seeds), float64(rtos)/n, float64(frs)/n)
			})
		}
	}
}

// TestSimSequenceWrap runs lossy transfers whose sequence numbers wrap past
// 2^32 in both directions (RFC 9293 §3.4: all comparisons are modulo 2^32).
func TestSimSequenceWrap(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		im := impairments{loss: 0.05, dup: 0.01, reorder: 0.05, jitter: 5 * time.Millisecond, delay: 5 * time.Millisecond}
		s := newSim(t, seed, im, Config{})
		for i, e := range s.ep {
			start := wire.Seq(0) - wire.Seq(1000+rng.IntN(100_000)) - wire.Seq(i)
			e.issHook = func() wire.Seq { return start }
		}
		s.transfer(seeded(rng, 200_000), seeded(rng, 150_000), time.Hour, [2]time.Duration{})
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

func newRng(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// TestSimManyConnections runs many simultaneous connections between the
// same two hosts through one bottleneck: demultiplexing, the timer heap and
// fairness of the loss recovery under shared loss.
func TestSimManyConnections(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		rng := newRng(seed, 5)
		im := randomImpairments(rng)
		s := newSim(t, seed, im, simConfig(rng))
		pairs := make([]pairSpec, 2+rng.IntN(30))
		for i := range pairs {
			pairs[i] = pairSpec{toServer: seeded(rng, rng.IntN(20000)), toClient: seeded(rng, rng.IntN(20000))}
		}
		s.transferMany(pairs, time.Hour)
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

// TestSimAbort: a client that resets the connection in the middle of a
// transfer leaves the server with ECONNRESET, over a lossy wire, and both
// hosts forget the connection.
func TestSimAbort(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		rng := newRng(seed, 9)
		im := randomImpairments(rng)
		s := newSim(t, seed, im, simConfig(rng))
		srv := netip.AddrPortFrom(s.addr[1], 80)
		l, _ := s.ep[1].Listen(srv, 4)
		cc, err := s.ep[0].Connect(s.now, netip.AddrPortFrom(s.addr[0], 0), srv, s.outs[0])
		if err != nil {
			t.Fatal(err)
		}
		server := &app{data: seeded(rng, 200_000)}
		got, abortAt := 0, 1+rng.IntN(100_000)
		buf := make([]byte, 4096)
		for s.failed == "" && s.now.Before(t0.Add(time.Hour)) {
			if server.c == nil {
				server.c, _ = l.Accept()
			}
			server.run(s.now, s.outs[1])
			for cc.State() != StateClosed {
				n, _ := cc.Read(s.now, buf, s.outs[0])
				got += n
				if got >= abortAt {
					cc.Abort(s.now, s.outs[0])
				}
				if n == 0 {
					break
				}
			}
			if !s.step() {
				break
			}
		}
		switch {
		case server.c == nil:
			s.fail("server never accepted")
		case !errors.Is(server.err, syscall.ECONNRESET):
			s.fail("server error %v, want ECONNRESET (state %v)", server.err, server.c.State())
		case len(s.ep[0].conns)+len(s.ep[1].conns) != 0:
			s.fail("connections left: %d, %d", len(s.ep[0].conns), len(s.ep[1].conns))
		}
		if s.failed != "" {
			t.Fatalf("seed %d (%v): %s\n%s", seed, im, s.failed, strings.Join(s.trace, "\n"))
		}
	}
}

// TestSimSlowReaderLossless: a reader slower than a lossless link is
// handled by flow control alone (RFC 9293 §3.8.6): the receiver never
// discards a segment, the sender never retransmits, and the transfer takes
// about as long as the reader needs. (Rounding the scaled window up once
// let the advertised edge creep past the buffer, one ACK at a time.)
func TestSimSlowReaderLossless(t *testing.T) {
	const size, chunk, pause = 4 << 20, 16 << 10, time.Millisecond
	s := newSim(t, 1, impairments{delay: 50 * time.Microsecond}, Config{})
	srv := netip.AddrPortFrom(s.addr[1], 80)
	l, _ := s.ep[1].Listen(srv, 4)
	cc, err := s.ep[0].Connect(s.now, netip.AddrPortFrom(s.addr[0], 0), srv, s.outs[0])
	if err != nil {
		t.Fatal(err)
	}
	data := seeded(newRng(1, 1), size)
	var sc *Conn
	var got []byte
	written := 0
	buf := make([]byte, chunk)
	next := s.now
	for s.failed == "" && len(got) < size && s.now.Before(t0.Add(time.Minute)) {
		if sc == nil {
			sc, _ = l.Accept()
		}
		if sc != nil && written < size {
			n, _ := sc.Write(s.now, data[written:], s.outs[1])
			written += n
		}
		if !s.now.Before(next) {
			n, _ := cc.Read(s.now, buf, s.outs[0])
			got = append(got, buf[:n]...)
			if n > 0 {
				next = s.now.Add(pause) // the application's own work
			}
		}
		s.appWake = time.Time{}
		if next.After(s.now) {
			s.appWake = next
		}
		if !s.step() {
			break
		}
	}
	took := s.now.Sub(t0)
	rx, tx := s.ep[0].Stats(), s.ep[1].Stats()
	t.Logf("%d bytes to a reader pausing %v per %d bytes: %v; receiver %+v; sender %+v", len(got), pause, chunk, took, rx, tx)
	switch {
	case s.failed != "":
		t.Fatalf("invariant: %s", s.failed)
	case !bytes.Equal(got, data):
		t.Fatalf("got %d bytes, want %d intact", len(got), size)
	case rx.Dropped != 0 || tx.Retransmits != 0:
		t.Fatalf("lossless link: receiver dropped %d segments, sender retransmitted %d", rx.Dropped, tx.Retransmits)
	case took > 2*time.Duration(size/chunk)*pause:
		t.Fatalf("took %v, the reader alone needs %v", took, time.Duration(size/chunk)*pause)
	}
}
