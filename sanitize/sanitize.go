// Package sanitize turns a raw URL into one that keeps what an analyst needs
// (scheme, host, the stable words of the path) and nothing that identifies a
// person, grants access or tracks. It also returns the URL's path template.
//
// The rules are described, with examples, in docs/sanitization.md. The
// package is pure: no I/O, no global state, safe for concurrent use.
package sanitize

import (
	"bytes"
	"errors"
	"strings"
)

// Version identifies the rule set. It is stored beside every sanitized URL so
// stored data says which rules produced it; it changes whenever an output
// could change.
const Version = "2026.11-1"

// Limits. Inputs longer than MaxInputLen are rejected; outputs are cut at a
// segment boundary to at most MaxOutputLen bytes and MaxSegments segments.
const (
	MaxInputLen  = 64 << 10
	MaxOutputLen = 2048
	MaxSegments  = 32
)

// Errors returned by URL. None of them ever contains the input.
var (
	ErrEmpty    = errors.New("sanitize: empty input")
	ErrTooLong  = errors.New("sanitize: input too long")
	ErrRelative = errors.New("sanitize: not an absolute URL")
	ErrScheme   = errors.New("sanitize: scheme name carries an identifier")
	ErrHost     = errors.New("sanitize: invalid host")
	ErrPort     = errors.New("sanitize: invalid port")
	ErrHostID   = errors.New("sanitize: host carries an identifier")
)

// Options are per-application settings.
type Options struct {
	// AllowedQueryKeys are extra query keys an admin allows for the
	// application, beside the built-in harmless ones. Keys that
	// CheckAllowedQueryKey rejects are ignored.
	AllowedQueryKeys []string
}

// Result is a sanitized URL and its path template.
type Result struct {
	// URL is the sanitized URL. For http, https, ws and wss it is
	// scheme://host[:port]/path[?query] with placeholders such as {id}; for
	// any other scheme it is only "scheme:".
	URL string
	// Template is the path with placeholders, e.g. "/accounts/{id}/invoices",
	// followed by "#/route" for hash-routed single-page apps. It is empty for
	// schemes other than http, https, ws and wss.
	Template string
}

// URL sanitizes raw. It returns an error (and a zero Result) when raw cannot
// be sanitized into a URL; the error never contains raw. The output holds no
// userinfo, no fragment, only allowed query keys, and no value the detectors
// recognize as an identifier or secret; sanitizing it again gives the same
// string. URL is pure and safe for concurrent use.
func URL(raw string, opts Options) (Result, error) {
	if len(raw) > MaxInputLen {
		return Result{}, ErrTooLong
	}
	s := trimControls(raw)
	if s == "" {
		return Result{}, ErrEmpty
	}
	scheme, rest, err := splitScheme(s)
	if err != nil {
		return Result{}, err
	}
	if !isWebScheme(scheme) {
		return otherScheme(scheme)
	}
	return web(scheme, rest, opts)
}

// trimControls strips leading and trailing C0 controls and spaces and
// removes TAB, CR and LF anywhere, as the WHATWG URL parser does.
func trimControls(s string) string {
	i, j := 0, len(s)
	for i < j && s[i] <= ' ' {
		i++
	}
	for j > i && s[j-1] <= ' ' {
		j--
	}
	s = s[i:j]
	if hasTabOrNewline(s) {
		s = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, s)
	}
	return s
}

func hasTabOrNewline(s string) bool {
	return strings.IndexByte(s, '\n') >= 0 || strings.IndexByte(s, '\t') >= 0 || strings.IndexByte(s, '\r') >= 0
}

// indexAuthorityEnd returns the index of the first '/', '\\', '?' or '#'.
func indexAuthorityEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '/' || c == '\\' || c == '?' || c == '#' {
			return i
		}
	}
	return -1
}

