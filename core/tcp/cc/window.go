package cc

import "time"

// window is the state NewReno and CUBIC share: SMSS, cwnd, ssthresh and the
// RFC 3465 byte counter.
type window struct {
	mss      int
	cwnd     int
	ssthresh int
	started  bool // an ACK or congestion event has moved cwnd off IW
	rtoAgain bool // an RTO happened and no new data was ACKed since
}

func newWindow() window {
	return window{
		mss:      DefaultMSS,
		cwnd:     initialWindow(DefaultMSS),
		ssthresh: InfiniteSsthresh,
	}
}

func (w *window) setMSS(mss int) {
	if mss <= 0 {
		return // API misuse that must not break the window invariants
	}
	w.mss = mss
	if !w.started {
		// RFC 5681 §3.1 / RFC 6928 §2: IW depends on SMSS.
		w.cwnd = initialWindow(mss)
	}
	w.clamp()
}

// clamp keeps cwnd within [1 SMSS, maxWindow].
func (w *window) clamp() {
	w.cwnd = min(max(w.cwnd, w.mss), maxWindow)
}

// slowStart grows cwnd by the bytes acked without passing ssthresh, and
// returns the acked bytes left over for congestion avoidance. RFC 3465
// §2.2 caps the growth per ACK at L = 2 SMSS (RFC 5681 §3.1 allows up to
// SMSS per ACK); we do not, as Linux does not since its stretch-ACK fixes:
// a receiver that coalesces ACKs (GRO, or our input batches) sends one ACK
// for many segments, and L would then stall slow start. Byte counting
// already keeps ACK division from inflating cwnd.
func (w *window) slowStart(acked int) int {
	inc := acked
	room := w.ssthresh - w.cwnd
	if inc >= room {
		w.cwnd = w.ssthresh
		w.clamp()
		return acked - room
	}
	w.cwnd += inc
	w.clamp()
	return 0
}

// cwndLimited reports whether the flow used at least half of cwnd before
// this ACK (inFlight is FlightSize after it). Growing a window the flow
// does not use would let a later burst out at a rate never validated by the
// network (RFC 9438 §5.8, RFC 7661 §3; Linux uses the same half-cwnd test
// in slow start).
func (w *window) cwndLimited(acked, inFlight int) bool {
	return 2*(max(inFlight, 0)+acked) >= w.cwnd
}

// lossThreshold is max(FlightSize/2, 2*SMSS) (RFC 5681 §3.1 eq. 4).
func (w *window) lossThreshold(inFlight int) int {
	return max(inFlight/2, 2*w.mss)
}

// restart applies the restart window RW = min(IW, cwnd) after an idle
// period longer than the RTO (RFC 5681 §4.1). It reports whether it did.
func (w *window) restart(idle, rto time.Duration) bool {
	if idle <= rto {
		return false
	}
	w.cwnd = min(initialWindow(w.mss), w.cwnd)
	w.clamp()
	return true
}
