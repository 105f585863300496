// Package rtt estimates the round-trip time and computes the retransmission
// timeout of a TCP connection as RFC 6298 specifies.
//
// An Estimator is a plain value: it never reads the clock and is not safe
// for concurrent use. Estimators made by NewShared share their Config, so
// that each costs 32 bytes.
package rtt

import "time"

// Config holds the bounds of the estimator. Zero fields take the defaults
// of DefaultConfig.
type Config struct {
	InitialRTO  time.Duration // RTO before the first sample (RFC 6298 §2.1: 1s)
	MinRTO      time.Duration // lower bound on RTO (RFC 6298 §2.4 says 1s; 200ms like Linux)
	MaxRTO      time.Duration // upper bound on RTO (RFC 6298 §2.5: at least 60s)
	Granularity time.Duration // clock granularity G (RFC 6298 §2)
}

// DefaultConfig returns {1s, 200ms, 120s, 1ms}.
func DefaultConfig() Config {
	return Config{
		InitialRTO:  time.Second,
		MinRTO:      200 * time.Millisecond,
		MaxRTO:      120 * time.Second,
		Granularity: time.Millisecond,
	}
}

// RFC 6298 §2 constants: alpha = 1/8, beta = 1/4, K = 4.
const (
	alphaShift = 3
	betaShift  = 2
	k          = 4
)

// maxShift caps the backoff exponent so the doubling can never overflow;
// 2^30 times any RTO is far beyond any sensible MaxRTO anyway.
const maxShift = 30

// Estimator tracks SRTT and RTTVAR and derives the RTO.
type Estimator struct {
	cfg       *Config
	srtt      time.Duration
	rttvar    time.Duration
	backoff   uint32 // number of doublings applied since the last reset
	hasSample bool

	// Fine-grained samples from timing one segment per round trip
	// (Observe), apart from the RTO's: the smallest is the path's RTT
	// without queueing, the smoothed one includes what is queued.
	pathMin, pathSmooth time.Duration
}

// New returns an estimator with no sample yet. Zero or negative fields of
// cfg take their default, and MaxRTO is raised to at least MinRTO.
func New(cfg Config) Estimator {
	return NewShared(&cfg)
}

// NewShared is New for many estimators with one configuration: it
// applies the defaults to *cfg in place and keeps the pointer, so cfg must
// not change while they are in use.
func NewShared(cfg *Config) Estimator {
	cfg.normalize()
	return Estimator{cfg: cfg}
}

// normalize applies the defaults and bounds New documents.
func (cfg *Config) normalize() {
	def := DefaultConfig()
	if cfg.InitialRTO <= 0 {
		cfg.InitialRTO = def.InitialRTO
	}
	if cfg.MinRTO <= 0 {
		cfg.MinRTO = def.MinRTO
	}
	if cfg.MaxRTO <= 0 {
		cfg.MaxRTO = def.MaxRTO
	}
	if cfg.Granularity <= 0 {
		cfg.Granularity = def.Granularity
	}
	if cfg.MaxRTO < cfg.MinRTO {
		cfg.MaxRTO = cfg.MinRTO
	}
}

// Sample feeds one RTT measurement. Non-positive samples are clamped to the
// clock granularity: they come from coarse clocks, not from the network.
// Callers must follow Karn's rule (RFC 6298 §3) and never sample a
// retransmitted segment.
func (e *Estimator) Sample(r time.Duration) {
	if r <= 0 {
		r = e.cfg.Granularity
	}
	if !e.hasSample {
		// RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2.
		e.srtt = r
		e.rttvar = r / 2
		e.hasSample = true
		return
	}
	// RFC 6298 §2.3: RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|,
	// computed before SRTT <- (1 - alpha) * SRTT + alpha * R'.
	delta := e.srtt - r
	if delta < 0 {
		delta = -delta
	}
	e.rttvar += (delta - e.rttvar) >> betaShift
	e.srtt += (r - e.srtt) >> alphaShift
}

// Observe records a fine-grained RTT measurement that does not feed the
// RTO: with RFC 7323 timestamps the RTO's samples count milliseconds,
// too coarse to see queueing on a fast path. Non-positive values are
// ignored.
func (e *Estimator) Observe(r time.Duration) {
	if r <= 0 {
		return
	}
	if e.pathSmooth == 0 {
		e.pathSmooth = r
	} else {
		e.pathSmooth += (r - e.pathSmooth) >> alphaShift // as SRTT (RFC 6298 §2.3)
	}
	if e.pathMin == 0 || r < e.pathMin {
		e.pathMin = r
	}
}

// PathRTT returns the smallest Observe'd RTT and their average, smoothed
// as SRTT is; zero before the first.
func (e *Estimator) PathRTT() (least, smoothed time.Duration) { return e.pathMin, e.pathSmooth }

// base returns the un-backed-off RTO clamped to [MinRTO, MaxRTO].
func (e *Estimator) base() time.Duration {
	rto := e.cfg.InitialRTO // RFC 6298 §2.1
	if e.hasSample {
		// RFC 6298 §2.2/§2.3: RTO <- SRTT + max(G, K*RTTVAR).
		rto = e.srtt + max(e.cfg.Granularity, k*e.rttvar)
	}
	// RFC 6298 §2.4 (lower bound) and §2.5 (upper bound).
	return min(max(rto, e.cfg.MinRTO), e.cfg.MaxRTO)
}

// RTO returns the current retransmission timeout including backoff.
func (e *Estimator) RTO() time.Duration {
	rto := e.base()
	for i := uint32(0); i < e.backoff; i++ {
		// RFC 6298 §5.5: the doubled timer is still capped at MaxRTO (§2.5).
		if rto >= e.cfg.MaxRTO/2 {
			return e.cfg.MaxRTO
		}
		rto *= 2
	}
	return rto
}

// Backoff doubles the RTO after a retransmission timeout (RFC 6298 §5.5).
func (e *Estimator) Backoff() {
	if e.backoff < maxShift {
		e.backoff++
	}
}

// ResetBackoff drops the backoff once a new ACK or valid sample arrives
// (RFC 6298 §5.7 recomputes RTO from SRTT and RTTVAR).
func (e *Estimator) ResetBackoff() { e.backoff = 0 }

// Backoffs returns how many times Backoff was applied since the last reset.
func (e *Estimator) Backoffs() int { return int(e.backoff) }

// SRTT returns the smoothed round-trip time (zero before the first sample).
func (e *Estimator) SRTT() time.Duration { return e.srtt }

// RTTVar returns the round-trip time variation (zero before the first sample).
func (e *Estimator) RTTVar() time.Duration { return e.rttvar }

// HasSample reports whether at least one sample has been taken.
func (e *Estimator) HasSample() bool { return e.hasSample }
