// Command bench runs the same TCP scenarios over microtcp, gVisor's netstack
// and the kernel's loopback in one process and prints one table with the
// ratios microtcp/gvisor and microtcp/kernel. Every scenario verifies the
// bytes it moves; a lost or corrupted byte on any stack, or an error or stall
// of microtcp, makes the program exit 1 after printing the table.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		quick      = flag.Bool("quick", false, "smoke run (under 2 minutes): small sizes and short flows")
		jsonOut    = flag.Bool("json", false, "print the results as JSON instead of a table")
		only       = flag.String("only", "", "comma-separated scenarios to run: "+strings.Join(scenarioNames(), ","))
		stacksFlag = flag.String("stacks", strings.Join(defaultStacks, ","), "comma-separated stacks to compare")
		cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
		memprofile = flag.String("memprofile", "", "write a heap profile to this file at the end of each conc run's transfers (the last run wins)")
		count      = flag.Int("count", 1, "runs per case and stack; the table shows the median")
		verb       = flag.Bool("v", false, "print each pair's TCP counters (segments, retransmissions, drops) to stderr")
		seed       = flag.Uint64("seed", 1, "seed of the byte patterns and of the loss model")
	)
	flag.Parse()

	verbose = *verb
	memProfile = *memprofile
	stacks := splitList(*stacksFlag)
	for _, s := range stacks {
		if !slices.Contains(stackNames, s) {
			fmt.Fprintf(os.Stderr, "bench: unknown stack %q (want some of %s)\n", s, strings.Join(stackNames, ","))
			return 2
		}
	}
	selected := scenarios
	if *only != "" {
		selected = nil
		for _, name := range splitList(*only) {
			i := slices.IndexFunc(scenarios, func(sc scenario) bool { return sc.name == name })
			if i < 0 {
				fmt.Fprintf(os.Stderr, "bench: unknown scenario %q (want some of %s)\n", name, strings.Join(scenarioNames(), ","))
				return 2
			}
			selected = append(selected, scenarios[i])
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}

	cfg := runConfig{quick: *quick, seed: *seed}
	var rows []row
	for _, sc := range selected {
		for _, c := range sc.cases(cfg) {
			rows = append(rows, runCase(c, stacks, max(1, *count))...)
		}
	}
	// Corruption anywhere fails the run (it would be a harness bug too), and
	// so does any failure of microtcp; another stack's error or stall is
	// reported in the table but is not ours to gate CI on.
	failed := false
	for _, r := range rows {
		for _, st := range r.Stacks {
			switch {
			case st.Status == statusCorrupt:
				failed = true
			case st.Stack == "microtcp" && st.Status != statusOK && st.Status != statusNA:
				failed = true
			}
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 2
		}
	} else {
		printTable(os.Stdout, rows, stacks, *quick, max(1, *count))
	}
	if failed {
		fmt.Fprintln(os.Stderr, "bench: FAILED: bytes lost or corrupted, or a microtcp run failed or stalled")
		return 1
	}
	return 0
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
