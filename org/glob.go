package org

import (
	"strings"
	"unicode/utf8"
)

// glob is a compiled, case-insensitive device-name pattern. It always matches
// the whole name (it is anchored at both ends).
type glob struct {
	pat    string // lower-cased pattern, runs of '*' collapsed to one
	prefix string // literal text before the first wildcard
	suffix string // literal text after the last '*' when nothing but literals follow it
	needle string // longest literal run; every matching name contains it
	minLen int    // bytes a name needs at least (literals; '?' counts one byte)
	bytes  uint64 // byteMask of the literal bytes; a matching name has them all
}

// byteMask sets bit b%64 for every byte b of s other than the wildcards. It
// lets Assign reject most globs with one AND before looking at the name.
func byteMask(s string) uint64 {
	var m uint64
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '*' && c != '?' {
			m |= 1 << (c & 63)
		}
	}
	return m
}

// compileGlob lower-cases the pattern and precomputes its literal anchors.
func compileGlob(p string) glob {
	p = strings.ToLower(p)
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '*' && i > 0 && p[i-1] == '*' {
			continue
		}
		b.WriteByte(p[i])
	}
	g := glob{pat: b.String()}
	if i := strings.IndexAny(g.pat, "*?"); i >= 0 {
		g.prefix = g.pat[:i]
	} else {
		g.prefix = g.pat
	}
	if i := strings.LastIndexByte(g.pat, '*'); i >= 0 && !strings.ContainsRune(g.pat[i+1:], '?') {
		g.suffix = g.pat[i+1:]
	}
	g.minLen = len(g.pat) - strings.Count(g.pat, "*")
	g.bytes = byteMask(g.pat)
	for _, run := range strings.FieldsFunc(g.pat, func(r rune) bool { return r == '*' || r == '?' }) {
		if len(run) > len(g.needle) {
			g.needle = run
		}
	}
	return g
}

// literal reports whether the pattern has no wildcard at all.
func (g glob) literal() bool { return len(g.prefix) == len(g.pat) }

// match reports whether name, already lower-cased, matches the whole pattern.
// It runs in O(len(pat)·len(name)) at worst and without allocating.
func (g glob) match(name string) bool {
	if len(name) < g.minLen || !strings.HasPrefix(name, g.prefix) || !strings.HasSuffix(name, g.suffix) ||
		!strings.Contains(name, g.needle) {
		return false
	}
	pat := g.pat
	p, n := 0, 0
	starP, starN := -1, 0
	for n < len(name) {
		if p < len(pat) {
			switch c := pat[p]; c {
			case '*':
				starP, starN = p, n
				p++
				continue
			case '?':
				_, w := utf8.DecodeRuneInString(name[n:])
				p++
				n += w
				continue
			default:
				if c == name[n] {
					p++
					n++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Backtrack: let the last '*' swallow one more character.
		_, w := utf8.DecodeRuneInString(name[starN:])
		starN += w
		p, n = starP+1, starN
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}
