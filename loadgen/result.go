package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"
)

// Result is what a run measured. Counts cover the whole run; latencies are
// per answered HTTP attempt, from sending the request to reading the whole
// answer (a retried batch contributes one sample per answer; an exchange
// that failed in transport contributes none).
type Result struct {
	Devices     int     `json:"devices"`
	BatchSize   int     `json:"batch_size"`
	Concurrency int     `json:"concurrency"`
	TargetRate  float64 `json:"target_events_per_second"` // 0: as fast as the server answers
	Seconds     float64 `json:"seconds"`

	Requests int            `json:"requests"`
	Status   map[string]int `json:"status"`  // HTTP status code, or "transport" for a failed exchange
	Retries  int            `json:"retries"` // attempts that repeated a batch (after 503, 429, 5xx or a transport error)
	Batches  int            `json:"batches"` // distinct batches sent at least once
	Failed   int            `json:"failed_batches"`

	EventsSent  int64            `json:"events_sent"`  // events of distinct batches sent at least once
	EventsAcked int64            `json:"events_acked"` // events in a 200 response that were not rejected
	Accepted    int64            `json:"accepted"`
	Duplicates  int64            `json:"duplicates"`
	Dropped     map[string]int64 `json:"dropped"`
	Rejected    int64            `json:"rejected"` // events the server reported in errors[]

	EventsPerSecond float64 `json:"events_per_second"` // EventsAcked / Seconds
	Latency         Latency `json:"latency_ms"`

	// Plan is the number of batches each device generated (index = device);
	// passing it back as Config.Plan replays the run exactly.
	Plan []int `json:"-"`
}

// Latency is a summary of request latencies in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// tally is the running count of one worker, merged into a Result at the end.
type tally struct {
	requests, retries, batches, failed int
	status                             map[string]int
	sent, acked, accepted, dups, rej   int64
	dropped                            map[string]int64
	lat                                histogram
}

func newTally() *tally {
	return &tally{status: map[string]int{}, dropped: map[string]int64{}}
}

func (t *tally) merge(o *tally) {
	t.requests += o.requests
	t.retries += o.retries
	t.batches += o.batches
	t.failed += o.failed
	for k, v := range o.status {
		t.status[k] += v
	}
	for k, v := range o.dropped {
		t.dropped[k] += v
	}
	t.sent += o.sent
	t.acked += o.acked
	t.accepted += o.accepted
	t.dups += o.dups
	t.rej += o.rej
	t.lat.merge(&o.lat)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (t *tally) result(cfg *Config, elapsed time.Duration, plan []int) *Result {
	r := &Result{
		Devices: cfg.Devices, BatchSize: cfg.BatchSize, Concurrency: cfg.Concurrency, TargetRate: cfg.Rate,
		Seconds:  elapsed.Seconds(),
		Requests: t.requests, Status: t.status, Retries: t.retries, Batches: t.batches, Failed: t.failed,
		EventsSent: t.sent, EventsAcked: t.acked, Accepted: t.accepted, Duplicates: t.dups,
		Dropped: t.dropped, Rejected: t.rej,
		Latency: Latency{
			P50: ms(t.lat.quantile(0.50)), P95: ms(t.lat.quantile(0.95)),
			P99: ms(t.lat.quantile(0.99)), Max: ms(t.lat.max),
		},
		Plan: plan,
	}
	if elapsed > 0 {
		r.EventsPerSecond = float64(t.acked) / elapsed.Seconds()
	}
	return r
}

// WriteTable writes r as an aligned, human-readable table.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	target := "unlimited"
	if r.TargetRate > 0 {
		target = fmt.Sprintf("%.0f events/s", r.TargetRate)
	}
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	row("devices", "%d (batch %d, concurrency %d, target %s)", r.Devices, r.BatchSize, r.Concurrency, target)
	row("duration", "%.2f s", r.Seconds)
	row("throughput", "%.0f events/s acknowledged", r.EventsPerSecond)
	row("events", "%d sent, %d acknowledged (%d accepted, %d duplicates, %d dropped, %d rejected)",
		r.EventsSent, r.EventsAcked, r.Accepted, r.Duplicates, sum(r.Dropped), r.Rejected)
	for _, k := range slices.Sorted(maps.Keys(r.Dropped)) {
		row("  dropped "+k, "%d", r.Dropped[k])
	}
	row("batches", "%d sent, %d given up", r.Batches, r.Failed)
	row("requests", "%d (%d retries)", r.Requests, r.Retries)
	for _, k := range sortedStatus(r.Status) {
		row("  status "+k, "%d", r.Status[k])
	}
	row("latency p50", "%.1f ms", r.Latency.P50)
	row("latency p95", "%.1f ms", r.Latency.P95)
	row("latency p99", "%.1f ms", r.Latency.P99)
	row("latency max", "%.1f ms", r.Latency.Max)
	return tw.Flush()
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// sortedStatus orders status keys numerically, "transport" last.
func sortedStatus(m map[string]int) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		x, errA := strconv.Atoi(a)
		y, errB := strconv.Atoi(b)
		switch {
		case errA == nil && errB == nil:
			return x - y
		case errA == nil:
			return -1
		case errB == nil:
			return 1
		}
		return 0
	})
	return keys
}
