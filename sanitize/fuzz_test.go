package sanitize

import "testing"

// FuzzSanitize asserts the SANITIZE.md properties on arbitrary input: no
// panic, the output re-parses, has no userinfo or fragment, only allowed
// query keys, no identifier-like value (independent regexp oracles), and
// sanitizing it again gives the same string. Seeds: the corpus inputs plus
// testdata/fuzz/FuzzSanitize (which also keeps crashers as regressions).
func FuzzSanitize(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkProperties(t, in, Options{})
		checkProperties(t, in, Options{AllowedQueryKeys: []string{"report", "quarter", "token"}})
	})
}
