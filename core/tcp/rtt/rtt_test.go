package rtt

import (
	"testing"
	"time"
)

const ms = time.Millisecond

func TestInitialRTO(t *testing.T) {
	e := New(Config{})
	if e.HasSample() {
		t.Fatal("HasSample before any sample")
	}
	// RFC 6298 §2.1: RTO starts at 1 second.
	if got := e.RTO(); got != time.Second {
		t.Fatalf("initial RTO = %v, want 1s", got)
	}
}

func TestDefaultsFillZeroConfig(t *testing.T) {
	e := New(Config{})
	if *e.cfg != DefaultConfig() {
		t.Fatalf("config = %+v, want %+v", *e.cfg, DefaultConfig())
	}
	e = New(Config{MinRTO: 5 * time.Second, MaxRTO: time.Second})
	if e.cfg.MaxRTO != 5*time.Second {
		t.Fatalf("MaxRTO below MinRTO not raised: %v", e.cfg.MaxRTO)
	}
}

// The expected values are worked out by hand from RFC 6298 §2.2 and §2.3
// (alpha 1/8, beta 1/4, K 4), with MinRTO small enough not to interfere.
func TestSampleSequence(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		srtt    time.Duration
		rttvar  time.Duration
		rto     time.Duration
	}{
		{"first sample §2.2", []time.Duration{100 * ms}, 100 * ms, 50 * ms, 300 * ms},
		// rttvar = 3/4*50 + 1/4*|100-200| = 62.5; srtt = 7/8*100 + 1/8*200 = 112.5
		{"higher second sample §2.3", []time.Duration{100 * ms, 200 * ms}, 112500 * time.Microsecond, 62500 * time.Microsecond, 362500 * time.Microsecond},
		// rttvar = 37.5 + 1/4*|100-20| = 57.5; srtt = 87.5 + 2.5 = 90
		{"lower second sample §2.3", []time.Duration{100 * ms, 20 * ms}, 90 * ms, 57500 * time.Microsecond, 320 * ms},
		// third: rttvar = 3/4*62.5 + 1/4*|112.5-112.5| = 46.875; srtt = 112.5
		{"steady third sample", []time.Duration{100 * ms, 200 * ms, 112500 * time.Microsecond}, 112500 * time.Microsecond, 46875 * time.Microsecond, 300 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(Config{MinRTO: time.Millisecond})
			for _, s := range tt.samples {
				e.Sample(s)
			}
			if !e.HasSample() {
				t.Fatal("HasSample false after samples")
			}
			if e.SRTT() != tt.srtt || e.RTTVar() != tt.rttvar || e.RTO() != tt.rto {
				t.Fatalf("srtt %v rttvar %v rto %v, want %v %v %v",
					e.SRTT(), e.RTTVar(), e.RTO(), tt.srtt, tt.rttvar, tt.rto)
			}
		})
	}
}

func TestClamping(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		sample time.Duration
		want   time.Duration
	}{
		// 1 + max(1, 4*0.5) = 3ms, raised to MinRTO (RFC 6298 §2.4).
		{"min", Config{}, 1 * ms, 200 * ms},
		// 100 + 4*50 = 300s, cut to MaxRTO (RFC 6298 §2.5).
		{"max", Config{}, 100 * time.Second, 120 * time.Second},
		{"custom min", Config{MinRTO: 50 * ms}, 2 * ms, 50 * ms},
		// RTTVAR is 0 after a zero-variance history only in the limit, so
		// test G with a first sample whose K*RTTVAR is below G.
		{"granularity", Config{MinRTO: time.Nanosecond, Granularity: 10 * ms}, 4 * ms, 14 * ms},
		// A non-positive sample counts as one clock tick: 2 + max(2, 4*1) = 6ms.
		{"zero sample", Config{MinRTO: time.Nanosecond, Granularity: 2 * ms}, 0, 6 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(tt.cfg)
			e.Sample(tt.sample)
			if got := e.RTO(); got != tt.want {
				t.Fatalf("RTO = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGranularityFloorAfterSteadySamples(t *testing.T) {
	e := New(Config{MinRTO: time.Nanosecond, Granularity: 10 * ms})
	for range 200 {
		e.Sample(100 * ms)
	}
	// RTTVAR decays towards 0, so RTO = SRTT + max(G, K*RTTVAR) -> SRTT + G.
	if e.RTTVar() != 0 {
		t.Fatalf("rttvar = %v after constant samples, want 0", e.RTTVar())
	}
	if got, want := e.RTO(), 110*ms; got != want {
		t.Fatalf("RTO = %v, want %v", got, want)
	}
}

func TestBackoff(t *testing.T) {
	e := New(Config{})
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 120, 120}
	for i, w := range want {
		if got := e.RTO(); got != w*time.Second {
			t.Fatalf("after %d backoffs RTO = %v, want %v", i, got, w*time.Second)
		}
		e.Backoff()
	}
	for range 100 { // far past the shift cap: must neither overflow nor drop
		e.Backoff()
	}
	if got := e.RTO(); got != 120*time.Second {
		t.Fatalf("after many backoffs RTO = %v, want 120s", got)
	}
	e.ResetBackoff()
	if got := e.RTO(); got != time.Second || e.Backoffs() != 0 {
		t.Fatalf("after reset RTO = %v backoffs %d, want 1s 0", got, e.Backoffs())
	}
}

func TestBackoffKeepsEstimate(t *testing.T) {
	e := New(Config{})
	e.Sample(100 * ms) // RTO 300ms
	e.Backoff()
	e.Backoff()
	if got := e.RTO(); got != 1200*ms {
		t.Fatalf("RTO = %v, want 1.2s", got)
	}
	e.Sample(100 * ms) // a sample does not reset the backoff by itself
	e.ResetBackoff()
	// rttvar = 3/4*50 = 37.5, srtt = 100: RTO = 250ms
	if got := e.RTO(); got != 250*ms {
		t.Fatalf("RTO = %v, want 250ms", got)
	}
}

func TestZeroAllocs(t *testing.T) {
	e := New(Config{})
	allocs := testing.AllocsPerRun(100, func() {
		e.Sample(50 * ms)
		e.Backoff()
		_ = e.RTO()
		e.ResetBackoff()
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per run, want 0", allocs)
	}
}

func BenchmarkSample(b *testing.B) {
	b.ReportAllocs()
	e := New(Config{})
	for i := 0; b.Loop(); i++ {
		e.Sample(time.Duration(50+i%7) * ms)
		_ = e.RTO()
	}
}

// TestObservePathRTT: fine-grained observations keep their minimum and a
// smoothed average (alpha 1/8, as SRTT), ignore non-positive values, and
// never move the RTO.
func TestObservePathRTT(t *testing.T) {
	e := New(Config{})
	if least, smoothed := e.PathRTT(); least != 0 || smoothed != 0 {
		t.Fatalf("before any observation: %v %v", least, smoothed)
	}
	rto := e.RTO()
	e.Observe(80 * time.Microsecond)
	e.Observe(0)
	e.Observe(-time.Second)
	e.Observe(160 * time.Microsecond)
	least, smoothed := e.PathRTT()
	if want := 80*time.Microsecond + (80*time.Microsecond)/8; least != 80*time.Microsecond || smoothed != want {
		t.Fatalf("PathRTT %v %v, want 80µs %v", least, smoothed, want)
	}
	if e.RTO() != rto {
		t.Fatalf("RTO moved from %v to %v", rto, e.RTO())
	}
}
