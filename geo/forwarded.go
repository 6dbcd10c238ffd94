package geo

import (
	"net/netip"
	"strings"
)

// forwardedHops parses RFC 7239 Forwarded values (several header lines are
// one list, in order) into the "for" node of each element, keeping at most
// the maxHops right-most. An element without a usable "for" address (missing,
// "unknown", an obfuscated "_name", a malformed value) becomes the zero Addr.
func forwardedHops(values []string) []netip.Addr {
	var hops []netip.Addr
	for _, v := range values {
		for _, elem := range splitOutsideQuotes(v, ',') {
			hops = append(hops, forwardedFor(elem))
			if len(hops) > maxHops {
				hops = hops[1:]
			}
		}
	}
	return hops
}

// forwardedFor returns the address in the for= pair of one element.
func forwardedFor(elem string) netip.Addr {
	for _, pair := range splitOutsideQuotes(elem, ';') {
		key, val, ok := strings.Cut(pair, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(key), "for") {
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = unquote(val[1 : len(val)-1])
		} else if strings.ContainsAny(val, "[]\"") {
			return netip.Addr{} // IPv6 and ports must be quoted (RFC 7239 §6)
		}
		return parseNode(val)
	}
	return netip.Addr{}
}

// parseNode parses a node: "192.0.2.43", "192.0.2.43:47011", "[2001:db8::17]"
// or "[2001:db8::17]:4711". A bare IPv6 address is not a valid node.
func parseNode(s string) netip.Addr {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || (end+1 < len(s) && s[end+1] != ':') {
			return netip.Addr{}
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() || !validPort(s[end+1:]) {
			return netip.Addr{}
		}
		return clean(a)
	}
	host, port, _ := strings.Cut(s, ":")
	if port != "" || strings.HasSuffix(s, ":") {
		if !validPort(":" + port) {
			return netip.Addr{}
		}
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is4() {
		return netip.Addr{}
	}
	return a
}

// validPort accepts "" or ":" followed by a port number or an obfuscated
// port ("_abc"), as RFC 7239 §6 allows.
func validPort(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' || len(s) < 2 || len(s) > 32 {
		return false
	}
	s = s[1:]
	if s[0] == '_' {
		return true
	}
	if len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// splitOutsideQuotes splits s at sep where sep is not inside a quoted string.
func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	inQuote, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case inQuote && c == '\\':
			escaped = true
		case c == '"':
			inQuote = !inQuote
		case c == sep && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote removes quoted-pair backslashes from the inside of a quoted string.
func unquote(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
