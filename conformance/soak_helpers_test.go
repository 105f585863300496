package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/microtcp/microtcp"
	"github.com/microtcp/microtcp/link"
)

// The soak's workload kinds.
const (
	kindHTTPKeepAlive = iota // HTTP/1.1 requests over kept-alive connections
	kindHTTPClose            // HTTP/1.1, one connection per request
	kindHTTPS                // HTTP/1.1 over TLS 1.3, kept alive
	kindBulkUp               // 1–8 MiB from A to B on a raw connection
	kindBulkDown             // 1–8 MiB from B to A
	kindShort                // dial, exchange a few KiB with an echo server, close
	numKinds
)

var kindNames = [numKinds]string{"http-keepalive", "http-close", "https", "bulk-up", "bulk-down", "short"}

// soakCounters are updated by the workers as they go.
type soakCounters struct {
	done       [numKinds]atomic.Int64 // requests or connections completed and checked
	bytes      [numKinds]atomic.Int64 // payload bytes moved and checked
	udpSent    atomic.Int64
	udpRecv    atomic.Int64 // echoes that came back, every byte checked
	httpConns  [numKinds]atomic.Int64
	failed     atomic.Bool
	failOnce   sync.Once
	stallLimit time.Duration
}

// verifier checks a byte stream against newStream(seed) as it is written,
// and remembers the first offset that differs.
type verifier struct {
	s    *stream
	off  int64
	want []byte
	bad  int64 // first differing offset, -1 when none
	got  byte
	exp  byte
}

func newVerifier(seed uint64) *verifier { return &verifier{s: newStream(seed), bad: -1} }

func (v *verifier) Write(p []byte) (int, error) {
	if cap(v.want) < len(p) {
		v.want = make([]byte, len(p))
	}
	w := v.want[:len(p)]
	v.s.Read(w)
	if v.bad < 0 && !bytes.Equal(p, w) {
		for i := range p {
			if p[i] != w[i] {
				v.bad, v.got, v.exp = v.off+int64(i), p[i], w[i]
				break
			}
		}
	}
	v.off += int64(len(p))
	return len(p), nil
}

// err says whether the bytes written so far are the stream, and where not.
func (v *verifier) err() error {
	if v.bad >= 0 {
		return fmt.Errorf("byte at offset %d is %#02x, want %#02x", v.bad, v.got, v.exp)
	}
	return nil
}

// deadlineConn refreshes a stall deadline before every Read and Write, so
// a transfer of any size fails only when it stops moving.
type deadlineConn struct {
	net.Conn
	stall time.Duration
}

func (c deadlineConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.stall))
	return c.Conn.Read(p)
}

func (c deadlineConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.stall))
	return c.Conn.Write(p)
}

// heapSampler records the peak HeapAlloc every 100 ms until stopped. The
// ticker samples; it synchronises nothing.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > h.peak.Load() {
				h.peak.Store(m.HeapAlloc)
			}
			select {
			case <-h.stop:
				return
			case <-tk.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) close() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

// soakReport is what TestSoak logs and, with -soak.report, writes as JSON.
type soakReport struct {
	Seed         uint64           `json:"seed"`
	Duration     string           `json:"duration"`
	Elapsed      string           `json:"elapsed"`
	Race         bool             `json:"race"`
	Completed    map[string]int64 `json:"completed"`
	Bytes        map[string]int64 `json:"bytes"`
	HTTPConns    map[string]int64 `json:"http_server_connections"`
	TotalBytes   int64            `json:"total_tcp_bytes"`
	UDPSent      int64            `json:"udp_sent"`
	UDPReceived  int64            `json:"udp_received"`
	HeapBefore   uint64           `json:"heap_before"`
	HeapPeak     uint64           `json:"heap_peak"`
	HeapAfter    uint64           `json:"heap_after"`
	GoroutinesAt map[string]int   `json:"goroutines"`
	TCP          map[string]any   `json:"tcp"`
	Faults       map[string]any   `json:"faults"`
}

func (r *soakReport) write(t *testing.T, path string) {
	t.Helper()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatalf("encoding the soak report: %v", err)
	}
	t.Logf("soak report:\n%s", b)
	if path == "" {
		return
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Errorf("writing the soak report: %v", err)
	}
}

// tcpFigures picks the counters the soak reports from a stack.
func tcpFigures(s *microtcp.Stack) map[string]any {
	st := s.Stats()
	return map[string]any{
		"segments_in": st.TCP.SegmentsIn, "segments_out": st.TCP.SegmentsOut,
		"retransmits": st.TCP.Retransmits, "rtos": st.TCP.RTOs, "fast_retransmits": st.TCP.FastRetransmits,
		"tail_loss_probes": st.TCP.TailLossProbes, "lost_retransmits": st.TCP.LostRetransmits,
		"resets_sent": st.TCP.ResetsSent, "dropped": st.TCP.Dropped, "challenge_acks": st.TCP.ChallengeACKs,
		"connections_opened": st.TCP.ConnectionsOpened, "connections_now": st.TCP.Connections,
		"budget_peak": st.TCP.BudgetPeak, "budget_in_use": st.TCP.BudgetInUse,
		"tcp_bad_checksum": st.TCP.BadChecksum, "ipv4_bad_checksum": st.IPv4.BadChecksum,
		"udp_bad_checksum": st.UDP.BadChecksum, "icmp_bad_checksum": st.ICMP.BadChecksum,
		"frames_in": st.Link.FramesIn, "frames_out": st.Link.FramesOut,
	}
}

// caughtCorruption counts the frames a stack dropped for a damaged header
// or checksum: where the link's bit flips end up.
func caughtCorruption(s *microtcp.Stack) uint64 {
	st := s.Stats()
	return st.IPv4.BadChecksum + st.IPv4.BadHeader + st.IPv4.BadVersion + st.IPv4.Truncated +
		st.TCP.BadChecksum + st.TCP.BadHeader + st.UDP.BadChecksum + st.UDP.BadLength + st.ICMP.BadChecksum +
		st.Link.NotForUs + st.Link.UnknownEtherType
}

func faultFigures(f *link.Faulty) link.FaultStats { return f.Stats() }

// stackDump is the state a stall or corruption report carries.
func stackDump(p *pair) string {
	return fmt.Sprintf("A TCP %+v\nB TCP %+v\n%s\n%s", p.A.Stats().TCP, p.B.Stats().TCP, describe(p.A), describe(p.B))
}

// readFull reads exactly len(p) bytes or says how far it got.
func readFull(r io.Reader, p []byte) error {
	if n, err := io.ReadFull(r, p); err != nil {
		return fmt.Errorf("after %d of %d bytes: %w", n, len(p), err)
	}
	return nil
}
