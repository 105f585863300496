package cc

import (
	"math"
	"time"
)

// RFC 9438 §5 constants.
const (
	cubicC    = 0.4 // RFC 9438 §5.1 C, in segments per second^3
	cubicBeta = 0.7 // RFC 9438 §5.1 β_cubic
	// alphaCubic is RFC 9438 §4.3 α_cubic = 3(1-β)/(1+β), which makes
	// AIMD(α_cubic, β_cubic) as fast as Reno's AIMD(1, 0.5).
	alphaCubic = 3 * (1 - cubicBeta) / (1 + cubicBeta)
)

// CUBIC is RFC 9438 congestion control. Window arithmetic inside an epoch
// runs in float64 bytes; Cwnd reports whole bytes.
type CUBIC struct {
	window

	wMax      float64 // RFC 9438 §4.1 W_max in bytes; 0 = none known
	cwndPrior float64 // RFC 9438 §4.6 cwnd_prior in bytes

	epochValid bool      // a congestion avoidance stage is running
	epochStart time.Time // RFC 9438 §4.2 t_epoch
	cwndEpoch  float64   // RFC 9438 §4.2 cwnd_epoch in bytes
	k          float64   // RFC 9438 §4.2 K in seconds
	wEst       float64   // RFC 9438 §4.3 W_est in bytes
	frac       float64   // growth below one byte, carried to the next ACK

	srtt time.Duration // last RTT the engine reported
}

// NewCUBIC returns CUBIC with SMSS = DefaultMSS until SetMSS.
func NewCUBIC() Algorithm {
	return &CUBIC{window: newWindow()}
}

// Name returns "cubic".
func (c *CUBIC) Name() string { return "cubic" }

// Cwnd returns the congestion window in bytes.
func (c *CUBIC) Cwnd() int { return c.cwnd }

// Ssthresh returns the slow start threshold in bytes.
func (c *CUBIC) Ssthresh() int { return c.ssthresh }

// SetMSS sets SMSS and, before any event, the initial window.
func (c *CUBIC) SetMSS(mss int) { c.setMSS(mss) }

// wCubic is RFC 9438 §4.2 eq. 1, W_cubic(t) = C*(t-K)^3 + W_max, in bytes.
func (c *CUBIC) wCubic(t float64) float64 {
	d := t - c.k
	return cubicC*d*d*d*float64(c.mss) + c.wMax
}

// startEpoch begins a congestion avoidance stage at now.
func (c *CUBIC) startEpoch(now time.Time) {
	cw := float64(c.cwnd)
	c.epochValid = true
	c.epochStart = now
	c.cwndEpoch = cw
	c.wEst = cw // RFC 9438 §4.3: W_est = cwnd_epoch
	c.frac = 0
	if c.wMax <= cw {
		// No reduction to recover from (first stage after slow start, or
		// after a timeout, RFC 9438 §4.8): K = 0 and W_max = cwnd_epoch,
		// so growth is convex from the start.
		c.wMax = cw
		c.k = 0
		return
	}
	// RFC 9438 §4.2 eq. 2: K = cubic_root((W_max - cwnd_epoch)/C), in segments.
	c.k = math.Cbrt((c.wMax - cw) / float64(c.mss) / cubicC)
}

