// Package webapps defines web applications and matches URLs to them.
//
// A pattern has the form host/path: no scheme, no port, no query. The host may
// start with "*." which matches any subdomain and the bare domain itself. The
// path is a prefix when it ends with "*" and exact otherwise; a pattern without
// a path matches every path of the host. Hosts compare case-insensitively and
// ports are ignored; only http and https URLs can match.
package webapps

import (
	"fmt"
	"strings"

	"golang.org/x/net/idna"
)

// Pattern is a parsed application URL pattern.
type Pattern struct {
	raw      string
	host     string // lower-case ASCII host without the "*." prefix
	wildcard bool   // host started with "*."
	path     string // path without the trailing "*"
	prefix   bool   // path ended with "*"
}

// String returns the pattern as it was written.
func (p Pattern) String() string { return p.raw }

// PatternError says why a pattern is invalid.
type PatternError struct {
	Pattern string
	Reason  string
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("webapps: invalid pattern %q: %s", e.Pattern, e.Reason)
}

// MaxPatternLength bounds a pattern's length.
const MaxPatternLength = 512

// ParsePattern parses and validates one pattern.
func ParsePattern(s string) (Pattern, error) {
	bad := func(reason string) (Pattern, error) { return Pattern{}, &PatternError{Pattern: s, Reason: reason} }
	if s == "" {
		return bad("empty")
	}
	if len(s) > MaxPatternLength {
		return bad(fmt.Sprintf("longer than %d characters", MaxPatternLength))
	}
	if strings.Contains(s, "://") {
		return bad("must not have a scheme (write host/path)")
	}
	if strings.ContainsAny(s, "?#") {
		return bad("must not have a query or fragment")
	}
	if strings.ContainsAny(s, " \t\r\n\\") {
		return bad("must not contain spaces or backslashes")
	}
	host, path, hasPath := strings.Cut(s, "/")
	p := Pattern{raw: s}
	if strings.HasPrefix(host, "*.") {
		p.wildcard = true
		host = host[2:]
	}
	if strings.Contains(host, ":") {
		return bad("must not have a port")
	}
	if strings.Contains(host, "@") {
		return bad("must not have user information")
	}
	if strings.Contains(host, "*") {
		return bad(`"*" is allowed only as the first host label ("*.example.com")`)
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return bad("missing host")
	}
	ascii, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return bad("host is not a valid domain name")
	}
	p.host = strings.ToLower(ascii)
	for _, label := range strings.Split(p.host, ".") {
		if label == "" {
			return bad("host has an empty label")
		}
	}
	if !hasPath {
		p.path, p.prefix = "/", true
		return p, nil
	}
	path = "/" + path
	if i := strings.IndexByte(path, '*'); i >= 0 && i != len(path)-1 {
		return bad(`"*" is allowed only at the end of the path`)
	}
	if strings.HasSuffix(path, "*") {
		p.prefix = true
		path = path[:len(path)-1]
	}
	p.path = path
	return p, nil
}

// matchesHost reports whether the lower-case host h is covered by p.
func (p Pattern) matchesHost(h string) bool {
	if h == p.host {
		return true
	}
	return p.wildcard && strings.HasSuffix(h, p.host) && h[len(h)-len(p.host)-1] == '.'
}

// matchesPath reports whether the escaped path is covered by p.
func (p Pattern) matchesPath(path string) bool {
	if p.prefix {
		return strings.HasPrefix(path, p.path)
	}
	return path == p.path
}

// moreSpecific reports whether p should win over q when both match:
// longer host, then exact host over wildcard, then longer path, then exact
// path over prefix.
func (p Pattern) moreSpecific(q Pattern) bool {
	if len(p.host) != len(q.host) {
		return len(p.host) > len(q.host)
	}
	if p.wildcard != q.wildcard {
		return !p.wildcard
	}
	if len(p.path) != len(q.path) {
		return len(p.path) > len(q.path)
	}
	if p.prefix != q.prefix {
		return !p.prefix
	}
	return false
}
