package webapps

import (
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/net/idna"
)

// Application is a web application an admin defined.
type Application struct {
	ID               int64    `json:"id"`
	Name             string   `json:"name"`
	Patterns         []string `json:"patterns"`
	CollectURLs      bool     `json:"collect_urls"`
	AllowedQueryKeys []string `json:"allowed_query_keys"`
}

type entry struct {
	app     int64
	pattern Pattern
}

// Matcher finds the application a URL belongs to. It is immutable and safe
// for concurrent use; build a new one when applications change.
type Matcher struct {
	byHost map[string][]entry // keyed by pattern host
}

// NewMatcher compiles the patterns of apps. It fails on the first invalid
// pattern, naming the application and the pattern.
func NewMatcher(apps []Application) (*Matcher, error) {
	m := &Matcher{byHost: make(map[string][]entry)}
	for _, a := range apps {
		for _, s := range a.Patterns {
			p, err := ParsePattern(s)
			if err != nil {
				return nil, fmt.Errorf("application %d: %w", a.ID, err)
			}
			m.byHost[p.host] = append(m.byHost[p.host], entry{app: a.ID, pattern: p})
		}
	}
	return m, nil
}

// Match returns the id of the application whose most specific pattern covers
// rawURL (longest host, then exact host, then longest path, then exact path,
// then the lowest application id). ok is false when no application matches or
// rawURL is not an http(s) URL.
func (m *Matcher) Match(rawURL string) (id int64, ok bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, false
	}
	return m.MatchURL(u)
}

// MatchURL is Match for an already parsed URL.
func (m *Matcher) MatchURL(u *url.URL) (id int64, ok bool) {
	if m == nil || u == nil {
		return 0, false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return 0, false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if !isASCII(host) {
		// Browsers report IDN hosts in punycode; do the same for parity.
		ascii, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return 0, false
		}
		host = ascii
	}
	if host == "" {
		return 0, false
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	var best entry
	found := false
	// Walk the host and each of its parent domains: exact patterns are keyed
	// by the full host, wildcard patterns by any suffix.
	for h := host; ; {
		for _, e := range m.byHost[h] {
			if !e.pattern.matchesHost(host) || !e.pattern.matchesPath(path) {
				continue
			}
			if !found || e.pattern.moreSpecific(best.pattern) ||
				(!best.pattern.moreSpecific(e.pattern) && e.app < best.app) {
				best, found = e, true
			}
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	return best.app, found
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
