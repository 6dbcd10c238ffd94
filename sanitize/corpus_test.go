package sanitize

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/PuerkitoBio/purell"
)

// corpusCase is one entry of testdata/corpus.txt.
type corpusCase struct {
	line     int
	in       string
	want     string // exact expected URL; "!error" for an expected error
	template string
	gone     []string // must not appear in the output in any form
	keep     []string // must appear in the output as written
	allow    []string // per-application allowed query keys
}

// loadCorpus reads testdata/corpus.txt: an input URL on a line of its own,
// then indented lines "=> want", "t template", "- secret", "+ kept",
// "a key" (allowed query key); '#' starts a comment line.
func loadCorpus(t testing.TB) []corpusCase {
	t.Helper()
	f, err := os.Open("testdata/corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []corpusCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if line[0] != ' ' {
			cases = append(cases, corpusCase{line: n, in: expandInput(line)})
			continue
		}
		if len(cases) == 0 {
			t.Fatalf("corpus line %d: attribute before any input", n)
		}
		c := &cases[len(cases)-1]
		op, arg, _ := strings.Cut(trimmed, " ")
		arg = strings.TrimSpace(arg)
		switch op {
		case "=>":
			c.want = arg
		case "t":
			c.template = arg
		case "-":
			c.gone = append(c.gone, arg)
		case "+":
			c.keep = append(c.keep, arg)
		case "a":
			c.allow = append(c.allow, arg)
		default:
			t.Fatalf("corpus line %d: unknown attribute %q", n, op)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// expandInput supports "{{repeat N text}}" so the corpus can hold 10 KB URLs
// on one readable line, and "\t", "\n", "\r", "\x00" escapes.
func expandInput(s string) string {
	for {
		i := strings.Index(s, "{{repeat ")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "}}")
		body := s[i+len("{{repeat ") : i+j]
		countStr, text, _ := strings.Cut(body, " ")
		count := 0
		for _, c := range countStr {
			count = count*10 + int(c-'0')
		}
		s = s[:i] + strings.Repeat(text, count) + s[i+j+2:]
	}
	return strings.NewReplacer(`\t`, "\t", `\n`, "\n", `\r`, "\r", `\x00`, "\x00", `\x1f`, "\x1f").Replace(s)
}

func TestCorpus(t *testing.T) {
	cases := loadCorpus(t)
	if len(cases) < 300 {
		t.Fatalf("corpus has %d cases, want at least 300", len(cases))
	}
	for _, c := range cases {
		opts := Options{AllowedQueryKeys: c.allow}
		res, err := URL(c.in, opts)
		if c.want == "!error" {
			if err == nil {
				t.Errorf("line %d: want an error, got %q", c.line, res.URL)
			}
			continue
		}
		if err != nil {
			t.Errorf("line %d: unexpected error %v", c.line, err)
			continue
		}
		checkProperties(t, c.in, opts)
		if c.want != "" && res.URL != c.want {
			t.Errorf("line %d:\n got  %s\n want %s", c.line, res.URL, c.want)
		}
		if c.template != "" && res.Template != c.template {
			t.Errorf("line %d: template %q, want %q", c.line, res.Template, c.template)
		}
		forms := []string{res.URL, onceDecoded(res.URL), strings.ToLower(res.URL), strings.ToLower(onceDecoded(res.URL)),
			res.Template, onceDecoded(res.Template)}
		for _, g := range c.gone {
			for _, form := range forms {
				if strings.Contains(strings.ToLower(form), strings.ToLower(g)) {
					t.Errorf("line %d: secret %q survives in %q", c.line, g, res.URL)
					break
				}
			}
		}
		for _, k := range c.keep {
			if !strings.Contains(res.URL, k) {
				t.Errorf("line %d: %q lost from %q", c.line, k, res.URL)
			}
		}
	}
}

// TestCorpusIsPurellNormal proves the hand-written normalization: purell
// (FlagsUsuallySafeGreedy) leaves every sanitized output unchanged, except
// that it percent-encodes the placeholders' braces and drops the lone "/"
// of an empty path.
func TestCorpusIsPurellNormal(t *testing.T) {
	for _, c := range loadCorpus(t) {
		res, err := URL(c.in, Options{AllowedQueryKeys: c.allow})
		if err != nil || !strings.Contains(res.URL, "://") {
			continue
		}
		got, err := purell.NormalizeURLString(res.URL, purell.FlagsUsuallySafeGreedy)
		if err != nil {
			t.Errorf("line %d: purell rejects %q: %v", c.line, res.URL, err)
			continue
		}
		got = strings.NewReplacer("%7B", "{", "%7D", "}").Replace(got)
		want := res.URL
		if res.Template == "/" || strings.HasPrefix(res.Template, "/#") {
			want = dropRootSlash(want)
		}
		if got != want {
			t.Errorf("line %d: purell changes the output\n ours   %s\n purell %s", c.line, res.URL, got)
		}
	}
}

// dropRootSlash turns scheme://host/?q into scheme://host?q.
func dropRootSlash(u string) string {
	i := strings.Index(u, "://") + 3
	j := strings.IndexByte(u[i:], '/')
	if j < 0 {
		return u
	}
	return u[:i+j] + u[i+j+1:]
}
