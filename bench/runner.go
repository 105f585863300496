package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

const (
	statusOK      = "ok"
	statusNA      = "n/a"
	statusStalled = "stalled"
	statusCorrupt = "CORRUPT"
	statusError   = "error"
)

// stackResult is one stack's figure in a row.
type stackResult struct {
	Stack  string  `json:"stack"`
	Value  float64 `json:"value"`
	Status string  `json:"status"`
	Error  string  `json:"error,omitempty"`
}

// row is one metric of one case across the stacks, with the ratios.
type row struct {
	Case string `json:"case"`
	metric
	Stacks []stackResult       `json:"stacks"`
	Ratios map[string]*float64 `json:"ratios"` // "microtcp/gvisor", "microtcp/kernel", …
}

// graceAfterTimeout is how long a case may take to return after its context
// ended before it is declared stalled and abandoned.
const graceAfterTimeout = 10 * time.Second

// runCase runs c count times per stack and keeps the median of each metric;
// a single failed run fails the stack's figure.
func runCase(c benchCase, stacks []string, count int) []row {
	rows := make([]row, len(c.metrics))
	for i, m := range c.metrics {
		rows[i] = row{Case: c.name, metric: m, Ratios: map[string]*float64{}}
	}
	// Repetitions interleave the stacks (m g k m g k …) so that a change of
	// background load hits all of them alike.
	runs := make([][][]float64, len(stacks))
	status := make([]string, len(stacks))
	errs := make([]error, len(stacks))
	for range count {
		for si, st := range stacks {
			if status[si] != "" && status[si] != statusOK {
				continue // one failure decides the figure
			}
			t0 := time.Now()
			vals, stat, err := runOne(c, st)
			fmt.Fprintf(os.Stderr, "bench: %-16s %-13s %-7s %6.1fs %.4g", c.name, st, stat, time.Since(t0).Seconds(), vals)
			if err != nil {
				fmt.Fprintf(os.Stderr, "  %v", err)
			}
			fmt.Fprintln(os.Stderr)
			status[si], errs[si] = stat, err
			if stat == statusOK {
				runs[si] = append(runs[si], vals)
			}
		}
	}
	for si, st := range stacks {
		vals := medians(runs[si])
		for i := range rows {
			r := stackResult{Stack: st, Status: status[si]}
			if status[si] == statusOK {
				r.Value = vals[i]
			}
			if errs[si] != nil && status[si] != statusNA {
				r.Error = errs[si].Error()
			}
			rows[i].Stacks = append(rows[i].Stacks, r)
		}
	}
	for i := range rows {
		for _, other := range others(stacks) {
			m, okm := rows[i].value("microtcp")
			o, oko := rows[i].value(other)
			if okm && oko && o != 0 {
				q := m / o
				rows[i].Ratios["microtcp/"+other] = &q
			}
		}
	}
	return rows
}

// medians returns the per-metric median of runs (the upper one of an even count).
func medians(runs [][]float64) []float64 {
	if len(runs) == 0 {
		return nil
	}
	out := make([]float64, len(runs[0]))
	col := make([]float64, len(runs))
	for i := range out {
		for j, r := range runs {
			col[j] = r[i]
		}
		slices.Sort(col)
		out[i] = col[len(col)/2]
	}
	return out
}

func runOne(c benchCase, stack string) ([]float64, string, error) {
	settle()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	type result struct {
		v   []float64
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := c.run(ctx, stack)
		done <- result{v, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(c.timeout + graceAfterTimeout):
		// The case ignored its deadlines; leave it behind rather than hang.
		return nil, statusStalled, fmt.Errorf("no result %v after the %v timeout", graceAfterTimeout, c.timeout)
	}
	for _, v := range r.v {
		if r.err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			r.err = fmt.Errorf("measured %v (a run too short to time?)", v)
		}
	}
	switch {
	case r.err == nil:
		return r.v, statusOK, nil
	case errors.Is(r.err, errNotApplicable):
		return nil, statusNA, r.err
	case errors.Is(r.err, errCorrupt):
		return nil, statusCorrupt, r.err
	case errors.Is(r.err, os.ErrDeadlineExceeded), errors.Is(r.err, context.DeadlineExceeded), ctx.Err() != nil:
		return nil, statusStalled, r.err
	}
	return nil, statusError, r.err
}

// others are the stacks microtcp is compared with.
func others(stacks []string) []string {
	if !slices.Contains(stacks, "microtcp") {
		return nil
	}
	var out []string
	for _, s := range stacks {
		if s != "microtcp" {
			out = append(out, s)
		}
	}
	return out
}

func (r row) value(stack string) (float64, bool) {
	for _, s := range r.Stacks {
		if s.Stack == stack && s.Status == statusOK {
			return s.Value, true
		}
	}
	return 0, false
}

func printTable(w io.Writer, rows []row, stacks []string, quick bool, count int) {
	mode := "full"
	if quick {
		mode = "quick"
	}
	fmt.Fprintf(w, "microtcp bench (%s run, median of %d, GOMAXPROCS %d, %s)\n", mode, count, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	hdr := []string{"case", "metric", "unit"}
	hdr = append(hdr, stacks...)
	for _, o := range others(stacks) {
		hdr = append(hdr, "µtcp/"+o)
	}
	hdr = append(hdr, "")
	fmt.Fprintln(tw, strings.Join(hdr, "\t"))
	for _, r := range rows {
		cells := []string{r.Case, r.Name, r.Unit}
		for _, s := range r.Stacks {
			if s.Status == statusOK {
				cells = append(cells, formatValue(s.Value))
			} else {
				cells = append(cells, s.Status)
			}
		}
		for _, o := range others(stacks) {
			if q := r.Ratios["microtcp/"+o]; q != nil {
				cells = append(cells, fmt.Sprintf("%.2f×", *q))
			} else {
				cells = append(cells, "-")
			}
		}
		cells = append(cells, "")
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	// A case's error is the same for each of its metrics: print it once.
	printed := map[string]bool{}
	for _, r := range rows {
		for _, s := range r.Stacks {
			if key := r.Case + "/" + s.Stack; s.Error != "" && !printed[key] {
				printed[key] = true
				fmt.Fprintf(w, "  %s on %s: %s: %s\n", r.Case, s.Stack, s.Status, s.Error)
			}
		}
	}
}

func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func itoa(n int) string { return strconv.Itoa(n) }

// kernelIdleMax bounds the kernel's idle pairs by the file descriptor limit
// (two descriptors per pair, plus headroom).
func kernelIdleMax() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1000
	}
	return max(1, int(rl.Cur-256)/2)
}
