package ipv4

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/microtcp/microtcp/core/wire"
)

// Reassembly errors; Add wraps them with the datagram's identity.
var (
	ErrOverlap     = errors.New("ipv4: overlapping fragments")
	ErrTooBig      = errors.New("ipv4: reassembled datagram exceeds 65535 bytes")
	ErrTooMany     = errors.New("ipv4: reassembly resources exhausted")
	ErrBadFragment = errors.New("ipv4: malformed fragment")
)

// Defaults for zero ReassemblerConfig fields.
const (
	DefaultReassemblyTimeout = 30 * time.Second // RFC 1122 §3.3.2 recommends 60-120 s; Linux uses 30 s
	DefaultMaxDatagrams      = 64
	DefaultMaxBytes          = 4 << 20
)

// fragOverhead is what each stored fragment costs against MaxBytes beyond
// its payload, so that floods of tiny fragments hit the cap as soon as
// their bookkeeping, not just their bytes, becomes significant.
const fragOverhead = 64

// ReassemblerConfig tunes a Reassembler. Zero fields take the defaults in brackets.
type ReassemblerConfig struct {
	Timeout      time.Duration // a datagram must complete this long after its first fragment arrived [30s]
	MaxDatagrams int           // datagrams under reassembly at once [64]
	MaxBytes     int           // fragment bytes buffered in total [4 MiB]
}

// ReassemblyStats counts what a Reassembler did.
type ReassemblyStats struct {
	Reassembled  uint64 // datagrams completed
	Timeouts     uint64 // datagrams dropped by Poll
	Overlaps     uint64 // datagrams dropped for overlapping fragments
	TooBig       uint64 // datagrams dropped for exceeding 65535 bytes
	TooMany      uint64 // fragments refused for lack of room
	BadFragments uint64 // fragments refused as malformed
}

// fragKey identifies a datagram (RFC 791 §3.2: "the combination of
// source, destination, protocol, and Identification").
type fragKey struct {
	src, dst [4]byte
	proto    wire.IPProtocol
	id       uint16
}

type fragment struct {
	off  int
	data []byte // a copy of the fragment's payload
}

type datagram struct {
	key     fragKey
	arrived time.Time  // first fragment; the timer runs from here
	header  []byte     // a copy of fragment zero's header, nil until it arrives
	frags   []fragment // sorted by off, never overlapping
	have    int        // payload bytes held
	total   int        // payload length from the last fragment; -1 until it arrives
	cost    int        // charged against MaxBytes
}

// Reassembler puts fragmented datagrams back together (RFC 791 §3.2,
// RFC 815). Overlapping fragments discard the whole datagram, in the
// spirit of RFC 5722; exact duplicates are accepted silently. The header
// of the reassembled datagram is fragment zero's with its IP options
// dropped.
//
// It is not safe for concurrent use.
type Reassembler struct {
	cfg   ReassemblerConfig
	dgs   map[fragKey]*datagram
	bytes int // sum of cost
	out   []byte
	stats ReassemblyStats
}

// NewReassembler returns an empty Reassembler. Negative config values are
// treated as zero (the default).
func NewReassembler(cfg ReassemblerConfig) *Reassembler {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultReassemblyTimeout
	}
	if cfg.MaxDatagrams <= 0 {
		cfg.MaxDatagrams = DefaultMaxDatagrams
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	return &Reassembler{cfg: cfg, dgs: make(map[fragKey]*datagram)}
}

