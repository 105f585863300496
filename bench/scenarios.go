package main

import (
	"context"
	"time"
)

type runConfig struct {
	quick bool
	seed  uint64
}

// pick returns full, or quick in a -quick run.
func (c runConfig) pick(full, quick int) int {
	if c.quick {
		return quick
	}
	return full
}

func (c runConfig) dur(full, quick time.Duration) time.Duration {
	if c.quick {
		return quick
	}
	return full
}

// metric is one figure a case reports.
type metric struct {
	Name         string `json:"metric"`
	Unit         string `json:"unit"`
	HigherBetter bool   `json:"higher_is_better"`
}

// benchCase is one parameterisation of a scenario; run returns one value
// per metric.
type benchCase struct {
	name    string
	metrics []metric
	timeout time.Duration
	run     func(ctx context.Context, stack string) ([]float64, error)
}

type scenario struct {
	name  string
	cases func(runConfig) []benchCase
}

func scenarioNames() []string {
	var n []string
	for _, s := range scenarios {
		n = append(n, s.name)
	}
	return n
}

var (
	gbits   = metric{"throughput", "Gbit/s", true}
	mbitsM  = metric{"goodput", "Mbit/s", true}
	connsPS = metric{"rate", "conn/s", true}
)

var scenarios = []scenario{
	{"bulk", func(c runConfig) []benchCase {
		d := c.dur(10*time.Second, time.Second)
		var out []benchCase
		for _, mtu := range []int{1500, 65520} {
			out = append(out, benchCase{
				name:    "bulk mtu" + itoa(mtu),
				metrics: []metric{gbits},
				timeout: d + 30*time.Second,
				run: func(ctx context.Context, stack string) ([]float64, error) {
					v, err := bulk(ctx, stack, linkOpts{MTU: mtu}, d, c.seed)
					return []float64{v / 1e3}, err
				},
			})
		}
		return out
	}},
	{"rr", func(c runConfig) []benchCase {
		n := c.pick(20000, 2000)
		return []benchCase{{
			name:    "rr " + itoa(n) + "x1B",
			metrics: []metric{{"p50", "µs", false}, {"p99", "µs", false}},
			timeout: 60 * time.Second,
			run: func(ctx context.Context, stack string) ([]float64, error) {
				p50, p99, err := rr(ctx, stack, n)
				return []float64{p50, p99}, err
			},
		}}
	}},
	{"crr", func(c runConfig) []benchCase {
		n := c.pick(5000, 500)
		var out []benchCase
		for _, k := range []int{1, 4} {
			out = append(out, benchCase{
				name:    "crr " + itoa(n) + " c" + itoa(k),
				metrics: []metric{connsPS},
				timeout: 90 * time.Second,
				run: func(ctx context.Context, stack string) ([]float64, error) {
					v, err := crr(ctx, stack, n, k)
					return []float64{v}, err
				},
			})
		}
		return out
	}},
	{"conc", func(c runConfig) []benchCase {
		n := c.pick(1000, 100)
		return []benchCase{{
			name:    "conc " + itoa(n) + "x1MiB",
			metrics: []metric{gbits, {"peak RSS", "MiB", false}},
			timeout: 120 * time.Second,
			run: func(ctx context.Context, stack string) ([]float64, error) {
				v, peak, err := conc(ctx, stack, n, 1<<20, c.seed)
				return []float64{v / 1e3, float64(peak) / (1 << 20)}, err
			},
		}}
	}},
	{"idle", func(c runConfig) []benchCase {
		n := c.pick(10000, 1000)
		return []benchCase{{
			name:    "idle " + itoa(n),
			metrics: []metric{{"heap/pair", "B", false}, {"goroutines/pair", "", false}},
			timeout: 120 * time.Second,
			run: func(ctx context.Context, stack string) ([]float64, error) {
				m := n
				if stack == "kernel" {
					m = min(n, kernelIdleMax())
				}
				h, g, err := idle(ctx, stack, m)
				return []float64{h, g}, err
			},
		}}
	}},
	{"lossy", func(c runConfig) []benchCase {
		d := c.dur(10*time.Second, 2*time.Second)
		var out []benchCase
		for _, loss := range []float64{0.01, 0} {
			name := "lossy 0% 5ms"
			if loss > 0 {
				name = "lossy 1% 5ms"
			}
			out = append(out, benchCase{
				name:    name,
				metrics: []metric{mbitsM},
				timeout: d + 60*time.Second,
				run: func(ctx context.Context, stack string) ([]float64, error) {
					o := linkOpts{MTU: 1500, Loss: loss, Delay: 5 * time.Millisecond, Seed: int64(c.seed)}
					v, err := bulk(ctx, stack, o, d, c.seed)
					return []float64{v}, err
				},
			})
		}
		return out
	}},
}
