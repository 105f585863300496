// Package cc implements TCP congestion control: NewReno (RFC 5681, RFC 6582
// with appropriate byte counting from RFC 3465) and CUBIC (RFC 9438).
//
// Every quantity is in bytes and every time is passed in by the caller, so
// an Algorithm is a deterministic state machine. It is not safe for
// concurrent use.
package cc

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Algorithm is the congestion controller the TCP engine drives. The engine
// owns loss detection and recovery; the controller only owns cwnd and
// ssthresh.
type Algorithm interface {
	// Name is the algorithm's name as New accepts it.
	Name() string
	// Cwnd is the congestion window in bytes, never below one SMSS.
	Cwnd() int
	// Ssthresh is the slow start threshold in bytes, InfiniteSsthresh
	// until the first congestion event.
	Ssthresh() int
	// SetMSS sets SMSS. Before any ACK or congestion event it also sets
	// the initial window (RFC 5681 §3.1, RFC 6928 §2).
	SetMSS(mss int)
	// OnAck reports acked bytes of new data acknowledged outside recovery.
	// rtt is the current smoothed RTT (zero when unknown); inFlight is
	// FlightSize after this ACK. cwnd does not grow while the flow uses
	// less than half of it (application-limited).
	OnAck(now time.Time, acked int, rtt time.Duration, inFlight int)
	// OnCongestion reports entry into fast recovery with FlightSize inFlight.
	OnCongestion(now time.Time, inFlight int)
	// OnRecoveryExit reports the full ACK that ends recovery.
	OnRecoveryExit(now time.Time)
	// OnRTO reports a retransmission timeout with FlightSize inFlight.
	OnRTO(now time.Time, inFlight int)
	// OnIdle reports that the connection sent nothing for idle and is
	// about to send again; rto is the current retransmission timeout.
	OnIdle(now time.Time, idle, rto time.Duration)
}

// InfiniteSsthresh is the initial ssthresh: "arbitrarily high"
// (RFC 5681 §3.1).
const InfiniteSsthresh = math.MaxInt32

// DefaultMSS is the SMSS assumed until SetMSS is called (RFC 9293 §3.7.1).
const DefaultMSS = 536

// maxWindow caps cwnd so byte arithmetic cannot overflow even with 32-bit
// int; it equals the largest window TCP can advertise (RFC 7323 §2.3).
const maxWindow = 1 << 30

// ErrUnknownAlgorithm is returned by New for a name it does not know.
var ErrUnknownAlgorithm = errors.New("unknown congestion control algorithm")

// New returns the algorithm called name: "cubic" (also the default for an
// empty name) or "newreno".
func New(name string) (Algorithm, error) {
	switch name {
	case "", "cubic":
		return NewCUBIC(), nil
	case "newreno", "reno":
		return NewNewReno(), nil
	}
	return nil, fmt.Errorf("cc: %q: %w", name, ErrUnknownAlgorithm)
}

// initialWindow is IW = min(10*SMSS, max(2*SMSS, 14600)) (RFC 6928 §2).
func initialWindow(mss int) int {
	return min(10*mss, max(2*mss, 14600))
}
