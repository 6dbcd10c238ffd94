package loadgen

import (
	"math/bits"
	"time"
)

// histogram records durations in microseconds in log-linear buckets: exact
// below 128 µs, then 64 buckets per power of two, so a quantile is within
// 1.6% of the true value. Its memory is fixed whatever the number of samples.
// The zero value is ready to use; it is not safe for concurrent use.
type histogram struct {
	counts [40 * 64]uint64
	total  uint64
	max    time.Duration
}

const subBits = 6 // 64 sub-buckets per power of two

func bucketOf(us uint64) int {
	if us < 2<<subBits {
		return int(us)
	}
	k := bits.Len64(us) - subBits - 1
	return k<<subBits + int(us>>k)
}

// bucketMid is the middle of bucket i, in microseconds.
func bucketMid(i int) uint64 {
	if i < 2<<subBits {
		return uint64(i)
	}
	k := i>>subBits - 1
	sub := uint64(i - k<<subBits)
	return sub<<k + (uint64(1)<<k)/2
}

// record adds one sample.
func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	i := bucketOf(uint64(d / time.Microsecond))
	if i >= len(h.counts) {
		i = len(h.counts) - 1
	}
	h.counts[i]++
	h.total++
	h.max = max(h.max, d)
}

// merge adds every sample of o.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0 < q ≤ 1) of the samples, 0 without any.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketMid(i))*time.Microsecond, h.max)
		}
	}
	return h.max
}
