package arp

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

var (
	t0       = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ourMAC   = wire.MAC{0x02, 0, 0, 0, 0, 1}
	ourIP    = netip.MustParseAddr("10.0.0.1")
	peerMAC  = wire.MAC{0x02, 0, 0, 0, 0, 2}
	peerIP   = netip.MustParseAddr("10.0.0.2")
	otherMAC = wire.MAC{0x02, 0, 0, 0, 0, 3}
	otherIP  = netip.MustParseAddr("10.0.0.3")
)

// event is one call the cache made on its Output.
type event struct {
	kind    string // "arp", "ip", "unreachable", "resolved"
	arp     wire.ARPFields
	dst     wire.MAC
	packet  []byte
	ip      netip.Addr
	dropped int
}

type recorder struct{ events []event }

func (r *recorder) SendARP(f *wire.ARPFields, dst wire.MAC) {
	r.events = append(r.events, event{kind: "arp", arp: *f, dst: dst})
}
func (r *recorder) SendIP(p []byte, dst wire.MAC) {
	// Copy: the cache may reuse nothing, but the contract says borrowed.
	r.events = append(r.events, event{kind: "ip", packet: append([]byte(nil), p...), dst: dst})
}
func (r *recorder) Unreachable(ip netip.Addr, n int) {
	r.events = append(r.events, event{kind: "unreachable", ip: ip, dropped: n})
}
func (r *recorder) Resolved(ip netip.Addr) {
	r.events = append(r.events, event{kind: "resolved", ip: ip})
}

func (r *recorder) take() []event {
	e := r.events
	r.events = nil
	return e
}

func newCache(t testing.TB, mod func(*Config)) *Cache {
	t.Helper()
	cfg := Config{MAC: ourMAC, Addr: ourIP}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// pkt encodes an ARP packet and parses it back, as the stack would.
func pkt(t testing.TB, f wire.ARPFields) wire.ARP {
	t.Helper()
	b := make([]byte, wire.ARPLen)
	f.Encode(b)
	a, err := wire.ParseARP(b)
	if err != nil {
		t.Fatalf("ParseARP: %v", err)
	}
	return a
}

func request(sha wire.MAC, spa, tpa netip.Addr) wire.ARPFields {
	return wire.ARPFields{Op: wire.ARPRequest, SenderMAC: sha, SenderIP: spa, TargetIP: tpa}
}

func reply(sha wire.MAC, spa netip.Addr) wire.ARPFields {
	return wire.ARPFields{Op: wire.ARPReply, SenderMAC: sha, SenderIP: spa, TargetMAC: ourMAC, TargetIP: ourIP}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"zero MAC", Config{Addr: ourIP}},
		{"multicast MAC", Config{MAC: wire.BroadcastMAC, Addr: ourIP}},
		{"no Addr", Config{MAC: ourMAC}},
		{"IPv6 Addr", Config{MAC: ourMAC, Addr: netip.MustParseAddr("::1")}},
		{"unspecified Addr", Config{MAC: ourMAC, Addr: netip.IPv4Unspecified()}},
		{"negative MaxEntries", Config{MAC: ourMAC, Addr: ourIP, MaxEntries: -1}},
		{"negative RetryInterval", Config{MAC: ourMAC, Addr: ourIP, RetryInterval: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); !errors.Is(err, ErrBadConfig) {
				t.Fatalf("New(%+v) = %v, want ErrBadConfig", tt.cfg, err)
			}
		})
	}
}

