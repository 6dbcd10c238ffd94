package loadgen

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantilesAreWithinTwoPercent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h, a, b histogram
	var all []time.Duration
	for i := range 100000 {
		// Log-uniform from 10 µs to ~10 s, the span request latencies cover.
		d := time.Duration(10e3 * float64(uint64(1)<<r.IntN(20)) * (1 + r.Float64()))
		all = append(all, d)
		h.record(d)
		if i%2 == 0 {
			a.record(d)
		} else {
			b.record(d)
		}
	}
	a.merge(&b)
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.95, 0.99, 0.999} {
		want := all[int(q*float64(len(all)))-1]
		for name, hh := range map[string]*histogram{"direct": &h, "merged": &a} {
			got := hh.quantile(q)
			if diff := float64(got-want) / float64(want); diff > 0.02 || diff < -0.02 {
				t.Errorf("%s q%.3f = %v, want %v ±2%%", name, q, got, want)
			}
		}
	}
	if h.max != all[len(all)-1] || a.max != h.max {
		t.Errorf("max = %v / %v, want %v", h.max, a.max, all[len(all)-1])
	}
	if h.total != 100000 || a.total != h.total {
		t.Errorf("total = %d / %d, want 100000", h.total, a.total)
	}
}

func TestHistogramSmallValuesAreExact(t *testing.T) {
	var h histogram
	for us := range 100 {
		h.record(time.Duration(us) * time.Microsecond)
	}
	if got := h.quantile(0.5); got != 49*time.Microsecond && got != 50*time.Microsecond {
		t.Errorf("median of 0..99 µs = %v", got)
	}
	var empty histogram
	if empty.quantile(0.99) != 0 {
		t.Error("empty histogram has a non-zero quantile")
	}
}

func TestBucketsAreContiguousAndTight(t *testing.T) {
	for us := uint64(1); us < 1<<22; us++ {
		if step := bucketOf(us) - bucketOf(us-1); step != 0 && step != 1 {
			t.Fatalf("bucketOf(%d) - bucketOf(%d) = %d, want 0 or 1", us, us-1, step)
		}
		if mid := bucketMid(bucketOf(us)); float64(mid) < float64(us)*0.984 || float64(mid) > float64(us)*1.016+1 {
			t.Fatalf("%d µs falls in a bucket whose middle is %d", us, mid)
		}
	}
}
