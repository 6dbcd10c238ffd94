package sanitize

import (
	"strings"
	"unicode/utf8"
)

// pathSegments holds the raw (still percent-encoded) segments of a path
// after dot segments are resolved and empty segments and matrix parameters
// are dropped. Segments beyond MaxSegments are dropped.
type pathSegments struct {
	segs [MaxSegments]string
	n    int
}

// split fills ps from path ("/a/./b;jsessionid=x/../c" gives [a c]).
// Backslashes separate segments like slashes, as in special WHATWG URLs.
func (ps *pathSegments) split(path string) {
	backslash := strings.IndexByte(path, '\\') >= 0
	for len(path) > 0 {
		var end int
		if backslash {
			end = indexSlash(path)
		} else {
			end = strings.IndexByte(path, '/')
		}
		seg := path
		if end >= 0 {
			seg, path = path[:end], path[end+1:]
		} else {
			path = ""
		}
		if i := strings.IndexByte(seg, ';'); i >= 0 {
			seg = seg[:i]
		}
		switch {
		case seg == "" || isSingleDot(seg):
		case isDoubleDot(seg):
			if ps.n > 0 {
				ps.n--
			}
		case ps.n < MaxSegments:
			ps.segs[ps.n] = seg
			ps.n++
		}
	}
}

func indexSlash(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' || s[i] == '\\' {
			return i
		}
	}
	return -1
}

func isSingleDot(s string) bool {
	return s == "." || strings.EqualFold(s, "%2e")
}

func isDoubleDot(s string) bool {
	switch len(s) {
	case 2:
		return s == ".."
	case 4:
		return strings.EqualFold(s, ".%2e") || strings.EqualFold(s, "%2e.")
	case 6:
		return strings.EqualFold(s, "%2e%2e")
	}
	return false
}

// appendTemplated appends "/seg/seg..." with every segment either kept as a
// plain word (canonically percent-encoded) or replaced by a placeholder;
// "/" for an empty path. host selects the known SaaS routes ("" for none).
func (ps *pathSegments) appendTemplated(b []byte, host string) []byte {
	if ps.n == 0 {
		return append(b, '/')
	}
	segs := ps.segs[:ps.n]
	var over [MaxSegments]string
	if host != "" {
		applyRoutes(host, segs, over[:ps.n])
	}
	var scratch [128]byte
	var lowBuf [64]byte
	prevPerson, afterSecret := false, false
	for i, raw := range segs {
		b = append(b, '/')
		if over[i] != "" {
			b = append(b, over[i]...)
			prevPerson = false
			continue
		}
		seg := raw
		if strings.IndexByte(raw, '%') >= 0 {
			d, ok := percentDecodeInto(scratch[:0], raw)
			if !ok {
				b = append(b, phToken...)
				prevPerson = false
				continue
			}
			seg = unsafeString(d)
		}
		ph := classifySegment(seg)
		lw := lowerASCII(lowBuf[:0], seg)
		switch {
		case afterSecret:
			if ph == "" && !isLowerWord(seg) || ph == phID || ph == phUser {
				ph = phToken
			}
		case prevPerson && ph == "":
			if !personWords[lw] && !passThrough[lw] && !notAPerson[lw] && !secretWords[lw] && len(seg) > 1 {
				if _, _, isFile := splitExt(seg); !isFile {
					ph = phUser
				}
			}
		}
		if ph != "" {
			b = append(b, ph...)
			prevPerson = false
			continue
		}
		b = appendPathEscaped(b, seg)
		prevPerson = personWords[lw] || prevPerson && passThrough[lw]
		afterSecret = afterSecret || secretWords[lw]
	}
	return b
}

// isLowerWord reports lower-case ASCII words joined by '-' or '_' (done,
// set-password), the only segments kept after a secret word.
func isLowerWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c == '-' || c == '_') {
			return false
		}
	}
	return len(s) <= 24
}

// appendPathEscaped appends s percent-encoded the way purell encodes paths:
// unreserved characters, sub-delimiters, ':' and '@' stay; everything else
// becomes %XX with upper-case hex.
func appendPathEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isPathChar(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return b
}

const hexUpper = "0123456789ABCDEF"

func isPathChar(c byte) bool {
	if isASCIIAlnum(c) {
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@':
		return true
	}
	return false
}

// percentDecodeInto decodes %XX escapes of s into b. It reports false when
// an escape is malformed or the result is not valid UTF-8.
func percentDecodeInto(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return b, false
			}
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		b = append(b, c)
	}
	return b, utf8.Valid(b)
}

// percentDecode decodes s (with '+' as space when plus is set).
func percentDecode(s string, plus bool) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && (!plus || strings.IndexByte(s, '+') < 0) {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		case c == '+' && plus:
			c = ' '
		}
		b = append(b, c)
	}
	return string(b), true
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// lowerASCII lower-cases the ASCII letters of s into b; it returns "" for
// strings longer than b's capacity (no word list holds one).
func lowerASCII(b []byte, s string) string {
	if len(s) > cap(b) {
		return ""
	}
	for i := 0; i < len(s); i++ {
		b = append(b, lower(s[i]))
	}
	return unsafeString(b)
}