func TestInput(t *testing.T) {
	tests := []struct {
		name      string
		pre       map[netip.Addr]wire.MAC // entries learned first
		in        wire.ARPFields
		want      []event
		wantMAC   map[netip.Addr]wire.MAC // expected Lookup results (zero MAC = absent)
		wantStats Stats
	}{
		{
			name: "request for our IP is answered and sender learned",
			in:   request(peerMAC, peerIP, ourIP),
			want: []event{{kind: "arp", dst: peerMAC, arp: wire.ARPFields{
				Op: wire.ARPReply, SenderMAC: ourMAC, SenderIP: ourIP, TargetMAC: peerMAC, TargetIP: peerIP}}},
			wantMAC:   map[netip.Addr]wire.MAC{peerIP: peerMAC},
			wantStats: Stats{RequestsIn: 1, RepliesOut: 1},
		},
		{
			name:      "request for another IP: no reply, not learned",
			in:        request(peerMAC, peerIP, otherIP),
			wantMAC:   map[netip.Addr]wire.MAC{peerIP: {}},
			wantStats: Stats{RequestsIn: 1, Ignored: 1},
		},
		{
			name:      "merge rule updates an existing entry even if not for us",
			pre:       map[netip.Addr]wire.MAC{peerIP: peerMAC},
			in:        request(otherMAC, peerIP, otherIP),
			wantMAC:   map[netip.Addr]wire.MAC{peerIP: otherMAC},
			wantStats: Stats{RequestsIn: 1},
		},
		{
			name:      "unsolicited reply to us is learned",
			in:        reply(peerMAC, peerIP),
			wantMAC:   map[netip.Addr]wire.MAC{peerIP: peerMAC},
			wantStats: Stats{RepliesIn: 1},
		},
		{
			name:      "sender claims our IP",
			in:        request(peerMAC, ourIP, ourIP),
			wantMAC:   map[netip.Addr]wire.MAC{ourIP: {}},
			wantStats: Stats{Ignored: 1},
		},
		{
			name:      "unspecified sender (RFC 5227 probe)",
			in:        request(peerMAC, netip.IPv4Unspecified(), ourIP),
			wantStats: Stats{Ignored: 1},
		},
		{
			name:      "broadcast sender MAC",
			in:        request(wire.BroadcastMAC, peerIP, ourIP),
			wantMAC:   map[netip.Addr]wire.MAC{peerIP: {}},
			wantStats: Stats{Ignored: 1},
		},
		{
			name:      "multicast sender MAC",
			in:        request(wire.MAC{0x01, 0, 0x5e, 0, 0, 1}, peerIP, ourIP),
			wantMAC:   map[netip.Addr]wire.MAC{peerIP: {}},
			wantStats: Stats{Ignored: 1},
		},
		{
			name:      "broadcast sender IP",
			in:        request(peerMAC, netip.MustParseAddr("255.255.255.255"), ourIP),
			wantStats: Stats{Ignored: 1},
		},
		{
			name:      "our own MAC looped back",
			in:        request(ourMAC, peerIP, ourIP),
			wantMAC:   map[netip.Addr]wire.MAC{peerIP: {}},
			wantStats: Stats{Ignored: 1},
		},
		{
			name:      "unknown opcode",
			in:        wire.ARPFields{Op: 9, SenderMAC: peerMAC, SenderIP: peerIP, TargetIP: ourIP},
			wantMAC:   map[netip.Addr]wire.MAC{peerIP: {}},
			wantStats: Stats{Ignored: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, nil)
			var r recorder
			for ip, mac := range tt.pre {
				c.Input(t0, pkt(t, reply(mac, ip)), &r)
			}
			r.take()
			before := c.Stats()
			c.Input(t0, pkt(t, tt.in), &r)
			got := r.take()
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("events\n got %+v\nwant %+v", got, tt.want)
			}
			for ip, want := range tt.wantMAC {
				mac, ok := c.Lookup(ip)
				if want == (wire.MAC{}) {
					if ok {
						t.Errorf("Lookup(%v) = %v, want absent", ip, mac)
					}
				} else if !ok || mac != want {
					t.Errorf("Lookup(%v) = %v, %v; want %v", ip, mac, ok, want)
				}
			}
			st := c.Stats()
			st.RepliesIn -= before.RepliesIn
			if st != tt.wantStats {
				t.Errorf("stats %+v, want %+v", st, tt.wantStats)
			}
		})
	}
}

