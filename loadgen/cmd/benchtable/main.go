// Command benchtable prints one Markdown table of every figure `make bench`
// measured: the Go benchmarks (from `go test -bench` output), the loadgen
// runs (from `webusage loadgen --json` output) and extra rows.
//
//	benchtable -bench bench.txt -loadgen "max rate=max.json" -row "server|peak RSS|85 MiB"
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"webusage/loadgen"
)

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ", ") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	var benches, loads, rows repeated
	flag.Var(&benches, "bench", "`FILE` of `go test -bench` output (repeatable)")
	flag.Var(&loads, "loadgen", "`LABEL=FILE` of `webusage loadgen --json` output (repeatable)")
	flag.Var(&rows, "row", "extra `AREA|WHAT|FIGURES` row (repeatable)")
	flag.Parse()
	if err := run(os.Stdout, benches, loads, rows); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(w io.Writer, benches, loads, extra []string) error {
	var table [][3]string
	for _, path := range benches {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("benchtable: %w", err)
		}
		rows, err := benchRows(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("benchtable: %s: %w", path, err)
		}
		table = append(table, rows...)
	}
	for _, spec := range loads {
		label, path, ok := strings.Cut(spec, "=")
		if !ok {
			return fmt.Errorf("benchtable: -loadgen %q is not LABEL=FILE", spec)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("benchtable: %w", err)
		}
		var r loadgen.Result
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("benchtable: %s: %w", path, err)
		}
		table = append(table, loadgenRow(label, &r))
	}
	for _, spec := range extra {
		parts := strings.SplitN(spec, "|", 3)
		if len(parts) != 3 {
			return fmt.Errorf("benchtable: -row %q is not AREA|WHAT|FIGURES", spec)
		}
		table = append(table, [3]string{parts[0], parts[1], parts[2]})
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "| area | what | figures |")
	fmt.Fprintln(bw, "|---|---|---|")
	for _, r := range table {
		fmt.Fprintf(bw, "| %s | %s | %s |\n", cell(r[0]), cell(r[1]), cell(r[2]))
	}
	return bw.Flush()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// benchRows reads `go test -bench` output: a "pkg:" line names the package
// of the Benchmark lines after it; each Benchmark line becomes one row with
// its metrics in the order printed.
func benchRows(r io.Reader) ([][3]string, error) {
	var rows [][3]string
	pkg := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimSpace(p), "webusage/")
			continue
		}
		f := strings.Fields(line)
		// Name, iterations, then value-unit pairs.
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		var metrics []string
		for i := 2; i+1 < len(f); i += 2 {
			metrics = append(metrics, f[i]+" "+f[i+1])
		}
		rows = append(rows, [3]string{pkg, f[0], strings.Join(metrics, " · ")})
	}
	return rows, sc.Err()
}

// loadgenRow summarizes one loadgen run.
func loadgenRow(label string, r *loadgen.Result) [3]string {
	target := "unlimited"
	if r.TargetRate > 0 {
		target = fmt.Sprintf("%.0f ev/s target", r.TargetRate)
	}
	errs := 0
	for k, v := range r.Status {
		if k != "200" {
			errs += v
		}
	}
	what := fmt.Sprintf("loadgen %s: %d devices, batch %d, concurrency %d, %s, %.0f s",
		label, r.Devices, r.BatchSize, r.Concurrency, target, r.Seconds)
	figs := fmt.Sprintf("%.0f events/s acked · p50 %.1f ms · p95 %.1f ms · p99 %.1f ms · max %.1f ms · %d requests, %d not 200 · %d events acked",
		r.EventsPerSecond, r.Latency.P50, r.Latency.P95, r.Latency.P99, r.Latency.Max, r.Requests, errs, r.EventsAcked)
	return [3]string{"ingest over HTTP", what, figs}
}