// splitScheme returns the lower-case scheme and what follows its colon. A
// scheme-relative input (//host/...) is taken as https.
func splitScheme(s string) (scheme, rest string, err error) {
	if len(s) >= 2 && (s[0] == '/' || s[0] == '\\') && (s[1] == '/' || s[1] == '\\') {
		return "https", s, nil
	}
	if !isASCIILetter(s[0]) {
		return "", "", ErrRelative
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			return strings.ToLower(s[:i]), s[i+1:], nil
		case isASCIIAlnum(c) || c == '+' || c == '-' || c == '.':
		default:
			return "", "", ErrRelative
		}
	}
	return "", "", ErrRelative
}

func isWebScheme(s string) bool {
	return s == "http" || s == "https" || s == "ws" || s == "wss"
}

// otherScheme keeps only the scheme's name, provided the name is plain words
// (custom app schemes sometimes embed a client or account id).
func otherScheme(scheme string) (Result, error) {
	if len(scheme) > 40 || !wordLike(scheme, &schemeSeps, false) {
		return Result{}, ErrScheme
	}
	return Result{URL: scheme + ":"}, nil
}

// web sanitizes an http, https, ws or wss URL; rest follows "scheme:".
func web(scheme, rest string, opts Options) (Result, error) {
	i := 0
	for i < len(rest) && (rest[i] == '/' || rest[i] == '\\') {
		i++
	}
	rest = rest[i:]
	end := indexAuthorityEnd(rest)
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	rest = rest[end:]
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		authority = authority[at+1:]
	}
	var fragment string
	if h := strings.IndexByte(rest, '#'); h >= 0 {
		rest, fragment = rest[:h], rest[h+1:]
	}
	path, query := rest, ""
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		path, query = rest[:q], rest[q+1:]
	}

	var buf [512]byte
	b := buf[:0]
	b = append(b, scheme...)
	b = append(b, "://"...)
	hostStart := len(b)
	b, err := normalizeHost(authority, scheme, b)
	if err != nil {
		return Result{}, err
	}
	hostEnd := len(b)
	// b's bytes up to hostEnd are never written again, so the host can
	// be viewed without a copy.
	host := unsafeString(b[hostStart:hostEnd])

	var segs pathSegments
	segs.split(path)
	b = segs.appendTemplated(b, host)
	pathEnd := len(b)
	b = appendQuery(b, query, host, opts)
	b, pathEnd = truncate(b, hostEnd, pathEnd)

	if leaks(b[hostStart:]) {
		if leaks(b[hostStart:hostEnd]) {
			return Result{}, ErrHostID
		}
		return fallback(b[:hostEnd], hostEnd)
	}
	out := string(b)
	res := Result{URL: out, Template: out[hostEnd:pathEnd]}
	if route, ok := spaRoute(fragment); ok {
		var fs pathSegments
		fs.split(route)
		t := fs.appendTemplated(make([]byte, 0, len(res.Template)+len(route)+2), "")
		if !leaks(t) {
			res.Template += "#" + string(t)
		}
	}
	return res, nil
}

// fallback returns scheme://host/ when the final sweep finds a value that the
// segment rules let through.
func fallback(b []byte, hostEnd int) (Result, error) {
	b = append(b, '/')
	out := string(b)
	return Result{URL: out, Template: out[hostEnd:]}, nil
}

// spaRoute returns the route of a hash-routed single-page app ("#/a/b" or
// "#!/a/b"), without its query.
func spaRoute(fragment string) (string, bool) {
	fragment = strings.TrimPrefix(fragment, "!")
	if !strings.HasPrefix(fragment, "/") {
		return "", false
	}
	if q := strings.IndexByte(fragment, '?'); q >= 0 {
		fragment = fragment[:q]
	}
	return fragment, true
}

// truncate cuts the output to MaxOutputLen at a segment boundary: the query
// goes first, then trailing path segments. It returns the new path end.
func truncate(b []byte, hostEnd, pathEnd int) ([]byte, int) {
	if len(b) <= MaxOutputLen {
		return b, pathEnd
	}
	b = b[:pathEnd]
	for len(b) > MaxOutputLen {
		i := bytes.LastIndexByte(b[hostEnd:], '/')
		if i <= 0 {
			b = b[:hostEnd+1]
			break
		}
		b = b[:hostEnd+i]
	}
	return b, len(b)
}
