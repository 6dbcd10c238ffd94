package org

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// globRegexp is a reference implementation of the glob semantics.
func globRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for _, r := range strings.ToLower(p) {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

// FuzzGlob checks the compiled matcher against the regexp reference.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"LAU-*", "lau-042"}, {"*a*b*c*", "xxaxxbxxcxx"}, {"a*b*a", "abab"}, {"?*?", "x"},
		{"caf?", "CAFÉ"}, {"*-s12-??", "laptop-s12-ab"}, {"**", ""}, {"a?*", "aé"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, name string) {
		if !utf8.ValidString(pat) || !utf8.ValidString(name) || pat == "" || len(pat) > MaxNameLen {
			return
		}
		want := globRegexp(pat).MatchString(strings.ToLower(name))
		if got := compileGlob(pat).match(strings.ToLower(name)); got != want {
			t.Fatalf("glob %q on %q: got %v, reference %v", pat, name, got, want)
		}
		// The same through Compile and Assign (buckets, byte masks, literal map).
		o, err := Compile(Ruleset{Entities: []Entity{{Name: "E"}}, Rules: []Rule{{Entity: "E", DeviceName: pat}}})
		if err != nil {
			return // refused patterns (control characters, surrounding spaces) never match
		}
		if got := o.Assign(Device{Name: name}) == "E"; got != want {
			t.Fatalf("rule %q on device %q: got %v, reference %v", pat, name, got, want)
		}
	})
}