func TestResolveQueuesAndFlushesInOrder(t *testing.T) {
	c := newCache(t, nil)
	var r recorder
	buf := []byte("p0")
	if _, ok := c.Resolve(t0, peerIP, buf, &r); ok {
		t.Fatal("Resolve of unknown neighbour returned ok")
	}
	buf[1] = 'X' // the cache must have copied
	for i := 1; i < 4; i++ {
		if _, ok := c.Resolve(t0, peerIP, []byte(fmt.Sprintf("p%d", i)), &r); ok {
			t.Fatal("Resolve while resolving returned ok")
		}
	}
	ev := r.take()
	if len(ev) != 1 || ev[0].kind != "arp" || ev[0].dst != wire.BroadcastMAC {
		t.Fatalf("want exactly one broadcast request, got %+v", ev)
	}
	want := wire.ARPFields{Op: wire.ARPRequest, SenderMAC: ourMAC, SenderIP: ourIP, TargetIP: peerIP}
	if ev[0].arp != want {
		t.Fatalf("request %+v, want %+v", ev[0].arp, want)
	}
	if got := c.NextDeadline(); !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("NextDeadline %v, want t0+1s", got)
	}

	c.Input(t0.Add(100*time.Millisecond), pkt(t, reply(peerMAC, peerIP)), &r)
	ev = r.take()
	if len(ev) != 5 {
		t.Fatalf("want 4 packets and Resolved, got %+v", ev)
	}
	for i := 0; i < 4; i++ {
		if ev[i].kind != "ip" || ev[i].dst != peerMAC || string(ev[i].packet) != fmt.Sprintf("p%d", i) {
			t.Errorf("event %d = %+v, want packet p%d to %v", i, ev[i], i, peerMAC)
		}
	}
	if ev[4].kind != "resolved" || ev[4].ip != peerIP {
		t.Errorf("last event %+v, want resolved %v", ev[4], peerIP)
	}
	if mac, ok := c.Resolve(t0.Add(time.Second), peerIP, []byte("now"), &r); !ok || mac != peerMAC {
		t.Fatalf("Resolve after reply = %v, %v", mac, ok)
	}
	if ev := r.take(); len(ev) != 0 {
		t.Fatalf("hit sent %+v", ev)
	}
	if st := c.Stats(); st.Resolved != 1 || st.RequestsOut != 1 || st.PendingDropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestRetriesThenUnreachable(t *testing.T) {
	c := newCache(t, nil)
	var r recorder
	c.Resolve(t0, peerIP, []byte("a"), &r)
	c.Resolve(t0, peerIP, []byte("b"), &r)
	var requests []time.Time
	for _, e := range r.take() {
		if e.kind == "arp" {
			requests = append(requests, t0)
		}
	}
	var gaveUp time.Time
	var un []event
	// Drive the clock the way the stack does: jump to NextDeadline.
	for i := 0; i < 10 && !c.NextDeadline().IsZero(); i++ {
		now := c.NextDeadline()
		// Polling a little early must do nothing.
		c.Poll(now.Add(-time.Millisecond), &r)
		if ev := r.take(); len(ev) != 0 {
			t.Fatalf("early Poll sent %+v", ev)
		}
		c.Poll(now, &r)
		for _, e := range r.take() {
			switch e.kind {
			case "arp":
				if e.dst != wire.BroadcastMAC || e.arp.TargetIP != peerIP {
					t.Errorf("retry %+v", e)
				}
				requests = append(requests, now)
			case "unreachable":
				gaveUp = now
				un = append(un, e)
			default:
				t.Errorf("unexpected %+v", e)
			}
		}
	}
	wantReq := []time.Time{t0, t0.Add(time.Second), t0.Add(2 * time.Second)}
	if fmt.Sprint(requests) != fmt.Sprint(wantReq) {
		t.Errorf("requests at %v, want %v", requests, wantReq)
	}
	if !gaveUp.Equal(t0.Add(3*time.Second)) || len(un) != 1 || un[0].ip != peerIP || un[0].dropped != 2 {
		t.Errorf("gave up at %v with %+v, want t0+3s, 2 dropped", gaveUp, un)
	}
	if c.Len() != 0 || !c.NextDeadline().IsZero() {
		t.Errorf("after failure Len %d NextDeadline %v", c.Len(), c.NextDeadline())
	}
	if st := c.Stats(); st.Failed != 1 || st.PendingDropped != 2 || st.RequestsOut != 3 {
		t.Errorf("stats %+v", st)
	}
	// A later Resolve starts afresh.
	c.Resolve(t0.Add(10*time.Second), peerIP, nil, &r)
	if ev := r.take(); len(ev) != 1 || ev[0].kind != "arp" {
		t.Errorf("fresh resolution sent %+v", ev)
	}
}

