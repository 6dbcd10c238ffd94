package org

import (
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pat, name string
		want      bool
	}{
		{"LAU-*", "LAU-042", true},
		{"LAU-*", "lau-042", true},   // case-insensitive name
		{"lau-*", "LAU-042", true},   // case-insensitive pattern
		{"LAU-*", "LAU-", true},      // * matches nothing
		{"LAU-*", "XLAU-042", false}, // anchored at the start
		{"*-042", "LAU-042", true},
		{"*-042", "LAU-0420", false}, // anchored at the end
		{"LAU-???", "LAU-042", true},
		{"LAU-???", "LAU-04", false}, // ? needs exactly one character
		{"LAU-???", "LAU-0420", false},
		{"L?U-*", "LAU-1", true},
		{"*", "", true},
		{"*", "anything at all", true},
		{"?", "", false},
		{"?", "é", true}, // ? is one character, not one byte
		{"??", "é", false},
		{"caf?", "CAFÉ", true}, // Unicode case folding
		{"CAFÉ", "café", true},
		{"*a*b*c*", "xxaxxbxxcxx", true},
		{"*a*b*c*", "xxaxxcxxbxx", false},
		{"a**b", "ab", true}, // runs of * collapse
		{"a*b*a", "aba", true},
		{"a*b*a", "abab", false},
		{"a*a", "a", false},
		{"*.corp", "pc1.corp", true},
		{"*.corp", "pc1xcorp", false}, // '.' is literal
		{"[ab]*", "[ab]x", true},      // brackets are literal
		{"[ab]*", "ax", false},
		{"exact", "EXACT", true},
		{"exact", "exactly", false},
		{"*?", "", false},
		{"*?", "x", true},
		{"?*?", "xy", true},
		{"?*?", "x", false},
	}
	for _, tt := range tests {
		g := compileGlob(tt.pat)
		if got := g.match(strings.ToLower(tt.name)); got != tt.want {
			t.Errorf("glob %q match %q = %v, want %v", tt.pat, tt.name, got, tt.want)
		}
	}
}

func TestGlobPathological(t *testing.T) {
	// Backtracking stays polynomial: this would take ages with naive recursion.
	g := compileGlob(strings.Repeat("*a", 60) + "b")
	if g.match(strings.Repeat("a", 128)) {
		t.Fatal("matched a name without b")
	}
}
