package loadgen_test

import (
	"testing"

	"webusage/loadgen"
)

// BenchmarkFleetBatch measures what generating one batch of 100 events
// costs the load generator, which shares the CPUs with the server it loads.
func BenchmarkFleetBatch(b *testing.B) {
	f, err := loadgen.NewFleet(1, 1000, 100, testApps, epoch)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		f.Batch(n%1000, n/1000)
		n++
	}
	b.ReportMetric(float64(n*100)/b.Elapsed().Seconds(), "events/s")
}
