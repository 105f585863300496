package main

import (
	"fmt"
	"os"
)

// verbose makes every pair print its counters to stderr when it closes:
// segments, retransmissions, timeouts and frames the wire dropped, which
// tell a slow run from one that lost frames.
var verbose bool

type summarizer interface{ summary() string }

func printSummary(p pair) {
	if s, ok := p.(summarizer); ok && verbose {
		fmt.Fprintf(os.Stderr, "  [%s]\n", s.summary())
	}
}

func (p *microPair) summary() string {
	c, s := p.client.Stats().TCP, p.server.Stats().TCP
	var fa, fb uint64
	if p.fa != nil {
		fa, fb = p.fa.Stats().Dropped, p.fb.Stats().Dropped
	}
	return fmt.Sprintf("microtcp client out=%d retx=%d rto=%d fastretx=%d; server out=%d retx=%d rto=%d; queue drops a=%d b=%d; impairment drops a=%d b=%d",
		c.SegmentsOut, c.Retransmits, c.RTOs, c.FastRetransmits, s.SegmentsOut, s.Retransmits, s.RTOs, p.pa.Dropped(), p.pb.Dropped(), fa, fb)
}

func (p *gvisorPair) summary() string {
	c, s := p.client.Stats().TCP, p.server.Stats().TCP
	// channel.Endpoint drops silently when its queue is full (WritePackets
	// still reports success), so queue drops are what the NIC sent minus
	// what the wire carried.
	qa := p.txPackets[0] - p.wires[0].carried.Load()
	qb := p.txPackets[1] - p.wires[1].carried.Load()
	return fmt.Sprintf("gvisor client out=%d retx=%d rto=%d fastretx=%d; server out=%d retx=%d rto=%d; queue drops a=%d b=%d; impairment drops a=%d b=%d",
		c.SegmentsSent.Value(), c.Retransmits.Value(), c.Timeouts.Value(), c.FastRetransmit.Value(),
		s.SegmentsSent.Value(), s.Retransmits.Value(), s.Timeouts.Value(),
		qa, qb, p.wires[0].dropped.Load(), p.wires[1].dropped.Load())
}
