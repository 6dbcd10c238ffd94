package webapps

import (
	"encoding/json"
	"os"
	"testing"
)

type vectorFile struct {
	Groups []struct {
		Description  string        `json:"description"`
		Applications []Application `json:"applications"`
		Cases        []struct {
			URL  string `json:"url"`
			Want *int64 `json:"want"`
		} `json:"cases"`
	} `json:"groups"`
	InvalidPatterns []string `json:"invalid_patterns"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/patterns.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Groups) == 0 || len(v.InvalidPatterns) == 0 {
		t.Fatal("vector file has no cases")
	}
	return v
}

func TestMatchVectors(t *testing.T) {
	v := loadVectors(t)
	for _, g := range v.Groups {
		t.Run(g.Description, func(t *testing.T) {
			m, err := NewMatcher(g.Applications)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range g.Cases {
				id, ok := m.Match(c.URL)
				switch {
				case c.Want == nil && ok:
					t.Errorf("Match(%q) = %d, want no match", c.URL, id)
				case c.Want != nil && (!ok || id != *c.Want):
					t.Errorf("Match(%q) = %d,%v, want %d", c.URL, id, ok, *c.Want)
				}
			}
		})
	}
}

func TestInvalidPatterns(t *testing.T) {
	for _, p := range loadVectors(t).InvalidPatterns {
		if _, err := ParsePattern(p); err == nil {
			t.Errorf("ParsePattern(%q) accepted an invalid pattern", p)
		}
	}
}

func TestNilMatcher(t *testing.T) {
	var m *Matcher
	if _, ok := m.Match("https://example.com/"); ok {
		t.Fatal("nil matcher matched")
	}
}

func BenchmarkMatch(b *testing.B) {
	apps := make([]Application, 0, 200)
	for i := range 200 {
		apps = append(apps, Application{ID: int64(i + 1), Patterns: []string{
			"*.app" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".example.com/*",
		}})
	}
	m, err := NewMatcher(apps)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := m.Match("https://eu.appzg.example.com/accounts/42/invoices?x=1"); !ok {
			b.Fatal("no match")
		}
	}
}
