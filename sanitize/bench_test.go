package sanitize

import (
	"testing"

	"github.com/PuerkitoBio/purell"
)

// benchInputs are the corpus inputs (the 10 KB adversarial ones included).
func benchInputs(b *testing.B) []string {
	cases := loadCorpus(b)
	in := make([]string, len(cases))
	for i, c := range cases {
		in[i] = c.in
	}
	return in
}

// BenchmarkSanitize measures full sanitization; one op is one URL of the
// corpus, so ns/op is ns/URL and allocs/op is allocs/URL.
func BenchmarkSanitize(b *testing.B) {
	in := benchInputs(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _ = URL(in[i], Options{})
		i++
		if i == len(in) {
			i = 0
		}
	}
}

// BenchmarkPurell measures purell's FlagsUsuallySafeGreedy normalization
// alone over the same corpus, as the reference cost.
func BenchmarkPurell(b *testing.B) {
	in := benchInputs(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _ = purell.NormalizeURLString(in[i], purell.FlagsUsuallySafeGreedy)
		i++
		if i == len(in) {
			i = 0
		}
	}
}

// BenchmarkSanitizeWithPurellPass measures the design not taken: running
// purell over every sanitized URL as a final normalization pass. It is here
// so docs/sanitization.md can show why purell runs only on non-ASCII hosts.
func BenchmarkSanitizeWithPurellPass(b *testing.B) {
	in := benchInputs(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if res, err := URL(in[i], Options{}); err == nil {
			_, _ = purell.NormalizeURLString(res.URL, purell.FlagsUsuallySafeGreedy)
		}
		i++
		if i == len(in) {
			i = 0
		}
	}
}