func TestQueueOverflowDropsOldest(t *testing.T) {
	c := newCache(t, func(cfg *Config) { cfg.MaxPendingFrames = 3 })
	var r recorder
	for i := 0; i < 5; i++ {
		c.Resolve(t0, peerIP, []byte{byte(i)}, &r)
	}
	r.take()
	if st := c.Stats(); st.PendingDropped != 2 {
		t.Errorf("PendingDropped %d, want 2", st.PendingDropped)
	}
	c.Input(t0, pkt(t, reply(peerMAC, peerIP)), &r)
	var got []byte
	for _, e := range r.take() {
		if e.kind == "ip" {
			got = append(got, e.packet...)
		}
	}
	if !bytes.Equal(got, []byte{2, 3, 4}) {
		t.Errorf("flushed %v, want [2 3 4]", got)
	}
}

func TestExpiryProbesThenRemoves(t *testing.T) {
	c := newCache(t, nil)
	var r recorder
	c.Input(t0, pkt(t, reply(peerMAC, peerIP)), &r)
	reach := DefaultReachableTime

	// Within ReachableTime: used silently.
	if mac, ok := c.Resolve(t0.Add(reach-time.Millisecond), peerIP, nil, &r); !ok || mac != peerMAC {
		t.Fatalf("Resolve = %v %v", mac, ok)
	}
	if ev := r.take(); len(ev) != 0 {
		t.Fatalf("fresh hit sent %+v", ev)
	}
	// Stale: still used, but a unicast request confirms it.
	now := t0.Add(reach)
	if mac, ok := c.Resolve(now, peerIP, nil, &r); !ok || mac != peerMAC {
		t.Fatalf("stale Resolve = %v %v", mac, ok)
	}
	ev := r.take()
	if len(ev) != 1 || ev[0].kind != "arp" || ev[0].dst != peerMAC || ev[0].arp.TargetIP != peerIP || ev[0].arp.Op != wire.ARPRequest {
		t.Fatalf("want one unicast request to %v, got %+v", peerMAC, ev)
	}
	// A second Resolve while probing does not send again.
	c.Resolve(now.Add(time.Millisecond), peerIP, nil, &r)
	if ev := r.take(); len(ev) != 0 {
		t.Fatalf("second stale hit sent %+v", ev)
	}

	// Unanswered: two more unicast probes, then the entry goes.
	for i := 0; i < 2; i++ {
		now = now.Add(time.Second)
		if !c.NextDeadline().Equal(now) {
			t.Fatalf("NextDeadline %v, want %v", c.NextDeadline(), now)
		}
		c.Poll(now, &r)
		ev := r.take()
		if len(ev) != 1 || ev[0].dst != peerMAC {
			t.Fatalf("probe %d: %+v", i, ev)
		}
	}
	now = now.Add(time.Second)
	c.Poll(now, &r)
	if ev := r.take(); len(ev) != 0 {
		t.Errorf("removing a probed entry sent %+v", ev)
	}
	if _, ok := c.Lookup(peerIP); ok || c.Len() != 0 {
		t.Errorf("entry survived unanswered probes")
	}
	if st := c.Stats(); st.Probes != 3 || st.Expired != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestProbeAnsweredStaysReachable(t *testing.T) {
	c := newCache(t, nil)
	var r recorder
	c.Input(t0, pkt(t, reply(peerMAC, peerIP)), &r)
	now := t0.Add(DefaultReachableTime)
	c.Resolve(now, peerIP, nil, &r)
	r.take()
	c.Input(now.Add(10*time.Millisecond), pkt(t, reply(peerMAC, peerIP)), &r)
	if ev := r.take(); len(ev) != 0 {
		t.Errorf("confirming a probe sent %+v (no Resolved expected)", ev)
	}
	for i := 0; i < 5; i++ {
		c.Poll(now.Add(time.Duration(i)*time.Second), &r)
	}
	if mac, ok := c.Resolve(now.Add(5*time.Second), peerIP, nil, &r); !ok || mac != peerMAC {
		t.Fatalf("Resolve = %v %v", mac, ok)
	}
	if ev := r.take(); len(ev) != 0 {
		t.Errorf("confirmed entry sent %+v", ev)
	}
}

func TestStaleUnusedEntryRemovedByPoll(t *testing.T) {
	c := newCache(t, nil)
	var r recorder
	c.Input(t0, pkt(t, reply(peerMAC, peerIP)), &r)
	want := t0.Add(DefaultReachableTime + DefaultGCStaleTime)
	if got := c.NextDeadline(); !got.Equal(want) {
		t.Fatalf("NextDeadline %v, want %v", got, want)
	}
	c.Poll(want.Add(-time.Nanosecond), &r)
	if c.Len() != 1 {
		t.Fatal("removed too early")
	}
	c.Poll(want, &r)
	if c.Len() != 0 || !c.NextDeadline().IsZero() {
		t.Errorf("Len %d NextDeadline %v after GC", c.Len(), c.NextDeadline())
	}
	if ev := r.take(); len(ev) != 0 {
		t.Errorf("GC sent %+v", ev)
	}
}

func TestEvictionAtMaxEntries(t *testing.T) {
	c := newCache(t, func(cfg *Config) { cfg.MaxEntries = 3 })
	var r recorder
	ips := []netip.Addr{
		netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("10.0.0.11"),
		netip.MustParseAddr("10.0.0.12"), netip.MustParseAddr("10.0.0.13"),
	}
	for i, ip := range ips[:3] {
		c.Input(t0, pkt(t, reply(wire.MAC{2, 0, 0, 0, 1, byte(i)}, ip)), &r)
	}
	// Use .10 so that .11 is the least recently used.
	c.Resolve(t0.Add(time.Second), ips[0], nil, &r)
	c.Input(t0.Add(2*time.Second), pkt(t, reply(wire.MAC{2, 0, 0, 0, 1, 3}, ips[3])), &r)
	if c.Len() != 3 {
		t.Fatalf("Len %d, want 3", c.Len())
	}
	if _, ok := c.Lookup(ips[1]); ok {
		t.Errorf("LRU entry %v not evicted", ips[1])
	}
	for _, ip := range []netip.Addr{ips[0], ips[2], ips[3]} {
		if _, ok := c.Lookup(ip); !ok {
			t.Errorf("%v evicted", ip)
		}
	}
	if st := c.Stats(); st.Evicted != 1 {
		t.Errorf("Evicted %d", st.Evicted)
	}
	// Evicting an entry with waiting packets reports them lost.
	c2 := newCache(t, func(cfg *Config) { cfg.MaxEntries = 1 })
	c2.Resolve(t0, peerIP, []byte("x"), &r)
	r.take()
	c2.Resolve(t0, otherIP, nil, &r)
	ev := r.take()
	if len(ev) != 2 || ev[0].kind != "unreachable" || ev[0].ip != peerIP || ev[0].dropped != 1 {
		t.Errorf("evicting a resolving entry: %+v", ev)
	}
}

func TestAnnounce(t *testing.T) {
	c := newCache(t, nil)
	var r recorder
	c.Announce(t0, &r)
	ev := r.take()
	want := wire.ARPFields{Op: wire.ARPRequest, SenderMAC: ourMAC, SenderIP: ourIP, TargetIP: ourIP}
	if len(ev) != 1 || ev[0].dst != wire.BroadcastMAC || ev[0].arp != want {
		t.Fatalf("announce %+v, want %+v to broadcast", ev, want)
	}
	b := make([]byte, wire.ARPLen)
	ev[0].arp.Encode(b)
	wantBytes := []byte{
		0, 1, 8, 0, 6, 4, 0, 1, // Ethernet, IPv4, request
		2, 0, 0, 0, 0, 1, 10, 0, 0, 1, // sender
		0, 0, 0, 0, 0, 0, 10, 0, 0, 1, // target: zero MAC, our IP
	}
	if !bytes.Equal(b, wantBytes) {
		t.Errorf("bytes % x\nwant % x", b, wantBytes)
	}
	if !c.NextDeadline().IsZero() {
		t.Errorf("announce left a deadline")
	}
}

func TestResolveSpecialAddresses(t *testing.T) {
	c := newCache(t, nil)
	var r recorder
	if mac, ok := c.Resolve(t0, netip.MustParseAddr("255.255.255.255"), nil, &r); !ok || mac != wire.BroadcastMAC {
		t.Errorf("broadcast → %v %v", mac, ok)
	}
	wantMC := wire.MAC{0x01, 0x00, 0x5e, 0x7f, 0x00, 0x01}
	if mac, ok := c.Resolve(t0, netip.MustParseAddr("239.255.0.1"), nil, &r); !ok || mac != wantMC {
		t.Errorf("multicast → %v %v, want %v", mac, ok, wantMC)
	}
	// Our own address is never asked on the wire; it fails on the next Poll.
	if _, ok := c.Resolve(t0, ourIP, []byte("x"), &r); ok {
		t.Error("own address resolved")
	}
	if ev := r.take(); len(ev) != 0 {
		t.Errorf("sent %+v", ev)
	}
	if !c.NextDeadline().Equal(t0) {
		t.Errorf("NextDeadline %v, want t0", c.NextDeadline())
	}
	c.Poll(t0, &r)
	if ev := r.take(); len(ev) != 1 || ev[0].kind != "unreachable" || ev[0].dropped != 1 {
		t.Errorf("want unreachable, got %+v", ev)
	}
}

// reentrant is an Output that calls back into the cache, as a stack that
// sends more from inside a callback would.
type reentrant struct {
	recorder
	c *Cache
}

func (o *reentrant) Resolved(ip netip.Addr) {
	o.recorder.Resolved(ip)
	o.c.Resolve(t0, ip, []byte("late"), o)
}

func (o *reentrant) Unreachable(ip netip.Addr, n int) {
	o.recorder.Unreachable(ip, n)
	o.c.Resolve(t0.Add(time.Hour), otherIP, nil, o)
}

func TestReentrantOutput(t *testing.T) {
	c := newCache(t, nil)
	o := &reentrant{c: c}
	c.Resolve(t0, peerIP, []byte("a"), o)
	c.Input(t0, pkt(t, reply(peerMAC, peerIP)), o)
	if mac, ok := c.Lookup(peerIP); !ok || mac != peerMAC {
		t.Fatalf("Lookup %v %v", mac, ok)
	}
	// Unreachable re-entering Resolve during Poll.
	c.Resolve(t0, netip.MustParseAddr("10.0.0.9"), nil, o)
	for i := 0; i < 5; i++ {
		c.Poll(t0.Add(time.Duration(i+1)*time.Second), o)
	}
	if _, ok := c.entries[otherIP]; !ok {
		t.Errorf("entry added from Unreachable callback lost")
	}
}

func FuzzInput(f *testing.F) {
	seed := func(fs ...wire.ARPFields) []byte {
		var b []byte
		for _, x := range fs {
			p := make([]byte, wire.ARPLen)
			x.Encode(p)
			b = append(b, p...)
		}
		return b
	}
	f.Add(seed(request(peerMAC, peerIP, ourIP)), uint8(0))
	f.Add(seed(reply(peerMAC, peerIP), request(otherMAC, peerIP, otherIP)), uint8(3))
	f.Add(seed(request(peerMAC, ourIP, ourIP), reply(wire.BroadcastMAC, otherIP)), uint8(200))
	f.Add([]byte{0, 1, 8, 0, 6, 4, 0, 2}, uint8(7))
	const maxEntries = 4
	f.Fuzz(func(t *testing.T, data []byte, steps uint8) {
		c := newCache(t, func(cfg *Config) { cfg.MaxEntries = maxEntries; cfg.MaxPendingFrames = 2 })
		var r recorder
		now := t0
		for i := 0; len(data) >= wire.ARPLen; i++ {
			chunk := data[:wire.ARPLen]
			data = data[wire.ARPLen:]
			// Force a valid header half the time so the fuzzer reaches the cache.
			if i%2 == 0 {
				chunk = append([]byte{0, 1, 8, 0, 6, 4}, chunk[6:]...)
			}
			a, err := wire.ParseARP(chunk)
			if err != nil {
				continue
			}
			c.Input(now, a, &r)
			// Also resolve the sender, to mix resolving entries in.
			c.Resolve(now, a.TargetIP(), chunk, &r)
			now = now.Add(time.Duration(steps) * 10 * time.Millisecond)
			c.Poll(now, &r)
			if c.Len() > maxEntries {
				t.Fatalf("Len %d > MaxEntries %d", c.Len(), maxEntries)
			}
			if d := c.NextDeadline(); c.Len() > 0 && d.IsZero() {
				t.Fatalf("%d entries but no deadline", c.Len())
			}
			r.take()
		}
	})
}

func BenchmarkResolveHit(b *testing.B) {
	c := newCache(b, nil)
	var r recorder
	c.Input(t0, pkt(b, reply(peerMAC, peerIP)), &r)
	b.ReportAllocs()
	for b.Loop() {
		c.Resolve(t0, peerIP, nil, &r)
	}
}