// OnAck grows cwnd for acked bytes of new data.
func (c *CUBIC) OnAck(now time.Time, acked int, rtt time.Duration, inFlight int) {
	if acked <= 0 {
		return
	}
	if rtt > 0 {
		c.srtt = rtt
	}
	c.started = true
	c.rtoAgain = false
	if !c.cwndLimited(acked, inFlight) {
		return
	}
	if c.cwnd < c.ssthresh {
		// RFC 9438 §4.10: slow start as Reno (here with RFC 3465 ABC).
		if acked = c.slowStart(acked); acked == 0 {
			return
		}
	}
	if !c.epochValid {
		c.startEpoch(now)
	}
	t := now.Sub(c.epochStart).Seconds()
	cw := float64(c.cwnd)

	// RFC 9438 §4.3: W_est grows by α_cubic segments per cwnd of ACKed
	// bytes; α_cubic becomes 1 once W_est reaches cwnd_prior.
	alpha := alphaCubic
	if c.wEst >= c.cwndPrior {
		alpha = 1
	}
	c.wEst = min(c.wEst+alpha*float64(c.mss)*float64(acked)/cw, maxWindow)

	if c.wCubic(t) < c.wEst {
		// RFC 9438 §4.3: Reno-friendly region, cwnd = W_est.
		c.cwnd = max(c.cwnd, int(c.wEst))
		c.frac = 0
		c.clamp()
		return
	}
	// RFC 9438 §4.4 (concave, cwnd < W_max) and §4.5 (convex): aim at
	// W_cubic(t+RTT), kept within [cwnd, 1.5*cwnd], and close the gap by
	// (target - cwnd)/cwnd per SMSS ACKed.
	target := min(max(c.wCubic(t+c.srtt.Seconds()), cw), 1.5*cw)
	c.frac += (target - cw) * float64(acked) / cw
	if whole := math.Floor(c.frac); whole >= 1 {
		c.cwnd += int(min(whole, maxWindow))
		c.frac -= whole
	}
	c.clamp()
}

// OnCongestion reduces the window on entry to fast recovery.
func (c *CUBIC) OnCongestion(now time.Time, inFlight int) {
	c.started = true
	cw := float64(c.cwnd)
	if cw < c.wMax {
		// RFC 9438 §4.7 fast convergence: the last peak was not reached,
		// so release bandwidth to newer flows by lowering W_max further.
		c.wMax = cw * (1 + cubicBeta) / 2
	} else {
		c.wMax = cw // RFC 9438 §4.6
	}
	c.cwndPrior = cw // RFC 9438 §4.6
	c.reduce(inFlight)
	c.cwnd = c.ssthresh // RFC 9438 §4.6: cwnd = max(ssthresh, 2 SMSS)
	c.clamp()
}

// reduce sets ssthresh = max(FlightSize*β_cubic, 2*SMSS) (RFC 9438 §4.6)
// and ends the current epoch.
func (c *CUBIC) reduce(inFlight int) {
	c.ssthresh = max(int(float64(max(inFlight, 0))*cubicBeta), 2*c.mss)
	c.epochValid = false
}

// OnRecoveryExit sets cwnd to ssthresh (RFC 6582 §3.2 step 3), never
// raising it; the next congestion avoidance stage begins with the next ACK.
func (c *CUBIC) OnRecoveryExit(now time.Time) {
	c.cwnd = min(c.cwnd, c.ssthresh)
	c.epochValid = false
	c.clamp()
}

// OnRTO collapses cwnd to the loss window.
func (c *CUBIC) OnRTO(now time.Time, inFlight int) {
	c.started = true
	// RFC 5681 §3.1: only the first timeout of a segment lowers ssthresh.
	if !c.rtoAgain {
		c.cwndPrior = float64(c.cwnd)
		c.reduce(inFlight) // RFC 9438 §4.8: ssthresh uses β_cubic
	}
	c.rtoAgain = true
	// RFC 9438 §4.8: the first stage after a timeout uses K = 0 and
	// W_max = cwnd_epoch, which startEpoch derives from wMax = 0.
	c.wMax = 0
	c.epochValid = false
	c.cwnd = c.mss // RFC 5681 §3.1: LW = 1 SMSS
}

// OnIdle applies the restart window after a long idle period
// (RFC 5681 §4.1) and otherwise shifts the epoch by the idle time so the
// cubic curve does not count time the flow did not use (RFC 9438 §5.8).
func (c *CUBIC) OnIdle(now time.Time, idle, rto time.Duration) {
	if idle <= 0 {
		return
	}
	if c.restart(idle, rto) {
		c.epochValid = false
		return
	}
	if c.epochValid {
		c.epochStart = c.epochStart.Add(idle)
	}
}
