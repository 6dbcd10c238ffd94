// Package loadgen simulates a fleet of browser extensions posting usage
// batches to a webusage server, and measures what the server does with them:
// throughput, request latency, status codes, and which events it
// acknowledged. It posts batches the way the extension does (bearer
// enrollment token, ack only on 200 after commit, retry after 503 +
// Retry-After), from devices whose traffic is reproducible from a seed so a
// run can be replayed to check idempotence.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Config describes a run. URL, Token and Devices are required; zero values
// of the other fields take the defaults documented on each.
type Config struct {
	URL         string        // server base URL, e.g. http://127.0.0.1:8080
	Token       string        // enrollment token
	Devices     int           // number of simulated devices
	Rate        float64       // events per second over the fleet; 0 sends as fast as Concurrency allows
	Duration    time.Duration // how long new batches are generated; 0 runs until ctx is done
	BatchSize   int           // events per batch; default 100
	Concurrency int           // requests in flight at most; default 8
	Seed        uint64        // the fleet's seed; equal seeds give equal traffic
	// Apps are the applications the traffic targets; empty fetches them
	// from the server's /api/v1/extension/config like the extension does.
	Apps []App
	// Epoch anchors event start times (all in the 23 h before it); zero
	// means now. A replay must reuse the epoch of the run it replays.
	Epoch time.Time
	// ForwardedFor sends each device's public IP as X-Forwarded-For, which
	// the server believes only when loadgen connects from a trusted proxy.
	ForwardedFor bool
	// AckLog, when set, receives the id of every acknowledged event, one per
	// line, written only after the server answered 200 for its batch.
	AckLog io.Writer
	// Plan, when set, replays exactly Plan[d] batches of each device d
	// (a Result.Plan) instead of generating new ones; Rate still applies.
	Plan []int
	// Client sends the requests; nil uses a client with keep-alive
	// connections sized to Concurrency and a 30 s timeout.
	Client *http.Client
	// MaxRetryAfter caps how long a 503/429 Retry-After makes a batch wait;
	// default 30 s.
	MaxRetryAfter time.Duration
}

func (c *Config) setDefaults() error {
	c.URL = strings.TrimRight(c.URL, "/")
	if c.URL == "" {
		return errors.New("loadgen: server URL is required")
	}
	if c.Token == "" {
		return errors.New("loadgen: token is required")
	}
	if c.Plan != nil {
		c.Devices = len(c.Plan)
	}
	if c.Devices <= 0 {
		return fmt.Errorf("loadgen: devices must be positive, got %d", c.Devices)
	}
	if c.Rate < 0 {
		return fmt.Errorf("loadgen: rate must not be negative, got %g", c.Rate)
	}
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.Epoch.IsZero() {
		c.Epoch = time.Now()
	}
	if c.MaxRetryAfter <= 0 {
		c.MaxRetryAfter = 30 * time.Second
	}
	if c.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = c.Concurrency
		tr.MaxIdleConnsPerHost = c.Concurrency
		c.Client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	return nil
}

// job is one batch to send: batch seq of device.
type job struct{ device, seq int }

// Run drives the load described by cfg until Duration has passed (or the
// plan is exhausted, or ctx is done) and the requests in flight have been
// answered (or timed out), then returns what it measured. A batch answered 503/429 is
// retried after its Retry-After, a batch that met a transport error or
// another 5xx is retried with backoff, both only while new batches are
// still being generated; a batch answered with another status is given up.
// Run fails when it cannot start (bad config, no applications), and when
// writing AckLog failed; in that last case it still returns the Result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if len(cfg.Apps) == 0 {
		apps, err := FetchApps(ctx, cfg.Client, cfg.URL, cfg.Token)
		if err != nil {
			return nil, err
		}
		cfg.Apps = apps
	}
	fleet, err := NewFleet(cfg.Seed, cfg.Devices, cfg.BatchSize, cfg.Apps, cfg.Epoch)
	if err != nil {
		return nil, err
	}

	genCtx, cancel := ctx, context.CancelFunc(func() {})
	if cfg.Duration > 0 {
		genCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
	}
	defer cancel()

	// Requests in flight when generation stops are answered, not cut off:
	// they are bounded by the client's timeout, not by ctx.
	reqCtx := context.WithoutCancel(ctx)
	s := &sender{cfg: &cfg, fleet: fleet, gen: genCtx}
	jobs := make(chan job)
	tallies := make([]*tally, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range tallies {
		tallies[i] = newTally()
		wg.Go(func() {
			for j := range jobs {
				s.deliver(reqCtx, fleet.Batch(j.device, j.seq), tallies[i])
			}
		})
	}
	plan := produce(genCtx, &cfg, jobs)
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	total := newTally()
	for _, t := range tallies {
		total.merge(t)
	}
	return total.result(&cfg, elapsed, plan), s.ackErr
}

// produce hands batches to the workers at the configured rate until genCtx
// is done or the plan is exhausted, and returns how many batches of each
// device it handed over.
func produce(genCtx context.Context, cfg *Config, jobs chan<- job) []int {
	handed := make([]int, cfg.Devices)
	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(cfg.BatchSize) / cfg.Rate)
	}
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for round := 0; ; round++ {
		d := round % cfg.Devices
		if cfg.Plan != nil {
			// Walk the plan device by device within each sequence number,
			// skipping devices whose batches are all handed over.
			for tried := 0; handed[d] >= cfg.Plan[d]; tried++ {
				if tried == cfg.Devices {
					return handed
				}
				round++
				d = round % cfg.Devices
			}
		}
		if interval > 0 {
			now := time.Now()
			if lag := now.Sub(next); lag > time.Second {
				next = now // fell behind: do not burst to catch up
			}
			timer.Reset(time.Until(next))
			select {
			case <-timer.C:
			case <-genCtx.Done():
				return handed
			}
			next = next.Add(interval)
		}
		select {
		case jobs <- job{device: d, seq: handed[d]}:
			handed[d]++
		case <-genCtx.Done():
			return handed
		}
	}
}
