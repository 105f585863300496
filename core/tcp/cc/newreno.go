package cc

import "time"

// NewReno is RFC 5681 congestion control with appropriate byte counting
// (RFC 3465) and the RFC 6582 window at the end of recovery.
type NewReno struct {
	window
	bytesAcked int // RFC 3465 §2.1 bytes_acked, in congestion avoidance
}

// NewNewReno returns NewReno with SMSS = DefaultMSS until SetMSS.
func NewNewReno() Algorithm {
	return &NewReno{window: newWindow()}
}

// Name returns "newreno".
func (r *NewReno) Name() string { return "newreno" }

// Cwnd returns the congestion window in bytes.
func (r *NewReno) Cwnd() int { return r.cwnd }

// Ssthresh returns the slow start threshold in bytes.
func (r *NewReno) Ssthresh() int { return r.ssthresh }

// SetMSS sets SMSS and, before any event, the initial window.
func (r *NewReno) SetMSS(mss int) { r.setMSS(mss) }

// OnAck grows cwnd for acked bytes of new data.
func (r *NewReno) OnAck(now time.Time, acked int, rtt time.Duration, inFlight int) {
	if acked <= 0 {
		return
	}
	r.started = true
	r.rtoAgain = false
	if !r.cwndLimited(acked, inFlight) {
		return
	}
	if r.cwnd < r.ssthresh {
		if acked = r.slowStart(acked); acked == 0 {
			return
		}
	}
	// RFC 3465 §2.1 / RFC 5681 §3.1: once a full cwnd of bytes is ACKed,
	// cwnd grows by one SMSS, so by at most one SMSS per RTT.
	r.bytesAcked += acked
	if r.bytesAcked >= r.cwnd {
		r.bytesAcked -= r.cwnd
		r.cwnd += r.mss
		r.clamp()
	}
}

// OnCongestion halves the window on entry to fast recovery.
func (r *NewReno) OnCongestion(now time.Time, inFlight int) {
	r.started = true
	// RFC 5681 §3.2 step 2, eq. 4.
	r.ssthresh = r.lossThreshold(inFlight)
	// RFC 6675 §5 step 4.2: cwnd = ssthresh; any RFC 5681 §3.2 step 3
	// inflation by dupacks is the engine's business.
	r.cwnd = r.ssthresh
	r.bytesAcked = 0
	r.clamp()
}

// OnRecoveryExit deflates cwnd to ssthresh (RFC 6582 §3.2 step 3, full
// ACK). It never raises cwnd: after an RTO inside recovery, or a call
// without OnCongestion, slow start must go on from the smaller window.
func (r *NewReno) OnRecoveryExit(now time.Time) {
	r.cwnd = min(r.cwnd, r.ssthresh)
	r.bytesAcked = 0
	r.clamp()
}

// OnRTO collapses cwnd to the loss window.
func (r *NewReno) OnRTO(now time.Time, inFlight int) {
	r.started = true
	// RFC 5681 §3.1: ssthresh from eq. 4 only for the first timeout of a
	// segment; when the retransmission is lost again it is held constant.
	if !r.rtoAgain {
		r.ssthresh = r.lossThreshold(inFlight)
	}
	r.rtoAgain = true
	r.cwnd = r.mss // RFC 5681 §3.1: LW = 1 SMSS
	r.bytesAcked = 0
}

// OnIdle applies the restart window (RFC 5681 §4.1).
func (r *NewReno) OnIdle(now time.Time, idle, rto time.Duration) {
	if r.restart(idle, rto) {
		r.bytesAcked = 0
	}
}