// Add takes one fragment (a packet that is not a fragment comes back
// as is). Once a datagram is complete it is returned with MF and the
// offset cleared, TotalLen fixed and the header checksum recomputed; the
// view is valid until the next call on r. nil, nil means the fragment was
// stored. frag is borrowed; its header checksum is the caller's business.
func (r *Reassembler) Add(now time.Time, frag wire.IPv4) (wire.IPv4, error) {
	if !frag.IsFragment() {
		return frag, nil
	}
	k := fragKey{src: frag.Src().As4(), dst: frag.Dst().As4(), proto: frag.Protocol(), id: frag.ID()}
	off, data := frag.FragmentOffset(), frag.Payload()
	end := off + len(data)
	more := frag.MoreFragments()
	wrap := func(err error) error {
		return fmt.Errorf("ipv4: fragment id %#04x %v→%v offset %d length %d: %w",
			k.id, frag.Src(), frag.Dst(), off, len(data), err)
	}

	// RFC 791 §3.2: every fragment but the last carries a multiple of 8
	// octets, since the next one's offset counts 8-octet blocks.
	if more && (len(data) == 0 || len(data)%8 != 0) {
		r.stats.BadFragments++
		return nil, wrap(ErrBadFragment)
	}
	d := r.dgs[k]
	// The classic "ping of death": offset and length past 65535.
	if frag.HeaderLen()+end > maxPacket {
		r.stats.TooBig++
		if d != nil {
			r.drop(d)
		}
		return nil, wrap(ErrTooBig)
	}
	cost := len(data) + fragOverhead
	if off == 0 {
		cost += frag.HeaderLen()
	}
	if (d == nil && len(r.dgs) >= r.cfg.MaxDatagrams) || r.bytes+cost > r.cfg.MaxBytes {
		r.stats.TooMany++
		return nil, wrap(ErrTooMany)
	}
	if d == nil {
		// Most datagrams are cut from a 64 KiB-or-smaller payload at a
		// 1500-byte MTU: a few fragments.
		d = &datagram{key: k, arrived: now, total: -1, frags: make([]fragment, 0, 4)}
	}

	if !more {
		// The last fragment fixes the length; a second one that
		// disagrees, or data already beyond it, is inconsistent.
		if d.total >= 0 && d.total != end || d.total < 0 && len(d.frags) > 0 && d.frags[len(d.frags)-1].end() > end {
			r.stats.BadFragments++
			return nil, wrap(ErrBadFragment)
		}
	} else if d.total >= 0 && end > d.total {
		r.stats.BadFragments++
		return nil, wrap(ErrBadFragment)
	}

	i := sort.Search(len(d.frags), func(i int) bool { return d.frags[i].off >= off })
	if i < len(d.frags) && d.frags[i].off == off && len(d.frags[i].data) == len(data) && bytes.Equal(d.frags[i].data, data) {
		// An exact duplicate (a retransmitted or duplicated packet)
		// changes nothing.
		return nil, nil
	}
	// RFC 5722 §3 (by analogy for IPv4): an overlap means the datagram
	// cannot be trusted, so all of it goes.
	if i > 0 && d.frags[i-1].end() > off || i < len(d.frags) && d.frags[i].off < end ||
		i < len(d.frags) && d.frags[i].off == off /* zero-length overlap at the same place */ {
		r.stats.Overlaps++
		if r.dgs[k] == d {
			r.drop(d)
		}
		return nil, wrap(ErrOverlap)
	}

	if r.dgs[k] == nil {
		r.dgs[k] = d
	}
	d.frags = append(d.frags, fragment{})
	copy(d.frags[i+1:], d.frags[i:])
	d.frags[i] = fragment{off: off, data: append([]byte(nil), data...)}
	d.have += len(data)
	d.cost += cost
	r.bytes += cost
	if !more {
		d.total = end
	}
	if off == 0 {
		d.header = append([]byte(nil), frag[:frag.HeaderLen()]...)
	}

	if d.header == nil || d.total < 0 || d.have != d.total {
		return nil, nil
	}
	// No overlaps and every byte in [0,total) held: complete (RFC 815's
	// hole list reduced to a byte count, which suffices once overlaps are
	// refused). The header is fragment zero's without its options: we act
	// on none, and a plain header keeps the datagram within 65535 bytes
	// whenever every fragment was.
	r.drop(d)
	f := wire.IPv4(d.header).Fields()
	f.TotalLen = wire.IPv4HeaderLen + d.total
	f.MoreFragments, f.FragmentOffset = false, 0
	if cap(r.out) < f.TotalLen {
		r.out = make([]byte, f.TotalLen, max(f.TotalLen, 1500))
	}
	out := r.out[:f.TotalLen]
	f.Encode(out)
	for _, fr := range d.frags {
		copy(out[wire.IPv4HeaderLen+fr.off:], fr.data)
	}
	r.stats.Reassembled++
	return wire.IPv4(out), nil
}

func (f *fragment) end() int { return f.off + len(f.data) }

// drop forgets d and returns its bytes to the budget.
func (r *Reassembler) drop(d *datagram) {
	delete(r.dgs, d.key)
	r.bytes -= d.cost
}

// Poll drops datagrams whose first fragment arrived Timeout or more
// before now. For each one whose fragment zero was received it calls
// expired (if non-nil) with that fragment, so the stack can send ICMP time
// exceeded code 1 (RFC 792; RFC 1122 §3.3.2 allows it only then). The view
// is valid during the call only.
func (r *Reassembler) Poll(now time.Time, expired func(first wire.IPv4)) {
	var due []*datagram
	for _, d := range r.dgs {
		if !now.Before(d.arrived.Add(r.cfg.Timeout)) {
			due = append(due, d)
		}
	}
	// Oldest first, so that callbacks (and the ICMP they trigger) come in
	// a deterministic order.
	sort.Slice(due, func(i, j int) bool { return due[i].arrived.Before(due[j].arrived) })
	for _, d := range due {
		r.drop(d)
		r.stats.Timeouts++
		if d.header == nil || expired == nil {
			continue
		}
		first := d.frags[0].data // fragment zero sorts first
		n := len(d.header) + len(first)
		if cap(r.out) < n {
			r.out = make([]byte, n)
		}
		out := r.out[:n]
		copy(out, d.header)
		copy(out[len(d.header):], first)
		expired(wire.IPv4(out))
	}
}

// NextDeadline is when Poll next has work; zero when nothing is pending.
func (r *Reassembler) NextDeadline() time.Time {
	var t time.Time
	for _, d := range r.dgs {
		if dl := d.arrived.Add(r.cfg.Timeout); t.IsZero() || dl.Before(t) {
			t = dl
		}
	}
	return t
}

// Stats returns a copy of the counters.
func (r *Reassembler) Stats() ReassemblyStats { return r.stats }

// Len is the number of datagrams under reassembly.
func (r *Reassembler) Len() int { return len(r.dgs) }
